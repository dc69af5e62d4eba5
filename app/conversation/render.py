"""The screens of the conversation, built from the session and the turn's context.

Every function here only describes what to show; ``machine`` decides which one and
updates the session. All words come from ``messages``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.conversation.cart import CartEntry, Note, PricedCart, Problem, price
from app.conversation.effects import ClaimState, OrderPlaced, PaymentClaimed, PaymentReady
from app.conversation.messages import Texts
from app.conversation.screens import Option, Screen, paginate
from app.conversation.session import Session
from app.conversation.view import CatalogSnapshot, Context, OrderView, ProductView
from app.ordering.pricing import CartTotals
from app.ordering.states import OrderStatus
from app.ordering.values import MAX_LINES, Fulfilment
from app.payments.providers import Method
from app.whatsapp.outgoing import BUTTON_TITLE_MAX, LIST_BODY_MAX, clip

LOW_STOCK = 5  # show "only N left" from here down
NAME_IN_BODY = 60  # product names inside a body, so 50 cart lines still fit one message
DESCRIPTION_IN_BODY = 600
RECENT_ORDERS = 10


@dataclass(frozen=True, slots=True)
class Env:
    """The turn's context with its texts bound to the shop's locale and currency."""

    ctx: Context
    tx: Texts

    @classmethod
    def of(cls, ctx: Context) -> Env:
        return cls(ctx, Texts.for_locale(ctx.locale, ctx.terms.currency))

    @property
    def catalog(self) -> CatalogSnapshot:
        return self.ctx.catalog

    def option(self, id: str, key: str, description: str | None = None) -> Option:
        return Option(id, self.tx.t(key), description)

    def priced(self, session: Session) -> PricedCart:
        return price(session.cart, self.catalog, self.ctx.terms, session.fulfilment)


# --- Menu and help ---------------------------------------------------------------------


def welcome(env: Env) -> str:
    text = env.tx.t("menu.welcome", shop=env.ctx.shop_name)
    return f"{text}\n{env.tx.t('menu.expired')}" if env.ctx.session_expired else text


def menu(env: Env, session: Session, *, body: str | None = None, settled: int = 0) -> Screen:
    """The main menu; ``settled`` is an order number not to call pending any more."""
    tx = env.tx
    lines = [body or tx.t("menu.body")]
    count = sum(item.quantity for item in session.cart)
    if count:
        lines.append(tx.plural("menu.cart", count))
    pending = _pending(env.ctx.orders, settled)
    if pending:
        lines.append(tx.t("menu.pending", number=pending.number))
    options = [
        env.option("browse", "opt.browse", tx.t("opt.browse.desc")),
        env.option("search", "opt.search", tx.t("opt.search.desc")),
        env.option("cart", "opt.cart", tx.plural("opt.cart.desc", count)),
    ]
    if env.ctx.orders:
        options.append(env.option("orders", "opt.orders", tx.t("opt.orders.desc")))
    options.append(env.option("help", "opt.help"))
    options.append(env.option("human", "opt.human", tx.t("opt.human.desc")))
    return Screen("\n".join(lines), tuple(options), tx.t("menu.button"), tx.t("menu.section"))


def _pending(orders: Sequence[OrderView], settled: int) -> OrderView | None:
    return next(
        (o for o in orders if o.status == OrderStatus.PENDING_PAYMENT and o.number != settled),
        None,
    )


def search_prompt(env: Env) -> Screen:
    return Screen(env.tx.t("search.prompt"))


# --- Lists ----------------------------------------------------------------------------


def _more(env: Env) -> Callable[[int, int], Option]:
    def more(next_page: int, pages: int) -> Option:
        description = env.tx.t("opt.more.desc", page=next_page + 1, pages=pages)
        return env.option(f"page:{next_page}", "opt.more", description)

    return more


def categories(env: Env, page: int) -> tuple[Screen, int]:
    tx = env.tx
    options = [
        Option(
            f"cat:{name}", name, tx.plural("categories.count", len(env.catalog.in_category(name)))
        )
        for name in env.catalog.categories()
    ]
    shown, page = paginate(options, page, _more(env))
    body = tx.t("categories.body")
    return Screen(body, shown, tx.t("list.button"), tx.t("categories.section")), page


def products(
    env: Env, body: str, section: str, items: Sequence[ProductView], page: int
) -> tuple[Screen, int]:
    options = [Option(f"prod:{p.sku}", p.name, row_description(env, p)) for p in items]
    shown, page = paginate(options, page, _more(env))
    return Screen(body, shown, env.tx.t("list.button"), section), page


def category_products(env: Env, category: str, page: int) -> tuple[Screen, int]:
    body = env.tx.t("category.body", category=clip(category, NAME_IN_BODY))
    return products(env, body, category, env.catalog.in_category(category), page)


def search_results(
    env: Env, query: str, items: Sequence[ProductView], page: int
) -> tuple[Screen, int]:
    body = env.tx.t("search.results", query=clip(query, NAME_IN_BODY))
    return products(env, body, env.tx.t("search.section"), items, page)


def row_description(env: Env, product: ProductView) -> str:
    amount = env.tx.money(product.price)
    if not product.sellable:
        return env.tx.t("row.sold_out", price=amount)
    if product.stock is not None and product.stock <= LOW_STOCK:
        return env.tx.t("row.left", price=amount, count=env.tx.number(product.stock))
    return env.tx.t("row.price", price=amount)


# --- One product ----------------------------------------------------------------------


def product(env: Env, product: ProductView, in_cart: int) -> Screen:
    tx = env.tx
    lines = [f"*{clip(product.name, NAME_IN_BODY * 2)}*", tx.money(product.price)]
    lines.append(_stock_line(env, product))
    if in_cart:
        lines.append(tx.t("product.in_cart", count=tx.number(in_cart)))
    if product.description.strip():
        lines.append("\n" + clip(product.description.strip(), DESCRIPTION_IN_BODY))
    options = (
        env.option(f"add:{product.sku}:1", "opt.add_one"),
        env.option(f"qty:{product.sku}", "opt.choose_quantity"),
        env.option("back", "opt.back"),
    )
    return Screen("\n".join(lines), options)


def _stock_line(env: Env, product: ProductView) -> str:
    if not product.sellable:
        return env.tx.t("product.sold_out")
    if product.stock is not None and product.stock <= LOW_STOCK:
        return env.tx.plural("product.left", product.stock)
    return env.tx.t("product.in_stock")


def unsellable_reason(env: Env, product: ProductView) -> str:
    key = "product.unavailable_reason" if not product.available else "product.sold_out_reason"
    return env.tx.t(key, name=clip(product.name, NAME_IN_BODY))


def alternatives(env: Env, reason: str, items: Sequence[ProductView]) -> Screen:
    tx = env.tx
    options = [Option(f"prod:{p.sku}", p.name, row_description(env, p)) for p in items]
    options.append(env.option("back", "opt.back"))
    body = f"{reason}\n{tx.t('product.alternatives')}"
    return Screen(body, tuple(options), tx.t("list.button"), tx.t("product.alternatives_section"))


def quantity_prompt(env: Env, product: ProductView, room: int) -> Screen:
    name = clip(product.name, NAME_IN_BODY)
    body = env.tx.t("quantity.prompt", name=name, max=env.tx.number(room))
    picks = [n for n in (2, 3) if n <= room] or [1]
    options = [Option(f"add:{product.sku}:{n}", env.tx.number(n)) for n in picks]
    options.append(env.option("back", "opt.back"))
    return Screen(body, tuple(options))


def added(env: Env, session: Session, product: ProductView, quantity: int) -> Screen:
    tx = env.tx
    count = sum(item.quantity for item in session.cart)
    total = tx.money(env.priced(session).totals.total)
    body = "\n".join(
        [
            tx.t("cart.added", quantity=tx.number(quantity), name=clip(product.name, NAME_IN_BODY)),
            tx.plural("cart.count", count, total=total),
        ]
    )
    options = (
        env.option("cart", "opt.view_cart"),
        env.option("checkout", "opt.checkout"),
        env.option("shop", "opt.keep_shopping"),
    )
    return Screen(body, options)


# --- The cart -------------------------------------------------------------------------


def cart(env: Env, session: Session) -> Screen:
    tx = env.tx
    if not session.cart:
        empty = (env.option("browse", "opt.browse"), env.option("menu", "opt.menu"))
        return Screen(tx.t("cart.empty"), empty)
    priced = env.priced(session)
    lines = [tx.t("cart.title"), *cart_lines(env, priced), ""]
    lines += totals(env, priced.totals, session.fulfilment is Fulfilment.DELIVERY)
    first: Option
    if priced.problems:
        lines += ["", tx.t("cart.problems")]
        first = env.option("fix", "opt.fix")
    else:
        first = env.option("checkout", "opt.checkout")
    options = (first, env.option("edit", "opt.change"), env.option("shop", "opt.keep_shopping"))
    return Screen("\n".join(lines), options, tx.t("list.button"), tx.t("cart.edit_section"))


def cart_lines(env: Env, priced: PricedCart) -> list[str]:
    tx = env.tx
    amounts = {
        line.sku: line.gross if env.ctx.terms.prices_include_tax else line.net
        for line in priced.totals.lines
    }
    return [_cart_line(env, entry, amounts.get(entry.item.sku, 0)) for entry in priced.entries] or [
        tx.t("cart.empty")
    ]


def _cart_line(env: Env, entry: CartEntry, amount: int) -> str:
    tx = env.tx
    values = {"quantity": tx.number(entry.item.quantity), "name": clip(entry.name, NAME_IN_BODY)}
    if entry.problem is Problem.GONE:
        return tx.t("cart.line.gone", **values)
    if entry.problem is Problem.SOLD_OUT:
        return tx.t("cart.line.sold_out", **values)
    if entry.problem is Problem.SHORT and entry.product is not None:
        return tx.t("cart.line.short", count=tx.number(entry.product.max_quantity), **values)
    return tx.t("cart.line", amount=tx.money(amount), **values)


def totals(env: Env, totals: CartTotals, delivery: bool) -> list[str]:
    tx = env.tx
    if env.ctx.terms.prices_include_tax:
        lines = [
            tx.t(
                "totals.items_with_tax",
                amount=tx.money(totals.items_gross),
                tax=tx.money(totals.tax),
            )
        ]
    else:
        lines = [
            tx.t("totals.subtotal", amount=tx.money(totals.subtotal)),
            tx.t("totals.tax", amount=tx.money(totals.tax)),
        ]
    if delivery:
        lines.append(tx.t("totals.delivery", amount=tx.money(totals.delivery_fee)))
    lines.append(tx.t("totals.total", amount=tx.money(totals.total)))
    return lines


def notes(env: Env, found: Sequence[Note]) -> str:
    tx = env.tx
    lines = [tx.t("cart.notes")]
    for note in found:
        lines.append(
            tx.t(
                f"note.{note.kind.value}",
                sku=note.sku,
                name=clip(note.name, NAME_IN_BODY),
                quantity=note.quantity,
                count=tx.number(note.count),
                max=tx.number(MAX_LINES),
            )
        )
    return "\n".join(lines)


def cart_edit(env: Env, session: Session, page: int) -> tuple[Screen, int]:
    tx = env.tx
    options = [
        Option(
            f"line:{item.sku}",
            _name(env, item.sku),
            tx.t("cart.edit_row", quantity=tx.number(item.quantity)),
        )
        for item in session.cart
    ]
    options.append(env.option("clear", "opt.clear", tx.t("opt.clear.desc")))
    shown, page = paginate(options, page, _more(env))
    return Screen(tx.t("cart.edit"), shown, tx.t("list.button"), tx.t("cart.edit_section")), page


def line(env: Env, sku: str, quantity: int) -> Screen:
    name = clip(_name(env, sku), NAME_IN_BODY)
    body = env.tx.t("cart.line_prompt", name=name, quantity=env.tx.number(quantity))
    options = (env.option(f"remove:{sku}", "opt.remove"), env.option("cart", "opt.back_to_cart"))
    return Screen(body, options)


def _name(env: Env, sku: str) -> str:
    product = env.catalog.get(sku)
    return product.name if product else sku


# --- Checkout -------------------------------------------------------------------------


def fulfilment(env: Env) -> Screen:
    tx = env.tx
    fee = env.ctx.terms.delivery_fee
    fee_line = tx.t("fulfilment.fee", fee=tx.money(fee)) if fee else tx.t("fulfilment.free")
    options = (
        env.option("ful:delivery", "opt.delivery"),
        env.option("ful:pickup", "opt.pickup"),
        env.option("cart", "opt.back_to_cart"),
    )
    return Screen(f"{tx.t('fulfilment.prompt')}\n{fee_line}", options)


def address(env: Env) -> Screen:
    return Screen(env.tx.t("address.prompt"), ask_location=True)


def summary(env: Env, session: Session) -> Screen:
    tx = env.tx
    priced = env.priced(session)
    delivery = session.fulfilment is Fulfilment.DELIVERY
    lines = [tx.t("summary.title"), *cart_lines(env, priced), ""]
    lines += totals(env, priced.totals, delivery)
    lines += ["", _destination(env, session), "", tx.t("summary.confirm")]
    options = (env.option("confirm", "opt.confirm"), env.option("cart", "opt.edit_cart"))
    return Screen("\n".join(lines), options)


def _destination(env: Env, session: Session) -> str:
    if session.fulfilment is not Fulfilment.DELIVERY:
        return env.tx.t("summary.pickup", shop=env.ctx.shop_name)
    if session.address:
        return env.tx.t("summary.delivery_to", address=clip(session.address, 300))
    return env.tx.t("summary.delivery_location")


def placed(env: Env, outcome: OrderPlaced) -> Screen:
    tx = env.tx
    amount = tx.money(outcome.totals.total)
    title = tx.t("placed.title", number=outcome.number)
    items = [
        tx.t("order.item", quantity=tx.number(item.quantity), name=clip(item.name, NAME_IN_BODY))
        for item in outcome.totals.lines
    ]
    if outcome.payment_reference is None:
        choose = tx.t("placed.choose", amount=amount, deadline=deadline(env, outcome))
        return Screen(_placed_body(title, items, [choose]), _method_options(env, outcome.number))
    payment = _manual_lines(env, outcome.payment_reference, outcome.totals.total)
    payment.append(tx.t("placed.deadline", deadline=deadline(env, outcome)))
    return Screen(_placed_body(title, items, payment), _awaiting_options(env, outcome.number))


def _placed_body(title: str, items: list[str], payment: list[str]) -> str:
    """The items are clipped, never the payment lines: a long order with long instructions
    would otherwise lose the amount, reference and deadline off the end of the message."""
    tail = "\n".join(payment)
    room = LIST_BODY_MAX - len(title) - len(tail) - 3  # the newlines around the items
    block = clip("\n".join(items), max(room, 1))
    return f"{title}\n{block}\n\n{tail}"


def _manual_lines(env: Env, reference: str, amount: int) -> list[str]:
    tx = env.tx
    lines = [tx.t("placed.how_to_pay", instructions=env.ctx.payment_instructions.strip())]
    if env.ctx.manual_account:
        lines.append(tx.t("pay.account", account=env.ctx.manual_account.strip()))
    lines.append(tx.t("placed.amount", amount=tx.money(amount)))
    lines.append(tx.t("placed.reference", reference=reference))
    return lines


def _method_options(env: Env, number: int) -> tuple[Option, ...]:
    manual = clip(env.ctx.manual_label, BUTTON_TITLE_MAX)
    return (
        env.option(f"pay:{number}:{Method.CARD.value}", "opt.card"),
        Option(f"pay:{number}:{Method.MANUAL.value}", manual),
        env.option(f"cancel:{number}", "opt.cancel_order"),
    )


def _awaiting_options(env: Env, number: int) -> tuple[Option, ...]:
    return (
        env.option(f"paid:{number}", "opt.paid"),
        env.option(f"order:{number}", "opt.status"),
        env.option(f"cancel:{number}", "opt.cancel_order"),
    )


def pay_choice(env: Env, o: OrderView) -> Screen:
    body = env.tx.t("pay.choose", number=o.number, amount=_money(env, o))
    return Screen(body, _method_options(env, o.number))


def payment(env: Env, ready: PaymentReady) -> Screen:
    """The instructions of one payment attempt: a card link, or the manual reference."""
    tx = env.tx
    lines: list[str] = []
    if ready.fallback:
        lines += [tx.t("pay.card_unavailable", method=env.ctx.manual_label), ""]
    if ready.method is Method.CARD and ready.checkout_url:
        lines.append(tx.t("pay.card", amount=tx.money(ready.amount), url=ready.checkout_url))
    else:
        lines += _manual_lines(env, ready.reference, ready.amount)
    lines.append(tx.t("pay.deadline", deadline=tx.deadline(ready.expires_at, env.ctx.now)))
    return Screen("\n".join(lines), _awaiting_options(env, ready.number))


def claimed(env: Env, claim: PaymentClaimed) -> Screen:
    tx = env.tx
    keys = {
        ClaimState.CLAIMED: "paid.thanks",
        ClaimState.AGAIN: "paid.again",
        ClaimState.PROOF: "paid.proof",
        ClaimState.CARD_CONFIRMED: "paid.card_confirmed",
        ClaimState.CARD_PENDING: "paid.card_pending",
        ClaimState.NOTHING_OPEN: "paid.nothing_open",
    }
    body = tx.t(
        keys[claim.state],
        number=claim.number,
        reference=claim.reference or "",
        url=claim.checkout_url or "",
    )
    if claim.state is ClaimState.NOTHING_OPEN:
        options = (
            env.option(f"pay:{claim.number}", "opt.pay"),
            env.option(f"order:{claim.number}", "opt.status"),
            env.option("menu", "opt.menu"),
        )
    else:
        options = (
            env.option(f"order:{claim.number}", "opt.status"),
            env.option("orders", "opt.orders"),
            env.option("menu", "opt.menu"),
        )
    return Screen(body, options)


def deadline(env: Env, outcome: OrderPlaced) -> str:
    """The time to pay by; with the date when that is not today."""
    return env.tx.deadline(outcome.expires_at, env.ctx.now)


# --- Orders ---------------------------------------------------------------------------


def orders(env: Env) -> Screen:
    tx = env.tx
    options = tuple(
        Option(
            f"order:{o.number}",
            tx.t("orders.row", number=o.number, status=tx.status(o.status)),
            tx.t("orders.row_desc", total=_money(env, o), date=tx.date(o.placed_at)),
        )
        for o in env.ctx.orders[:RECENT_ORDERS]
    )
    return Screen(tx.t("orders.body"), options, tx.t("list.button"), tx.t("orders.section"))


def order(env: Env, o: OrderView) -> Screen:
    tx = env.tx
    lines = [
        tx.t("order.title", number=o.number, status=tx.status(o.status)),
        tx.t("order.placed", date=tx.date(o.placed_at)),
        "",
        *(
            tx.t("order.item", quantity=tx.number(quantity), name=clip(name, NAME_IN_BODY))
            for _, name, quantity in o.items
        ),
        tx.t("order.total", amount=_money(env, o)),
    ]
    pending = o.status == OrderStatus.PENDING_PAYMENT
    if pending and o.payment_status == "awaiting_verification":
        lines.append(tx.t("order.checking"))
    elif pending and o.checkout_url:
        lines.append(tx.t("payment.link", url=o.checkout_url))
    elif pending and o.payment_reference:
        lines.append(tx.t("order.reference", reference=o.payment_reference))
    if o.receipt:
        lines.append(tx.t("order.receipt", receipt=o.receipt))
    if pending:
        options = (
            env.option(f"paid:{o.number}", "opt.paid"),
            env.option(f"cancel:{o.number}", "opt.cancel_order"),
            env.option("menu", "opt.menu"),
        )
    else:
        options = (
            env.option(f"reorder:{o.number}", "opt.reorder"),
            env.option("orders", "opt.orders"),
            env.option("menu", "opt.menu"),
        )
    return Screen("\n".join(lines), options)


def cancel_prompt(env: Env, o: OrderView) -> Screen:
    body = env.tx.t("cancel.prompt", number=o.number, total=_money(env, o))
    options = (
        env.option(f"cancel-yes:{o.number}", "opt.cancel_yes"),
        env.option(f"keep:{o.number}", "opt.keep_order"),
    )
    return Screen(body, options)


def _money(env: Env, o: OrderView) -> str:
    if o.currency == env.tx.currency:
        return env.tx.money(o.total)
    return Texts.for_locale(env.tx.locale, o.currency).money(o.total)


def handover(env: Env) -> Screen:
    return Screen(env.tx.t("handover", shop=env.ctx.shop_name))
