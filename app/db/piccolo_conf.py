"""Piccolo configuration inside the package, so it is importable wherever `chatcart` runs.

``app.db.engine.bind_engine`` replaces ``DB`` with the engine the process actually uses.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.db.postgres import Engine

DB: PostgresEngine = Engine(os.environ.get("DATABASE_URL") or "postgresql://127.0.0.1/chatcart")

APP_REGISTRY = AppRegistry(apps=["app.db.piccolo_app"])
