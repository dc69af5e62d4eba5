"""Staff accounts and their sessions: create, log in, identify a bearer token, log out.

Passwords are hashed with argon2id (pwdlib). A session is an opaque random token; only
its SHA-256 digest is stored, so a copy of the database holds no usable token.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from email_validator import EmailNotValidError, validate_email
from pwdlib import PasswordHash

from app.db.reads import Row, fetch
from app.errors import Duplicate, InvalidInput, NotFound, Unauthenticated
from app.staff.tables import Role, StaffToken, StaffUser

PASSWORD_MIN: Final = 10
PASSWORD_MAX: Final = 256
TOKEN_BYTES: Final = 32
# A token's last use is written at most this often, not on every request.
TOUCH_EVERY: Final = timedelta(minutes=5)
# How long a process trusts what it last read about a token. A logout or deactivation
# takes effect at once in the process that did it, and within this time everywhere else.
REMEMBER_SECONDS: Final = 5.0
REMEMBER_MAX: Final = 4096

_HASHER = PasswordHash.recommended()
_HASHING = asyncio.Semaphore(2)
# Verified against when the email is unknown, so a wrong email takes as long as a wrong
# password and response times do not tell which accounts exist.
_DUMMY_HASH = _HASHER.hash("chatcart-no-such-user")


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    id: int
    email: str
    name: str
    role: Role
    token_id: int | None = None  # the session this identity came from

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # shown once, to the one who logged in
    expires_at: datetime
    staff: StaffIdentity


def normalize_email(email: str) -> str:
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(str(exc), field="email") from None
    return checked.normalized.lower()


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(
            f"A password needs at least {PASSWORD_MIN} characters.", field="password"
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"A password holds at most {PASSWORD_MAX} characters.", field="password")


async def create_staff(email: str, name: str, role: Role, password: str) -> StaffIdentity:
    email = normalize_email(email)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the staff member's name.", field="name")
    _check_password(password)
    if await StaffUser.exists().where(StaffUser.email == email):
        raise Duplicate(f"There is already a staff account for {email}.", field="email")
    rows = await StaffUser.insert(
        StaffUser(email=email, name=name[:200], role=role, password_hash=_HASHER.hash(password))
    ).returning(*_IDENTITY)
    return _identity(rows[0])


async def log_in(
    email: str, password: str, *, ttl: timedelta, now: datetime | None = None
) -> Session:
    """A new session for valid, active credentials; ``Unauthenticated`` otherwise.

    The error never says whether the email or the password was wrong.
    """
    now = now or datetime.now(UTC)
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = ""
    user = await StaffUser.select().where(StaffUser.email == email).first() if email else None
    valid = await _verify(password[:PASSWORD_MAX], user["password_hash"] if user else _DUMMY_HASH)
    if user is None or not valid or not user["active"]:
        raise Unauthenticated("Wrong email or password.", field="password")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with StaffToken._meta.db.transaction():
        created = await StaffToken.insert(
            StaffToken(
                staff=user["id"],
                token_hash=_digest(token),
                created_at=now,
                expires_at=now + ttl,
                last_used_at=now,
            )
        ).returning(StaffToken.id)
        await StaffUser.update({StaffUser.last_login_at: now}).where(StaffUser.id == user["id"])
    identity = _identity(user, token_id=int(created[0]["id"]))
    _remember(_digest(token), identity, now + ttl)
    return Session(token=token, expires_at=now + ttl, staff=identity)


async def identify(
    token: str, *, now: datetime | None = None, fresh: bool = False
) -> StaffIdentity | None:
    """Who holds this bearer token: ``None`` if unknown, expired, revoked or deactivated.

    Every API request names its token, so a valid one is remembered for
    ``REMEMBER_SECONDS``; ``fresh`` reads the database regardless (long-lived WebSocket
    re-checks).
    """
    if not token or len(token) > 512:
        return None
    now = now or datetime.now(UTC)
    digest = _digest(token)
    if not fresh:
        known = _remembered.get(digest)
        if known is not None and known.until > time.monotonic() and known.expires_at > now:
            return known.identity
    rows = await fetch(
        "SELECT t.id AS token_id, t.expires_at, t.revoked_at, t.last_used_at, "
        "u.id, u.email, u.name, u.role, u.active "
        "FROM staff_token t JOIN staff_user u ON u.id = t.staff WHERE t.token_hash = {}",
        digest,
    )
    if not rows:
        _remembered.pop(digest, None)
        return None
    row = rows[0]
    if row["revoked_at"] is not None or row["expires_at"] <= now or not row["active"]:
        _remembered.pop(digest, None)
        return None
    if row["last_used_at"] is None or now - row["last_used_at"] > TOUCH_EVERY:
        await StaffToken.update({StaffToken.last_used_at: now}).where(
            StaffToken.id == row["token_id"]
        )
    identity = _identity(row, token_id=row["token_id"])
    _remember(digest, identity, row["expires_at"])
    return identity


@dataclass(frozen=True, slots=True)
class _Known:
    identity: StaffIdentity
    expires_at: datetime  # the token's own expiry
    until: float  # monotonic time this entry stops being trusted


_remembered: dict[str, _Known] = {}


def _remember(digest: str, identity: StaffIdentity, expires_at: datetime) -> None:
    if len(_remembered) >= REMEMBER_MAX:
        _remembered.clear()
    _remembered[digest] = _Known(identity, expires_at, time.monotonic() + REMEMBER_SECONDS)


def _forget(*, token_id: int | None = None, staff_id: int | None = None) -> None:
    for digest, known in list(_remembered.items()):
        identity = known.identity
        if (token_id is not None and identity.token_id == token_id) or identity.id == staff_id:
            del _remembered[digest]


async def log_out(identity: StaffIdentity, *, now: datetime | None = None) -> None:
    if identity.token_id is None:
        return
    _forget(token_id=identity.token_id)
    await StaffToken.update({StaffToken.revoked_at: now or datetime.now(UTC)}).where(
        (StaffToken.id == identity.token_id) & StaffToken.revoked_at.is_null()
    )


async def deactivate_staff(staff_id: int, *, by: StaffIdentity) -> StaffIdentity:
    """Close the account and end every session it has."""
    if staff_id == by.id:
        raise InvalidInput("You cannot deactivate your own account.", field="id")
    async with StaffUser._meta.db.transaction():
        rows = (
            await StaffUser.update({StaffUser.active: False})
            .where(StaffUser.id == staff_id)
            .returning(*_IDENTITY)
        )
        if not rows:
            raise NotFound(f"No staff member with id {staff_id}.", field="id")
        await StaffToken.update({StaffToken.revoked_at: datetime.now(UTC)}).where(
            (StaffToken.staff == staff_id) & StaffToken.revoked_at.is_null()
        )
    _forget(staff_id=staff_id)
    return _identity(rows[0])


async def _verify(password: str, password_hash: str) -> bool:
    """argon2 takes ~150 ms of CPU by design: off the event loop, a few at a time, so a
    burst of logins cannot stall every other request."""
    async with _HASHING:
        return await asyncio.to_thread(_HASHER.verify, password, password_hash)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_IDENTITY = (StaffUser.id, StaffUser.email, StaffUser.name, StaffUser.role)


def _identity(row: Row, *, token_id: int | None = None) -> StaffIdentity:
    return StaffIdentity(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        token_id=token_id,
    )
