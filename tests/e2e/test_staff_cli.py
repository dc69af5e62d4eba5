"""`chatcart create-staff` makes the accounts the GraphQL admin API logs in with."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg

from tests.e2e.conftest import CHATCART, clean_env, run_cli
from tests.services import ServiceUrls


def create_staff(
    *args: str, password: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHATCART, "create-staff", *args, "--password-stdin"],
        input=password + "\n",
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_create_staff_from_the_command_line(
    tmp_path: Path, empty_database: str, services: ServiceUrls
) -> None:
    env = clean_env(DATABASE_URL=empty_database, REDIS_URL=services.redis_url)
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    details = ("--email", "Boss@Shop.example", "--name", "The Boss", "--role", "admin")

    made = create_staff(*details, password="a long enough password", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Created ADMIN boss@shop.example" in made.stdout
    twice = create_staff(*details, password="a long enough password", env=env, cwd=tmp_path)
    assert twice.returncode != 0
    assert "already a staff account for boss@shop.example" in twice.stderr
    short = create_staff(
        "--email", "ada@shop.example", "--name", "Ada", password="short", env=env, cwd=tmp_path
    )
    assert short.returncode != 0
    assert "at least 10 characters" in short.stderr

    connection = await asyncpg.connect(empty_database)
    try:
        rows = await connection.fetch("SELECT email, role, password_hash FROM staff_user")
    finally:
        await connection.close()
    assert [(row["email"], row["role"]) for row in rows] == [("boss@shop.example", "ADMIN")]
    assert rows[0]["password_hash"].startswith("$argon2id$")
