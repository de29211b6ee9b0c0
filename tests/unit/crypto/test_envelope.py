"""Sealing: what was sealed opens only with the same key and the same associated data."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lykta.crypto.envelope import CannotOpen, new_key, open_sealed, seal


def test_a_sealed_text_opens_with_its_key_and_place() -> None:
    aead = AESGCM(new_key())
    sealed = seal(aead, "jag mår dåligt".encode(), b"lykta/message/c1/1")
    assert "mår".encode() not in sealed
    assert open_sealed(aead, sealed, b"lykta/message/c1/1").decode() == "jag mår dåligt"


def test_the_same_text_seals_differently_each_time() -> None:
    aead = AESGCM(new_key())
    assert seal(aead, b"hej", b"a") != seal(aead, b"hej", b"a")


@pytest.mark.parametrize("place", [b"lykta/message/c1/2", b"lykta/message/c2/1", b""])
def test_a_sealed_text_moved_to_another_row_does_not_open(place: bytes) -> None:
    aead = AESGCM(new_key())
    sealed = seal(aead, b"hej", b"lykta/message/c1/1")
    with pytest.raises(CannotOpen):
        open_sealed(aead, sealed, place)


def test_another_key_or_a_flipped_bit_does_not_open() -> None:
    aead = AESGCM(new_key())
    sealed = seal(aead, b"hej", b"a")
    with pytest.raises(CannotOpen):
        open_sealed(AESGCM(new_key()), sealed, b"a")
    damaged = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(CannotOpen):
        open_sealed(aead, damaged, b"a")
    for garbage in (b"", b"\x02" + sealed[1:], sealed[:20]):
        with pytest.raises(CannotOpen):
            open_sealed(aead, garbage, b"a")
