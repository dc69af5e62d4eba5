"""Turn audit data into plain JSON values before it goes into a JSONB column."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def to_jsonb(data: dict[str, Any]) -> dict[str, Any]:
    return {str(key): _plain(value) for key, value in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return to_jsonb(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
