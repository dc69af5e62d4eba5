"""The conversation as a pure state machine.

``step(session, input, ctx)`` reads one customer message and returns the next session
and the effects to perform; ``after(session, outcome, ctx)`` does the same for the result
of an effect the handler performed (placing or cancelling an order). No I/O, no clock.

How a message is read:

* a tapped choice carries its meaning in its id (``prod:<sku>``, ``add:<sku>:<n>``, …,
  see ``CHOICES``), so an old button tapped later still does what its title said;
* typed text is, in this order: a command word ("menu", "cart", "status 1042", …), the
  title of an option of the last reply ("checkout", "delivery"), the input the step
  waits for (a quantity, an address, "yes"), an order number, and else a product search.

Every turn shows exactly one screen (a reply), except in HANDOVER (silence) and when it
asks the handler to place or cancel an order: then ``after`` shows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from app.conversation import cart, render
from app.conversation.effects import (
    CancelOrder,
    CancelRefused,
    ClaimPayment,
    Effect,
    OrderCancelled,
    OrderPlaced,
    OrderRefused,
    Outcome,
    PaymentClaimed,
    PaymentReady,
    PaymentRefused,
    PlaceOrder,
    ReceiptMissing,
    ReceiptSent,
    Reply,
    SendReceipt,
    StartHandover,
    StartPayment,
    Turn,
)
from app.conversation.inputs import CatalogOrder, Choice, Input, Location, Media, Text
from app.conversation.messages import Command
from app.conversation.parsing import (
    is_yes,
    match_option,
    normalize,
    parse_order_number,
    parse_quantity,
    read_command,
)
from app.conversation.render import NAME_IN_BODY, Env
from app.conversation.screens import Screen, compose
from app.conversation.session import Session, Step
from app.conversation.view import Context, OrderView, ProductView
from app.errors import InvalidInput
from app.ordering.states import OrderStatus
from app.ordering.values import MAX_LINES, MAX_QUANTITY, Fulfilment
from app.payments.providers import Method, Proof
from app.payments.reference import normalize_reference
from app.whatsapp.outgoing import choices, clip

__all__ = [
    "CancelOrder",
    "CancelRefused",
    "ClaimPayment",
    "Effect",
    "OrderCancelled",
    "OrderPlaced",
    "OrderRefused",
    "Outcome",
    "PlaceOrder",
    "Reply",
    "SendReceipt",
    "StartHandover",
    "StartPayment",
    "Turn",
    "after",
    "step",
]

CHECKOUT_STEPS = frozenset({Step.FULFILMENT, Step.ADDRESS, Step.CONFIRM})
SEARCH_LIMIT = 30
ADDRESS_MIN, ADDRESS_MAX = 5, 300
QUERY_IN_BODY = 40
NOTE_MAX = 500
PROOF_KINDS = frozenset({"image", "document"})


@dataclass(frozen=True, slots=True)
class Act:
    """A handler's result when it is more than a screen."""

    screen: Screen | None = None
    effects: tuple[Effect, ...] = ()


Reaction = Screen | Act
Handler = Callable[[Session, Env, str], Reaction]
Show = Callable[[Session, Env], Screen]


def step(session: Session, message: Input, ctx: Context) -> Turn:
    """One customer message in, the new session and the effects out."""
    s = session.copy()
    if s.step is Step.HANDOVER:
        return Turn(s, ())
    env = Env.of(ctx)
    first_turn = not s.greeted
    s.greeted = True
    return _finish(s, env, _react(s, env, message), welcome=first_turn)


def after(session: Session, outcome: Outcome, ctx: Context) -> Turn:
    """The result of a ``PlaceOrder``/``CancelOrder`` in, one reply out."""
    s = session.copy()
    env = Env.of(ctx)
    return _finish(s, env, _settle(s, env, outcome), welcome=False)


def _finish(s: Session, env: Env, reaction: Reaction, *, welcome: bool) -> Turn:
    act = reaction if isinstance(reaction, Act) else Act(reaction)
    if act.screen is None:
        return Turn(s, act.effects)
    screen = act.screen.prefaced(render.welcome(env)) if welcome else act.screen
    message = compose(screen, button=env.tx.t("list.button"), section=env.tx.t("list.section"))
    s.options = choices(message)
    return Turn(s, (*act.effects, Reply(message)))


