"""Reference (c), the usual Python alternative: a minimal Django Channels chat.

- ``settings``: the Django project, configured in code from the environment variables that
  ``__main__`` sets from ``--db``, ``--synchronous`` and ``--redis``;
- ``chat``: the one app, with the ``Message`` model and the two consumers;
- ``asgi``: the ``ProtocolTypeRouter`` served by uvicorn.

    python -m bench.reference.channels_app --host 127.0.0.1 --port 8103 --db channels.sqlite3
    python -m bench.reference.channels_app ... --redis redis://127.0.0.1:6379/0  # several nodes
"""

DB_ENV = "BENCH_CHANNELS_DB"
"""The SQLite file, from ``--db``."""
REDIS_ENV = "BENCH_CHANNELS_REDIS"
"""The Redis URL from ``--redis``; unset for the in-memory channel layer."""
SYNCHRONOUS_ENV = "BENCH_CHANNELS_SYNCHRONOUS"
"""SQLite's synchronous pragma from ``--synchronous`` (full or normal)."""
