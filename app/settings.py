"""The one typed settings object, read from environment variables (and an optional ``.env``).

Every variable is documented in ``.env.example``. Invalid values stop the process at
start-up with a message naming the variable (see ``load_settings``).
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name, list_currencies
from pydantic import (
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.ordering.values import ShopTerms

LogFormat = Literal["json", "console"]
Environment = Literal["development", "production", "test"]


class SettingsError(Exception):
    """Raised when the environment holds an invalid configuration."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # Services. Leave both unset to run on the embedded PostgreSQL and Redis.
    database_url: str | None = Field(default=None, description="PostgreSQL URL")
    redis_url: str | None = Field(default=None, description="Redis URL")
    chatcart_services: Literal["external", "embedded"] = Field(
        default="external", description="Set by chatcart itself when it started embedded servers"
    )
    chatcart_embedded: bool = Field(
        default=True,
        description="Allow the embedded PostgreSQL/Redis when the URLs are unset",
    )
    chatcart_data_dir: Path = Field(default=Path(".chatcart"))
    database_pool_min: int = Field(default=1, ge=1)
    database_pool_max: int = Field(default=10, ge=1)
    startup_wait_seconds: float = Field(
        default=30.0, ge=0, le=600, description="How long a process waits for PostgreSQL and "
        "Redis to answer when it starts (0: fail at once)",
    )  # fmt: skip

    # Web server
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    web_workers: int = Field(default=1, ge=1)
    environment: Environment = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat = "json"
    graphiql: bool = Field(default=False, description="Serve the GraphiQL IDE at /graphql")
    graphql_list_rate_per_minute: int = Field(
        default=240, ge=1, description="Expensive GraphQL reads allowed per token and minute"
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port where `chatcart worker` and `chatcart scheduler` serve their own "
        "/metrics (0: off; the web serves /metrics on its own port)",
    )
    trusted_proxies: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = Field(
        default=(),
        description="Reverse proxies (addresses or networks, comma-separated) whose "
        "X-Forwarded-For names the client",
    )

    # Shop
    shop_name: str = Field(default="chatcart demo shop", min_length=1, max_length=100)
    shop_currency: str = "USD"
    shop_locale: str = "en_US"
    shop_timezone: str = "UTC"
    shop_country: str = Field(default="US", description="Default region for phone numbers")
    prices_include_tax: bool = False
    delivery_fee: int = Field(default=0, ge=0, description="Minor units, e.g. cents")
    order_payment_minutes: int = Field(default=30, ge=1)
    payment_reminder_minutes: int = Field(
        default=10, ge=0, description="Remind this many minutes before an unpaid order expires"
    )
    shop_address: str | None = Field(default=None, max_length=300)
    shop_tax_id: str | None = Field(default=None, max_length=64)
    public_url: str | None = Field(
        default=None,
        description="Base URL customers and gateways reach this app at (links, redirects)",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs receipt download links; required in production"
    )
    receipt_link_hours: int = Field(default=24 * 7, ge=1, le=24 * 365)

    # WhatsApp Cloud API (used by the WhatsApp issue; sandbox transport when unset)
    whatsapp_transport: Literal["sandbox", "cloud"] = "sandbox"
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_version: str = Field(default="v26.0", pattern=r"^v\d+\.\d+$")
    whatsapp_graph_url: str = Field(
        default="https://graph.facebook.com", description="Graph API base URL"
    )
    whatsapp_template_name: str | None = Field(
        default=None, description="Approved template sent outside the 24-hour window"
    )
    whatsapp_template_language: str = "en_US"
    worker_concurrency: int = Field(default=10, ge=1, le=200, description="Tasks run at once")
    outbound_max_attempts: int = Field(default=8, ge=1, le=50)
    session_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)

    # Payments. Manual (bank transfer / mobile money) is always on; Stripe needs both keys.
    payment_manual_label: str = Field(default="Bank transfer", min_length=1, max_length=40)
    payment_manual_instructions: str = Field(
        default="Pay by bank transfer and quote the reference.", max_length=1000
    )
    payment_manual_account: str | None = Field(
        default=None, max_length=500, description="Account details shown with the instructions"
    )
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_… ; several, comma-separated, while rotating"
    )
    stripe_api_url: str = "https://api.stripe.com"
    payment_gateway_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    payment_gateway_failure_threshold: int = Field(default=5, ge=1, le=100)
    payment_gateway_reset_seconds: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgresql:// (e.g. postgresql://user@host/db)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("payment_manual_label", "shop_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("shop_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in list_currencies():
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. USD, EUR, KES)")
        return code

    @field_validator("shop_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        try:
            Locale.parse(value)
        except (UnknownLocaleError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a known locale (e.g. en_US, de_DE)") from exc
        return value

    @field_validator("shop_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Africa/Nairobi)") from exc
        return value

    @field_validator("shop_country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a two-letter region code (e.g. US, KE)")
        return code

    @model_validator(mode="after")
    def _services_together(self) -> Settings:
        if not self.chatcart_embedded and not (self.database_url and self.redis_url):
            raise ValueError("DATABASE_URL and REDIS_URL must both be set when CHATCART_EMBEDDED=0")
        if self.environment == "production" and self.whatsapp_transport == "sandbox":
            raise ValueError(
                "WHATSAPP_TRANSPORT=sandbox sends nothing and shows customers' messages at "
                "/sandbox/messages: use WHATSAPP_TRANSPORT=cloud in production"
            )
        if self.whatsapp_transport == "cloud":
            missing = [
                name.upper()
                for name in (
                    "whatsapp_access_token",
                    "whatsapp_phone_number_id",
                    "whatsapp_app_secret",
                    "whatsapp_verify_token",
                )
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"WHATSAPP_TRANSPORT=cloud needs {', '.join(missing)}; "
                    "use WHATSAPP_TRANSPORT=sandbox to run without WhatsApp"
                )
        if (self.stripe_secret_key is None) != (self.stripe_webhook_secret is None):
            raise ValueError(
                "card payments need both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET "
                "(leave both unset to offer the manual method only)"
            )
        if self.payment_reminder_minutes >= self.order_payment_minutes:
            raise ValueError(
                "PAYMENT_REMINDER_MINUTES must be less than ORDER_PAYMENT_MINUTES "
                "(0 turns reminders off)"
            )
        if self.environment == "production" and self.secret_key is None:
            raise ValueError(
                "SECRET_KEY must be set in production (every web instance signs receipt "
                "links with it); e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        if self.database_pool_min > self.database_pool_max:
            raise ValueError("DATABASE_POOL_MIN must not exceed DATABASE_POOL_MAX")
        return self

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None

    @property
    def stripe_enabled(self) -> bool:
        return self.stripe_secret_key is not None and self.stripe_webhook_secret is not None

    @property
    def stripe_webhook_secrets(self) -> list[str]:
        if self.stripe_webhook_secret is None:
            return []
        raw = self.stripe_webhook_secret.get_secret_value()
        return [part.strip() for part in raw.split(",") if part.strip()]

    @property
    def base_url(self) -> str:
        """Where this app is reached from outside, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def currency_name(self) -> str:
        return str(get_currency_name(self.shop_currency, locale=self.shop_locale))

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.shop_timezone)


def load_settings() -> Settings:
    """Read the environment; raise ``SettingsError`` naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = ["Invalid configuration:"]
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {name}: {message}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def shop_terms(settings: Settings) -> ShopTerms:
    return ShopTerms(
        currency=settings.shop_currency,
        prices_include_tax=settings.prices_include_tax,
        delivery_fee=settings.delivery_fee,
        payment_minutes=settings.order_payment_minutes,
    )