def _react(s: Session, env: Env, message: Input) -> Reaction:
    if isinstance(message, Choice):
        return _on_choice(s, env, message.id)
    if isinstance(message, Text):
        return _on_text(s, env, message.body)
    if isinstance(message, Location):
        return _on_location(s, env, message)
    if isinstance(message, CatalogOrder):
        return _on_catalog_order(s, env, message)
    if isinstance(message, Media):
        return _on_media(s, env, message)
    return _hint(s, env, env.tx.t("hint.media"))


def _on_choice(s: Session, env: Env, choice_id: str) -> Reaction:
    name, _, argument = choice_id.partition(":")
    handler = CHOICES.get(name)
    return handler(s, env, argument) if handler else _hint(s, env)


def _on_text(s: Session, env: Env, body: str) -> Reaction:
    raw = " ".join(body.split())
    text = normalize(raw)
    command = read_command(text, env.tx.words)
    option = match_option(text, s.options)
    # A typed button title ("Pay by card") means that button, not "pay" + an argument.
    if command is not None and not (command[1] and option is not None):
        return COMMANDS[command[0]](s, env, command[1])
    if option is not None:
        return _on_choice(s, env, option)
    expected = STEP_TEXT.get(s.step)
    reaction = expected(s, env, raw) if expected else None
    if reaction is not None:
        return reaction
    number = parse_order_number(text)
    if number is not None and env.ctx.order(number):
        return _show_order(s, env, str(number))
    return _search(s, env, raw)


def _hint(s: Session, env: Env, lead: str | None = None) -> Screen:
    """A short "not understood" with the options of the step the customer is in."""
    screen = RESHOW[s.step](s, env)
    line = env.tx.t(STEP_HINTS.get(s.step, "hint.options"))
    return replace(screen, body=f"{lead or env.tx.t('hint.unknown')}\n{line}")


# --- Menu, help, handover --------------------------------------------------------------


def _show_menu(s: Session, env: Env, _: str = "") -> Screen:
    s.step = Step.MENU
    return render.menu(env, s)


def _help(s: Session, env: Env, _: str = "") -> Screen:
    s.step = Step.MENU
    return render.menu(env, s, body=env.tx.t("help.body"))


def _handover(s: Session, env: Env, _: str = "") -> Act:
    s.step = Step.HANDOVER
    return Act(render.handover(env), (StartHandover(),))


# --- Browsing and search ---------------------------------------------------------------


def _browse(s: Session, env: Env, _: str = "") -> Screen:
    s.category, s.query, s.results, s.page = None, None, [], 0
    return _list_categories(s, env)


def _list_categories(s: Session, env: Env) -> Screen:
    if not env.catalog.categories():
        s.step = Step.MENU
        return render.menu(env, s, body=env.tx.t("categories.empty"))
    s.step = Step.CATEGORIES
    screen, s.page = render.categories(env, s.page)
    return screen


def _open_category(s: Session, env: Env, name: str) -> Screen:
    if name not in env.catalog.categories():
        return _browse(s, env).prefaced(env.tx.t("category.gone"))
    s.category, s.query, s.results, s.page = name, None, [], 0
    return _list_category(s, env)


def _list_category(s: Session, env: Env) -> Screen:
    if s.category is None or s.category not in env.catalog.categories():
        return _browse(s, env)
    s.step = Step.PRODUCTS
    screen, s.page = render.category_products(env, s.category, s.page)
    return screen


def _search_prompt(s: Session, env: Env, _: str = "") -> Screen:
    s.step = Step.MENU
    return render.search_prompt(env)


def _search_word(s: Session, env: Env, query: str) -> Screen:
    return _search(s, env, query) if query else _search_prompt(s, env)


def _search(s: Session, env: Env, query: str) -> Screen:
    if len(normalize(query)) < 2:
        return _hint(s, env)
    found = env.catalog.search(query, limit=SEARCH_LIMIT)
    shown_query = clip(query, QUERY_IN_BODY)
    if not found:
        return _hint(s, env, env.tx.t("search.none", query=shown_query))
    s.category, s.query, s.results, s.page = None, query, [p.sku for p in found], 0
    if len(found) == 1:
        lead = env.tx.t("search.found_one", query=shown_query)
        return _open_product(s, env, found[0].sku).prefaced(lead)
    return _list_search(s, env)


def _list_search(s: Session, env: Env) -> Screen:
    found = [p for sku in s.results if (p := env.catalog.get(sku)) is not None and p.available]
    if s.query is None or not found:
        return _browse(s, env)
    s.step = Step.SEARCH
    screen, s.page = render.search_results(env, s.query, found, s.page)
    return screen


