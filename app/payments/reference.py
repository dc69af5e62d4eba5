"""Payment references that customers copy into a bank transfer note.

A reference is 7 random Crockford base32 symbols plus 1 check symbol, shown as
``XXXX-XXXX``. Crockford's alphabet has no I, L, O or U, so what a person misreads can
be mapped back (O is 0; I and L are 1). 32**7 is about 34 billion references: collisions
are rare, not impossible, so storage must still keep references unique.

The check symbol must stay inside the same alphabet: Crockford's own mod-37 check adds
``*~$=U``, which banks strip or reject in transfer notes. Luhn mod 32 stays in the
alphabet but misses one adjacent swap (0 and Z: "0Z" and "Z0" weigh the same), so the
check is the Damm algorithm over GF(32) instead: it catches every single wrong symbol
and every swap of two neighbouring symbols.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Final

from app.errors import InvalidInput

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAYLOAD_LENGTH: Final = 7
REFERENCE_LENGTH: Final = PAYLOAD_LENGTH + 1

# Crockford decoding: symbols a person may type for ones that look alike.
_LOOKALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Spaces and hyphens, including the dashes phone keyboards substitute for "-".
_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_FIELD: Final = "reference"


def _times_x(value: int) -> int:
    """Multiply by x in GF(2**5) modulo the primitive polynomial x**5 + x**2 + 1."""
    value <<= 1
    return value ^ 0b100101 if value & 0b100000 else value


def _damm_interim(symbols: str) -> int:
    # Damm's quasigroup here is a * b = x*a + b; (x + 1) being invertible is what makes
    # (c * a) * b differ from (c * b) * a whenever a != b, so swaps are caught.
    interim = 0
    for symbol in symbols:
        interim = _times_x(interim) ^ ALPHABET.index(symbol)
    return interim


def _check_symbol(payload: str) -> str:
    # The symbol that brings the interim back to 0: x*interim + c == 0 in characteristic 2.
    return ALPHABET[_times_x(_damm_interim(payload))]


def _display(symbols: str) -> str:
    return f"{symbols[:4]}-{symbols[4:]}"


def new_reference(random: Callable[[int], int] | None = None) -> str:
    """A fresh reference such as ``7KQ2-M9X7``; ``random(n)`` returns 0 <= r < n."""
    draw = random or secrets.randbelow
    payload = "".join(ALPHABET[draw(len(ALPHABET))] for _ in range(PAYLOAD_LENGTH))
    return _display(payload + _check_symbol(payload))


def _compact(text: str) -> str:
    symbols = _SEPARATORS.sub("", text).upper()
    # "REF" only counts as a label when something follows it: R, E and F are valid
    # symbols, so an 8-symbol reference may itself start with REF.
    if len(symbols) > REFERENCE_LENGTH and symbols.startswith("REF"):
        symbols = symbols[3:]
    return symbols.lstrip("#:").translate(_LOOKALIKES)


def normalize_reference(text: str) -> str:
    """The canonical ``XXXX-XXXX`` form of what a customer typed, or ``InvalidInput``.

    Forgives case, spaces, hyphens, a leading "REF" or "#", and O/I/L for 0/1.
    """
    symbols = _compact(text)
    for symbol in symbols:
        if symbol not in ALPHABET:
            raise InvalidInput(f"{symbol!r} does not appear in payment references.", field=_FIELD)
    if len(symbols) != REFERENCE_LENGTH:
        raise InvalidInput(
            f"A payment reference has {REFERENCE_LENGTH} letters and digits, like ABCD-1234;"
            f" got {len(symbols)}.",
            field=_FIELD,
        )
    if _damm_interim(symbols) != 0:
        raise InvalidInput(
            f"{_display(symbols)} is not a valid payment reference; please check it for typos.",
            field=_FIELD,
        )
    return _display(symbols)


def is_valid_reference(text: str) -> bool:
    try:
        normalize_reference(text)
    except InvalidInput:
        return False
    return True
