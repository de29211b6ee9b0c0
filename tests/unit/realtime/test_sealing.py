"""Frames between nodes: only a node with the installation's master keys can read or make
one, for the channel it was sealed for, once."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from lykta.crypto.envelope import new_key
from lykta.crypto.keyring import Keyring, write_key_file
from lykta.realtime.sealing import FrameSeal

CHANNEL = b"lykta:conv:abc"
TEXT = b'{"type":"message","body":"jag vill prata med n\xc3\xa5gon"}'


def node(ring: Keyring) -> FrameSeal:
    return FrameSeal(secrets.token_hex(8), lambda: ring)


def test_a_frame_opens_on_another_node_of_the_installation_and_hides_its_text() -> None:
    ring = Keyring([new_key()])
    a, b = node(ring), node(ring)
    sealed = a.seal(CHANNEL, TEXT)
    assert TEXT not in sealed
    assert b"prata" not in sealed
    assert FrameSeal.sender(sealed) == a.node
    assert b.open(CHANNEL, sealed) == TEXT
    # Two seals of the same text differ (each has its own number).
    assert a.seal(CHANNEL, TEXT)[16:] != sealed[16:]


def test_a_frame_from_elsewhere_altered_moved_or_replayed_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ring = Keyring([new_key()])
    a, b = node(ring), node(ring)
    stranger = node(Keyring([new_key()]))  # another installation's master key
    first, second = a.seal(CHANNEL, b"1"), a.seal(CHANNEL, b"2")
    altered = bytearray(first)
    altered[-1] ^= 1
    with caplog.at_level(logging.WARNING, "lykta.realtime.sealing"):
        assert b.open(CHANNEL, stranger.seal(CHANNEL, TEXT)) is None
        assert b.open(CHANNEL, bytes(altered)) is None
        assert b.open(b"lykta:conv:other", first) is None
        assert b.open(CHANNEL, b"too short") is None
        assert b.open(CHANNEL, b"\xff" * 80) is None  # not even an id
        assert b.open(CHANNEL, second) == b"2"
        assert b.open(CHANNEL, first) is None  # older than one already opened
        assert b.open(CHANNEL, second) is None  # the same again
    assert b.open(CHANNEL, a.seal(CHANNEL, b"3")) == b"3"
    # Logged once for the burst, with how many there were so far.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "refused 1 frame(s)" in warnings[0].getMessage()


def test_frames_still_open_while_the_master_key_is_rotated(tmp_path: Path) -> None:
    """A node that already seals with the new key is understood by one that has not yet
    read the key file since it changed, and the other way round."""
    old, new = new_key(), new_key()
    path = tmp_path / "master.key"
    write_key_file(path, [old])
    behind = node(Keyring([old], path))
    write_key_file(path, [new, old])
    ahead = node(Keyring([new, old], path))
    assert behind.open(CHANNEL, ahead.seal(CHANNEL, b"new key")) == b"new key"
    assert ahead.open(CHANNEL, node(Keyring([old])).seal(CHANNEL, b"old key")) == b"old key"
    # A ring without the key (and no file to read it from) refuses.
    assert node(Keyring([old])).open(CHANNEL, ahead.seal(CHANNEL, b"x")) is None


def test_a_node_id_must_have_its_fixed_length() -> None:
    with pytest.raises(ValueError, match="16 characters"):
        FrameSeal("short", lambda: Keyring([new_key()]))
