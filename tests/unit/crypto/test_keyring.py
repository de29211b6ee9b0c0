"""Master keys from configuration or the key file, and the key file itself."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lykta.config import Settings
from lykta.crypto import keyring
from lykta.crypto.keyring import KeyConfigError, Keyring, decode_key, encode_key
from lykta.crypto.keystore import load_keyring


def test_keys_round_trip_and_have_stable_ids() -> None:
    raw = os.urandom(32)
    assert decode_key(encode_key(raw)) == raw
    assert keyring.key_id(raw) == keyring.key_id(raw) != keyring.key_id(os.urandom(32))


@pytest.mark.parametrize("text", ["", "abc", "!!!!", encode_key(os.urandom(16))])
def test_a_malformed_key_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(KeyConfigError):
        keyring.parse_keys(text, separator=",")


def test_a_new_installation_gets_a_private_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    ring = load_keyring(settings, create=True)
    path = tmp_path / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(settings, create=False).current.id == ring.current.id


def test_a_missing_key_file_is_an_error_once_data_keys_exist(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="restore it from its backup"):
        load_keyring(Settings(data_dir=tmp_path), create=False)


def test_the_environment_wins_and_lists_the_current_key_first(tmp_path: Path) -> None:
    first, second = os.urandom(32), os.urandom(32)
    settings = Settings(data_dir=tmp_path, master_key=f"{encode_key(first)}, {encode_key(second)}")
    ring = load_keyring(settings, create=True)
    assert ring.current.id == keyring.key_id(first)
    assert ring.get(keyring.key_id(second)) is not None
    assert not (tmp_path / "master.key").exists()


def test_a_file_backed_ring_follows_its_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    old, new = os.urandom(32), os.urandom(32)
    keyring.write_key_file(path, [old])
    ring = Keyring(keyring.read_key_file(path), path)
    keyring.write_key_file(path, [new, old])
    os.utime(path, ns=(1, 1))  # a different mtime, however fast the file system
    # An unknown key id forces a re-read at once; the current key follows within a second.
    assert ring.get(keyring.key_id(new)) is not None
    assert ring.current.id == keyring.key_id(new)


def test_a_damaged_key_file_keeps_the_keys_already_loaded(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    raw = os.urandom(32)
    keyring.write_key_file(path, [raw])
    ring = Keyring(keyring.read_key_file(path), path)
    path.write_text("not a key\n")
    os.utime(path, ns=(1, 1))
    assert not ring.refresh(force=True)
    assert ring.current.id == keyring.key_id(raw)
