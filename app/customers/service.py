"""Find or register the customer behind a WhatsApp conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import structlog
from piccolo.columns import Column

from app import actors
from app.customers.tables import Customer
from app.errors import InvalidInput
from app.ordering import events as order_events

log = structlog.get_logger(__name__)

# "US.13491208655302741918": ISO country code, a dot, up to 128 letters and digits (Meta);
# parent ids add ".ENT". Kept loose on purpose, strict enough to keep junk out.
USER_ID = re.compile(r"^[A-Z]{2}(\.[A-Za-z0-9]{1,128}){1,3}$")


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

    WhatsApp's business-scoped user id is the stable key; the phone is an attribute that
    may appear later, change, or be missing. When one message carries both and they
    belong to two customers we know (first seen by phone, then by user id), the two are
    merged into the user-id customer, with the orders and messages of both.
    """
    user_id, wa_id = checked_identity(user_id, wa_id)
    async with Customer._meta.db.transaction():
        by_user = await _locked("user_id", user_id)
        by_phone = await _locked("wa_id", wa_id)
        if by_user is None and by_phone is None:
            return _record(await _insert(user_id, wa_id, profile_name))
        if by_user is not None and by_phone is not None and by_user["id"] != by_phone["id"]:
            await _release_phone(keep=by_user, holder=by_phone)
        row = by_user if by_user is not None else by_phone
        assert row is not None
        return _record(await _fill_in(row, user_id, wa_id, profile_name))


def checked_identity(user_id: str | None, wa_id: str | None) -> tuple[str | None, str | None]:
    """The WhatsApp user id and phone digits of a sender, or InvalidInput."""
    if not user_id and not wa_id:
        raise InvalidInput("A customer needs a WhatsApp user id or phone number.", field="user_id")
    if user_id is not None and not USER_ID.match(user_id):
        raise InvalidInput(f"{user_id[:40]!r} is not a WhatsApp user id.", field="user_id")
    return user_id or None, _phone_digits(wa_id)


def _phone_digits(wa_id: str | None) -> str | None:
    """WhatsApp sends E.164 digits; accept a leading '+' or spaces, refuse anything else."""
    if wa_id is None:
        return None
    digits = wa_id.strip().lstrip("+").replace(" ", "")
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise InvalidInput(f"{wa_id[:40]!r} is not a phone number in E.164 form.", field="wa_id")
    return digits


async def _locked(column: str, value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    rows = await Customer.raw(
        f"SELECT * FROM customer WHERE {column} = {{}} FOR UPDATE",  # noqa: S608 - fixed names
        value,
    )
    return dict(rows[0]) if rows else None


async def _insert(user_id: str | None, wa_id: str | None, profile_name: str) -> dict[str, Any]:
    rows = await Customer.raw(
        "INSERT INTO customer (user_id, wa_id, profile_name) VALUES ({}, {}, {}) "
        "ON CONFLICT DO NOTHING RETURNING *",
        user_id,
        wa_id,
        profile_name,
    )
    if rows:
        return dict(rows[0])
    # Someone registered the same person a moment ago: their row is committed now.
    found = await _locked("user_id", user_id) or await _locked("wa_id", wa_id)
    assert found is not None
    return found


async def _release_phone(*, keep: dict[str, Any], holder: dict[str, Any]) -> None:
    """Give the phone to ``keep``: absorb a phone-only ``holder``, else just unset it there."""
    if holder["user_id"] is not None:
        # A different WhatsApp user had this number before (numbers get recycled).
        await Customer.update({Customer.wa_id: None}).where(Customer.id == holder["id"])
        log.info("phone number moved", from_customer=holder["id"], to_customer=keep["id"])
        return
    moved = await Customer.raw(
        "UPDATE orders SET customer = {} WHERE customer = {} RETURNING id", keep["id"], holder["id"]
    )
    for order in moved:
        await order_events.record(
            order["id"],
            order_events.OrderEventType.CUSTOMER_MERGED,
            actors.SYSTEM,
            {"from_customer": holder["id"], "to_customer": keep["id"]},
        )
    for table in ("inbound_message", "outbound_message"):
        await Customer.raw(
            f"UPDATE {table} SET customer = {{}} WHERE customer = {{}}",  # noqa: S608 - fixed names
            keep["id"],
            holder["id"],
        )
    # Their conversation (and cart) goes with them, unless the kept customer has one.
    await Customer.raw(
        "UPDATE conversation_session SET customer = {} WHERE customer = {} "
        "AND NOT EXISTS (SELECT 1 FROM conversation_session WHERE customer = {})",
        keep["id"],
        holder["id"],
        keep["id"],
    )
    await Customer.delete().where(Customer.id == holder["id"])
    if holder["last_inbound_at"] is not None and (
        keep["last_inbound_at"] is None or holder["last_inbound_at"] > keep["last_inbound_at"]
    ):
        keep["last_inbound_at"] = holder["last_inbound_at"]
        await Customer.update({Customer.last_inbound_at: holder["last_inbound_at"]}).where(
            Customer.id == keep["id"]
        )
    log.info("customers merged", kept=keep["id"], absorbed=holder["id"])


async def _fill_in(
    row: dict[str, Any], user_id: str | None, wa_id: str | None, profile_name: str
) -> dict[str, Any]:
    changes: dict[Column | str, Any] = {}
    if user_id and row["user_id"] is None:
        changes["user_id"] = user_id
    if wa_id and row["wa_id"] != wa_id:
        changes["wa_id"] = wa_id
    if profile_name and row["profile_name"] != profile_name:
        changes["profile_name"] = profile_name
    if not changes:
        return row
    changes["updated_at"] = datetime.now(UTC)
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
