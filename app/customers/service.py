"""Find or register the customer behind a WhatsApp conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from piccolo.columns import Column

from app.customers.tables import Customer
from app.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int
    user_id: str | None
    wa_id: str | None
    profile_name: str
    language: str
    last_inbound_at: datetime | None
    opted_out: bool


def normalize_phone(raw: str, *, region: str = "US") -> str:
    """E.164 digits without '+', the form WhatsApp uses for ``wa_id``."""
    text = raw.strip()
    candidate = text if text.startswith("+") else f"+{text}" if text.isdigit() else text
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{raw!r} is not a phone number.", field="wa_id") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"{raw!r} is not a possible phone number.", field="wa_id")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


async def register_customer(
    *, user_id: str | None = None, wa_id: str | None = None, profile_name: str = ""
) -> CustomerRecord:
    """Return the customer known by either id, creating them on first contact.

    When a message carries both the business-scoped id and the phone, the two are
    recorded on the same customer.
    """
    if not user_id and not wa_id:
        raise InvalidInput("A customer needs a WhatsApp user id or phone number.", field="user_id")
    async with Customer._meta.db.transaction():
        row = await _find(user_id, wa_id)
        if row is None:
            rows = await Customer.raw(
                "INSERT INTO customer (user_id, wa_id, profile_name) VALUES ({}, {}, {}) "
                "ON CONFLICT DO NOTHING RETURNING *",
                user_id,
                wa_id,
                profile_name,
            )
            row = rows[0] if rows else await _find(user_id, wa_id)
            assert row is not None
            return _record(row)
        return _record(await _fill_in(row, user_id, wa_id, profile_name))


async def _find(user_id: str | None, wa_id: str | None) -> dict[str, Any] | None:
    if user_id:
        row = await Customer.select().where(Customer.user_id == user_id).first()
        if row is not None:
            return row
    if wa_id:
        return await Customer.select().where(Customer.wa_id == wa_id).first()
    return None


async def _fill_in(
    row: dict[str, Any], user_id: str | None, wa_id: str | None, profile_name: str
) -> dict[str, Any]:
    changes: dict[Column | str, Any] = {}
    if user_id and row["user_id"] is None:
        changes["user_id"] = user_id
    if wa_id and row["wa_id"] is None:
        changes["wa_id"] = wa_id
    if profile_name and row["profile_name"] != profile_name:
        changes["profile_name"] = profile_name
    if not changes:
        return row
    updated = (
        await Customer.update(changes)
        .where(Customer.id == row["id"])
        .returning(*Customer.all_columns())
    )
    return dict(updated[0])


def _record(row: dict[str, Any]) -> CustomerRecord:
    return CustomerRecord(
        id=row["id"],
        user_id=row["user_id"],
        wa_id=row["wa_id"],
        profile_name=row["profile_name"],
        language=row["language"],
        last_inbound_at=row["last_inbound_at"],
        opted_out=row["opted_out"],
    )
