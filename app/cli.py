"""`chatcart`: run and administer the shop.

Every command reads the same settings. With no DATABASE_URL/REDIS_URL the commands
use the embedded PostgreSQL and Redis under CHATCART_DATA_DIR (``.chatcart/``):
`serve` starts them, and commands run while it is up attach to the same servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
import httpx
import structlog

from app import actors, embedded
from app.logs import configure_logging, granian_log_config
from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from app.doctor import Check
    from app.runtime import Runtime

log = structlog.get_logger("app.cli")
T = TypeVar("T")


def _load() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings)
    return settings


@contextlib.contextmanager
def _services(settings: Settings, *, owner: bool) -> Iterator[Settings]:
    """Yield settings whose URLs point at real servers, starting embedded ones if needed."""
    if not settings.uses_embedded_services:
        yield settings
        return
    if not settings.chatcart_embedded:
        raise click.ClickException("DATABASE_URL and REDIS_URL must be set (CHATCART_EMBEDDED=0)")
    try:
        services = embedded.start(
            settings.chatcart_data_dir,
            owner=owner,
            postgres=settings.database_url is None,
            redis=settings.redis_url is None,
        )
    except embedded.EmbeddedUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    database_url = settings.database_url or services.database_url
    redis_url = settings.redis_url or services.redis_url
    assert database_url is not None
    assert redis_url is not None
    resolved = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHATCART_SERVICES": "embedded",
    }
    # Child processes (the web workers) read the same addresses from the environment.
    os.environ.update(resolved)
    log.info(
        "using embedded services",
        data_dir=str(services.data_dir),
        database_url=resolved["DATABASE_URL"],
        redis_url=resolved["REDIS_URL"],
    )
    try:
        yield load_settings()
    finally:
        services.stop()


def _run(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the database engine bound and the pool open."""
    from app.resources import open_resources

    async def runner() -> T:
        async with open_resources(settings):
            return await work()

    return asyncio.run(runner())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """chatcart: sell through WhatsApp, run the shop through GraphQL."""


@main.command()
@click.option(
    "--migrate/--no-migrate",
    default=None,
    help="Apply migrations first (default: yes with the embedded servers).",
)
@click.option(
    "--seed-demo/--no-seed-demo",
    default=None,
    help="Load the demo catalog into an empty shop (default: yes with the embedded servers).",
)
def serve(migrate: bool | None, seed_demo: bool | None) -> None:
    """Run the web app (webhooks, GraphQL, health) with granian."""
    settings = _load()
    with _services(settings, owner=True) as resolved:
        is_embedded = resolved.chatcart_services == "embedded"
        _prepare(
            resolved,
            migrate=is_embedded if migrate is None else migrate,
            seed_demo=is_embedded if seed_demo is None else seed_demo,
        )
        _serve_http(resolved)


def _prepare(settings: Settings, *, migrate: bool, seed_demo: bool) -> None:
    from app.catalog.seed import catalog_is_empty, seed_demo_catalog
    from app.db.migrate import apply_migrations

    async def work() -> None:
        if migrate:
            await apply_migrations()
        if seed_demo and await catalog_is_empty():
            created = await seed_demo_catalog()
            log.info("demo catalog loaded", products=created)

    _run(settings, work)


def _share_metrics(settings: Settings) -> None:
    """Several web workers keep their metrics in files that ``/metrics`` adds up
    (prometheus-client's multiprocess mode); a folder left by an earlier run is emptied."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder is None and settings.web_workers > 1:
        folder = tempfile.mkdtemp(prefix="chatcart-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def _serve_http(settings: Settings) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    _share_metrics(settings)

    log.info(
        "serving",
        url=f"http://{settings.host}:{settings.port}",
        workers=settings.web_workers,
        mode=settings.chatcart_services,
    )
    Server(
        "app.main:create_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.web_workers,
        factory=True,
        log_access=False,
        log_dictconfig=granian_log_config(settings),
        websockets=True,
    ).serve()


@main.command()
def doctor() -> None:
    """Check the configuration and every connection; say what is wrong and how to fix it."""
    from app.doctor import run_checks

    settings = _load()
    with _services(settings, owner=False) as resolved:

        async def work() -> list[Check]:
            async with httpx.AsyncClient() as http:
                return await run_checks(resolved, http)

        checks = _run_without_pool(resolved, work)
    for check in checks:
        mark = click.style("ok  ", fg="green") if check.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {check.name}: {check.found}")
        if not check.ok and check.fix:
            click.echo(f"     fix: {check.fix}")
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} check(s) failed: {', '.join(failed)}")
    click.echo("All checks passed.")


def _run_without_pool(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the engine bound but no pool: a check must not wait on one."""
    from app.db.engine import bind_engine

    bind_engine(settings.database_url or "")

    async def runner() -> T:
        return await work()

    return asyncio.run(runner())