def _relist(s: Session, env: Env) -> Screen:
    """The list the customer came from: search results, a category, or the categories."""
    if s.query is not None:
        return _list_search(s, env)
    if s.category is not None:
        return _list_category(s, env)
    return _list_categories(s, env)


def _turn_page(s: Session, env: Env, page: str) -> Screen:
    s.page = int(page) if page.isdigit() and len(page) < 6 else 0
    return LISTS.get(s.step, _relist)(s, env)


# --- One product and quantities --------------------------------------------------------


def _sellable(s: Session, env: Env, sku: str) -> ProductView | Screen:
    """The product if it can be sold; else the screen that says why (and what instead)."""
    product = env.catalog.get(sku)
    if product is None:
        return _relist(s, env).prefaced(env.tx.t("product.gone"))
    if product.sellable:
        return product
    reason = render.unsellable_reason(env, product)
    others = env.catalog.alternatives(product.sku)
    if not others:
        return _relist(s, env).prefaced(reason)
    s.step, s.sku = Step.PRODUCT, product.sku
    return render.alternatives(env, reason, others)


def _open_product(s: Session, env: Env, sku: str) -> Screen:
    found = _sellable(s, env, sku)
    return found if isinstance(found, Screen) else _show_product(s, env, found)


def _show_product(s: Session, env: Env, product: ProductView) -> Screen:
    s.step, s.sku = Step.PRODUCT, product.sku
    return render.product(env, product, s.quantity_of(product.sku))


def _ask_quantity(s: Session, env: Env, sku: str) -> Screen:
    found = _sellable(s, env, sku)
    if isinstance(found, Screen):
        return found
    room = cart.room_for(s.cart, found)
    if room <= 0:
        refusal = _quantity_refusal(env, found, 1, s.quantity_of(sku))
        return _show_product(s, env, found).prefaced(refusal or "")
    s.step, s.sku = Step.QUANTITY, sku
    return render.quantity_prompt(env, found, room)


def _add(s: Session, env: Env, argument: str) -> Screen:
    sku, _, count = argument.rpartition(":")
    if not count.isdigit() or len(count) > 6:
        return _hint(s, env)
    found = _sellable(s, env, sku)
    return found if isinstance(found, Screen) else _add_product(s, env, found, int(count))


def _typed_quantity(s: Session, env: Env, raw: str) -> Screen:
    found = _sellable(s, env, s.sku or "")
    if isinstance(found, Screen):
        return found
    quantity = parse_quantity(raw, env.tx.numbers)
    if quantity is None:
        return _retry_quantity(s, env, found, env.tx.t("quantity.not_a_number"))
    return _add_product(s, env, found, quantity)


def _add_product(s: Session, env: Env, product: ProductView, quantity: int) -> Screen:
    refusal = _quantity_refusal(env, product, quantity, s.quantity_of(product.sku))
    if refusal:
        return _retry_quantity(s, env, product, refusal)
    if cart.is_full(s.cart, product.sku):
        return _show_cart(s, env).prefaced(env.tx.t("cart.full", max=MAX_LINES))
    cart.add(s.cart, product.sku, quantity)
    s.step, s.sku = Step.PRODUCT, product.sku
    return render.added(env, s, product, quantity)


def _retry_quantity(s: Session, env: Env, product: ProductView, refusal: str) -> Screen:
    room = cart.room_for(s.cart, product)
    if s.step is Step.QUANTITY and room > 0:
        return render.quantity_prompt(env, product, room).prefaced(refusal)
    return _show_product(s, env, product).prefaced(refusal)


def _quantity_refusal(env: Env, product: ProductView, wanted: int, in_cart: int) -> str | None:
    """Why ``wanted`` more of ``product`` cannot go into a cart holding ``in_cart``."""
    tx = env.tx
    room = product.max_quantity - in_cart
    if wanted < 1:
        return tx.t("quantity.too_small")
    if wanted <= room:
        return None
    name = clip(product.name, NAME_IN_BODY)
    if in_cart:
        key = "quantity.in_cart" if room > 0 else "quantity.no_room"
        return tx.t(key, in_cart=tx.number(in_cart), name=name, room=tx.number(max(room, 0)))
    if product.stock is not None and product.stock < MAX_QUANTITY:
        return tx.t("quantity.over_stock", count=tx.number(product.stock), name=name)
    return tx.t("quantity.too_large", max=tx.number(MAX_QUANTITY))


# --- The cart ---------------------------------------------------------------------------


def _show_cart(s: Session, env: Env, _: str = "") -> Screen:
    s.step = Step.CART
    return render.cart(env, s)


