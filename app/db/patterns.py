"""Search text as LIKE patterns: what the user typed, matched literally."""

from __future__ import annotations


def contains(text: str) -> str:
    """A ``LIKE``/``ILIKE`` pattern for ``text`` anywhere; its own ``%``, ``_`` and ``\\``
    are matched as themselves (backslash is PostgreSQL's default escape character)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
