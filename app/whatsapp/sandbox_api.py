"""``GET /sandbox/messages``: what the bot sent, in sandbox mode only, to this machine only.

Each item is the exact Cloud API request body the message would have been sent with,
with its id, so `chatcart chat` (or a test) can follow a conversation by polling
``after=<last id>``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter

from app.whatsapp.tables import OutboundMessage

MAX_ITEMS = 200


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@get("/sandbox/messages")
async def sandbox_messages(
    request: Request[Any, Any, Any],
    to: Annotated[
        str, QueryParameter(min_length=1, max_length=128, description="wa_id or user id")
    ],
    after: Annotated[int, QueryParameter(ge=0)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_ITEMS)] = 50,
) -> dict[str, Any]:
    if request.client is None or request.client.host not in LOOPBACK:
        # What customers were sent is nobody else's business, even in a sandbox.
        raise HTTPException(status_code=404, detail="Not Found")
    recipient = to.lstrip("+")
    if not recipient:
        raise HTTPException(status_code=400, detail="'to' names no recipient.")
    rows = (
        await OutboundMessage.select(
            OutboundMessage.id,
            OutboundMessage.status,
            OutboundMessage.payload,
            OutboundMessage.wamid,
            OutboundMessage.created_at,
        )
        .where((OutboundMessage.recipient == recipient) & (OutboundMessage.id > after))
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    return {
        "messages": [
            {
                "id": row["id"],
                "status": row["status"],
                "wamid": row["wamid"],
                "created_at": row["created_at"].isoformat(),
                "body": row["payload"]
                if isinstance(row["payload"], dict)
                else json.loads(row["payload"]),
            }
            for row in rows
        ]
    }