def _keep_shopping(s: Session, env: Env, _: str = "") -> Screen:
    return _relist(s, env)


def _edit_cart(s: Session, env: Env, _: str = "") -> Screen:
    s.page = 0
    return _list_cart_lines(s, env)


def _list_cart_lines(s: Session, env: Env) -> Screen:
    if not s.cart:
        return _show_cart(s, env)
    s.step = Step.CART_EDIT
    screen, s.page = render.cart_edit(env, s, s.page)
    return screen


def _open_line(s: Session, env: Env, sku: str) -> Screen:
    quantity = s.quantity_of(sku)
    if not quantity:
        return _show_cart(s, env).prefaced(env.tx.t("cart.line_gone"))
    s.step, s.sku = Step.LINE, sku
    return render.line(env, sku, quantity)


def _typed_line_quantity(s: Session, env: Env, raw: str) -> Screen:
    sku = s.sku or ""
    current = s.quantity_of(sku)
    if not current:
        return _show_cart(s, env).prefaced(env.tx.t("cart.line_gone"))
    quantity = parse_quantity(raw, env.tx.numbers)
    refusal = _line_refusal(env, sku, quantity)
    if refusal or quantity is None:
        return render.line(env, sku, current).prefaced(refusal or "")
    cart.set_quantity(s.cart, sku, quantity)
    name = clip(_product_name(env, sku), NAME_IN_BODY)
    lead = env.tx.t("cart.updated", name=name, quantity=env.tx.number(quantity))
    return _show_cart(s, env).prefaced(lead)


def _line_refusal(env: Env, sku: str, quantity: int | None) -> str | None:
    product = env.catalog.get(sku)
    if quantity is None:
        return env.tx.t("quantity.not_a_number")
    if product is None:
        return env.tx.t("product.gone")
    if not product.sellable:
        return render.unsellable_reason(env, product)
    return _quantity_refusal(env, product, quantity, 0)


def _remove_line(s: Session, env: Env, sku: str) -> Screen:
    if not s.quantity_of(sku):
        return _show_cart(s, env)
    cart.remove(s.cart, sku)
    name = clip(_product_name(env, sku), NAME_IN_BODY)
    return _show_cart(s, env).prefaced(env.tx.t("cart.removed", name=name))


def _clear_cart(s: Session, env: Env, _: str = "") -> Screen:
    s.cart.clear()
    return _show_menu(s, env).prefaced(env.tx.t("cart.cleared"))


def _fix_cart(s: Session, env: Env, _: str = "") -> Screen:
    cart.fix(s.cart, env.catalog)
    return _show_cart(s, env).prefaced(env.tx.t("cart.fixed"))


def _product_name(env: Env, sku: str) -> str:
    product = env.catalog.get(sku)
    return product.name if product else sku


def _on_catalog_order(s: Session, env: Env, order: CatalogOrder) -> Screen:
    """A cart sent from the WhatsApp catalog replaces ours, re-priced from our catalog."""
    s.cart = []
    notes = cart.fill(s.cart, ((sku, None, quantity) for sku, quantity in order.items), env.catalog)
    s.note = order.note.strip()[:NOTE_MAX]
    return _cart_with_notes(s, env, env.tx.t("catalog.received"), notes)


def _cart_with_notes(s: Session, env: Env, lead: str, notes: list[cart.Note]) -> Screen:
    text = f"{lead}\n{render.notes(env, notes)}" if notes else lead
    return _show_cart(s, env).prefaced(text)


# --- Checkout ---------------------------------------------------------------------------


def _checkout(s: Session, env: Env, _: str = "") -> Screen:
    blocked = _checkout_blocked(s, env)
    if blocked:
        return blocked
    s.step = Step.FULFILMENT
    return render.fulfilment(env)


def _checkout_blocked(s: Session, env: Env) -> Screen | None:
    """The cart screen when the cart cannot be ordered as it is (empty or with problems)."""
    if not s.cart:
        return _show_cart(s, env)
    if env.priced(s).problems:
        return _show_cart(s, env).prefaced(env.tx.t("checkout.blocked"))
    return None


def _choose_fulfilment(s: Session, env: Env, kind: str) -> Screen:
    blocked = _checkout_blocked(s, env)
    if blocked:
        return blocked
    if kind not in {f.value for f in Fulfilment}:
        return _hint(s, env)
    s.fulfilment = Fulfilment(kind)
    if s.fulfilment is Fulfilment.PICKUP:
        s.address, s.latitude, s.longitude = None, None, None
        return _summary(s, env)
    return _ask_address(s, env)


