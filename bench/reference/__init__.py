"""Reference servers that speak the benchmark's small reference protocol (see README.md).

- ``echo``: a bare relay on Lykta's own server stack, the ceiling;
- ``sqlite_relay``: the same relay committing every message to SQLite before the ack;
- ``channels_app``: a minimal Django Channels chat, the usual Python alternative.

Start one with ``python -m bench.reference.<name> --host 127.0.0.1 --port PORT [--db FILE]
[--redis URL]`` from the repository root.
"""
