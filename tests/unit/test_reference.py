import random
import re
from collections.abc import Callable, Iterator

import pytest

from app.errors import InvalidInput
from app.payments.reference import (
    ALPHABET,
    is_valid_reference,
    new_reference,
    normalize_reference,
)

DISPLAY = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")


def scripted(payload: str) -> Callable[[int], int]:
    """Randomness that yields ``payload``, one symbol per draw."""
    symbols: Iterator[str] = iter(payload)

    def draw(bound: int) -> int:
        assert bound == len(ALPHABET)
        return ALPHABET.index(next(symbols))

    return draw


def reference_for(payload: str) -> str:
    return new_reference(scripted(payload))


def compact(reference: str) -> str:
    return reference.replace("-", "")


def display(symbols: str) -> str:
    return f"{symbols[:4]}-{symbols[4:]}"


def test_alphabet_is_crockford_base32() -> None:
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_new_reference_has_display_form_and_is_valid() -> None:
    for _ in range(200):
        reference = new_reference()
        assert DISPLAY.fullmatch(reference)
        assert is_valid_reference(reference)
        assert normalize_reference(reference) == reference


def test_new_references_differ() -> None:
    assert len({new_reference() for _ in range(1000)}) == 1000


def test_new_reference_uses_injected_randomness() -> None:
    reference = reference_for("7KQ2M9X")
    assert reference.startswith("7KQ2-M9X")
    assert reference == reference_for("7KQ2M9X")
    assert is_valid_reference(reference)


def test_check_symbol_depends_on_every_payload_symbol() -> None:
    base = reference_for("0000000")
    assert base == "0000-0000"
    assert reference_for("0000001")[-1] != base[-1]
    assert reference_for("1000000")[-1] != base[-1]


@pytest.mark.parametrize(
    "typed",
    [
        "7kq2-m9x{check}",
        "7KQ2M9X{check}",
        "7KQ2 M9X{check}",
        " 7 K Q 2 - M 9 X {check} ",
        "7KQ2\u2013M9X{check}",  # en dash from a phone keyboard
        "ref 7KQ2-M9X{check}",
        "REF: 7KQ2-M9X{check}",
        "Ref#7KQ2-M9X{check}",
        "#7KQ2-M9X{check}",
    ],
)
def test_normalize_forgives_formatting(typed: str) -> None:
    reference = reference_for("7KQ2M9X")
    assert normalize_reference(typed.format(check=reference[-1])) == reference


def test_normalize_maps_lookalikes() -> None:
    reference = reference_for("01A1B0C")
    assert reference.startswith("01A1-B0C")
    check = reference[-1]
    assert normalize_reference(f"OIA1-BoC{check}") == reference
    assert normalize_reference(f"0lAI-BOC{check}") == reference
    assert normalize_reference(f"oLaL-b0c{check}".lower()) == reference


def test_a_reference_may_itself_start_with_ref() -> None:
    reference = reference_for("REF1234")
    assert normalize_reference(reference) == reference
    assert normalize_reference(compact(reference).lower()) == reference
    assert normalize_reference(f"REF {reference}") == reference


@pytest.mark.parametrize("typed", ["", "7KQ2-M9X", "7KQ2-M9XB0", "REF"])
def test_wrong_length_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="8 letters and digits") as caught:
        normalize_reference(typed)
    assert caught.value.field == "reference"


@pytest.mark.parametrize("typed", ["7KQ2-M9XU", "7KQ2-M*XB", "7KQ2.M9XB", "7KQ2_M9XB"])
def test_symbol_outside_the_alphabet_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="does not appear") as caught:
        normalize_reference(typed)
    assert caught.value.field == "reference"
    assert not is_valid_reference(typed)


def test_failed_check_symbol_is_refused() -> None:
    reference = reference_for("7KQ2M9X")
    wrong = next(symbol for symbol in ALPHABET if symbol != reference[-1])
    typo = reference[:-1] + wrong
    with pytest.raises(InvalidInput, match="check it for typos") as caught:
        normalize_reference(typo)
    assert caught.value.field == "reference"
    assert typo in caught.value.message


def single_substitutions(symbols: str) -> Iterator[str]:
    for position, original in enumerate(symbols):
        for replacement in ALPHABET:
            if replacement != original:
                yield symbols[:position] + replacement + symbols[position + 1 :]


def adjacent_transpositions(symbols: str) -> Iterator[str]:
    for position in range(len(symbols) - 1):
        left, right = symbols[position], symbols[position + 1]
        if left != right:
            yield symbols[:position] + right + left + symbols[position + 2 :]


# 0 and Z next to each other is the one swap Luhn mod 32 would miss.
FIXED_PAYLOADS = ["0000000", "0Z0Z0Z0", "Z0Z0Z0Z", "7KQ2M9X", "ABCDEFG", "YZ01XW9"]
SEEDED_PAYLOADS = ["".join(random.Random(seed).choices(ALPHABET, k=7)) for seed in range(20)]


@pytest.mark.parametrize("payload", FIXED_PAYLOADS + SEEDED_PAYLOADS)
def test_every_single_substitution_is_caught(payload: str) -> None:
    symbols = compact(reference_for(payload))
    typos = list(single_substitutions(symbols))
    assert len(typos) == 8 * 31
    for typo in typos:
        assert not is_valid_reference(display(typo)), typo


@pytest.mark.parametrize("payload", FIXED_PAYLOADS + SEEDED_PAYLOADS)
def test_every_adjacent_transposition_is_caught(payload: str) -> None:
    symbols = compact(reference_for(payload))
    for swapped in adjacent_transpositions(symbols):
        assert not is_valid_reference(display(swapped)), swapped


def test_every_adjacent_pair_of_different_symbols_is_caught_when_swapped() -> None:
    for left in ALPHABET:
        for right in ALPHABET:
            if left == right:
                continue
            symbols = compact(reference_for(f"12{left}{right}345"))
            swapped = symbols[:2] + right + left + symbols[4:]
            assert not is_valid_reference(display(swapped)), (left, right)