def _ask_address(s: Session, env: Env) -> Screen:
    s.step = Step.ADDRESS
    return render.address(env)


def _typed_address(s: Session, env: Env, raw: str) -> Screen:
    if len(raw) < ADDRESS_MIN or sum(ch.isalnum() for ch in raw) < ADDRESS_MIN - 1:
        return _ask_address(s, env).prefaced(env.tx.t("address.too_short"))
    if len(raw) > ADDRESS_MAX:
        return _ask_address(s, env).prefaced(env.tx.t("address.too_long", max=ADDRESS_MAX))
    s.address, s.latitude, s.longitude = raw, None, None
    return _summary(s, env)


def _on_location(s: Session, env: Env, location: Location) -> Screen:
    if s.step is not Step.ADDRESS:
        return _hint(s, env, env.tx.t("location.not_now"))
    if not _on_earth(location.latitude, location.longitude):
        return _ask_address(s, env).prefaced(env.tx.t("location.invalid"))
    label = ", ".join(p.strip() for p in (location.name, location.address) if p and p.strip())
    s.address = clip(label, ADDRESS_MAX) if label else None
    s.latitude, s.longitude = location.latitude, location.longitude
    return _summary(s, env)


def _on_earth(latitude: float, longitude: float) -> bool:
    finite = math.isfinite(latitude) and math.isfinite(longitude)
    return finite and -90 <= latitude <= 90 and -180 <= longitude <= 180


def _summary(s: Session, env: Env) -> Screen:
    blocked = _checkout_blocked(s, env)
    if blocked:
        return blocked
    if s.fulfilment is None:
        return _checkout(s, env)
    destination = s.destination
    if destination is not None and destination.is_empty:
        return _ask_address(s, env)
    s.step = Step.CONFIRM
    return render.summary(env, s)


def _typed_confirm(s: Session, env: Env, raw: str) -> Reaction | None:
    return _confirm(s, env) if is_yes(normalize(raw), env.tx.words) else None


def _confirm(s: Session, env: Env, _: str = "") -> Reaction:
    if s.step is not Step.CONFIRM:
        return _stale_confirm(s, env)
    screen = _summary(s, env)  # the catalog may have changed since the summary
    if s.step is not Step.CONFIRM or s.fulfilment is None:
        return screen
    lines = cart.order_lines(s.cart)
    return Act(effects=(PlaceOrder(lines, s.fulfilment, s.destination, s.note),))


def _stale_confirm(s: Session, env: Env) -> Screen:
    """A "Confirm" tapped again after the order went out shows that order, not a new one."""
    placed = env.ctx.order(s.order_number) if s.order_number is not None else None
    if not s.cart and placed is not None:
        return _show_order(s, env, str(placed.number))
    return _show_cart(s, env).prefaced(env.tx.t("confirm.stale"))


# --- Orders -----------------------------------------------------------------------------


def _show_orders(s: Session, env: Env, _: str = "") -> Screen:
    if not env.ctx.orders:
        return _show_menu(s, env).prefaced(env.tx.t("orders.none"))
    s.step = Step.ORDERS
    return render.orders(env)


def _status(s: Session, env: Env, argument: str) -> Screen:
    if argument:
        return _show_order(s, env, argument)
    if not env.ctx.orders:
        return _show_menu(s, env).prefaced(env.tx.t("orders.none"))
    return _show_order(s, env, str(env.ctx.orders[0].number))


def _find_order(s: Session, env: Env, argument: str) -> OrderView | Screen:
    number = parse_order_number(argument)
    order = env.ctx.order(number) if number is not None else None
    if order is not None:
        return order
    fallback = _show_orders(s, env) if env.ctx.orders else _show_menu(s, env)
    return fallback.prefaced(env.tx.t("order.unknown", number=clip(argument, 12)))


def _show_order(s: Session, env: Env, argument: str, lead: str = "") -> Screen:
    found = _find_order(s, env, argument)
    if isinstance(found, Screen):
        return found
    s.step, s.order_number = Step.ORDERS, found.number
    screen = render.order(env, found)
    return screen.prefaced(lead) if lead else screen


def _payment_reminder(s: Session, env: Env) -> Screen:
    placed = env.ctx.order(s.order_number) if s.order_number is not None else None
    if placed is None:
        return _show_menu(s, env)
    return render.order(env, placed)


