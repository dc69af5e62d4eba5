from piccolo.columns import Boolean, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check
from piccolo.table import Table


class Customer(Table, tablename="customer"):
    """A person who chats with the shop.

    Since 2026 WhatsApp identifies users by a business-scoped user id (BSUID) and omits
    the phone number for people who use a username, so either identifier may be missing,
    never both.
    """

    id = Serial(primary_key=True)
    user_id = Varchar(
        length=128,
        null=True,
        default=None,
        unique=True,
        help_text="WhatsApp business-scoped user id (contacts[].user_id)",
    )
    wa_id = Varchar(
        length=20,
        null=True,
        default=None,
        unique=True,
        help_text="Phone number in E.164 digits without '+', when WhatsApp shares it",
    )
    profile_name = Varchar(length=256, default="")
    language = Varchar(length=16, default="en")
    last_inbound_at = Timestamptz(
        null=True, default=None, help_text="Opens the 24-hour customer service window"
    )
    opted_out = Boolean(default=False)
    handover_since = Timestamptz(
        null=True, default=None, help_text="Set while a person, not the bot, answers this customer"
    )
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    customer_has_identity = Check("user_id IS NOT NULL OR wa_id IS NOT NULL")
