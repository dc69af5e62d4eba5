"""Webhook signatures: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``.

Meta signs the exact bytes it sends with the app secret; the body must be verified
before it is parsed, since re-serialised JSON would not match.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{PREFIX}{digest}"


def is_valid_signature(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not header.startswith(PREFIX):
        return False
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a forged header may
    # hold anything.
    given = header.strip().encode("utf-8", "replace")
    return hmac.compare_digest(sign(body, secret).encode(), given)
