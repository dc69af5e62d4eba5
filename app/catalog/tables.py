from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check
from piccolo.table import Table


class Product(Table, tablename="product"):
    id = Serial(primary_key=True)
    sku = Varchar(length=64, unique=True, help_text="Stock keeping unit, unique per shop")
    name = Varchar(length=200)
    description = Text(default="")
    category = Varchar(length=100, index=True)
    price = BigInt(help_text="Unit price in minor units of the shop currency")
    tax_rate_bp = Integer(default=0, help_text="Tax rate in basis points (1600 = 16 %)")
    stock = Integer(
        null=True, default=None, help_text="Units on hand; NULL means stock is not tracked"
    )
    available = Boolean(default=True, help_text="Staff switch: offered to customers or not")
    archived_at = Timestamptz(null=True, default=None)
    image_url = Varchar(length=500, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(
        default=1,
        help_text="Optimistic concurrency: bumped by every staff edit (not by stock movements)",
    )

    product_sku_not_blank = Check("length(btrim(sku)) > 0")
    product_name_not_blank = Check("length(btrim(name)) > 0")
    product_price_non_negative = Check("price >= 0")
    product_tax_rate_range = Check("tax_rate_bp >= 0 AND tax_rate_bp <= 10000")
    product_stock_non_negative = Check("stock IS NULL OR stock >= 0")


class ProductEvent(Table, tablename="product_event"):
    """Audit trail of catalog changes: who changed what, and why stock moved."""

    id = BigSerial(primary_key=True)
    product = ForeignKey(Product, null=False, on_delete=OnDelete.restrict, index=True)
    type = Varchar(length=40)
    data = JSONB(default={})
    stock_delta = Integer(null=True, default=None)
    stock_after = Integer(null=True, default=None)
    reason = Text(null=True, default=None)
    actor = Varchar(length=64, default="system")
    created_at = Timestamptz(default=TimestamptzNow())
