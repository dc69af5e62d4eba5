"""Staff sessions and accounts: login, logout, me; staff management for ADMINs."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

import strawberry

from app.errors import DomainError, InvalidInput
from app.graphql.context import Info
from app.graphql.errors import UserError, user_errors
from app.graphql.permissions import ADMIN, STAFF
from app.staff import service
from app.staff.service import StaffIdentity
from app.staff.tables import Role as RoleValue
from app.staff.tables import StaffUser
from app.staff.throttle import LoginThrottle


@strawberry.enum(
    description="ADMIN: everything, incl. staff management. STAFF: orders, payments, "
    "catalog stock and availability, handover replies."
)
class Role(Enum):
    ADMIN = RoleValue.ADMIN.value
    STAFF = RoleValue.STAFF.value


@strawberry.type(description="A person who runs the shop.")
class StaffMember:
    id: strawberry.ID = strawberry.field(description="Staff id")
    email: str = strawberry.field(description="Login email, lower-case")
    name: str = strawberry.field(description="Display name")
    role: Role = strawberry.field(description="What they may do")
    active: bool = strawberry.field(description="False once deactivated: cannot log in")

    @classmethod
    def of(cls, identity: StaffIdentity, *, active: bool = True) -> StaffMember:
        return cls(
            id=strawberry.ID(str(identity.id)),
            email=identity.email,
            name=identity.name,
            role=Role(identity.role.value),
            active=active,
        )


@strawberry.type(description="The result of login: a bearer token, or why not.")
class LoginPayload:
    token: str | None = strawberry.field(
        description="Send as `Authorization: Bearer <token>`; shown once", default=None
    )
    expires_at: datetime | None = strawberry.field(
        description="When the token stops working", default=None
    )
    staff: StaffMember | None = strawberry.field(description="Who logged in", default=None)
    errors: list[UserError] = strawberry.field(description="Why login failed", default_factory=list)


@strawberry.type(description="The result of logout.")
class LogoutPayload:
    ok: bool = strawberry.field(description="The token no longer works")
    errors: list[UserError] = strawberry.field(description="Always empty", default_factory=list)


@strawberry.type(description="The result of a staff account change.")
class StaffPayload:
    staff: StaffMember | None = strawberry.field(description="The account", default=None)
    errors: list[UserError] = strawberry.field(description="Why it failed", default_factory=list)


@strawberry.input(description="A new staff account.")
class CreateStaffInput:
    email: str = strawberry.field(description="Login email")
    name: str = strawberry.field(description="Display name")
    role: Role = strawberry.field(description="ADMIN or STAFF")
    password: str = strawberry.field(description="At least 10 characters")


SESSION_TTL = timedelta(hours=12)


@strawberry.type
class StaffQuery:
    @strawberry.field(description="The staff member whose token this is.", permission_classes=STAFF)
    async def me(self, info: Info) -> StaffMember:
        staff = await info.context.staff()
        assert staff is not None  # the permission checked it
        return StaffMember.of(staff)

    @strawberry.field(description="Every staff account (ADMIN).", permission_classes=ADMIN)
    async def staff_members(self) -> list[StaffMember]:
        rows = await StaffUser.select().order_by(StaffUser.id)
        return [
            StaffMember(
                id=strawberry.ID(str(row["id"])),
                email=row["email"],
                name=row["name"],
                role=Role(row["role"]),
                active=row["active"],
            )
            for row in rows
        ]


@strawberry.type
class StaffMutation:
    @strawberry.mutation(
        description="Exchange email and password for a bearer token. Failed attempts are "
        "limited per email and per client address."
    )
    async def login(self, info: Info, email: str, password: str) -> LoginPayload:
        throttle = LoginThrottle(info.context.resources.redis)
        try:
            counted = service.normalize_email(email)
        except DomainError:
            counted = email.strip().lower()
        try:
            await throttle.attempt(counted, info.context.client_address)
            session = await service.log_in(email, password, ttl=SESSION_TTL)
        except DomainError as error:
            return LoginPayload(errors=user_errors(error))
        await throttle.succeeded(counted, info.context.client_address)
        return LoginPayload(
            token=session.token, expires_at=session.expires_at, staff=StaffMember.of(session.staff)
        )

    @strawberry.mutation(description="End this token's session.", permission_classes=STAFF)
    async def logout(self, info: Info) -> LogoutPayload:
        staff = await info.context.staff()
        assert staff is not None
        await service.log_out(staff)
        return LogoutPayload(ok=True)

    @strawberry.mutation(description="Create a staff account (ADMIN).", permission_classes=ADMIN)
    async def create_staff(self, input: CreateStaffInput) -> StaffPayload:
        try:
            created = await service.create_staff(
                input.email, input.name, RoleValue(input.role.value), input.password
            )
        except DomainError as error:
            return StaffPayload(errors=user_errors(error))
        return StaffPayload(staff=StaffMember.of(created))

    @strawberry.mutation(
        description="Deactivate a staff account and end its sessions (ADMIN).",
        permission_classes=ADMIN,
    )
    async def deactivate_staff(self, info: Info, id: strawberry.ID) -> StaffPayload:
        me = await info.context.staff()
        assert me is not None
        try:
            closed = await service.deactivate_staff(_int_id(id), by=me)
        except DomainError as error:
            return StaffPayload(errors=user_errors(error))
        return StaffPayload(staff=StaffMember.of(closed, active=False))


def _int_id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput(f"{value!r} is not an id.", field="id")
    return int(value)
