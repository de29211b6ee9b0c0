"""One ``AsyncJsonWebsocketConsumer`` per route, written the way the Channels tutorial
writes its chat: a group per conversation, ``group_add`` when a worker opens one,
``group_send`` for every message, the Django ORM (``acreate``) to store it first."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from bench.reference.channels_app.chat.models import Message
from bench.reference.common import CLOSE_POLICY, open_frame, send_frame, valid_conversation_id


def group_name(conversation_id: str) -> str:
    return f"conversation.{conversation_id}"


class YouthConsumer(AsyncJsonWebsocketConsumer):
    conversation_id: str

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode("latin-1"))
        conversation_id = query.get("c", [""])[0]
        if not valid_conversation_id(conversation_id):
            await self.close(code=CLOSE_POLICY)
            return
        self.conversation_id = conversation_id
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        frame = send_frame(content)
        if frame is None:
            await self.close(code=CLOSE_POLICY)
            return
        client_id, body = frame
        await Message.objects.acreate(
            conversation_id=self.conversation_id, client_id=client_id, body=body
        )
        await self.send_json({"type": "ack", "client_id": client_id})
        await self.channel_layer.group_send(
            group_name(self.conversation_id),
            {
                "type": "chat.message",
                "conversation_id": self.conversation_id,
                "client_id": client_id,
                "body": body,
            },
        )


class WorkerConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        conversation_id = open_frame(content)
        if conversation_id is None:
            await self.close(code=CLOSE_POLICY)
            return
        group = group_name(conversation_id)
        if group not in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
            # Left again by the base class when the socket disconnects.
            self.groups.append(group)
        await self.send_json({"type": "opened", "conversation_id": conversation_id})

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "message",
                "conversation_id": event["conversation_id"],
                "client_id": event["client_id"],
                "body": event["body"],
            }
        )
