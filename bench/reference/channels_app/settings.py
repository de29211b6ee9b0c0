"""The Django project, configured in code. ``__main__`` sets the environment variables it
reads from its ``--db``, ``--synchronous`` and ``--redis`` options before Django loads it.

Production-style settings, nothing benchmark-specific: ``DEBUG`` off (no query log kept in
memory), persistent database connections (``CONN_MAX_AGE = None``; Channels closes stale
connections around each handler otherwise, which with the default of 0 reopens SQLite for
every message), SQLite in WAL mode with ``synchronous=FULL`` like the other references
(NORMAL with ``--synchronous normal``).

Channel layer: Channels' in-memory layer for one process; with a Redis URL,
``channels_redis.core.RedisChannelLayer``, the layer the Channels tutorial and most
deployments use (the pub/sub layer is the newer alternative), with its default settings.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from bench.reference.channels_app import DB_ENV, REDIS_ENV, SYNCHRONOUS_ENV

# Nothing signs anything (no sessions, no auth); a fresh key per process.
SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels", "bench.reference.channels_app.chat"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.reference.channels_app.urls"
ASGI_APPLICATION = "bench.reference.channels_app.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ[DB_ENV],
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous="
            + {"full": "FULL", "normal": "NORMAL"}[os.environ.get(SYNCHRONOUS_ENV, "full")],
            "timeout": 10,
        },
    }
}

_redis = os.environ.get(REDIS_ENV)
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_redis]}}
        if _redis
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}
