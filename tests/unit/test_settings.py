"""Settings come from the environment; bad values fail loudly, naming the variable."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError, load_settings, shop_terms


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "SHOP_CURRENCY", "CHATCART_EMBEDDED"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_give_a_working_embedded_shop() -> None:
    settings = load_settings()
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.uses_embedded_services
    assert settings.shop_currency == "USD"


def test_environment_values_are_read_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://shop@db.internal/shop")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("SHOP_CURRENCY", "kes")
    monkeypatch.setenv("SHOP_LOCALE", "sw_KE")
    monkeypatch.setenv("SHOP_TIMEZONE", "Africa/Nairobi")
    monkeypatch.setenv("PRICES_INCLUDE_TAX", "true")
    monkeypatch.setenv("DELIVERY_FEE", "15000")
    settings = load_settings()
    assert not settings.uses_embedded_services
    assert settings.shop_currency == "KES"
    assert settings.timezone.key == "Africa/Nairobi"
    terms = shop_terms(settings)
    assert (terms.currency, terms.prices_include_tax, terms.delivery_fee) == ("KES", True, 15000)


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("SHOP_CURRENCY", "DOLLARS", "ISO 4217"),
        ("SHOP_LOCALE", "xx_NOWHERE", "locale"),
        ("SHOP_TIMEZONE", "Mars/Olympus", "time zone"),
        ("PORT", "99999", "65535"),
        ("DELIVERY_FEE", "-5", "0"),
        ("DATABASE_URL", "mysql://x/y", "postgresql://"),
        ("REDIS_URL", "http://cache", "redis://"),
        ("PRICES_INCLUDE_TAX", "perhaps", "bool"),
        ("SHOP_COUNTRY", "Atlantis", "region"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hint: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert variable in str(error.value)
    assert hint.lower() in str(error.value).lower()


def test_production_without_embedded_needs_both_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATCART_EMBEDDED", "0")
    monkeypatch.setenv("DATABASE_URL", "postgresql://shop@db/shop")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "REDIS_URL" in str(error.value)


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAG-very-secret")
    settings = Settings()
    assert "very-secret" not in repr(settings)


def test_env_example_documents_every_setting() -> None:
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    documented = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    internal = {"CHATCART_SERVICES"}  # set by chatcart itself for its child processes
    expected = {name.upper() for name in Settings.model_fields} - internal
    assert expected - documented == set(), "add these to .env.example"
    assert documented - expected == set(), ".env.example names settings that do not exist"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"STRIPE_SECRET_KEY": "sk_test_1"}, "STRIPE_WEBHOOK_SECRET"),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_1"}, "STRIPE_SECRET_KEY"),
        ({"PAYMENT_REMINDER_MINUTES": "30"}, "PAYMENT_REMINDER_MINUTES must be less"),
        ({"PAYMENT_MANUAL_LABEL": "   "}, "PAYMENT_MANUAL_LABEL"),
        (
            {
                "ENVIRONMENT": "production",
                "WHATSAPP_TRANSPORT": "cloud",
                "WHATSAPP_ACCESS_TOKEN": "t",
                "WHATSAPP_PHONE_NUMBER_ID": "1",
                "WHATSAPP_APP_SECRET": "s",
                "WHATSAPP_VERIFY_TOKEN": "v",
            },
            "SECRET_KEY must be set in production",
        ),
    ],
)
def test_payment_settings_that_cannot_work_are_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert message in str(error.value)


def test_card_payments_need_both_keys_and_accept_rotating_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not load_settings().stripe_enabled
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_1")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", " whsec_old , whsec_new ,")
    settings = load_settings()
    assert settings.stripe_enabled
    assert settings.stripe_webhook_secrets == ["whsec_old", "whsec_new"]


def test_links_use_the_public_url_or_the_local_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8080")
    assert load_settings().base_url == "http://127.0.0.1:8080"
    monkeypatch.setenv("PUBLIC_URL", "https://shop.example.com/")
    assert load_settings().base_url == "https://shop.example.com"
