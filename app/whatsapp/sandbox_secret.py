"""The app secret webhooks are signed with.

With the Cloud API it is WHATSAPP_APP_SECRET. In sandbox mode with none configured, a
random secret is made once and kept in the data folder, so the web app and
`chatcart chat` on the same machine sign and verify with the same key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cache
from pathlib import Path

from app.settings import Settings

SANDBOX_KEY_FILENAME = "sandbox_app_secret"


def app_secret(settings: Settings) -> str:
    if settings.whatsapp_app_secret is not None:
        return settings.whatsapp_app_secret.get_secret_value()
    return _sandbox_secret(settings.chatcart_data_dir.resolve())


@cache
def _sandbox_secret(data_dir: Path) -> str:
    path = data_dir / SANDBOX_KEY_FILENAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole, then linked into place: a process reading at the same moment
        # sees no file or the full key, never an empty one; the first writer wins.
        draft = data_dir / f".{SANDBOX_KEY_FILENAME}.{os.getpid()}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()
