import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.receipts.links import LinkRefused, check_download, download_path, sign_download

SECRET = "test-secret"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
TTL = timedelta(days=7)
NUMBER = "R-2026-000042"
Link = tuple[str, str, str]


def _link(number: str = NUMBER) -> Link:
    """(number, expires, signature) as the download route reads them from the path."""
    url = urlsplit(download_path(number, secret=SECRET, now=NOW, ttl=TTL))
    query = parse_qs(url.query, strict_parsing=True)
    path_number = url.path.removeprefix("/receipts/").removesuffix(".pdf")
    return path_number, query["expires"][0], query["signature"][0]


def _refusal(
    number: str, expires: str | int | None, signature: str | None, *, now: datetime = NOW
) -> str:
    with pytest.raises(LinkRefused) as refused:
        check_download(number, expires, signature, secret=SECRET, now=now)
    return refused.value.reason


def test_the_link_points_at_the_receipt_pdf() -> None:
    url = urlsplit(download_path(NUMBER, secret=SECRET, now=NOW, ttl=TTL))

    assert url.path == "/receipts/R-2026-000042.pdf"
    assert sorted(parse_qs(url.query)) == ["expires", "signature"]


def test_a_fresh_link_downloads_its_receipt() -> None:
    number, expires, signature = _link()

    assert number == NUMBER
    assert int(expires) == int((NOW + TTL).timestamp())
    check_download(number, expires, signature, secret=SECRET, now=NOW)


def test_the_signature_is_hex_hmac_sha256_of_number_and_expiry() -> None:
    expected = hmac.new(b"s3cret", b"R-2026-000001:1767225600", hashlib.sha256).hexdigest()

    assert sign_download("R-2026-000001", 1767225600, "s3cret") == expected


def test_a_link_works_until_its_last_second_then_expires() -> None:
    number, expires, signature = _link()
    deadline = NOW + TTL

    check_download(number, expires, signature, secret=SECRET, now=deadline)
    assert _refusal(number, expires, signature, now=deadline + timedelta(seconds=1)) == "expired"


def test_an_integer_expiry_is_accepted() -> None:
    number, expires, signature = _link()

    check_download(number, int(expires), signature, secret=SECRET, now=NOW)


def _flip_last(signature: str) -> str:
    return signature[:-1] + ("1" if signature.endswith("0") else "0")


TAMPERINGS: dict[str, Callable[[Link], Link]] = {
    "number": lambda link: ("R-2026-000043", link[1], link[2]),
    "expires": lambda link: (link[0], str(int(link[1]) + 86_400), link[2]),
    "signature": lambda link: (link[0], link[1], _flip_last(link[2])),
    "truncated signature": lambda link: (link[0], link[1], link[2][:32]),
    "empty signature": lambda link: (link[0], link[1], ""),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_tampered_link_is_refused(tampering: str) -> None:
    assert _refusal(*TAMPERINGS[tampering](_link())) == "bad signature"


def test_a_link_signed_with_another_secret_is_refused() -> None:
    number, expires, signature = _link()

    with pytest.raises(LinkRefused) as refused:
        check_download(number, expires, signature, secret="other-secret", now=NOW)
    assert refused.value.reason == "bad signature"


def test_a_forged_link_is_refused_as_forged_even_when_expired() -> None:
    number, expires, _ = _link()

    late = NOW + TTL + timedelta(days=1)
    assert _refusal(number, expires, "0" * 64, now=late) == "bad signature"


@pytest.mark.parametrize("expires", ["soon", "", "-5", " 1768469400", "+1768469400", "1e9", "١٢"])
def test_a_non_numeric_expiry_is_a_bad_signature(expires: str) -> None:
    number, _, signature = _link()

    assert _refusal(number, expires, signature) == "bad signature"


def test_an_absurdly_long_expiry_is_refused_without_crashing() -> None:
    number, _, signature = _link()

    assert _refusal(number, "9" * 5000, signature) == "bad signature"


@pytest.mark.parametrize(
    ("keep_expires", "keep_signature"), [(False, True), (True, False), (False, False)]
)
def test_missing_values_are_refused(keep_expires: bool, keep_signature: bool) -> None:
    number, expires, signature = _link()

    refusal = _refusal(
        number, expires if keep_expires else None, signature if keep_signature else None
    )
    assert refusal == "bad signature"


def test_a_signature_with_non_ascii_characters_is_refused() -> None:
    number, expires, _ = _link()

    assert _refusal(number, expires, "é" * 64) == "bad signature"


def test_an_empty_secret_signs_nothing() -> None:
    with pytest.raises(ValueError, match="secret"):
        download_path(NUMBER, secret="", now=NOW, ttl=TTL)
