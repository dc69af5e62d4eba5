"""What every resolver gets: the settings, the services, and who is asking.

Over HTTP the caller is named by ``Authorization: Bearer <token>``; over WebSocket by
``authorization`` in the ``connection_init`` payload (checked once, when the connection
opens). The identity is looked up once per request or connection.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from litestar.channels import ChannelsPlugin
from strawberry.litestar import BaseContext
from strawberry.types import Info as StrawberryInfo

from app.staff.service import StaffIdentity, identify
from app.web.clients import client_address

if TYPE_CHECKING:
    from app.graphql.live import SharedReads
    from app.resources import Resources
    from app.runtime import Runtime
    from app.settings import Settings

BEARER = "bearer "
RECHECK_SECONDS = 30.0


class Context(BaseContext, kw_only=True):
    settings: Settings
    resources: Resources
    runtime: Runtime
    channels: ChannelsPlugin | None = None  # live updates (Redis pub/sub)
    shared_reads: SharedReads | None = None  # live feeds' shared database reads
    connection_params: dict[str, Any] | None = None
    identity: StaffIdentity | None = None
    identified_at: float | None = None

    async def staff(self) -> StaffIdentity | None:
        """The staff member behind this request's token, or ``None``.

        An HTTP request looks the token up once (``identify`` remembers valid tokens for a
        few seconds). A WebSocket lives for hours, so its token is read from the database
        again every ``RECHECK_SECONDS``: a logout, a deactivation or an expiry ends what
        the connection may do.
        """
        now = time.monotonic()
        stale = self.identified_at is None or (
            self.websocket is not None and now - self.identified_at > RECHECK_SECONDS
        )
        if stale:
            token = bearer_token(self._authorization())
            # A WebSocket re-check reads the database: it exists to notice revocations.
            fresh = self.websocket is not None
            self.identity = await identify(token, fresh=fresh) if token else None
            self.identified_at = now
        return self.identity

    @property
    def client_address(self) -> str:
        """The client's address, as ``TRUSTED_PROXIES`` in front of the app report it."""
        connection = self.request or self.websocket
        if connection is None:
            return "unknown"
        peer = connection.client.host if connection.client is not None else "unknown"
        forwarded = connection.headers.get("x-forwarded-for")
        return client_address(peer, forwarded, self.settings.trusted_proxies)

    def _authorization(self) -> str:
        if self.request is not None:
            return self.request.headers.get("authorization", "")
        value = (self.connection_params or {}).get("authorization", "")
        return value if isinstance(value, str) else ""


def bearer_token(header: str) -> str | None:
    """The token of ``Bearer <token>`` (a bare token is accepted over WebSocket too)."""
    header = header.strip()
    if header[: len(BEARER)].lower() == BEARER:
        header = header[len(BEARER) :].strip()
    return header or None


Info = StrawberryInfo[Context, None]
