"""`chatcart doctor` finds what stops the shop from running, and says how to fix it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from app.doctor import Check, run_checks
from app.resources import Resources
from app.settings import Settings
from tests.conftest import make_settings

CLOUD = {
    "whatsapp_transport": "cloud",
    "whatsapp_access_token": "token",
    "whatsapp_phone_number_id": "1055",
    "whatsapp_app_secret": "secret",
    "whatsapp_verify_token": "verify",
}
STRIPE = {"stripe_secret_key": "sk_test_abc", "stripe_webhook_secret": "whsec_abc"}
GRAPH = "https://graph.facebook.com/v26.0/1055"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def settings_with(settings: Settings, **overrides: object) -> Settings:
    return make_settings(settings.database_url or "", settings.redis_url or "", **overrides)


async def test_a_working_installation_passes(
    db: Resources, settings: Settings, http: httpx.AsyncClient
) -> None:
    checks = by_name(await run_checks(settings, http))
    assert all(check.ok for check in checks.values()), checks
    assert "migrations applied" in checks["PostgreSQL"].found
    assert checks["Redis"].found.startswith("Redis ")


async def test_valid_whatsapp_and_stripe_credentials_are_confirmed(
    db: Resources, settings: Settings, http: httpx.AsyncClient
) -> None:
    with respx.mock(assert_all_called=True) as api:
        api.get(GRAPH).respond(
            200, json={"display_phone_number": "+1 555 0100", "verified_name": "Bakery"}
        )
        api.get("https://api.stripe.com/v1/balance").respond(200, json={"object": "balance"})
        checks = by_name(await run_checks(settings_with(settings, **CLOUD, **STRIPE), http))
    assert checks["WhatsApp token"].ok
    assert "+1 555 0100" in checks["WhatsApp token"].found
    assert checks["Stripe"].ok
    assert "test mode" in checks["Stripe"].found


async def test_refused_credentials_are_reported_with_a_fix(
    db: Resources, settings: Settings, http: httpx.AsyncClient
) -> None:
    expired = {"error": {"message": "Error validating access token: Session has expired"}}
    with respx.mock(assert_all_called=True) as api:
        api.get(GRAPH).respond(401, json=expired)
        api.get("https://api.stripe.com/v1/balance").respond(401, json={"error": {}})
        checks = by_name(await run_checks(settings_with(settings, **CLOUD, **STRIPE), http))
    whatsapp, stripe = checks["WhatsApp token"], checks["Stripe"]
    assert not whatsapp.ok
    assert "Session has expired" in whatsapp.found
    assert "WHATSAPP_ACCESS_TOKEN" in whatsapp.fix
    assert not stripe.ok
    assert "STRIPE_SECRET_KEY" in stripe.fix


async def test_unreachable_servers_and_missing_migrations_are_reported(
    db: Resources, settings: Settings, http: httpx.AsyncClient
) -> None:
    unreachable = make_settings(settings.database_url or "", "redis://127.0.0.1:1/0")
    checks = by_name(await run_checks(unreachable, http))
    assert not checks["Redis"].ok
    assert "REDIS_URL" in checks["Redis"].fix
    pool = db.engine.pool
    assert pool is not None
    latest = await pool.fetchrow(
        "DELETE FROM migration WHERE id = (SELECT max(id) FROM migration) RETURNING *"
    )
    assert latest is not None
    try:
        checks = by_name(await run_checks(settings, http))
        assert not checks["PostgreSQL"].ok
        assert "chatcart migrate" in checks["PostgreSQL"].fix
    finally:
        await pool.execute(
            "INSERT INTO migration (id, name, app_name, ran_on) VALUES ($1, $2, $3, $4)",
            latest["id"],
            latest["name"],
            latest["app_name"],
            latest["ran_on"],
        )
