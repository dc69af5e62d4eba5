"""Reading the JSON sub-selects the hot queries return (one statement per page)."""

from __future__ import annotations

from typing import Any

import orjson


def json_column(value: Any) -> Any:
    """A ``json`` column as Python data: asyncpg hands it over as text."""
    return orjson.loads(value) if isinstance(value, str) else value
