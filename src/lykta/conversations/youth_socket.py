"""``/ws/chat``: the young person's socket. Thin: parse, check, call the service, answer.
Frames are documented in docs/protocol.md."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session
from starlette.websockets import WebSocket

from lykta.conversations import content, queue, service, workflow
from lykta.conversations.access import (
    access_conversation_by_code,
    access_conversation_for_youth,
)
from lykta.conversations.errors import ConversationError, NotFound, ResumeFailed
from lykta.conversations.models import Conversation, ConversationState, Kind, Sender
from lykta.conversations.sockets import (
    CatchUp,
    locale_of,
    read_catch_up,
    send_catch_up,
    send_history,
)
from lykta.i18n import N_
from lykta.realtime import ratelimit
from lykta.realtime.broker import conversation_channel
from lykta.realtime.hub import Connection
from lykta.realtime.protocol import (
    AckFrame,
    FeedbackFrame,
    PingFrame,
    PongFrame,
    ReadyFrame,
    ResumeFrame,
    ResyncFrame,
    StartFrame,
    TypingFrameIn,
    WorkerProfile,
    YouthCloseFrame,
    YouthReadFrame,
    YouthSendFrame,
    YouthSyncFrame,
    encode,
    parse_youth_frame,
)
from lykta.realtime.ratelimit import Bucket, RateLimited
from lykta.realtime.session import Deadlines, receive_loop
from lykta.runtime import Runtime
from lykta.web.privacy import client_key
from lykta.web.security import origin_allowed

CLOSE_POLICY = 1008


class NotStarted(ConversationError):
    code = "not_started"
    message = N_("Start or continue a conversation first.")


class AlreadyStarted(ConversationError):
    code = "already_started"
    message = N_("This connection already has a conversation.")


@dataclass
class YouthSocket:
    rt: Runtime
    connection: Connection
    client_key: str = "unknown"
    team_id: int | None = None
    conversation_id: str | None = None
    strikes: int = 0
    frames: Bucket = field(init=False)
    sends: Bucket = field(init=False)

    def __post_init__(self) -> None:
        self.frames, self.sends = self.rt.limits.socket_buckets()

    def on_resync(self) -> None:
        """Events may have been missed: the page asks again (``sync``); the place in the
        queue comes from here."""
        if self.conversation_id is None:
            return
        self.connection.send(encode(ResyncFrame()))
        self.rt.hub.spawn(self._send_position())

    async def _send_position(self) -> None:
        if self.team_id is None or self.conversation_id is None:
            return
        position = await queue.position_of(self.rt, self.team_id, self.conversation_id)
        if position is not None:
            self.connection.send(encode(position))

    def _started(self) -> tuple[int, str]:
        if self.team_id is None or self.conversation_id is None:
            raise NotStarted
        return self.team_id, self.conversation_id

    async def handle(self, frame: Any) -> None:
        try:
            await self._handle(frame)
        except RateLimited:
            self.strikes += 1
            if self.strikes >= ratelimit.STRIKES_BEFORE_CLOSE:
                self.connection.close(CLOSE_POLICY)
            raise

    def _limit(self, frame: Any) -> None:
        if not self.frames.take():
            raise RateLimited
        if isinstance(frame, YouthSendFrame):
            if not self.sends.take():
                raise RateLimited
            if self.conversation_id and not self.rt.limits.conversations.take(self.conversation_id):
                raise RateLimited

    async def _handle(self, frame: Any) -> None:
        rt = self.rt
        self._limit(frame)
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
                    rt,
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
                await send_history(rt, self.connection, team_id, conversation_id, frame.last_seq)
            case YouthCloseFrame():
                team_id, conversation_id = self._started()
                await service.do_close(rt, team_id, conversation_id, service.Author.youth())
            case TypingFrameIn():
                _, conversation_id = self._started()
                await workflow.publish_typing(rt, conversation_id, Sender.YOUTH, None, frame.active)
            case YouthReadFrame():
                team_id, conversation_id = self._started()
                await workflow.do_mark_read(rt, team_id, conversation_id, Sender.YOUTH, frame.seq)
            case FeedbackFrame():
                team_id, conversation_id = self._started()
                await workflow.do_feedback(rt, team_id, conversation_id, frame.answer)

    async def _start(self, frame: StartFrame) -> None:
        if self.conversation_id is not None:
            raise AlreadyStarted
        team = await self.rt.teams.by_slug(frame.team)
        if team is None:
            raise NotFound
        if not self.rt.limits.starts.take(self.client_key):
            raise RateLimited
        await workflow.check_not_blocked(self.rt, team.id, frame.browser)
        status = await self.rt.teams.status(team.id)
        # When nobody can answer now, the young person leaves a question for later.
        kind = Kind.CHAT if status.open else Kind.QUESTION
        conversation, code = await service.do_start_conversation(
            self.rt,
            team,
            browser=workflow.browser_hash(frame.browser) if frame.browser else None,
            kind=kind.value,
        )
        await self._attach(conversation)
        self.connection.send(
            encode(
                ReadyFrame(
                    state=conversation.state,
                    worker=None,
                    last_seq=0,
                    resume_code=code,
                    kind=conversation.kind,
                )
            )
        )

    async def _resume(self, frame: ResumeFrame) -> None:
        if self.conversation_id is not None:
            raise AlreadyStarted
        # Guessing codes is slowed per client; a right code does not reset the count, or
        # whoever holds one code could reset it between guesses.
        if self.rt.resume_failures.retry_after(self.client_key) > 0:
            raise RateLimited
        try:
            team = await self.rt.teams.by_slug(frame.team)
            if team is None:
                raise ResumeFailed
            conversation = await self.rt.db.reading(
                functools.partial(access_conversation_by_code, team_id=team.id, code=frame.code)
            )
        except ResumeFailed:
            self.rt.resume_failures.fail(self.client_key)
            raise
        await self._attach(conversation)
        team_id, conversation_id = conversation.team_id, conversation.id
        aead = await content.cipher(self.rt, team_id, conversation_id)
        # Re-read after subscribing so that nothing committed in between is missed; the
        # history to catch up on comes in the same session.
        conversation, profile, catch_up = await self.rt.db.reading(
            functools.partial(
                _read_resume,
                aead=aead,
                team_id=team_id,
                conversation_id=conversation_id,
                after=frame.last_seq,
            )
        )
        self.connection.send(
            encode(
                ReadyFrame(
                    state=conversation.state,
                    worker=profile.first_name if profile else None,
                    last_seq=conversation.last_seq,
                    kind=conversation.kind,
                    profile=profile,
                    staff_read_seq=conversation.staff_read_seq,
                    feedback=conversation.feedback,
                )
            )
        )
        await send_catch_up(self.rt, self.connection, catch_up)
        if conversation.state == ConversationState.QUEUED:
            # Only a waiting conversation has a place in the queue (a later change to the
            # queue reaches this socket anyway: it is subscribed).
            await self._send_position()

    async def _attach(self, conversation: Conversation) -> None:
        self.team_id = conversation.team_id
        self.conversation_id = conversation.id
        await self.rt.hub.subscribe(self.connection, conversation_channel(conversation.id))


def _read_resume(
    session: Session, aead: AESGCM | None, team_id: int, conversation_id: str, after: int
) -> tuple[Conversation, WorkerProfile | None, CatchUp]:
    """What a resume sends, read in one session: the conversation, its worker's profile
    and the history to catch up on (synchronous: ``Database.reading``)."""
    conversation = access_conversation_for_youth(session, team_id, conversation_id)
    profile = service.read_worker_profile(session, conversation.assigned_staff_id)
    return conversation, profile, read_catch_up(session, aead, team_id, conversation_id, after)


async def youth_socket(websocket: WebSocket) -> None:
    rt: Runtime = websocket.app.state.runtime
    if not origin_allowed(websocket, rt.settings):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    connection = rt.hub.connect(websocket)
    handler = YouthSocket(rt, connection, client_key(websocket.scope))
    connection.on_resync = handler.on_resync
    # A socket that has not started or resumed within the hello timeout is closed, so that
    # anonymous sockets cannot pile up doing nothing; the page reopens it when needed.
    deadlines = Deadlines(hello=rt.settings.ws_hello_timeout, idle=rt.settings.ws_idle_timeout)
    try:
        await receive_loop(
            websocket,
            connection,
            locale_of(websocket, rt),
            parse_youth_frame,
            handler.handle,
            deadlines=deadlines,
            identified=lambda: handler.conversation_id is not None,
        )
    finally:
        await rt.hub.disconnect(connection)
