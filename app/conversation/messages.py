"""Every word the customer reads or types, by language, with the formatting helpers.

A catalog maps a message id to a ``str.format`` template. Plural messages have ``.one``
and ``.other`` variants (CLDR plural categories, so a language with ``few``/``many`` adds
those). ``WORDS`` are the typed commands the customer may use. A translation is one
more entry in ``CATALOGS`` and ``WORDS``; missing ids fall back to English.

WhatsApp formatting: ``*bold*``, ``_italic_``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time
from babel.numbers import format_decimal

from app.money import Money, format_money

ENGLISH: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Greeting and main menu
        "menu.welcome": "Hi! Welcome to *{shop}*.",
        "menu.expired": "It's been a while, so your earlier cart was cleared.",
        "menu.body": "What would you like to do? You can also just type what you're "
        'looking for, e.g. "chocolate cake".',
        "menu.cart.one": "Your cart has {count} item.",
        "menu.cart.other": "Your cart has {count} items.",
        "menu.pending": "Order *#{number}* is waiting for payment.",
        "menu.button": "Menu",
        "menu.section": "What would you like?",
        "help.body": "Here's what I can do:\n"
        "• *Browse* the categories, or type a product name to search\n"
        "• *cart* shows your cart, *checkout* places your order\n"
        "• *status* shows your latest order, *status 1042* a given one\n"
        "• *pay* shows how to pay, *paid* tells us you've paid (send a photo of the "
        "transfer too), *receipt* sends your receipt again\n"
        "• *cancel* cancels an unpaid order, *reorder* repeats your last one\n"
        "• *human* connects you with a person from the shop\n"
        "• *menu* brings you back here at any time",
        # Choices (buttons ≤ 20 characters, list rows ≤ 24)
        "opt.browse": "Browse products",
        "opt.browse.desc": "See all categories",
        "opt.search": "Search",
        "opt.search.desc": "Find a product by name",
        "opt.cart": "My cart",
        "opt.cart.desc.one": "{count} item",
        "opt.cart.desc.other": "{count} items",
        "opt.orders": "My orders",
        "opt.orders.desc": "Status, cancel or reorder",
        "opt.help": "Help",
        "opt.human": "Talk to a person",
        "opt.human.desc": "Someone from the shop replies",
        "opt.more": "More…",
        "opt.more.desc": "Page {page} of {pages}",
        "opt.add_one": "Add 1",
        "opt.choose_quantity": "Choose quantity",
        "opt.back": "Back",
        "opt.view_cart": "View cart",
        "opt.checkout": "Checkout",
        "opt.keep_shopping": "Keep shopping",
        "opt.change": "Change",
        "opt.fix": "Fix cart",
        "opt.clear": "Clear cart",
        "opt.clear.desc": "Remove everything",
        "opt.remove": "Remove",
        "opt.back_to_cart": "Back to cart",
        "opt.delivery": "Delivery",
        "opt.pickup": "Pickup",
        "opt.confirm": "Confirm order",
        "opt.edit_cart": "Edit cart",
        "opt.status": "Order status",
        "opt.cancel_order": "Cancel order",
        "opt.cancel_yes": "Yes, cancel it",
        "opt.keep_order": "Keep order",
        "opt.reorder": "Reorder",
        "opt.menu": "Menu",
        "opt.pay": "Pay",
        "opt.pay_again": "Payment details",
        "opt.paid": "I've paid",
        "opt.card": "Pay by card",
        "opt.receipt": "Receipt",
        "list.button": "Choose",
        "list.section": "Options",
        # Browsing and search
        "categories.body": "Pick a category:",
        "categories.section": "Categories",
        "categories.count.one": "{count} product",
        "categories.count.other": "{count} products",
        "categories.empty": "There are no products available right now. Please check back later.",
        "category.body": "*{category}*: pick a product.",
        "category.gone": "Sorry, that category is no longer available.",
        "search.prompt": 'What are you looking for? Type a product name, e.g. "chocolate cake".',
        "search.results": 'Here\'s what I found for "{query}":',
        "search.section": "Results",
        "search.found_one": 'Here\'s what I found for "{query}":',
        "search.none": 'Sorry, I found nothing for "{query}". Try another word, or browse '
        "the categories.",
        "row.price": "{price}",
        "row.left": "{price} · only {count} left",
        "row.sold_out": "{price} · sold out",
        # One product
        "product.in_stock": "In stock",
        "product.left.one": "Only {count} left",
        "product.left.other": "Only {count} left",
        "product.sold_out": "Sold out",
        "product.in_cart": "You have {count} in your cart.",
        "product.gone": "Sorry, that product is no longer available.",
        "product.sold_out_reason": "Sorry, *{name}* is sold out.",
        "product.unavailable_reason": "Sorry, *{name}* is not available right now.",
        "product.alternatives": "You might like one of these instead:",
        "product.alternatives_section": "Instead",
        # Quantities
        "quantity.prompt": "How many *{name}* would you like? Type a number from 1 to {max}.",
        "quantity.not_a_number": "Please type the quantity as a whole number, e.g. 2.",
        "quantity.too_small": "The quantity must be at least 1.",
        "quantity.too_large": "You can order at most {max} at a time.",
        "quantity.over_stock": "Sorry, there are only {count} *{name}* left.",
        "quantity.in_cart": "You already have {in_cart} *{name}* in your cart, so you can add "
        "at most {room} more.",
        "quantity.no_room": "You already have {in_cart} *{name}* in your cart: that's as many "
        "as we can sell.",
        # The cart
        "cart.title": "*Your cart*",
        "cart.empty": "Your cart is empty. Type a product name to search, or browse the "
        "categories.",
        "cart.line": "{quantity} × {name} — {amount}",
        "cart.line.gone": "{quantity} × {name} — no longer available",
        "cart.line.sold_out": "{quantity} × {name} — sold out",
        "cart.line.short": "{quantity} × {name} — only {count} left",
        "cart.problems": "⚠️ Some items can't be ordered as they are. Tap *Fix cart* to "
        "remove or reduce them.",
        "cart.added": "Added {quantity} × *{name}* to your cart.",
        "cart.count.one": "Cart: {count} item, {total}.",
        "cart.count.other": "Cart: {count} items, {total}.",
        "cart.cleared": "Your cart is now empty.",
        "cart.fixed": "I removed what's no longer available and reduced quantities to "
        "what's in stock.",
        "cart.removed": "Removed *{name}* from your cart.",
        "cart.updated": "*{name}*: you now have {quantity}.",
        "cart.full": "Your cart can hold at most {max} different products.",
        "cart.edit": "Which item would you like to change?",
        "cart.edit_section": "Your cart",
        "cart.edit_row": "Quantity {quantity}",
        "cart.line_prompt": "*{name}*: you have {quantity}. Type a new quantity, or tap Remove.",
        "cart.line_gone": "That item is no longer in your cart.",
        "cart.notes": "Please note:",
        "note.unknown": "• Item {sku} is not in our catalog.",
        "note.unsellable": "• {name} is sold out, so I left it out.",
        "note.capped": "• {name}: only {count} available, so I added {count}.",
        "note.bad_quantity": "• {name}: {quantity} is not a quantity I can add.",
        "note.full": "• Some items were left out: a cart holds at most {max} products.",
        "catalog.received": "I've put the items you picked in the catalog in your cart.",
        "reorder.done": "I've added the items of order *#{number}* to your cart.",
        "reorder.none": "You have no past orders to repeat yet.",
        # Totals
        "totals.subtotal": "Subtotal: {amount}",
        "totals.tax": "Tax: {amount}",
        "totals.items_with_tax": "Items: {amount} (incl. {tax} tax)",
        "totals.delivery": "Delivery: {amount}",
        "totals.total": "*Total: {amount}*",
        # Checkout
        "checkout.empty": "Your cart is empty, so there's nothing to check out yet.",
        "checkout.blocked": "Some items in your cart can't be ordered. Please fix your cart first.",
        "checkout.stopped": "Checkout stopped. Your cart is kept.",
        "fulfilment.prompt": "How would you like to get your order?",
        "fulfilment.fee": "Delivery costs {fee}.",
        "fulfilment.free": "Delivery is free.",
        "address.prompt": "Where should we deliver? Tap *Send location* to share your "
        "location, or type your address.",
        "address.too_short": "That address looks too short. Please type your full address, or "
        "share your location.",
        "address.too_long": "That address is too long: please keep it under {max} characters.",
        "location.invalid": "I couldn't read that location. Please share it again, or type "
        "your address.",
        "location.not_now": "Thanks for the location! I only need it when you check out with "
        "delivery.",
        "summary.title": "*Please check your order*",
        "summary.delivery_to": "Delivery to: {address}",
        "summary.delivery_location": "Delivery to the location you shared",
        "summary.pickup": "Pickup at {shop}",
        "summary.confirm": "Tap *Confirm order* to place it.",
        "confirm.stale": "That summary is out of date, so here is your cart again.",
        # After placing
        "placed.title": "Thank you! Order *#{number}* is placed.",
        "placed.how_to_pay": "*How to pay*\n{instructions}",
        "placed.amount": "Amount: *{amount}*",
        "placed.reference": "Reference: *{reference}* (please quote it with your payment)",
        "placed.deadline": "Please pay by {deadline}, or the order will be cancelled.",
        "placed.refused": "Sorry, I couldn't place your order: {reason}",
        "placed.choose": "How would you like to pay *{amount}*? Please pay by {deadline}, or "
        "the order will be cancelled.",
        # Paying
        "pay.choose": "How would you like to pay for order *#{number}* ({amount})?",
        "pay.account": "{account}",
        "pay.card": "*Pay by card*\nTap the secure link to pay *{amount}*:\n{url}",
        "pay.deadline": "The order is kept for you until {deadline}.",
        "pay.card_unavailable": "Card payments aren't available right now, so here's how to "
        "pay by {method} instead.",
        "pay.closed": "Order *#{number}* is {status}, so it can't be paid.",
        "pay.none": "You have no order waiting for payment.",
        "pay.refused": "Sorry, I couldn't get the payment details for order #{number}: {reason}",
        "paid.thanks": "Thanks! We'll check your payment for order *#{number}* (reference "
        "*{reference}*) and send your receipt once it's confirmed. You can also send a photo "
        "or PDF of your payment confirmation here.",
        "paid.again": "We're still checking your payment for order *#{number}*. Your receipt "
        "follows as soon as it's confirmed.",
        "paid.proof": "Thanks, I've passed your proof of payment for order *#{number}* to the "
        "shop. Your receipt follows as soon as it's confirmed.",
        "paid.card_confirmed": "Your card payment for order *#{number}* went through. Your "
        "receipt is on its way.",
        "paid.card_pending": "I can't see your card payment for order *#{number}* yet. If you "
        "haven't paid, tap the link:\n{url}",
        "paid.nothing_open": "Order *#{number}* has no payment waiting to be checked. Tap "
        "*Pay* to get the payment details.",
        "paid.already": "Order *#{number}* is already paid. Type *receipt* to get the receipt "
        "again.",
        "paid.reference_unknown": "I can't find a payment with reference {reference} among "
        "your orders.",
        "paid.bad_reference": "{problem}",
        "media.no_order": "Thanks for the file. If it's a proof of payment, I can only take it "
        "for an order that's waiting for payment.",
        # Payment news outside a chat turn
        "payment.reminder": "⏰ Order *#{number}* ({amount}) is still waiting for payment. "
        "Please pay by {deadline}, or it will be cancelled.",
        "payment.link": "Pay by card: {url}",
        "payment.expired": "Order *#{number}* was cancelled because it wasn't paid in time, and "
        "its items are back on the shelf. Tap *Reorder* to order them again.",
        "payment.rejected": "We couldn't verify your payment for order *#{number}*: {reason}\n"
        "Tap *Pay* to get new payment details and pay by {deadline}, or talk to a person.",
        "payment.failed": "Your card payment for order *#{number}* didn't go through. Tap *Pay* "
        "to try again.",
        "payment.refund_due": "We received {amount} for order *#{number}*, but the order can't "
        "take it any more, so we'll refund you. A person from the shop will be in touch.",
        "payment.review": "We received your card payment for order *#{number}*. A person will "
        "check it and send your receipt shortly.",
        # Order news from the shop
        "order.update": "Update on order *#{number}*: it is now {status}.",
        "order.cancelled_by_shop": "Order *#{number}* was cancelled by the shop: {reason}",
        # Receipts
        "receipt.title": "🧾 *Receipt {number}*",
        "receipt.thanks": "Payment received for order *#{order}*. Thank you!",
        "receipt.paid": "Paid by {method}, reference {reference}, on {date} at {time}.",
        "receipt.shop": "{shop}",
        "receipt.caption": "Receipt {number} (PDF)",
        "receipt.unpaid": "Order *#{number}* isn't paid yet, so there's no receipt for it yet.",
        "receipt.none": "You have no paid orders yet, so there's no receipt to send.",
        "receipt.pending": "The receipt for order *#{number}* is being prepared; it will "
        "arrive here in a moment.",
        # Orders
        "orders.none": "You have no orders yet.",
        "orders.body": "Your recent orders:",
        "orders.section": "Orders",
        "orders.row": "#{number} · {status}",
        "orders.row_desc": "{total} · {date}",
        "order.title": "Order *#{number}*: {status}",
        "order.placed": "Placed {date}",
        "order.item": "{quantity} × {name}",
        "order.total": "Total: {amount}",
        "order.reference": "Payment reference: *{reference}*",
        "order.checking": "We're checking your payment.",
        "order.receipt": "Receipt: {receipt}",
        "order.unknown": "I can't find order #{number}.",
        "status.pending_payment": "waiting for payment",
        "status.paid": "paid",
        "status.preparing": "being prepared",
        "status.ready": "ready for pickup",
        "status.out_for_delivery": "out for delivery",
        "status.completed": "completed",
        "status.cancelled": "cancelled",
        "status.expired": "expired (not paid in time)",
        "status.refunded": "refunded",
        "cancel.prompt": "Cancel order *#{number}* ({total})?",
        "cancel.none": "You have no unpaid order to cancel.",
        "cancel.not_pending": "Order #{number} is {status}, so it can't be cancelled here. "
        "Type *human* to talk to a person.",
        "cancel.done": "Order *#{number}* is cancelled.",
        "cancel.refused": "Sorry, order #{number} could not be cancelled: {reason}",
        "cancel.kept": "OK, order *#{number}* stays as it is.",
        # A person takes over
        "handover": "Alright, a person from {shop} will reply here soon. Until then I'll "
        "stay quiet.",
        "handover.ended": "I'm back! Type *menu* to see what I can do for you.",
        "error.gave_up": "Sorry, something went wrong on our side with your last message. "
        "Please send it again, or type *human* to reach a person.",
        # Not understood
        "hint.unknown": "Sorry, I didn't understand that.",
        "hint.media": "Sorry, I can only read text and choices.",
        "hint.menu": "Tap *Menu* to see the options, or type what you're looking for.",
        "hint.list": "Tap *Choose* to pick from the list, or type a product name to search.",
        "hint.options": "Tap one of the options below, or type *menu*.",
        "hint.quantity": "Type how many you'd like, e.g. 2.",
        "hint.line": "Type the new quantity, or tap Remove.",
        "hint.fulfilment": "Tap *Delivery* or *Pickup*.",
        "hint.address": "Type your delivery address, or tap *Send location*.",
        "hint.confirm": "Tap *Confirm order* to place it, or *Edit cart* to change it.",
    }
)


class Command(StrEnum):
    """Words the customer may type in any step (all but YES, which answers a question)."""

    MENU = "menu"
    CART = "cart"
    STATUS = "status"
    HELP = "help"
    CANCEL = "cancel"
    HUMAN = "human"
    BROWSE = "browse"
    CHECKOUT = "checkout"
    ORDERS = "orders"
    REORDER = "reorder"
    SEARCH = "search"
    BACK = "back"
    PAY = "pay"
    PAID = "paid"
    RECEIPT = "receipt"
    YES = "yes"


ENGLISH_WORDS: Final[Mapping[Command, frozenset[str]]] = MappingProxyType(
    {
        Command.MENU: frozenset({"menu", "main menu", "restart", "start", "hi", "hello"}),
        Command.CART: frozenset({"cart", "my cart", "basket", "view cart"}),
        Command.STATUS: frozenset({"status", "order status", "track"}),
        Command.HELP: frozenset({"help", "info"}),
        Command.CANCEL: frozenset({"cancel", "cancel order"}),
        Command.HUMAN: frozenset(
            {"human", "agent", "person", "talk to a person", "operator", "support"}
        ),
        Command.BROWSE: frozenset({"browse", "categories", "catalog", "catalogue", "products"}),
        Command.CHECKOUT: frozenset({"checkout", "check out"}),
        Command.ORDERS: frozenset({"orders", "my orders", "history"}),
        Command.REORDER: frozenset({"reorder", "order again"}),
        Command.SEARCH: frozenset({"search", "find"}),
        Command.BACK: frozenset({"back"}),
        Command.PAY: frozenset({"pay", "pay now", "payment", "how to pay", "payment details"}),
        Command.PAID: frozenset(
            {"paid", "i paid", "i have paid", "i've paid", "ive paid", "payment sent"}
        ),
        Command.RECEIPT: frozenset({"receipt", "my receipt", "invoice"}),
        Command.YES: frozenset({"yes", "y", "ok", "okay", "sure", "confirm"}),
    }
)

ENGLISH_NUMBERS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "dozen": 12,
    }
)

# Language (the locale's first part) → catalog. English is the fallback for every id.
CATALOGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType({"en": ENGLISH})
WORDS: Final[Mapping[str, Mapping[Command, frozenset[str]]]] = MappingProxyType(
    {"en": ENGLISH_WORDS}
)
NUMBERS: Final[Mapping[str, Mapping[str, int]]] = MappingProxyType({"en": ENGLISH_NUMBERS})


def _known_locale(locale: str) -> str:
    """``locale`` in babel's form ("en-US" → "en_US"); English when babel does not know it."""
    candidate = locale.replace("-", "_")
    try:
        Locale.parse(candidate)
    except (UnknownLocaleError, ValueError, TypeError):
        return "en"
    return candidate


