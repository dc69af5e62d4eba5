from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check
from piccolo.table import Table


class Role(StrEnum):
    ADMIN = "ADMIN"
    STAFF = "STAFF"


class StaffUser(Table, tablename="staff_user"):
    id = Serial(primary_key=True)
    email = Varchar(length=254, unique=True, help_text="Stored lower-case")
    name = Varchar(length=200)
    role = Varchar(length=16, choices=Role, default=Role.STAFF)
    password_hash = Varchar(length=255, help_text="argon2id hash")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)

    staff_email_lower_case = Check("email = lower(email)")


class StaffToken(Table, tablename="staff_token"):
    """An opaque bearer token; only its SHA-256 digest is stored."""

    id = Serial(primary_key=True)
    staff = ForeignKey(StaffUser, null=False, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