def _cancel_word(s: Session, env: Env, argument: str) -> Screen:
    """ "cancel" stops a checkout in progress; elsewhere it offers to cancel an unpaid order."""
    if argument:
        return _ask_cancel(s, env, argument)
    if s.step in CHECKOUT_STEPS:
        return _show_cart(s, env).prefaced(env.tx.t("checkout.stopped"))
    pending = next((o for o in env.ctx.orders if o.status == OrderStatus.PENDING_PAYMENT), None)
    if pending is None:
        return _show_menu(s, env).prefaced(env.tx.t("cancel.none"))
    return _ask_cancel(s, env, str(pending.number))


def _cancellable(s: Session, env: Env, argument: str) -> OrderView | Screen:
    found = _find_order(s, env, argument)
    if isinstance(found, Screen) or found.status == OrderStatus.PENDING_PAYMENT:
        return found
    status = env.tx.status(found.status)
    lead = env.tx.t("cancel.not_pending", number=found.number, status=status)
    return _show_order(s, env, str(found.number), lead)


def _ask_cancel(s: Session, env: Env, argument: str) -> Screen:
    found = _cancellable(s, env, argument)
    if isinstance(found, Screen):
        return found
    s.step, s.order_number = Step.ORDERS, found.number
    return render.cancel_prompt(env, found)


def _cancel_order(s: Session, env: Env, argument: str) -> Reaction:
    found = _cancellable(s, env, argument)
    if isinstance(found, Screen):
        return found
    s.step, s.order_number = Step.ORDERS, found.number
    return Act(effects=(CancelOrder(found.id),))


def _keep_order(s: Session, env: Env, argument: str) -> Screen:
    found = _find_order(s, env, argument)
    if isinstance(found, Screen):
        return found
    return _show_order(s, env, argument, env.tx.t("cancel.kept", number=found.number))


def _reorder_word(s: Session, env: Env, argument: str) -> Screen:
    if argument:
        return _reorder(s, env, argument)
    if not env.ctx.orders:
        return _show_menu(s, env).prefaced(env.tx.t("reorder.none"))
    return _reorder(s, env, str(env.ctx.orders[0].number))


def _reorder(s: Session, env: Env, argument: str) -> Screen:
    found = _find_order(s, env, argument)
    if isinstance(found, Screen):
        return found
    notes = cart.fill(s.cart, found.items, env.catalog)
    return _cart_with_notes(s, env, env.tx.t("reorder.done", number=found.number), notes)


# --- Paying ----------------------------------------------------------------------------


def _unpaid_target(s: Session, env: Env, argument: str) -> OrderView | Screen:
    """The order a "pay"/"paid" is about: the one named, else the newest unpaid one."""
    if argument:
        return _find_order(s, env, argument)
    pending = env.ctx.pending_order()
    if pending is None:
        return _show_menu(s, env).prefaced(env.tx.t("pay.none"))
    return pending


def _not_payable(s: Session, env: Env, found: OrderView) -> Screen | None:
    if found.status == OrderStatus.PENDING_PAYMENT:
        return None
    if found.is_paid:
        lead = env.tx.t("paid.already", number=found.number)
    else:
        lead = env.tx.t("pay.closed", number=found.number, status=env.tx.status(found.status))
    return _show_order(s, env, str(found.number), lead)


def _pay_word(s: Session, env: Env, argument: str) -> Reaction:
    found = _unpaid_target(s, env, argument)
    if isinstance(found, Screen):
        return found
    return _pay(s, env, str(found.number))


def _pay(s: Session, env: Env, argument: str) -> Reaction:
    """ "pay:<number>" asks how to pay (when there is a choice); "pay:<number>:<method>" pays."""
    number, _, chosen = argument.partition(":")
    found = _find_order(s, env, number)
    if isinstance(found, Screen):
        return found
    blocked = _not_payable(s, env, found)
    if blocked is not None:
        return blocked
    s.step, s.order_number = Step.AWAITING_PAYMENT, found.number
    method = next((m for m in env.ctx.payment_methods if m.value == chosen), None)
    if method is None and len(env.ctx.payment_methods) > 1:
        return render.pay_choice(env, found)
    return Act(effects=(StartPayment(found.id, method or Method.MANUAL),))


