"""Piccolo configuration for the `piccolo` CLI run from the repository root.

It reads ``DATABASE_URL``; `chatcart migrate` is the usual way to apply migrations.
"""

from app.db.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
