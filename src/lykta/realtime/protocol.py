"""Every WebSocket frame, as one pydantic model each. Documented in docs/protocol.md.

Frames are JSON objects with a ``type`` field. Inbound frames are parsed with
``parse_youth_frame``/``parse_staff_frame``, which raise ``FrameError`` with a stable
``code`` for anything malformed, so the handler can answer with an ``error`` frame and keep
the connection open.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from lykta.config import MAX_MESSAGE_LENGTH

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
ConversationId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Seq = Annotated[int, Field(ge=0, le=2**31 - 1)]
TeamSlug = Annotated[str, StringConstraints(min_length=1, max_length=40)]
ResumeCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
BrowserToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# Bodies are validated for emptiness and length by the service, which answers the
# specific error codes ``empty`` and ``too_long``; here only the type and a hard cap apply.
Body = Annotated[str, StringConstraints(max_length=MAX_MESSAGE_LENGTH * 4)]


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ----- youth -> server -------------------------------------------------------------------


class StartFrame(Frame):
    """``browser``: a random token the tab made and keeps (only so a block can hold)."""

    type: Literal["start"]
    team: TeamSlug
    browser: BrowserToken | None = None


class ResumeFrame(Frame):
    type: Literal["resume"]
    team: TeamSlug
    code: ResumeCode
    last_seq: Seq = 0


class YouthSendFrame(Frame):
    type: Literal["send"]
    client_id: ClientId
    body: Body


class YouthSyncFrame(Frame):
    type: Literal["sync"]
    last_seq: Seq


class YouthCloseFrame(Frame):
    type: Literal["close"]


class PingFrame(Frame):
    type: Literal["ping"]


class TypingFrameIn(Frame):
    """Someone is typing (``active``) or stopped; never stored."""

    type: Literal["typing"]
    active: bool


class YouthReadFrame(Frame):
    type: Literal["read"]
    seq: Seq


class FeedbackFrame(Frame):
    """The optional one question after a chat: did this help?"""

    type: Literal["feedback"]
    answer: Literal["yes", "partly", "no"]


YouthInbound = Annotated[
    StartFrame
    | ResumeFrame
    | YouthSendFrame
    | YouthSyncFrame
    | YouthCloseFrame
    | PingFrame
    | TypingFrameIn
    | YouthReadFrame
    | FeedbackFrame,
    Field(discriminator="type"),
]

# ----- staff -> server -------------------------------------------------------------------


class OpenFrame(Frame):
    type: Literal["open"]
    conversation_id: ConversationId
    last_seq: Seq = 0


class TakeFrame(Frame):
    type: Literal["take"]
    conversation_id: ConversationId


class StaffSendFrame(Frame):
    type: Literal["send"]
    conversation_id: ConversationId
    client_id: ClientId
    body: Body


class StaffSyncFrame(Frame):
    type: Literal["sync"]
    conversation_id: ConversationId
    last_seq: Seq


class StaffCloseFrame(Frame):
    """Closing with the team's topics and an outcome (both optional on the wire; the
    worker app asks for them)."""

    type: Literal["close"]
    conversation_id: ConversationId
    topics: Annotated[list[Label], Field(max_length=20)] = []
    outcome: Label | None = None


class StaffTypingFrame(Frame):
    type: Literal["typing"]
    conversation_id: ConversationId
    active: bool


class StaffReadFrame(Frame):
    type: Literal["read"]
    conversation_id: ConversationId
    seq: Seq


class NoteFrameIn(Frame):
    """An internal note: workers only, never the young person."""

    type: Literal["note"]
    conversation_id: ConversationId
    client_id: ClientId
    body: Body


class TransferFrame(Frame):
    """Hand over to a colleague (``to``), or back to the queue (``to`` null)."""

    type: Literal["transfer"]
    conversation_id: ConversationId
    to: Annotated[int, Field(ge=1)] | None = None
    note: Body = ""


class FlagFrame(Frame):
    type: Literal["flag"]
    conversation_id: ConversationId
    flagged: bool


class BlockFrame(Frame):
    """End an abusive conversation and keep that tab from starting another for a while."""

    type: Literal["block"]
    conversation_id: ConversationId


class DutyFrame(Frame):
    type: Literal["duty"]
    on: bool


class RedactFrame(Frame):
    """Remove the text of message ``seq`` for everyone, for good (audit-logged)."""

    type: Literal["redact"]
    conversation_id: ConversationId
    seq: Seq


class VisibilityFrame(Frame):
    """The worker app is in front (``visible``) or not; sent on connect and on each change.
    A worker whose app is in front on this node gets no "new message" push."""

    type: Literal["visibility"]
    visible: bool


StaffInbound = Annotated[
    OpenFrame
    | TakeFrame
    | StaffSendFrame
    | StaffSyncFrame
    | StaffCloseFrame
    | PingFrame
    | StaffTypingFrame
    | StaffReadFrame
    | NoteFrameIn
    | TransferFrame
    | FlagFrame
    | BlockFrame
    | DutyFrame
    | RedactFrame
    | VisibilityFrame,
    Field(discriminator="type"),
]

# ----- server -> client ------------------------------------------------------------------


class WorkerProfile(Frame):
    """What a young person sees of the worker who answers: a first name, a face, a line."""

    first_name: str
    photo: str | None = None
    introduction: str | None = None


class ReadyFrame(Frame):
    """Answer to ``start`` or ``resume``. ``resume_code`` is present only after ``start``."""

    type: Literal["ready"] = "ready"
    state: str
    worker: str | None
    last_seq: int
    resume_code: str | None = None
    max_length: int = MAX_MESSAGE_LENGTH
    kind: str = "chat"
    profile: WorkerProfile | None = None
    staff_read_seq: int = 0
    feedback: str | None = None


class WorkerFrame(Frame):
    """To the young person: who is answering now (after a worker joins or takes over)."""

    type: Literal["worker"] = "worker"
    profile: WorkerProfile


class QueueFrame(Frame):
    """To a waiting young person: their place in the queue and the estimated wait."""

    type: Literal["queue"] = "queue"
    position: int
    eta_seconds: int | None


class TypingFrame(Frame):
    type: Literal["typing"] = "typing"
    conversation_id: str
    sender: Literal["youth", "staff"]
    author: str | None
    active: bool


class ReadFrame(Frame):
    """Someone has read up to ``seq``: workers (``staff``) or the young person (``youth``)."""

    type: Literal["read"] = "read"
    conversation_id: str
    reader: Literal["youth", "staff"]
    seq: int


class NoteFrame(Frame):
    type: Literal["note"] = "note"
    id: int
    conversation_id: str
    client_id: str
    author: str
    body: str
    at: dt.datetime


class PresenceFrame(Frame):
    """Who in the team is on duty, and whether the team is open right now."""

    type: Literal["presence"] = "presence"
    on_duty: list[StaffMember]
    open: bool


class MessageFrame(Frame):
    type: Literal["message"] = "message"
    conversation_id: str
    seq: int
    client_id: str | None
    sender: Literal["youth", "staff", "system"]
    author: str | None
    event: Literal["joined", "closed", "requeued"] | None
    body: str | None
    redacted: bool = False
    """A worker removed the text; ``body`` is None and clients show "[removed]"."""
    at: dt.datetime


class RedactedFrame(Frame):
    """A worker removed the text of message ``seq``: show "[removed]" in its place. Not
    part of the sequence: it changes a message the client may already have shown."""

    type: Literal["redacted"] = "redacted"
    conversation_id: str
    seq: int


class AckFrame(Frame):
    type: Literal["ack"] = "ack"
    client_id: str
    seq: int
    conversation_id: str | None = None


class ErrorFrame(Frame):
    type: Literal["error"] = "error"
    code: str
    message: str
    client_id: str | None = None
    conversation_id: str | None = None


class PongFrame(Frame):
    type: Literal["pong"] = "pong"


class ResyncFrame(Frame):
    """This node may have missed events (its broker was away): ask again, with ``sync``,
    for every conversation shown."""

    type: Literal["resync"] = "resync"


class StaffMember(Frame):
    id: int
    first_name: str


class CannedReplyItem(Frame):
    key: str
    body: str


class HelloFrame(Frame):
    """First frame on ``/ws/staff``: who is logged in, for which team, and what the worker
    app needs to work (ready replies, topics, outcomes, colleagues, guidance)."""

    type: Literal["hello"] = "hello"
    me: StaffMember
    team_slug: str
    team_name: str
    max_length: int = MAX_MESSAGE_LENGTH
    role: str = "worker"
    on_duty: bool = False
    colleagues: list[StaffMember] = []
    canned_replies: list[CannedReplyItem] = []
    topics: list[str] = []
    outcomes: list[str] = []
    risk_guidance: str = ""


class ConversationSummary(Frame):
    id: str
    number: int
    state: str
    created_at: dt.datetime
    last_activity_at: dt.datetime
    assigned: StaffMember | None
    last_seq: int
    kind: str = "chat"
    flagged: bool = False
    flag_categories: list[str] = []
    staff_read_seq: int = 0
    youth_read_seq: int = 0


class ConversationFrame(Frame):
    """One conversation changed (new, taken, new message, closed)."""

    type: Literal["conversation"] = "conversation"
    conversation: ConversationSummary


class ConversationsFrame(Frame):
    """The team's list, sent once after ``hello``: waiting first, oldest wait first."""

    type: Literal["conversations"] = "conversations"
    items: list[ConversationSummary]


