"""Keys a development machine makes for itself when none is configured.

A random key is made once and kept in the data folder, so every process on the machine
(web, worker, ``chatcart chat``) signs and verifies with the same one. Production sets
its keys in the environment: several machines cannot share a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cache
from pathlib import Path


@cache
def local_key(data_dir: Path, filename: str) -> str:
    path = data_dir / filename
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole, then linked into place: a process reading at the same moment
        # sees no file or the full key, never an empty one; the first writer wins.
        draft = data_dir / f".{filename}.{os.getpid()}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()