def _paid_word(s: Session, env: Env, argument: str) -> Reaction:
    """ "paid", "paid 1042" or "paid 7KQ2-M9X7" (a reference, typos forgiven or explained)."""
    number = parse_order_number(argument) if argument else None
    if argument and (number is None or env.ctx.order(number) is None):
        try:
            reference = normalize_reference(argument)
        except InvalidInput as problem:
            if number is not None:  # an order number, but not one of this customer's
                return _paid(s, env, argument)
            return _hint(s, env, env.tx.t("paid.bad_reference", problem=problem.message))
        by_reference = env.ctx.order_by_reference(reference)
        if by_reference is None:
            lead = env.tx.t("paid.reference_unknown", reference=reference)
            return _show_menu(s, env).prefaced(lead)
        return _claim(s, env, by_reference)
    found = _unpaid_target(s, env, argument)
    return found if isinstance(found, Screen) else _claim(s, env, found)


def _paid(s: Session, env: Env, argument: str) -> Reaction:
    found = _find_order(s, env, argument)
    return found if isinstance(found, Screen) else _claim(s, env, found)


def _claim(s: Session, env: Env, found: OrderView, proof: Proof | None = None) -> Reaction:
    blocked = _not_payable(s, env, found)
    if blocked is not None:
        return blocked
    s.step, s.order_number = Step.AWAITING_PAYMENT, found.number
    return Act(effects=(ClaimPayment(found.id, proof),))


def _on_media(s: Session, env: Env, media: Media) -> Reaction:
    """A photo or PDF while an order waits for payment is taken as the proof of payment."""
    if media.kind not in PROOF_KINDS or not media.media_id:
        return _hint(s, env, env.tx.t("hint.media"))
    current = env.ctx.order(s.order_number) if s.order_number is not None else None
    if current is None or current.status != OrderStatus.PENDING_PAYMENT:
        current = env.ctx.pending_order()
    if current is None:
        return _hint(s, env, env.tx.t("media.no_order"))
    return _claim(s, env, current, Proof(media.media_id, media.mime_type, media.caption))


def _receipt_word(s: Session, env: Env, argument: str) -> Reaction:
    if argument:
        return _receipt(s, env, argument)
    paid = next((order for order in env.ctx.orders if order.is_paid), None)
    if paid is None:
        return _show_menu(s, env).prefaced(env.tx.t("receipt.none"))
    return _receipt(s, env, str(paid.number))


def _receipt(s: Session, env: Env, argument: str) -> Reaction:
    found = _find_order(s, env, argument)
    if isinstance(found, Screen):
        return found
    if not found.is_paid:
        return _show_order(
            s, env, str(found.number), env.tx.t("receipt.unpaid", number=found.number)
        )
    s.order_number = found.number
    return Act(effects=(SendReceipt(found.id),))


# --- Outcomes of effects ----------------------------------------------------------------


def _settle(s: Session, env: Env, outcome: Outcome) -> Reaction:
    if isinstance(outcome, PaymentReady | PaymentRefused | PaymentClaimed):
        return _settle_payment(s, env, outcome)
    if isinstance(outcome, ReceiptSent):
        return Act()  # the receipt's own messages are the answer
    if isinstance(outcome, ReceiptMissing):
        lead = env.tx.t("receipt.pending", number=outcome.number)
        return _show_order(s, env, str(outcome.number), lead)
    return _settle_order(s, env, outcome)


def _settle_payment(
    s: Session, env: Env, outcome: PaymentReady | PaymentRefused | PaymentClaimed
) -> Screen:
    if isinstance(outcome, PaymentRefused):
        lead = env.tx.t("pay.refused", number=outcome.number, reason=outcome.reason)
        if env.ctx.order(outcome.number) is not None:
            return _show_order(s, env, str(outcome.number), lead)
        return _show_menu(s, env).prefaced(lead)
    s.step, s.order_number = Step.AWAITING_PAYMENT, outcome.number
    if isinstance(outcome, PaymentReady):
        return render.payment(env, outcome)
    return render.claimed(env, outcome)


def _settle_order(
    s: Session, env: Env, outcome: OrderPlaced | OrderRefused | OrderCancelled | CancelRefused
) -> Screen:
    tx = env.tx
    if isinstance(outcome, OrderPlaced):
        s.cart.clear()
        s.step, s.order_number, s.note = Step.AWAITING_PAYMENT, outcome.number, ""
        s.fulfilment, s.address, s.latitude, s.longitude = None, None, None, None
        return render.placed(env, outcome)
    if isinstance(outcome, OrderRefused):
        return _show_cart(s, env).prefaced(tx.t("placed.refused", reason=outcome.reason))
    if isinstance(outcome, OrderCancelled):
        s.step = Step.MENU
        menu = render.menu(env, s, settled=outcome.number)
        return menu.prefaced(tx.t("cancel.done", number=outcome.number))
    lead = tx.t("cancel.refused", number=outcome.number, reason=outcome.reason)
    if env.ctx.order(outcome.number) is not None:
        return _show_order(s, env, str(outcome.number), lead)
    return _show_menu(s, env).prefaced(lead)


