"""Catalog values: what staff submit and what the catalog returns. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.errors import InvalidInput

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_STOCK = 1_000_000
# A trillion minor units: far above any shop price, and price × quantity × lines of an
# order still fits PostgreSQL's bigint.
MAX_PRICE = 10**12
MAX_DESCRIPTION = 4000
MAX_IMAGE_URL = 500


@dataclass(frozen=True, slots=True)
class ProductDraft:
    sku: str
    name: str
    category: str
    price: int
    description: str = ""
    tax_rate_bp: int = 0
    stock: int | None = None
    available: bool = True
    image_url: str | None = None

    def validated(self) -> ProductDraft:
        validate_sku(self.sku)
        validate_text("name", self.name, 200)
        validate_text("category", self.category, 100)
        validate_price(self.price)
        validate_tax_rate(self.tax_rate_bp)
        if self.stock is not None:
            validate_stock_level(self.stock)
        validate_description(self.description)
        if self.image_url is not None:
            validate_image_url(self.image_url)
        return self


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """Fields staff may edit; ``None`` leaves a field as it is."""

    name: str | None = None
    category: str | None = None
    price: int | None = None
    description: str | None = None
    tax_rate_bp: int | None = None
    image_url: str | None = None

    def as_columns(self) -> dict[str, Any]:
        changes = {
            "name": self.name,
            "category": self.category,
            "price": self.price,
            "description": self.description,
            "tax_rate_bp": self.tax_rate_bp,
            "image_url": self.image_url,
        }
        columns = {key: value for key, value in changes.items() if value is not None}
        if not columns:
            raise InvalidInput("Nothing to change.")
        if self.name is not None:
            validate_text("name", self.name, 200)
        if self.category is not None:
            validate_text("category", self.category, 100)
        if self.price is not None:
            validate_price(self.price)
        if self.tax_rate_bp is not None:
            validate_tax_rate(self.tax_rate_bp)
        if self.description is not None:
            validate_description(self.description)
        if self.image_url is not None:
            validate_image_url(self.image_url)
        if self.name is not None:
            columns["name"] = self.name.strip()
        if self.category is not None:
            columns["category"] = self.category.strip()
        return columns


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: int
    sku: str
    name: str
    description: str
    category: str
    price: int
    tax_rate_bp: int
    stock: int | None
    available: bool
    archived_at: datetime | None
    image_url: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def sellable(self) -> bool:
        return self.available and not self.archived and self.stock != 0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ProductRecord:
        return cls(**{field.name: row[field.name] for field in fields(cls)})


def validate_sku(sku: str) -> None:
    if not SKU_PATTERN.match(sku):
        raise InvalidInput(
            f"SKU {sku!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit.",
            field="sku",
        )


def validate_text(field: str, value: str, max_length: int) -> None:
    if not value.strip():
        raise InvalidInput(f"{field.capitalize()} must not be empty.", field=field)
    if len(value) > max_length:
        raise InvalidInput(
            f"{field.capitalize()} is longer than {max_length} characters.", field=field
        )


def validate_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"Description is longer than {MAX_DESCRIPTION} characters.", field="description"
        )


def validate_image_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("Image URL must be an http(s) address.", field="image_url")
    if len(url) > MAX_IMAGE_URL:
        raise InvalidInput(
            f"Image URL is longer than {MAX_IMAGE_URL} characters.", field="image_url"
        )


def validate_price(price: int) -> None:
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= MAX_PRICE:
        raise InvalidInput(
            f"Price must be between 0 and {MAX_PRICE}, in minor units.", field="price"
        )


def validate_tax_rate(rate: int) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= 10_000:
        raise InvalidInput(
            "Tax rate must be between 0 and 10000 basis points.", field="tax_rate_bp"
        )


def validate_stock_level(stock: int) -> None:
    if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= MAX_STOCK:
        raise InvalidInput(f"Stock must be between 0 and {MAX_STOCK}.", field="stock")
