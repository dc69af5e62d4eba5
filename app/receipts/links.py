"""Signed, expiring download links for receipt PDFs.

The link is the credential: whoever holds it may fetch that one receipt until it
expires, so it can be sent in a chat without a login. The signature covers the
receipt number and the expiry together; changing either invalidates it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode


class LinkRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" | "bad signature"


def sign_download(number: str, expires: int, secret: str) -> str:
    if not secret:
        # An empty key signs nothing: anyone could compute the signature.
        raise ValueError("A download link secret must not be empty.")
    message = f"{number}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def download_path(number: str, *, secret: str, now: datetime, ttl: timedelta) -> str:
    expires = int(_aware(now + ttl).timestamp())
    query = urlencode({"expires": expires, "signature": sign_download(number, expires, secret)})
    return f"/receipts/{quote(number, safe='')}.pdf?{query}"


def check_download(
    number: str,
    expires: str | int | None,
    signature: str | None,
    *,
    secret: str,
    now: datetime,
) -> None:
    """Return if the link is genuine and unexpired, else raise ``LinkRefused``.

    The signature is checked before the expiry so a forged link learns nothing about
    the clock; a link is valid up to and including its ``expires`` second.
    """
    expiry = _parse_expires(expires)
    if expiry is None or signature is None:
        raise LinkRefused("bad signature")
    expected = sign_download(number, expiry, secret)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise LinkRefused("bad signature")
    if _aware(now).timestamp() > expiry:
        raise LinkRefused("expired")


def _aware(moment: datetime) -> datetime:
    # A naive datetime would be read in the server's local zone and shift every expiry.
    if moment.tzinfo is None:
        raise ValueError("Download links need an aware datetime.")
    return moment


def _parse_expires(expires: str | int | None) -> int | None:
    if isinstance(expires, bool):
        return None
    if isinstance(expires, int):
        return expires
    # Plain ASCII digits, at most 20 of them: int() would also take " 12", "+12", "1_2"
    # and "١٢", and raises on strings past 4300 digits.
    if expires is None or len(expires) > 20 or not expires.isascii() or not expires.isdigit():
        return None
    return int(expires)
