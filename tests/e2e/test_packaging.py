"""The built wheel (what the Docker image installs) carries everything `chatcart` needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if found.exists():
        return str(found)
    on_path = shutil.which("uv")
    assert on_path, "uv is installed into .venv by the Makefile"
    return on_path


def test_wheel_contains_the_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [_uv(), "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("chatcart-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"app/db/migrations/{path.name}" for path in (ROOT / "migrations").glob("m*.py")}
    assert expected
    assert expected <= names
    assert "app/cli.py" in names
