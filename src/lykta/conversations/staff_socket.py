"""``/ws/staff``: a worker's socket, bound to their session. Thin: parse, check access,
call the service, answer. Frames are documented in docs/protocol.md."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.websockets import WebSocket

from lykta.conversations import content, redaction, service, summaries, workflow
from lykta.conversations.access import access_conversation_for_staff
from lykta.conversations.models import Note, Sender
from lykta.conversations.sockets import (
    CatchUp,
    locale_of,
    read_catch_up,
    send_catch_up,
    send_history,
)
from lykta.realtime.broker import conversation_channel, staff_channel, team_channel
from lykta.realtime.hub import Connection
from lykta.realtime.protocol import (
    AckFrame,
    BlockFrame,
    CannedReplyItem,
    ConversationsFrame,
    DutyFrame,
    FlagFrame,
    HelloFrame,
    NoteFrameIn,
    OpenFrame,
    PingFrame,
    PongFrame,
    RedactFrame,
    ResyncFrame,
    StaffCloseFrame,
    StaffMember,
    StaffReadFrame,
    StaffSendFrame,
    StaffSyncFrame,
    StaffTypingFrame,
    TakeFrame,
    TransferFrame,
    VisibilityFrame,
    encode,
    parse_staff_frame,
)
from lykta.realtime.session import Deadlines, receive_loop
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import (
    TOUCH_EVERY,
    StaffIdentity,
    control_channel,
    resolve_session,
    session_alive,
    touch_session,
)
from lykta.teams import defaults
from lykta.teams.models import CannedReply, Team
from lykta.web.security import STAFF_COOKIE, origin_allowed

CLOSE_NOT_LOGGED_IN = 4401


@dataclass
class StaffSocket:
    rt: Runtime
    connection: Connection
    caller: StaffIdentity
    opened: set[str] = field(default_factory=set)
    last_touch: float = field(default_factory=time.monotonic)

    @property
    def author(self) -> service.Author:
        return workflow.staff_author(self.caller)

    def on_control(self, payload: bytes) -> None:
        """A session of this user ended somewhere: close if it is ours (or all ended)."""
        try:
            ended = orjson.loads(payload).get("end")
        except (orjson.JSONDecodeError, AttributeError):
            return
        if ended == "all" or (isinstance(ended, list) and self.caller.session_hash.hex() in ended):
            self.connection.close(CLOSE_NOT_LOGGED_IN)

    def on_resync(self) -> None:
        """Events may have been missed: the list and presence come again from here, and
        the app asks (``sync``) for the conversations it shows."""
        self.connection.send(encode(ResyncFrame()))
        self.rt.hub.spawn(self.send_team_state())

    async def send_team_state(self) -> None:
        items = await summaries.team_summaries(self.rt, self.caller.team_id)
        self.connection.send(encode(ConversationsFrame(items=items)))
        self.connection.send(encode(await workflow.presence_frame(self.rt, self.caller.team_id)))

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

    async def _access(self, conversation_id: str) -> str:
        conversation = await self.rt.db.reading(
            functools.partial(
                access_conversation_for_staff, caller=self.caller, conversation_id=conversation_id
            )
        )
        return conversation.id

    async def handle(self, frame: Any) -> None:
        rt, caller = self.rt, self.caller
        if not isinstance(frame, PingFrame | StaffTypingFrame | VisibilityFrame):
            await self._touch()
        match frame:
            case PingFrame():
                self.connection.send(encode(PongFrame()))
            case OpenFrame():
                await self._open(await self._access(frame.conversation_id), frame.last_seq)
            case StaffSyncFrame():
                conversation_id = await self._access(frame.conversation_id)
                await send_history(
                    rt, self.connection, caller.team_id, conversation_id, frame.last_seq
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
                self._ack(frame.client_id, result.message.seq, frame.conversation_id)
            case StaffCloseFrame():
                topics, outcome = await workflow.check_closing(
                    rt, caller.team_id, list(frame.topics), frame.outcome
                )
                await service.do_close(
                    rt,
                    caller.team_id,
                    frame.conversation_id,
                    self.author,
                    topics=topics,
                    outcome=outcome,
                )
            case StaffTypingFrame():
                conversation_id = await self._access(frame.conversation_id)
                await workflow.publish_typing(
                    rt, conversation_id, Sender.STAFF, caller.first_name, frame.active
                )
            case StaffReadFrame():
                await workflow.do_mark_read(
                    rt, caller.team_id, frame.conversation_id, Sender.STAFF, frame.seq
                )
            case NoteFrameIn():
                await workflow.do_add_note(
                    rt, caller, frame.conversation_id, frame.client_id, frame.body
                )
                self._ack(frame.client_id, 0, frame.conversation_id)
            case TransferFrame():
                await workflow.do_transfer(rt, caller, frame.conversation_id, frame.to, frame.note)
            case FlagFrame():
                await workflow.do_set_flag(rt, caller, frame.conversation_id, frame.flagged)
            case BlockFrame():
                await workflow.do_block(rt, caller, frame.conversation_id)
            case DutyFrame():
                await workflow.do_set_duty(rt, caller, frame.on)
            case RedactFrame():
                await redaction.do_redact(rt, caller, frame.conversation_id, frame.seq)
            case VisibilityFrame():
                rt.push.visible.set(self.connection, caller.user_id, frame.visible)

    def _ack(self, client_id: str, seq: int, conversation_id: str) -> None:
        ack = AckFrame(client_id=client_id, seq=seq, conversation_id=conversation_id)
        self.connection.send(encode(ack))

    async def _open(self, conversation_id: str, last_seq: int) -> None:
        rt, caller = self.rt, self.caller
        if conversation_id not in self.opened:
            await service.do_record_opened(rt, caller, conversation_id)
            self.opened.add(conversation_id)
        await rt.hub.subscribe(self.connection, conversation_channel(conversation_id))
        await rt.hub.subscribe(self.connection, staff_channel(conversation_id))
        aead = await content.cipher(rt, caller.team_id, conversation_id)
        # After subscribing, so that nothing committed in between is missed; history and
        # notes in one read.
        catch_up, notes = await rt.db.reading(
            functools.partial(
                _read_open,
                aead=aead,
                team_id=caller.team_id,
                conversation_id=conversation_id,
                after=last_seq,
            )
        )
        await send_catch_up(rt, self.connection, catch_up)
        for note in notes:
            self.connection.send(encode(workflow.note_frame(note)))


def _read_open(
    session: Session, aead: AESGCM | None, team_id: int, conversation_id: str, after: int
) -> tuple[CatchUp, list[Note]]:
    """What an ``open`` sends after subscribing: the history to catch up on and the
    internal notes (synchronous: ``Database.reading``)."""
    catch_up = read_catch_up(session, aead, team_id, conversation_id, after)
    return catch_up, workflow.read_notes(session, aead, team_id, conversation_id)


async def hello_frame(rt: Runtime, caller: StaffIdentity) -> HelloFrame:
    async with rt.db.read() as session:
        team = await session.get(Team, caller.team_id)
        me = await session.get(StaffUser, caller.user_id)
        colleagues = (
            await session.execute(
                select(StaffUser.id, StaffUser.first_name)
                .where(StaffUser.team_id == caller.team_id, StaffUser.active.is_(True))
                .order_by(StaffUser.first_name)
            )
        ).all()
        replies = (
            await session.execute(
                select(CannedReply)
                .where(CannedReply.team_id == caller.team_id)
                .order_by(CannedReply.key)
            )
        ).scalars()
        canned = [CannedReplyItem(key=r.key, body=r.body) for r in replies]
    assert team is not None  # noqa: S101 - a live session's team exists
    return HelloFrame(
        me=StaffMember(id=caller.user_id, first_name=caller.first_name),
        team_slug=caller.team_slug,
        team_name=caller.team_name,
        role=caller.role,
        on_duty=bool(me and me.on_duty),
        colleagues=[StaffMember(id=i, first_name=n) for i, n in colleagues],
        canned_replies=canned,
        topics=defaults.topics(team),
        outcomes=list(defaults.OUTCOMES),
        risk_guidance=defaults.risk_guidance(team),
    )


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
        connection.send(encode(await hello_frame(rt, caller)))
        await rt.hub.subscribe(connection, team_channel(caller.team_id))
        await handler.send_team_state()
        connection.on_resync = handler.on_resync
        # The session cookie identified this socket at the handshake: only the idle timeout.
        await receive_loop(
            websocket,
            connection,
            locale_of(websocket, rt),
            parse_staff_frame,
            handler.handle,
            deadlines=Deadlines(hello=None, idle=rt.settings.ws_idle_timeout),
            identified=lambda: True,
        )
    finally:
        watchdog.cancel()
        rt.push.visible.forget(connection, caller.user_id)
        await rt.hub.disconnect(connection)
