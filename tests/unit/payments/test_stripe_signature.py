"""Stripe-Signature verification as docs.stripe.com/webhooks#verify-manually describes it."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.payments.stripe import StripeSignatureError, sign_payload, verify_signature

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
NOW = 1_750_000_000
BODY = b'{"id":"evt_1","type":"checkout.session.completed","created":1750000000}'


def v1(payload: bytes, secret: str, timestamp: int = NOW) -> str:
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def reason(payload: bytes, header: str | None, secrets: list[str], now: float = NOW) -> str:
    with pytest.raises(StripeSignatureError) as caught:
        verify_signature(payload, header, secrets, now=now)
    return caught.value.reason


def test_a_header_signed_with_the_secret_is_accepted() -> None:
    verify_signature(BODY, sign_payload(BODY, SECRET, timestamp=NOW), [SECRET], now=NOW)


def test_sign_payload_matches_an_independent_hmac() -> None:
    assert sign_payload(BODY, SECRET, timestamp=NOW) == f"t={NOW},v1={v1(BODY, SECRET)}"


def test_a_header_as_stripe_sends_it_in_test_mode_is_accepted() -> None:
    header = f"t={NOW}, v1={v1(BODY, SECRET)}, v0={'0' * 64}"
    verify_signature(BODY, header, [SECRET], now=NOW)


def test_a_tampered_body_is_rejected() -> None:
    header = sign_payload(BODY, SECRET, timestamp=NOW)
    tampered = BODY.replace(b"completed", b"expired")
    assert reason(tampered, header, [SECRET]) == "no v1 signature matches"


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    header = sign_payload(BODY, "whsec_someone_else", timestamp=NOW)
    assert reason(BODY, header, [SECRET]) == "no v1 signature matches"


def test_a_changed_timestamp_breaks_the_signature() -> None:
    header = f"t={NOW + 1},v1={v1(BODY, SECRET)}"
    assert reason(BODY, header, [SECRET], now=NOW) == "no v1 signature matches"


def test_during_rotation_either_secret_verifies() -> None:
    old_only = sign_payload(BODY, OLD_SECRET, timestamp=NOW)
    verify_signature(BODY, old_only, [SECRET, OLD_SECRET], now=NOW)
    new_only = sign_payload(BODY, SECRET, timestamp=NOW)
    verify_signature(BODY, new_only, [SECRET, OLD_SECRET], now=NOW)


def test_several_v1_signatures_pass_when_one_matches() -> None:
    header = f"t={NOW},v1={v1(BODY, 'whsec_other')},v1={v1(BODY, SECRET)}"
    verify_signature(BODY, header, [SECRET], now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, -86_400])
def test_a_timestamp_outside_the_tolerance_is_rejected(skew: int) -> None:
    header = sign_payload(BODY, SECRET, timestamp=NOW)
    assert reason(BODY, header, [SECRET], now=NOW + skew) == "timestamp outside the 300 s tolerance"


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_a_timestamp_inside_the_tolerance_is_accepted(skew: int) -> None:
    verify_signature(BODY, sign_payload(BODY, SECRET, timestamp=NOW), [SECRET], now=NOW + skew)


def test_the_tolerance_can_be_narrowed() -> None:
    header = sign_payload(BODY, SECRET, timestamp=NOW)
    with pytest.raises(StripeSignatureError, match="outside the 10 s tolerance"):
        verify_signature(BODY, header, [SECRET], tolerance=10, now=NOW + 11)


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_header_is_rejected(header: str | None) -> None:
    assert reason(BODY, header, [SECRET]) == "no Stripe-Signature header"


def test_a_header_with_only_v0_is_rejected() -> None:
    # v0 is a fake scheme; honouring it would allow a downgrade.
    header = f"t={NOW},v0={v1(BODY, SECRET)}"
    assert reason(BODY, header, [SECRET]) == "no v1 signature in Stripe-Signature header"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("garbage", "malformed Stripe-Signature header"),
        (f"v1={'a' * 64}", "no timestamp in Stripe-Signature header"),
        (f"t=yesterday,v1={'a' * 64}", "malformed timestamp in Stripe-Signature"),
        (f"t={NOW},v1=é", "no v1 signature matches"),
    ],
)
def test_a_malformed_header_is_rejected(header: str, expected: str) -> None:
    assert reason(BODY, header, [SECRET]) == expected


def test_no_configured_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="no Stripe webhook secret"):
        verify_signature(BODY, sign_payload(BODY, SECRET), [])
