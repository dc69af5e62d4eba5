"""What the customer sent, already parsed from the webhook into plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    body: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A tapped reply button or list row (also the legacy template ``button`` type)."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogOrder:
    """A cart sent from the WhatsApp catalog: (retailer id = our SKU, quantity) pairs.

    The payload's prices are ignored by design: they come from the client, so the cart is
    re-priced from our own catalog.
    """

    items: tuple[tuple[str, int], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Media:
    kind: str  # image, document, audio, video, sticker
    caption: str | None = None
    media_id: str | None = None  # WhatsApp's id, to download it later
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class Unsupported:
    kind: str  # reaction, contacts, unsupported, or a type we do not know


Input = Text | Choice | Location | CatalogOrder | Media | Unsupported
