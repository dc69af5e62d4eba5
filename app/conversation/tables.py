from piccolo.columns import JSONB, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.customers.tables import Customer


class ConversationSession(Table, tablename="conversation_session"):
    """Where a customer is in the chat, and their cart, kept between two messages.

    In PostgreSQL, not only in Redis, so a cart survives a Redis restart (docs/operations.md).
    """

    customer = ForeignKey(Customer, primary_key=True, on_delete=OnDelete.cascade)
    applied = Varchar(length=128, null=True, default=None, help_text="wamid of the last step")
    before = JSONB(help_text="the session before that step (to re-run it after a crash)")
    current = JSONB()
    expires_at = Timestamptz(help_text="renewed by every message (SESSION_TTL_HOURS)")
    updated_at = Timestamptz(default=TimestamptzNow())
