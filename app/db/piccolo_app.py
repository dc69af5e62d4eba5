"""The Piccolo app that owns every table; its migrations live in the top-level ``migrations/``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.catalog.tables import Product, ProductEvent
from app.conversation.tables import ConversationSession
from app.customers.tables import Customer
from app.ordering.tables import Order, OrderEvent, OrderItem
from app.payments.tables import Payment, ProviderEvent
from app.receipts.tables import Receipt
from app.staff.tables import StaffToken, StaffUser
from app.whatsapp.tables import InboundMessage, OutboundMessage


def _migrations_folder() -> Path:
    # In a checkout (and an editable install) they are the repo's top-level migrations/;
    # a built wheel carries them inside the package (see pyproject's force-include).
    packaged = Path(__file__).resolve().parent / "migrations"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "migrations"


MIGRATIONS_FOLDER = _migrations_folder()

TABLES = [
    Customer,
    ConversationSession,
    Product,
    ProductEvent,
    Order,
    OrderItem,
    OrderEvent,
    Payment,
    ProviderEvent,
    Receipt,
    InboundMessage,
    OutboundMessage,
    StaffUser,
    StaffToken,
]

APP_CONFIG = AppConfig(
    app_name="chatcart",
    migrations_folder_path=str(MIGRATIONS_FOLDER),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