@main.command()
def worker() -> None:
    """Run the task worker: handle customer messages and send replies (stop with SIGTERM)."""
    settings = _load()
    with _services(settings, owner=False) as resolved:
        asyncio.run(_until_signalled(resolved, _work))


@main.command()
def scheduler() -> None:
    """Run the periodic tasks (the sweeps). A second one stands by until the first stops."""
    settings = _load()
    with _services(settings, owner=False) as resolved:
        asyncio.run(_until_signalled(resolved, _schedule))


def _own_metrics(settings: Settings) -> None:
    if settings.metrics_port:
        from app.metrics import serve_metrics

        serve_metrics(settings.host, settings.metrics_port)
        log.info("metrics", url=f"http://{settings.host}:{settings.metrics_port}/metrics")


async def _work(runtime: Runtime, stop: asyncio.Event) -> None:
    from app.queue import run_worker
    from app.tasks import requeue_waiting_work

    _own_metrics(runtime.resources.settings)
    concurrency = runtime.resources.settings.worker_concurrency
    await run_worker(
        runtime.broker,
        stop,
        concurrency=concurrency,
        on_attach=functools.partial(requeue_waiting_work, runtime.tasks),
    )


async def _schedule(runtime: Runtime, stop: asyncio.Event) -> None:
    from app.queue import run_scheduler_alone

    _own_metrics(runtime.resources.settings)
    await run_scheduler_alone(runtime.broker, runtime.resources.redis, stop)


async def _until_signalled(
    settings: Settings, loop_body: Callable[[Runtime, asyncio.Event], Awaitable[None]]
) -> None:
    """Open the runtime and run ``loop_body`` until SIGTERM or SIGINT sets ``stop``.

    The signal handler sets the event on the loop itself: taskiq's Redis Streams worker
    does not stop on SIGTERM otherwise (STACK-NOTES).
    """
    from app.main import open_worker_runtime
    from app.resources import open_resources

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with open_resources(settings) as resources, open_worker_runtime(resources) as runtime:
        await loop_body(runtime, stop)


@main.command()
@click.option("--as", "phone", default="+15551234567", show_default=True, help="Your number.")
@click.option("--name", default="Terminal customer", show_default=True)
@click.option("--url", default=None, help="The shop's address (default: http://HOST:PORT).")
def chat(phone: str, name: str, url: str | None) -> None:
    """Talk to the running shop as a WhatsApp customer (sandbox mode)."""
    from app.chat import ChatClient, run
    from app.customers.service import normalize_phone
    from app.errors import InvalidInput
    from app.whatsapp.sandbox_secret import app_secret

    settings = _load()
    try:
        wa_id = normalize_phone(phone, region=settings.shop_country)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message, param_hint="--as") from None
    base_url = url or f"http://{settings.host}:{settings.port}"
    client = ChatClient(base_url=base_url, secret=app_secret(settings), wa_id=wa_id, name=name)
    try:
        run(client, input, click.echo)
    except httpx.ConnectError:
        raise click.ClickException(
            f"Cannot reach the shop at {base_url}: start it with `make serve` first."
        ) from None


@main.command()
def migrate() -> None:
    """Apply the database migrations that have not run yet."""
    from app.db.migrate import apply_migrations

    settings = _load()
    with _services(settings, owner=False) as resolved:
        _run(resolved, apply_migrations)
    click.echo("Database is up to date.")


@main.command()
@click.option("--demo", is_flag=True, required=True, help="Load the demo catalog.")
def seed(demo: bool) -> None:
    """Load the demo shop (products already present by SKU are left as they are)."""
    from app.catalog.seed import seed_demo_catalog
    from app.db.migrate import apply_migrations

    settings = _load()

    async def work() -> int:
        await apply_migrations()
        return await seed_demo_catalog()

    with _services(settings, owner=False) as resolved:
        created = _run(resolved, work)
    click.echo(f"Demo catalog: {created} products added.")


