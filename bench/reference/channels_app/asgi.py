"""The ASGI application: Django for HTTP, the two consumers for the WebSocket routes.
Import it only after ``django.setup()`` (``__main__`` does)."""

from __future__ import annotations

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

django_asgi_app = get_asgi_application()

from bench.reference.channels_app.chat.consumers import (  # noqa: E402 (needs the apps loaded)
    WorkerConsumer,
    YouthConsumer,
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                path("ws/youth", YouthConsumer.as_asgi()),
                path("ws/worker", WorkerConsumer.as_asgi()),
            ]
        ),
    }
)
