"""`chatcart doctor` from the command line: exit 0 when all is well, else what to fix."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import clean_env, run_cli
from tests.services import ServiceUrls


async def test_doctor_passes_a_migrated_shop_and_names_what_is_missing(
    tmp_path: Path, empty_database: str, services: ServiceUrls
) -> None:
    env = clean_env(DATABASE_URL=empty_database, REDIS_URL=services.redis_url)
    before = run_cli("doctor", env=env, cwd=tmp_path)
    assert before.returncode != 0
    assert "FAIL PostgreSQL" in before.stdout
    assert "fix: run `chatcart migrate`" in before.stdout
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    after = run_cli("doctor", env=env, cwd=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "All checks passed." in after.stdout
    broken = run_cli("doctor", env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, cwd=tmp_path)
    assert broken.returncode != 0
    assert "FAIL Redis" in broken.stdout
    assert "1 check(s) failed: Redis" in broken.stderr