@dataclass(frozen=True, slots=True)
class Texts:
    """The catalog of one locale bound to the shop currency: ``t("cart.empty")``."""

    locale: str  # babel form, e.g. "en_US"
    currency: str
    catalog: Mapping[str, str]
    words: Mapping[Command, frozenset[str]]
    numbers: Mapping[str, int]

    @classmethod
    def for_locale(cls, locale: str, currency: str) -> Texts:
        babel_locale = _known_locale(locale)
        language = babel_locale.split("_")[0].lower()
        return cls(
            locale=babel_locale,
            currency=currency,
            catalog=CATALOGS.get(language, ENGLISH),
            words=WORDS.get(language, ENGLISH_WORDS),
            numbers=NUMBERS.get(language, ENGLISH_NUMBERS),
        )

    def t(self, key: str, **values: object) -> str:
        template = self.catalog.get(key) or ENGLISH[key]
        return template.format(**values)

    def plural(self, key: str, count: int, **values: object) -> str:
        """``key.one``/``key.other``… chosen by the locale's plural rule for ``count``."""
        form = Locale.parse(self.locale).plural_form(count)
        chosen = f"{key}.{form}"
        if chosen not in self.catalog and chosen not in ENGLISH:
            chosen = f"{key}.other"
        return self.t(chosen, count=self.number(count), **values)

    def money(self, amount: int) -> str:
        return format_money(Money(amount, self.currency), self.locale)

    def number(self, value: int) -> str:
        return str(format_decimal(value, locale=self.locale))

    def date(self, moment: datetime) -> str:
        """A short date in the moment's own time zone: "Nov 28"."""
        return str(format_skeleton("MMMd", moment, tzinfo=moment.tzinfo, locale=self.locale))

    def time(self, moment: datetime) -> str:
        return str(format_time(moment, format="short", tzinfo=moment.tzinfo, locale=self.locale))

    def deadline(self, at: datetime, now: datetime) -> str:
        """A time to act by, as read in ``at``'s time zone; with the date when not today."""
        if at.date() == now.astimezone(at.tzinfo).date():
            return self.time(at)
        return f"{self.date(at)}, {self.time(at)}"

    def status(self, status: str) -> str:
        return self.t(f"status.{status}") if f"status.{status}" in ENGLISH else status
