"""Frame parsing and encoding: every malformed frame gets a stable error code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from lykta.realtime import protocol
from lykta.realtime.protocol import (
    AckFrame,
    BlockFrame,
    CannedReplyItem,
    ConversationFrame,
    ConversationsFrame,
    ConversationSummary,
    DutyFrame,
    ErrorFrame,
    FeedbackFrame,
    FlagFrame,
    Frame,
    FrameError,
    HelloFrame,
    MessageFrame,
    NoteFrame,
    NoteFrameIn,
    OpenFrame,
    PingFrame,
    PongFrame,
    PresenceFrame,
    QueueFrame,
    ReadFrame,
    ReadyFrame,
    RedactedFrame,
    RedactFrame,
    ResumeFrame,
    ResyncFrame,
    StaffCloseFrame,
    StaffMember,
    StaffReadFrame,
    StaffSendFrame,
    StaffSyncFrame,
    StaffTypingFrame,
    StartFrame,
    TakeFrame,
    TransferFrame,
    TypingFrame,
    TypingFrameIn,
    VisibilityFrame,
    WorkerFrame,
    WorkerProfile,
    YouthCloseFrame,
    YouthReadFrame,
    YouthSendFrame,
    YouthSyncFrame,
    encode,
    parse_staff_frame,
    parse_youth_frame,
)

Parser = Callable[[str | bytes], Any]
BOTH = pytest.mark.parametrize(
    "parse", [parse_youth_frame, parse_staff_frame], ids=["youth", "staff"]
)

CID = "0123456789abcdef0123456789abcdef"
CLIENT = "k3J9xQ2m"
AT = dt.datetime(2026, 11, 21, 14, 3, 12, 120000, tzinfo=dt.UTC)


def error_of(parse: Parser, raw: str | bytes) -> FrameError:
    with pytest.raises(FrameError) as info:
        parse(raw)
    return info.value


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


# ----- error codes ---------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "{",
        '{"type": "ping"',
        b"\xff\xfe",
        "[" * 5000,
        '["ping"]',
        '"ping"',
        "42",
        "null",
        "{}",
        '{"type": null}',
        '{"type": 7}',
        '{"type": ["ping"]}',
        '{"kind": "ping"}',
    ],
)
def test_not_a_json_object_with_a_string_type_is_bad_frame(parse: Parser, raw: str | bytes) -> None:
    assert error_of(parse, raw).code == "bad_frame"


@BOTH
@pytest.mark.parametrize("kind", ["hack", "", "PING", "message", "ack", "hello", "error"])
def test_types_no_endpoint_accepts_are_unknown_type(parse: Parser, kind: str) -> None:
    assert error_of(parse, dumps({"type": kind})).code == "unknown_type"


@pytest.mark.parametrize("kind", ["open", "take"])
def test_staff_frames_are_unknown_on_the_youth_socket(kind: str) -> None:
    frame = {"type": kind, "conversation_id": CID}
    assert error_of(parse_youth_frame, dumps(frame)).code == "unknown_type"


@pytest.mark.parametrize("kind", ["start", "resume"])
def test_youth_frames_are_unknown_on_the_staff_socket(kind: str) -> None:
    frame = {"type": kind, "team": "demo", "code": "K7QM-3XHD-9TPA-RW2E-V5NB"}
    assert error_of(parse_staff_frame, dumps(frame)).code == "unknown_type"


@pytest.mark.parametrize(
    ("parse", "frame", "field"),
    [
        (parse_youth_frame, {"type": "start"}, "team"),
        (parse_youth_frame, {"type": "start", "team": ""}, "team"),
        (parse_youth_frame, {"type": "start", "team": "t" * 41}, "team"),
        (parse_youth_frame, {"type": "resume", "team": "demo"}, "code"),
        (parse_youth_frame, {"type": "resume", "team": "demo", "code": "x" * 65}, "code"),
        (parse_youth_frame, {"type": "send", "client_id": CLIENT}, "body"),
        (parse_youth_frame, {"type": "send", "client_id": CLIENT, "body": None}, "body"),
        (parse_youth_frame, {"type": "send", "client_id": CLIENT, "body": 5}, "body"),
        (parse_youth_frame, {"type": "send", "client_id": CLIENT, "body": "x" * 16001}, "body"),
        (parse_youth_frame, {"type": "send", "body": "hej"}, "client_id"),
        (parse_youth_frame, {"type": "sync"}, "last_seq"),
        (parse_youth_frame, {"type": "sync", "last_seq": -1}, "last_seq"),
        (parse_youth_frame, {"type": "sync", "last_seq": 2**31}, "last_seq"),
        (parse_youth_frame, {"type": "sync", "last_seq": 1.5}, "last_seq"),
        (parse_youth_frame, {"type": "sync", "last_seq": "many"}, "last_seq"),
        (parse_staff_frame, {"type": "open"}, "conversation_id"),
        (parse_staff_frame, {"type": "open", "conversation_id": CID, "last_seq": -5}, "last_seq"),
        (parse_staff_frame, {"type": "take"}, "conversation_id"),
        (parse_staff_frame, {"type": "close"}, "conversation_id"),
        (parse_staff_frame, {"type": "sync", "conversation_id": CID}, "last_seq"),
        (
            parse_staff_frame,
            {"type": "send", "client_id": CLIENT, "body": "hej"},
            "conversation_id",
        ),
        (
            parse_staff_frame,
            {"type": "send", "conversation_id": CID, "client_id": "short", "body": "hej"},
            "client_id",
        ),
    ],
)
def test_missing_wrong_or_out_of_range_fields_are_invalid_and_named(
    parse: Parser, frame: dict[str, Any], field: str
) -> None:
    error = error_of(parse, dumps(frame))
    assert error.code == "invalid"
    assert error.detail == f"invalid field(s): {field}"


@pytest.mark.parametrize(
    ("parse", "frame"),
    [
        (parse_youth_frame, {"type": "ping", "extra": 1}),
        (parse_youth_frame, {"type": "start", "team": "demo", "extra": 1}),
        (parse_youth_frame, {"type": "send", "client_id": CLIENT, "body": "hej", "extra": 1}),
        # The youth ``close`` has no conversation: a staff-shaped frame is refused, not ignored.
        (parse_youth_frame, {"type": "close", "extra": CID}),
        (parse_staff_frame, {"type": "ping", "extra": 1}),
        (parse_staff_frame, {"type": "take", "conversation_id": CID, "extra": True}),
        (
            parse_staff_frame,
            {"type": "send", "conversation_id": CID, "client_id": CLIENT, "body": "x", "extra": 1},
        ),
    ],
)
def test_extra_fields_are_refused(parse: Parser, frame: dict[str, Any]) -> None:
    error = error_of(parse, dumps(frame))
    assert error.code == "invalid"
    assert "extra" in error.detail


def test_invalid_names_every_bad_field_once() -> None:
    frame = {"type": "send", "client_id": "no", "body": None, "surprise": 1}
    error = error_of(parse_youth_frame, dumps(frame))
    assert error.detail == "invalid field(s): body, client_id, surprise"


# ----- field patterns ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "ok"),
    [
        ("abcdefgh", True),
        ("A" * 64, True),
        ("a-b_c-D_9", True),
        ("abcdefg", False),  # 7 characters
        ("A" * 65, False),
        ("abcd efgh", False),
        ("abcd.efgh", False),
        ("abcdéfgh", False),
        ("abcdefgh\n", False),
        ("\nabcdefgh", False),
        ("abcd/efgh", False),
    ],
)
def test_client_id_pattern(client_id: str, ok: bool) -> None:
    youth = dumps({"type": "send", "client_id": client_id, "body": "hej"})
    staff = dumps({"type": "send", "conversation_id": CID, "client_id": client_id, "body": "hej"})
    if ok:
        assert parse_youth_frame(youth).client_id == client_id
        assert parse_staff_frame(staff).client_id == client_id
    else:
        assert error_of(parse_youth_frame, youth).detail == "invalid field(s): client_id"
        assert error_of(parse_staff_frame, staff).detail == "invalid field(s): client_id"


@pytest.mark.parametrize(
    ("conversation_id", "ok"),
    [
        (CID, True),
        ("0" * 32, True),
        ("f" * 32, True),
        ("F" * 32, False),  # ids are lowercase hex
        ("0" * 31, False),
        ("0" * 33, False),
        ("g" * 32, False),
        ("0" * 31 + "\n", False),
        ("0" * 32 + "\n", False),
        ("../" + "0" * 29, False),
        ("", False),
    ],
)
@pytest.mark.parametrize("kind", ["open", "take", "close"])
def test_conversation_id_pattern(kind: str, conversation_id: str, ok: bool) -> None:
    raw = dumps({"type": kind, "conversation_id": conversation_id})
    if ok:
        assert parse_staff_frame(raw).conversation_id == conversation_id
    else:
        assert error_of(parse_staff_frame, raw).detail == "invalid field(s): conversation_id"


# ----- parsing picks the right model ---------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "frame", "expected"),
    [
        (
            parse_youth_frame,
            {"type": "start", "team": "demo"},
            StartFrame(type="start", team="demo"),
        ),
        (
            parse_youth_frame,
            {"type": "resume", "team": "demo", "code": "abc"},
            ResumeFrame(type="resume", team="demo", code="abc", last_seq=0),
        ),
        (
            parse_youth_frame,
            {"type": "send", "client_id": CLIENT, "body": "hej"},
            YouthSendFrame(type="send", client_id=CLIENT, body="hej"),
        ),
        (
            parse_youth_frame,
            {"type": "sync", "last_seq": 3},
            YouthSyncFrame(type="sync", last_seq=3),
        ),
        (parse_youth_frame, {"type": "close"}, YouthCloseFrame(type="close")),
        (parse_youth_frame, {"type": "ping"}, PingFrame(type="ping")),
        (
            parse_staff_frame,
            {"type": "open", "conversation_id": CID},
            OpenFrame(type="open", conversation_id=CID, last_seq=0),
        ),
        (
            parse_staff_frame,
            {"type": "take", "conversation_id": CID},
            TakeFrame(type="take", conversation_id=CID),
        ),
        (
            parse_staff_frame,
            {"type": "send", "conversation_id": CID, "client_id": CLIENT, "body": "hej"},
            StaffSendFrame(type="send", conversation_id=CID, client_id=CLIENT, body="hej"),
        ),
        (
            parse_staff_frame,
            {"type": "sync", "conversation_id": CID, "last_seq": 9},
            StaffSyncFrame(type="sync", conversation_id=CID, last_seq=9),
        ),
        (
            parse_staff_frame,
            {"type": "close", "conversation_id": CID},
            StaffCloseFrame(type="close", conversation_id=CID),
        ),
        (parse_staff_frame, {"type": "ping"}, PingFrame(type="ping")),
    ],
)
def test_valid_frames_parse_to_their_model(
    parse: Parser, frame: dict[str, Any], expected: Frame
) -> None:
    parsed = parse(dumps(frame))
    assert type(parsed) is type(expected)
    assert parsed == expected
    # Text frames and binary frames carry the same JSON.
    assert parse(dumps(frame).decode()) == expected


def test_a_lone_surrogate_is_replaced_not_refused() -> None:
    raw = '{"type": "send", "client_id": "k3J9xQ2m", "body": "x\\ud800y \\ud83d\\ude00"}'
    parsed = parse_youth_frame(raw)
    assert parsed.body == "x\ufffdy \U0001f600"  # the broken half replaced, a real pair kept
    with pytest.raises(FrameError):
        parse_youth_frame('{"type": "send", "body": "\\ud800"')  # still not JSON


def test_body_keeps_its_text_exactly() -> None:
    body = 'Hej! <b>"quoted"</b>\n\ttab 🙂 ' + "å" * 100
    parsed = parse_youth_frame(dumps({"type": "send", "client_id": CLIENT, "body": body}))
    assert parsed.body == body


# ----- encoding and round trips --------------------------------------------------------

SUMMARY = ConversationSummary(
    id=CID,
    number=12,
    state="active",
    created_at=AT,
    last_activity_at=AT + dt.timedelta(minutes=5),
    assigned=StaffMember(id=3, first_name="Anna"),
    last_seq=7,
)

EXAMPLES: list[Frame] = [
    StartFrame(type="start", team="demo"),
    ResumeFrame(type="resume", team="demo", code="K7QM-3XHD-9TPA-RW2E-V5NB", last_seq=4),
    YouthSendFrame(type="send", client_id=CLIENT, body="Hej, jag undrar en sak"),
    YouthSyncFrame(type="sync", last_seq=12),
    YouthCloseFrame(type="close"),
    PingFrame(type="ping"),
    OpenFrame(type="open", conversation_id=CID, last_seq=2),
    TakeFrame(type="take", conversation_id=CID),
    StaffSendFrame(type="send", conversation_id=CID, client_id=CLIENT, body="Hej!"),
    StaffSyncFrame(type="sync", conversation_id=CID, last_seq=12),
    StaffCloseFrame(type="close", conversation_id=CID),
    ReadyFrame(state="queued", worker=None, last_seq=0, resume_code="K7QM-3XHD-9TPA-RW2E-V5NB"),
    MessageFrame(
        conversation_id=CID,
        seq=7,
        client_id=CLIENT,
        sender="staff",
        author="Anna",
        event=None,
        body="Hej! Jag heter Anna.",
        at=AT,
    ),
    AckFrame(client_id=CLIENT, seq=7, conversation_id=CID),
    ErrorFrame(code="too_long", message="Too long", client_id=CLIENT),
    PongFrame(),
    ResyncFrame(),
    StaffMember(id=3, first_name="Anna"),
    HelloFrame(me=StaffMember(id=3, first_name="Anna"), team_slug="demo", team_name="Fält"),
    SUMMARY,
    ConversationFrame(conversation=SUMMARY),
    ConversationsFrame(items=[SUMMARY, SUMMARY.model_copy(update={"assigned": None})]),
    TypingFrameIn(type="typing", active=True),
    YouthReadFrame(type="read", seq=7),
    FeedbackFrame(type="feedback", answer="partly"),
    StaffTypingFrame(type="typing", conversation_id=CID, active=False),
    StaffReadFrame(type="read", conversation_id=CID, seq=7),
    NoteFrameIn(type="note", conversation_id=CID, client_id=CLIENT, body="Ringde BUP"),
    TransferFrame(type="transfer", conversation_id=CID, to=4, note="Bo tar över"),
    FlagFrame(type="flag", conversation_id=CID, flagged=True),
    BlockFrame(type="block", conversation_id=CID),
    DutyFrame(type="duty", on=True),
    WorkerProfile(first_name="Anna", photo="/photos/abc.jpg", introduction="Fältsekreterare"),
    WorkerFrame(profile=WorkerProfile(first_name="Bo")),
    QueueFrame(position=2, eta_seconds=240),
    TypingFrame(conversation_id=CID, sender="staff", author="Anna", active=True),
    ReadFrame(conversation_id=CID, reader="youth", seq=7),
    NoteFrame(id=1, conversation_id=CID, client_id=CLIENT, author="Anna", body="Ringde", at=AT),
    PresenceFrame(on_duty=[StaffMember(id=3, first_name="Anna")], open=True),
    CannedReplyItem(key="hours", body="Vi har öppet {team}"),
    RedactFrame(type="redact", conversation_id=CID, seq=7),
    RedactedFrame(conversation_id=CID, seq=7),
    VisibilityFrame(type="visibility", visible=True),
]


def test_every_frame_model_has_a_round_trip_example() -> None:
    models = {
        value
        for value in vars(protocol).values()
        if isinstance(value, type) and issubclass(value, Frame) and value is not Frame
    }
    assert models == {type(example) for example in EXAMPLES}


@pytest.mark.parametrize("frame", EXAMPLES, ids=lambda f: type(f).__name__)
def test_every_frame_round_trips_through_encode(frame: Frame) -> None:
    raw = encode(frame)
    assert isinstance(raw, bytes)
    assert type(frame).model_validate_json(raw) == frame
    data = orjson.loads(raw)
    assert isinstance(data, dict)
    if "type" in type(frame).model_fields:
        assert data["type"] == frame.model_dump()["type"]
        assert isinstance(data["type"], str)
        assert data["type"]


@pytest.mark.parametrize(
    "frame",
    [f for f in EXAMPLES if isinstance(f, StartFrame | ResumeFrame | YouthSendFrame)]
    + [f for f in EXAMPLES if isinstance(f, YouthSyncFrame | YouthCloseFrame | PingFrame)],
    ids=lambda f: type(f).__name__,
)
def test_youth_frames_survive_encode_and_parse(frame: Frame) -> None:
    assert parse_youth_frame(encode(frame)) == frame


@pytest.mark.parametrize(
    "frame",
    [
        f
        for f in EXAMPLES
        if isinstance(
            f,
            OpenFrame
            | TakeFrame
            | StaffSendFrame
            | StaffSyncFrame
            | StaffCloseFrame
            | PingFrame
            | RedactFrame
            | VisibilityFrame,
        )
    ],
    ids=lambda f: type(f).__name__,
)
def test_staff_frames_survive_encode_and_parse(frame: Frame) -> None:
    assert parse_staff_frame(encode(frame)) == frame


def test_server_frames_carry_their_type_without_being_told() -> None:
    expected = {
        ReadyFrame: "ready",
        MessageFrame: "message",
        AckFrame: "ack",
        ErrorFrame: "error",
        PongFrame: "pong",
        HelloFrame: "hello",
        ConversationFrame: "conversation",
        ConversationsFrame: "conversations",
    }
    seen = {type(f): orjson.loads(encode(f))["type"] for f in EXAMPLES if type(f) in expected}
    assert seen == expected


def test_encode_produces_the_documented_json() -> None:
    assert orjson.loads(encode(AckFrame(client_id=CLIENT, seq=7))) == {
        "type": "ack",
        "client_id": CLIENT,
        "seq": 7,
        "conversation_id": None,
    }
    assert orjson.loads(encode(PongFrame())) == {"type": "pong"}
    message = orjson.loads(encode(EXAMPLES[12]))
    assert message["type"] == "message"
    assert message["at"] == "2026-11-21T14:03:12.120000Z"
    ready = orjson.loads(encode(ReadyFrame(state="active", worker="Anna", last_seq=3)))
    assert ready == {
        "type": "ready",
        "state": "active",
        "worker": "Anna",
        "last_seq": 3,
        "resume_code": None,
        "max_length": 4000,
        "kind": "chat",
        "profile": None,
        "staff_read_seq": 0,
        "feedback": None,
    }


def test_encode_keeps_unicode_and_markup_as_data() -> None:
    body = "<script>alert(1)</script> åäö 🙂"
    frame = ErrorFrame(code="x", message=body)
    assert orjson.loads(encode(frame))["message"] == body