# ----- parsing ---------------------------------------------------------------------------


class FrameError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


_youth_adapter: TypeAdapter[Any] = TypeAdapter(YouthInbound)
_staff_adapter: TypeAdapter[Any] = TypeAdapter(StaffInbound)


def _types(union: Any) -> frozenset[str]:
    members = get_args(get_args(union)[0])
    return frozenset(get_args(m.model_fields["type"].annotation)[0] for m in members)


_YOUTH_TYPES = _types(YouthInbound)
_STAFF_TYPES = _types(StaffInbound)


def _without_lone_surrogates(value: Any) -> Any:
    """Replace unpaired UTF-16 surrogates (valid JSON escapes, invalid text) with U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {key: _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


def _loads(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses a lone surrogate such as "\ud800", which a browser can produce from a
    # broken emoji; the message should arrive (with a replacement character), not hang.
    try:
        return _without_lone_surrogates(json.loads(raw))
    except (ValueError, RecursionError):
        raise FrameError("bad_frame", "frame is not valid JSON") from None


def _parse(raw: str | bytes, adapter: TypeAdapter[Any], types: frozenset[str]) -> Any:
    data = _loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FrameError("bad_frame", "frame must be a JSON object with a string 'type'")
    if data["type"] not in types:
        raise FrameError("unknown_type", "unknown frame type")
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) or "frame" for e in exc.errors()})
        raise FrameError("invalid", "invalid field(s): " + ", ".join(fields)) from None


def parse_youth_frame(raw: str | bytes) -> Any:
    return _parse(raw, _youth_adapter, _YOUTH_TYPES)


def parse_staff_frame(raw: str | bytes) -> Any:
    return _parse(raw, _staff_adapter, _STAFF_TYPES)


def encode(frame: Frame) -> bytes:
    """Serialise once; the same bytes go to every socket that receives the frame."""
    return orjson.dumps(frame.model_dump(mode="json"))
