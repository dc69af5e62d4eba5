from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.payments.methods import PaymentMethods
from app.payments.notices import Notices
from app.payments.providers import ManualProvider
from app.resources import Resources
from app.runtime import build_payment_methods
from app.settings import Settings
from tests.conftest import make_settings
from tests.integration.payments.fake_stripe import API, SECRET_KEY, WEBHOOK_SECRETS, FakeStripe
from tests.integration.payments.fake_stripe import fake_stripe as open_fake_stripe


@pytest.fixture
def notices(shop_settings: Settings) -> Notices:
    return Notices(shop_settings)


@pytest.fixture
def manual_only() -> PaymentMethods:
    return PaymentMethods(ManualProvider())


SHOP_URL = "https://shop.example"
LINK_KEY = "receipt-link-key-for-tests"


@pytest.fixture(scope="session")
def shop_settings(settings: Settings) -> Settings:
    """The test shop reached at a public URL, signing receipt links with a known key."""
    return make_settings(
        settings.database_url or "",
        settings.redis_url or "",
        public_url=SHOP_URL,
        secret_key=LINK_KEY,
    )


@pytest.fixture(scope="session")
def stripe_settings(settings: Settings) -> Settings:
    """The test shop with card payments on, against the fake Stripe API."""
    return make_settings(
        settings.database_url or "",
        settings.redis_url or "",
        public_url=SHOP_URL,
        secret_key=LINK_KEY,
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=",".join(WEBHOOK_SECRETS),
        stripe_api_url=API,
    )


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with open_fake_stripe() as fake:
        yield fake


@pytest.fixture
async def card_methods(stripe_settings: Settings, db: Resources) -> AsyncIterator[PaymentMethods]:
    """Manual and Stripe, wired as the app wires them (guard on the test Redis)."""
    async with httpx.AsyncClient() as http:
        methods = build_payment_methods(stripe_settings, db, http)
        assert methods.card is not None
        yield methods
