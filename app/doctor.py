"""``chatcart doctor``: is this installation able to run, and if not, what to change.

Each check says what it found and, when something is wrong, how to fix it. Nothing is
changed: the checks read the settings, connect, and ask the external APIs read-only
questions (who owns this WhatsApp token, whose Stripe key is this).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder

from app.db import piccolo_conf
from app.settings import Settings

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""


async def run_checks(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    checks = [*_configuration(settings)]
    checks.append(await _postgres())
    checks.append(await _redis(settings))
    checks.append(await _whatsapp(settings, http))
    checks.append(await _stripe(settings, http))
    return checks


def _configuration(settings: Settings) -> list[Check]:
    found = []
    production = settings.environment == "production"
    if production and settings.public_url is None:
        found.append(
            Check(
                "public URL",
                False,
                "PUBLIC_URL is not set: receipt links and Stripe's return page need it",
                "set PUBLIC_URL to the address customers reach the shop at, e.g. "
                "https://shop.example",
            )
        )
    if settings.whatsapp_transport == "sandbox":
        found.append(
            Check(
                "WhatsApp",
                not production,
                "sandbox transport: replies are kept locally, nothing reaches WhatsApp",
                "" if not production else "set WHATSAPP_TRANSPORT=cloud and its credentials",
            )
        )
    found.append(
        Check(
            "settings",
            True,
            f"environment {settings.environment}, shop {settings.shop_name!r}, "
            f"{settings.shop_currency}, {settings.shop_timezone}",
        )
    )
    return found


async def _postgres() -> Check:
    engine = piccolo_conf.DB
    try:
        connection = await asyncio.wait_for(engine.get_new_connection(), TIMEOUT_SECONDS)
    except Exception as exc:
        return Check(
            "PostgreSQL",
            False,
            f"cannot connect: {_reason(exc)}",
            "start PostgreSQL, or set DATABASE_URL to a server this machine can reach",
        )
    try:
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    try:
        applied = set(await Migration.get_migrations_which_ran(app_name="chatcart"))
    except Exception:
        applied = set()
    known = set(_migration_ids())
    missing = sorted(known - applied)
    if missing:
        return Check(
            "PostgreSQL",
            False,
            f"PostgreSQL {version}: {len(missing)} migration(s) not applied ({missing[0]} …)",
            "run `chatcart migrate`",
        )
    return Check("PostgreSQL", True, f"PostgreSQL {version}, all {len(known)} migrations applied")


async def _redis(settings: Settings) -> Check:
    client = aioredis.from_url(settings.redis_url or "", socket_connect_timeout=TIMEOUT_SECONDS)
    try:
        info: dict[str, Any] = await asyncio.wait_for(client.info("server"), TIMEOUT_SECONDS)
    except Exception as exc:
        return Check(
            "Redis",
            False,
            f"cannot connect: {_reason(exc)}",
            "start Redis, or set REDIS_URL to a server this machine can reach",
        )
    finally:
        await client.aclose()
    return Check("Redis", True, f"Redis {info.get('redis_version', '?')}")


async def _whatsapp(settings: Settings, http: httpx.AsyncClient) -> Check:
    if settings.whatsapp_transport != "cloud":
        return Check("WhatsApp token", True, "not needed with the sandbox transport")
    token = settings.whatsapp_access_token
    url = (
        f"{settings.whatsapp_graph_url.rstrip('/')}/{settings.whatsapp_api_version}/"
        f"{settings.whatsapp_phone_number_id}"
    )
    try:
        response = await http.get(
            url,
            params={"fields": "display_phone_number,verified_name"},
            headers={"Authorization": f"Bearer {token.get_secret_value() if token else ''}"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        return Check(
            "WhatsApp token",
            False,
            f"cannot reach {settings.whatsapp_graph_url}: {_reason(exc)}",
            "check this machine's outbound network access to graph.facebook.com",
        )
    if response.status_code == 200:
        body = response.json()
        return Check(
            "WhatsApp token",
            True,
            f"valid for {body.get('display_phone_number', '?')} "
            f"({body.get('verified_name', 'unnamed')})",
        )
    message = _graph_error(response)
    return Check(
        "WhatsApp token",
        False,
        f"WhatsApp refused it ({response.status_code}): {message}",
        "create a permanent system-user token with whatsapp_business_messaging for this "
        "phone number id, and set WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID",
    )


async def _stripe(settings: Settings, http: httpx.AsyncClient) -> Check:
    key = settings.stripe_secret_key
    if key is None:
        return Check("Stripe", True, "not configured: customers pay with the manual method")
    try:
        response = await http.get(
            f"{settings.stripe_api_url.rstrip('/')}/v1/balance",
            auth=(key.get_secret_value(), ""),
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        return Check(
            "Stripe",
            False,
            f"cannot reach {settings.stripe_api_url}: {_reason(exc)}",
            "check this machine's outbound network access to api.stripe.com",
        )
    if response.status_code != 200:
        return Check(
            "Stripe",
            False,
            f"Stripe refused the key ({response.status_code})",
            "copy the secret key (sk_live_… or sk_test_…) from the Stripe dashboard into "
            "STRIPE_SECRET_KEY",
        )
    live = key.get_secret_value().startswith(("sk_live_", "rk_live_"))
    webhook = settings.stripe_webhook_secret is not None
    mode = "live" if live else "test"
    if not webhook:
        return Check(
            "Stripe",
            False,
            f"key accepted ({mode} mode), but STRIPE_WEBHOOK_SECRET is not set: payments "
            "would never be confirmed",
            "add a webhook endpoint for /webhooks/payments/stripe in the Stripe dashboard "
            "and set STRIPE_WEBHOOK_SECRET to its signing secret",
        )
    return Check("Stripe", True, f"key accepted ({mode} mode), webhook secret set")


def _migration_ids() -> list[str]:
    manager = BaseMigrationManager()
    folder = Finder().get_app_config("chatcart").resolved_migrations_folder_path
    return manager.get_migration_ids(manager.get_migration_modules(folder))


def _graph_error(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
