from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "bench.reference.channels_app.chat"
    label = "chat"