@main.command("create-staff")
@click.option("--email", required=True, help="Login email.")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--role", type=click.Choice(["ADMIN", "STAFF"], case_sensitive=False), default="STAFF"
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def create_staff(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account for the GraphQL admin API."""
    from app.errors import DomainError
    from app.staff.service import create_staff as create
    from app.staff.tables import Role

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _load()
    with _services(settings, owner=False) as resolved:
        try:
            staff = _run(resolved, lambda: create(email, name, Role(role.upper()), password))
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"Created {staff.role.value} {staff.email} (id {staff.id}).")


@main.group()
def payments() -> None:
    """Review manual payments: list, confirm, reject (staff use cases from the terminal)."""


@payments.command("list")
@click.option("--all", "everything", is_flag=True, help="Include payments nobody claimed yet.")
def payments_list(everything: bool) -> None:
    """Payments waiting for a person (claimed, under review, to refund)."""
    from app.money import Money, format_money
    from app.payments.review import review_queue

    settings = _load()
    with _services(settings, owner=False) as resolved:
        lines = _run(resolved, lambda: review_queue(everything_open=everything))
    if not lines:
        click.echo("No payments waiting for review.")
        return
    for line in lines:
        amount = format_money(Money(line.amount, line.currency), settings.shop_locale)
        proof = " · proof sent" if line.proof else ""
        note = f" · {line.note}" if line.note else ""
        click.echo(
            f"{line.reference}  order #{line.order_number}  {amount}  {line.provider}  "
            f"{line.status}{proof}{note}"
        )


@payments.command("confirm")
@click.argument("payment")
@click.option("--note", default=None, help="Kept in the audit trail.")
def payments_confirm(payment: str, note: str | None) -> None:
    """Confirm PAYMENT (reference or id): the order is paid and the receipt sent."""
    from app.payments.service import confirm_payment
    from app.payments.states import PaymentStatus

    async def work(runtime: Runtime) -> str:
        payment_id = await _payment_id(payment)
        done = await confirm_payment(
            payment_id, actor=actors.OPERATOR, note=note, notices=runtime.notices
        )
        if done.already:
            return f"Payment {payment} was already confirmed (order #{done.order_number})."
        if done.status is not PaymentStatus.CONFIRMED:
            await _deliver_to_payer(runtime, done.order_id)
            return (
                f"Order #{done.order_number} was already paid: payment {payment} is flagged "
                "for refund and the customer was told."
            )
        await runtime.tasks.settle_payment.kiq(payment_id)
        return f"Confirmed: order #{done.order_number} is paid; the receipt is on its way."

    click.echo(_with_runtime(work))


@payments.command("reject")
@click.argument("payment")
@click.option("--reason", required=True, help="Told to the customer.")
def payments_reject(payment: str, reason: str) -> None:
    """Reject PAYMENT (reference or id): the customer is told why and how to pay again."""
    from app.payments.methods import stop_attempts
    from app.payments.service import reject_payment

    async def work(runtime: Runtime) -> str:
        settings = runtime.resources.settings
        payment_id = await _payment_id(payment)
        record = await reject_payment(
            payment_id,
            actor=actors.OPERATOR,
            reason=reason,
            notices=runtime.notices,
            payment_minutes=settings.order_payment_minutes,
        )
        await _deliver_to_payer(runtime, record.order_id)
        if record.provider_payment_id:  # a card link must not take money after this
            await stop_attempts(
                runtime.payment_methods, [(record.provider, record.provider_payment_id)]
            )
        return f"Rejected {record.reference}; the customer was told."

    click.echo(_with_runtime(work))


async def _payment_id(key: str) -> int:
    from app.payments.review import find_payment

    return await find_payment(key)


async def _deliver_to_payer(runtime: Runtime, order_id: int) -> None:
    from app.ordering.tables import Order

    order = await Order.select(Order.customer).where(Order.id == order_id).first()
    if order is not None:
        await runtime.tasks.deliver_outbound.kiq(order["customer"])


def _with_runtime(work: Callable[[Runtime], Awaitable[str]]) -> str:
    """Run ``work`` with a runtime that enqueues tasks; domain errors become CLI errors."""
    from app.errors import DomainError
    from app.main import open_worker_runtime
    from app.resources import open_resources

    settings = _load()

    async def runner(resolved: Settings) -> str:
        async with (
            open_resources(resolved) as resources,
            open_worker_runtime(resources, consume=False) as runtime,
        ):
            return await work(runtime)

    with _services(settings, owner=False) as resolved:
        try:
            return asyncio.run(runner(resolved))
        except DomainError as exc:
            raise click.ClickException(exc.message) from None


@main.command("export-schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of standard output.",
)
def export_schema(output: str | None) -> None:
    """Print the GraphQL schema (SDL) the API serves: `chatcart export-schema > schema.graphql`."""
    from app.graphql.sdl import schema_sdl

    if output is None:
        click.echo(schema_sdl(), nl=False)
        return
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(schema_sdl())
    click.echo(f"Wrote {output}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
