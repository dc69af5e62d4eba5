"""How a message leaves: the Cloud API over HTTPS, or the sandbox that only records it.

Errors are classified by Meta's error ``code`` (not the HTTP status or the title, as
Meta advises): throttling and server trouble are worth retrying, a bad payload or an
unreachable user is not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

# Meta error codes worth another try (WHATSAPP.md): throughput, pair rate limit,
# maintenance, app/WABA rate limits, unknown errors.
RETRYABLE_CODES = frozenset({4, 80007, 130429, 131000, 131056, 131057, 133004})
PAIR_RATE_LIMIT = 131056
OUTSIDE_WINDOW = 131047


class SendError(Exception):
    def __init__(self, message: str, *, code: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class Transport(Protocol):
    async def send(self, body: dict[str, Any]) -> str:
        """Send one Cloud API message body; return its WhatsApp message id."""

    async def mark_read(self, wamid: str) -> None:
        """Tell WhatsApp the customer's message was read (blue ticks)."""


class SandboxTransport:
    """Accepts everything; the outbound rows are the record of what would have been sent."""

    async def send(self, body: dict[str, Any]) -> str:
        return f"wamid.sandbox.{uuid.uuid4().hex}"

    async def mark_read(self, wamid: str) -> None:
        return None


@dataclass
class CloudTransport:
    client: httpx.AsyncClient
    base_url: str
    api_version: str
    phone_number_id: str
    access_token: str

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"

    async def send(self, body: dict[str, Any]) -> str:
        data = await self._post(body)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendError(
                f"Cloud API answered without a message id: {data!r}"[:500],
                code=None,
                retryable=True,
            ) from None

    async def mark_read(self, wamid: str) -> None:
        await self._post({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.client.post(
                self.url,
                json=body,
                headers={"Authorization": f"Bearer {self.access_token}"},
            )
        except httpx.HTTPError as exc:
            raise SendError(f"network error: {exc!r}", code=None, retryable=True) from exc
        if response.status_code < 400:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            return payload if isinstance(payload, dict) else {}
        raise _error_from(response)


def _error_from(response: httpx.Response) -> SendError:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    code = code if isinstance(code, int) else None
    details = (error.get("error_data") or {}).get("details") if isinstance(error, dict) else None
    message = (error.get("message") if isinstance(error, dict) else None) or response.text[:200]
    text = f"HTTP {response.status_code}: {message}" + (f" ({details})" if details else "")
    retryable = (
        code in RETRYABLE_CODES
        or (code is None and (response.status_code >= 500 or response.status_code == 429))
        or (code is not None and response.status_code >= 500 and code not in (100, 131009))
    )
    return SendError(text[:1000], code=code, retryable=retryable)
