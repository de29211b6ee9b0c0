"""Reference (a), the ceiling: a bare relay on Lykta's server stack (Starlette WebSocket
routes served by uvicorn with uvloop, httptools and the same WebSocket settings as ``lykta
serve``). Nothing is stored: a message is acked at once and forwarded to the worker sockets
that opened its conversation.

    python -m bench.reference.echo --host 127.0.0.1 --port 8101

``--db`` is accepted and ignored, so that one command line fits every single-process
reference; ``--redis`` is refused (one process only).
"""

from __future__ import annotations

from bench.reference.common import parse_args, serve, server_config
from bench.reference.relay import Relay, create_app


def main(argv: list[str] | None = None) -> None:
    options = parse_args(
        "python -m bench.reference.echo",
        "Bare WebSocket relay on Lykta's server stack, nothing stored.",
        argv,
        needs_db=False,
        supports_redis=False,
    )
    serve(server_config(create_app(Relay()), options.host, options.port))


if __name__ == "__main__":
    main()
