"""``python -m bench.reference.channels_app --host H --port P --db FILE [--redis URL]``:
set up Django, create the table (``migrate --run-syncdb``; the app has no migration files),
then serve the ASGI application with uvicorn.

uvicorn rather than Daphne: it is one of the servers the Channels documentation names, and
with the same server and WebSocket settings as Lykta and the other references the figures
compare the frameworks, not the servers.
"""

from __future__ import annotations

import os
import time

from bench.reference.channels_app import DB_ENV, REDIS_ENV, SYNCHRONOUS_ENV
from bench.reference.common import exit_cleanly_on_signals, parse_args, serve, server_config

SETTINGS = "bench.reference.channels_app.settings"


def create_tables() -> None:
    from django.core.management import call_command
    from django.db import DatabaseError, connection

    # Nodes started together on one file may race to create the tables: the loser retries
    # and finds them there.
    for attempt in range(5):
        try:
            call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
            break
        except DatabaseError:
            if attempt == 4:
                raise
            connection.close()
            time.sleep(0.2 * (attempt + 1))
    # The connection belongs to this thread; requests use one of their own.
    connection.close()


def main(argv: list[str] | None = None) -> None:
    options = parse_args(
        "python -m bench.reference.channels_app",
        "Minimal Django Channels chat (Django ORM on SQLite, in-memory or Redis channel layer).",
        argv,
        needs_db=True,
        supports_redis=True,
    )
    exit_cleanly_on_signals()
    os.environ[DB_ENV] = str(options.db)
    os.environ[SYNCHRONOUS_ENV] = options.synchronous
    if options.redis:
        os.environ[REDIS_ENV] = options.redis
    else:
        os.environ.pop(REDIS_ENV, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS

    import django

    django.setup()
    create_tables()

    from bench.reference.channels_app.asgi import application

    # Django has no lifespan support.
    serve(server_config(application, options.host, options.port, lifespan="off"))


if __name__ == "__main__":
    main()
