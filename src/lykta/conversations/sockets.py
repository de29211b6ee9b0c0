"""``/ws/chat`` (the young person) and ``/ws/staff`` (workers). Thin: parse, check, call
the service, answer. Frames are documented in docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.websockets import WebSocket

from lykta.conversations import service
from lykta.conversations.access import (
    access_conversation_by_code,
    access_conversation_for_staff,
    access_conversation_for_youth,
)
from lykta.conversations.errors import ConversationError, NotFound, ResumeFailed
from lykta.conversations.models import Conversation, Sender
from lykta.i18n import N_, negotiate
from lykta.realtime.broker import conversation_channel, team_channel
from lykta.realtime.hub import Connection
from lykta.realtime.protocol import (
    AckFrame,
    ConversationsFrame,
    HelloFrame,
    OpenFrame,
    PingFrame,
    PongFrame,
    ReadyFrame,
    ResumeFrame,
    StaffCloseFrame,
    StaffMember,
    StaffSendFrame,
    StaffSyncFrame,
    StartFrame,
    TakeFrame,
    YouthCloseFrame,
    YouthSendFrame,
    YouthSyncFrame,
    encode,
    parse_staff_frame,
    parse_youth_frame,
)
from lykta.realtime.session import receive_loop
from lykta.runtime import Runtime
from lykta.staff.service import (
    TOUCH_EVERY,
    StaffIdentity,
    control_channel,
    resolve_session,
    session_alive,
    touch_session,
)
from lykta.teams.service import get_team_by_slug
from lykta.web.security import STAFF_COOKIE, origin_allowed

CLOSE_NOT_LOGGED_IN = 4401


class NotStarted(ConversationError):
    code = "not_started"
    message = N_("Start or continue a conversation first.")


class AlreadyStarted(ConversationError):
    code = "already_started"
    message = N_("This connection already has a conversation.")


def _locale(websocket: WebSocket, rt: Runtime) -> str:
    return negotiate(
        websocket.query_params.get("lang"),
        websocket.headers.get("accept-language"),
        rt.settings.default_locale,
    )


async def _send_history(
    rt: Runtime, connection: Connection, team_id: int, conversation_id: str, after: int
) -> None:
    async for batch in service.history(rt, team_id, conversation_id, after):
        for message in batch:
            connection.send(encode(service.message_frame(message)))


@dataclass
class YouthSocket:
    rt: Runtime
    connection: Connection
    team_id: int | None = None
    conversation_id: str | None = None

    def _started(self) -> tuple[int, str]:
        if self.team_id is None or self.conversation_id is None:
            raise NotStarted
        return self.team_id, self.conversation_id

    async def handle(self, frame: Any) -> None:
        match frame:
            case PingFrame():
                self.connection.send(encode(PongFrame()))
            case StartFrame():
                await self._start(frame)
            case ResumeFrame():
                await self._resume(frame)
            case YouthSendFrame():
                team_id, conversation_id = self._started()
                result = await service.do_send_message(
                    self.rt,
                    team_id,
                    conversation_id,
                    service.Author.youth(),
                    frame.client_id,
                    frame.body,
                )
                ack = AckFrame(client_id=frame.client_id, seq=result.message.seq)
                self.connection.send(encode(ack))
            case YouthSyncFrame():
                team_id, conversation_id = self._started()
                await _send_history(
                    self.rt, self.connection, team_id, conversation_id, frame.last_seq
                )
            case YouthCloseFrame():
                team_id, conversation_id = self._started()
                await service.do_close(self.rt, team_id, conversation_id, service.Author.youth())

    async def _start(self, frame: StartFrame) -> None:
        if self.conversation_id is not None:
            raise AlreadyStarted
        async with self.rt.db.read() as session:
            team = await get_team_by_slug(session, frame.team)
        if team is None:
            raise NotFound
        conversation, code = await service.do_start_conversation(self.rt, team)
        await self._attach(conversation)
        self.connection.send(
            encode(ReadyFrame(state=conversation.state, worker=None, last_seq=0, resume_code=code))
        )

    async def _resume(self, frame: ResumeFrame) -> None:
        if self.conversation_id is not None:
            raise AlreadyStarted
        async with self.rt.db.read() as session:
            team = await get_team_by_slug(session, frame.team)
            if team is None:
                raise ResumeFailed
            conversation = await access_conversation_by_code(session, team, frame.code)
        await self._attach(conversation)
        async with self.rt.db.read() as session:
            # Re-read after subscribing so that nothing committed in between is missed.
            conversation = await access_conversation_for_youth(
                session, conversation.team_id, conversation.id
            )
        worker = await service.worker_name(self.rt, conversation)
        self.connection.send(
            encode(
                ReadyFrame(state=conversation.state, worker=worker, last_seq=conversation.last_seq)
            )
        )
        await _send_history(
            self.rt, self.connection, conversation.team_id, conversation.id, frame.last_seq
        )

    async def _attach(self, conversation: Conversation) -> None:
        self.team_id = conversation.team_id
        self.conversation_id = conversation.id
        await self.rt.hub.subscribe(self.connection, conversation_channel(conversation.id))


async def youth_socket(websocket: WebSocket) -> None:
    rt: Runtime = websocket.app.state.runtime
    if not origin_allowed(websocket, rt.settings):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    connection = rt.hub.connect(websocket)
    handler = YouthSocket(rt, connection)
    try:
        await receive_loop(
            websocket, connection, _locale(websocket, rt), parse_youth_frame, handler.handle
        )
    finally:
        await rt.hub.disconnect(connection)


@dataclass
class StaffSocket:
    rt: Runtime
    connection: Connection
    caller: StaffIdentity
    opened: set[str] = field(default_factory=set)
    last_touch: float = field(default_factory=time.monotonic)

    @property
    def author(self) -> service.Author:
        return service.Author(Sender.STAFF, self.caller.user_id, self.caller.first_name)

    def on_control(self, payload: bytes) -> None:
        """A session of this user ended somewhere: close if it is ours (or all ended)."""
        try:
            ended = orjson.loads(payload).get("end")
        except (orjson.JSONDecodeError, AttributeError):
            return
        if ended == "all" or (isinstance(ended, list) and self.caller.session_hash.hex() in ended):
            self.connection.close(CLOSE_NOT_LOGGED_IN)

    async def watch_session(self) -> None:
        """Close the socket once the session times out (idle or absolute)."""
        while not self.connection.closing:
            await asyncio.sleep(self.rt.settings.session_check_seconds)
            if not await session_alive(self.rt, self.caller.session_hash):
                self.connection.close(CLOSE_NOT_LOGGED_IN)
                return

    async def _touch(self) -> None:
        """What a worker does over the socket counts as activity for the idle timeout."""
        now = time.monotonic()
        if now - self.last_touch >= TOUCH_EVERY.total_seconds():
            self.last_touch = now
            await touch_session(self.rt, self.caller.session_hash)

    async def handle(self, frame: Any) -> None:
        rt, caller = self.rt, self.caller
        if not isinstance(frame, PingFrame):
            await self._touch()
        match frame:
            case PingFrame():
                self.connection.send(encode(PongFrame()))
            case OpenFrame():
                async with rt.db.read() as session:
                    conversation = await access_conversation_for_staff(
                        session, caller, frame.conversation_id
                    )
                if conversation.id not in self.opened:
                    await service.do_record_opened(rt, caller, conversation.id)
                    self.opened.add(conversation.id)
                channel = conversation_channel(conversation.id)
                await rt.hub.subscribe(self.connection, channel)
                await _send_history(
                    rt, self.connection, caller.team_id, conversation.id, frame.last_seq
                )
            case StaffSyncFrame():
                async with rt.db.read() as session:
                    conversation = await access_conversation_for_staff(
                        session, caller, frame.conversation_id
                    )
                await _send_history(
                    rt, self.connection, caller.team_id, conversation.id, frame.last_seq
                )
            case TakeFrame():
                await service.do_take(rt, caller.team_id, frame.conversation_id, self.author)
            case StaffSendFrame():
                result = await service.do_send_message(
                    rt,
                    caller.team_id,
                    frame.conversation_id,
                    self.author,
                    frame.client_id,
                    frame.body,
                )
                ack = AckFrame(
                    client_id=frame.client_id,
                    seq=result.message.seq,
                    conversation_id=frame.conversation_id,
                )
                self.connection.send(encode(ack))
            case StaffCloseFrame():
                await service.do_close(rt, caller.team_id, frame.conversation_id, self.author)


async def staff_socket(websocket: WebSocket) -> None:
    rt: Runtime = websocket.app.state.runtime
    if not origin_allowed(websocket, rt.settings):
        await websocket.close(code=1008)
        return
    caller = await resolve_session(rt, websocket.cookies.get(STAFF_COOKIE))
    await websocket.accept()
    if caller is None:
        await websocket.close(code=CLOSE_NOT_LOGGED_IN)
        return
    connection = rt.hub.connect(websocket)
    handler = StaffSocket(rt, connection, caller)
    connection.on_control = handler.on_control
    watchdog = asyncio.create_task(handler.watch_session())
    try:
        await rt.hub.subscribe(connection, control_channel(caller.user_id))
        # The session may have ended between resolving it and subscribing.
        if not await session_alive(rt, caller.session_hash):
            connection.close(CLOSE_NOT_LOGGED_IN)
            return
        connection.send(
            encode(
                HelloFrame(
                    me=StaffMember(id=caller.user_id, first_name=caller.first_name),
                    team_slug=caller.team_slug,
                    team_name=caller.team_name,
                )
            )
        )
        await rt.hub.subscribe(connection, team_channel(caller.team_id))
        items = await service.team_summaries(rt, caller.team_id)
        connection.send(encode(ConversationsFrame(items=items)))
        await receive_loop(
            websocket, connection, _locale(websocket, rt), parse_staff_frame, handler.handle
        )
    finally:
        watchdog.cancel()
        await rt.hub.disconnect(connection)
