"""``GET /receipts/{number}.pdf``: the receipt PDF behind a signed, expiring link.

The link is what WhatsApp fetches to deliver the document, and what a customer opens
later; without a valid signature the answer is 404, so numbers cannot be guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from litestar import Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import PathParameter, QueryParameter

from app.receipts.document import pdf_filename
from app.receipts.links import LinkRefused, check_download
from app.receipts.service import link_secret, receipt_pdf

RECEIPT_NUMBER = re.compile(r"R-\d{4}-\d{6,}")


@get("/receipts/{name:str}")
async def download_receipt(
    name: Annotated[str, PathParameter(max_length=64)],
    state: State,
    expires: Annotated[str | None, QueryParameter(max_length=20)] = None,
    signature: Annotated[str | None, QueryParameter(max_length=128)] = None,
) -> Response[bytes]:
    number = name.removesuffix(".pdf")
    if not name.endswith(".pdf") or not _looks_like_number(number):
        raise NotFoundException("No such receipt.")
    try:
        check_download(
            number, expires, signature, secret=link_secret(state.settings), now=datetime.now(UTC)
        )
    except LinkRefused as exc:
        status = 410 if exc.reason == "expired" else 404
        detail = "This receipt link has expired; ask for the receipt again in the chat."
        raise HTTPException(
            status_code=status, detail=detail if status == 410 else "No such receipt."
        ) from None
    pdf = await receipt_pdf(number)
    if pdf is None:
        raise NotFoundException("No such receipt.")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{pdf_filename(number)}"',
            "Cache-Control": "private, max-age=3600",
        },
    )


def _looks_like_number(number: str) -> bool:
    return RECEIPT_NUMBER.fullmatch(number) is not None