# --- Dispatch tables --------------------------------------------------------------------

# Choice ids: "<name>" or "<name>:<argument>".
CHOICES: dict[str, Handler] = {
    "menu": _show_menu,
    "help": _help,
    "human": _handover,
    "browse": _browse,
    "search": _search_prompt,
    "cat": _open_category,
    "prod": _open_product,
    "page": _turn_page,
    "back": lambda s, env, _: BACK.get(s.step, _show_menu)(s, env),
    "shop": _keep_shopping,
    "add": _add,
    "qty": _ask_quantity,
    "cart": _show_cart,
    "edit": _edit_cart,
    "line": _open_line,
    "remove": _remove_line,
    "clear": _clear_cart,
    "fix": _fix_cart,
    "checkout": _checkout,
    "ful": _choose_fulfilment,
    "confirm": _confirm,
    "orders": _show_orders,
    "order": _show_order,
    "cancel": _ask_cancel,
    "cancel-yes": _cancel_order,
    "keep": _keep_order,
    "reorder": _reorder,
    "pay": _pay,
    "paid": _paid,
    "receipt": _receipt,
}

COMMANDS: dict[Command, Handler] = {
    Command.MENU: _show_menu,
    Command.CART: _show_cart,
    Command.STATUS: _status,
    Command.HELP: _help,
    Command.CANCEL: _cancel_word,
    Command.HUMAN: _handover,
    Command.BROWSE: _browse,
    Command.CHECKOUT: _checkout,
    Command.ORDERS: _show_orders,
    Command.REORDER: _reorder_word,
    Command.SEARCH: _search_word,
    Command.BACK: CHOICES["back"],
    Command.PAY: _pay_word,
    Command.PAID: _paid_word,
    Command.RECEIPT: _receipt_word,
}

# Typed text a step waits for; None from a handler means "not that, read on".
STEP_TEXT: dict[Step, Callable[[Session, Env, str], Reaction | None]] = {
    Step.QUANTITY: _typed_quantity,
    Step.LINE: _typed_line_quantity,
    Step.ADDRESS: _typed_address,
    Step.CONFIRM: _typed_confirm,
}

# What each step shows again (for a hint); it may fall back to another step.
RESHOW: dict[Step, Show] = {
    Step.MENU: _show_menu,
    Step.CATEGORIES: _list_categories,
    Step.PRODUCTS: _list_category,
    Step.SEARCH: _list_search,
    Step.PRODUCT: lambda s, env: _open_product(s, env, s.sku or ""),
    Step.QUANTITY: lambda s, env: _ask_quantity(s, env, s.sku or ""),
    Step.CART: _show_cart,
    Step.CART_EDIT: _list_cart_lines,
    Step.LINE: lambda s, env: _open_line(s, env, s.sku or ""),
    Step.FULFILMENT: _checkout,
    Step.ADDRESS: _ask_address,
    Step.CONFIRM: _summary,
    Step.AWAITING_PAYMENT: _payment_reminder,
    Step.ORDERS: _show_orders,
    Step.HANDOVER: _show_menu,
}

LISTS: dict[Step, Show] = {
    Step.CATEGORIES: _list_categories,
    Step.PRODUCTS: _list_category,
    Step.SEARCH: _list_search,
    Step.CART_EDIT: _list_cart_lines,
}

BACK: dict[Step, Show] = {
    Step.PRODUCTS: _browse,
    Step.SEARCH: _browse,
    Step.PRODUCT: _relist,
    Step.QUANTITY: lambda s, env: _open_product(s, env, s.sku or ""),
    Step.CART_EDIT: _show_cart,
    Step.LINE: _list_cart_lines,
    Step.FULFILMENT: _show_cart,
    Step.ADDRESS: _checkout,
    Step.CONFIRM: _show_cart,
}

STEP_HINTS: dict[Step, str] = {
    Step.MENU: "hint.menu",
    Step.CATEGORIES: "hint.list",
    Step.PRODUCTS: "hint.list",
    Step.SEARCH: "hint.list",
    Step.CART_EDIT: "hint.list",
    Step.QUANTITY: "hint.quantity",
    Step.LINE: "hint.line",
    Step.FULFILMENT: "hint.fulfilment",
    Step.ADDRESS: "hint.address",
    Step.CONFIRM: "hint.confirm",
}
