"""The app secret webhooks are signed with.

With the Cloud API it is WHATSAPP_APP_SECRET. In sandbox mode with none configured, a
random secret is kept in the data folder (see ``app.keys``), so the web app and
`chatcart chat` on the same machine sign and verify with the same key.
"""

from __future__ import annotations

from app.keys import local_key
from app.settings import Settings

SANDBOX_KEY_FILENAME = "sandbox_app_secret"


def app_secret(settings: Settings) -> str:
    if settings.whatsapp_app_secret is not None:
        return settings.whatsapp_app_secret.get_secret_value()
    return local_key(settings.chatcart_data_dir.resolve(), SANDBOX_KEY_FILENAME)
