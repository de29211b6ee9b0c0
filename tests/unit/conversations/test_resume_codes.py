"""Resume codes: the young person's only key back into their conversation."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from typing import Any

import pytest

from lykta.conversations.resume_codes import (
    ALPHABET,
    ENTROPY_BITS,
    LENGTH,
    MAX_INPUT_LENGTH,
    generate,
    hash_code,
    normalise,
)

GROUP = f"[{ALPHABET}]{{4}}"
CODE_RE = re.compile(f"^{GROUP}(?:-{GROUP}){{4}}$")
SAMPLES = 2000


@pytest.fixture(scope="module")
def codes() -> list[str]:
    return [generate() for _ in range(SAMPLES)]


def test_alphabet_is_crockford_base32_without_look_alikes() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert set(ALPHABET) == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert not set(ALPHABET) & set("ILOU")


def test_codes_are_five_groups_of_four(codes: list[str]) -> None:
    for code in codes:
        assert CODE_RE.fullmatch(code), code
        assert len(code.replace("-", "")) == LENGTH == 20


def test_entropy_is_at_least_80_bits() -> None:
    assert ENTROPY_BITS >= 80
    # The constant is what the generator really draws, not just a claim.
    assert LENGTH * math.log2(len(ALPHABET)) == ENTROPY_BITS


def test_generated_codes_are_distinct_and_use_every_symbol_everywhere(codes: list[str]) -> None:
    assert len(set(codes)) == len(codes)
    raw = [code.replace("-", "") for code in codes]
    for position in range(LENGTH):
        # With 2000 samples a fair symbol is missing from a position with p ~ 1e-27.
        assert {r[position] for r in raw} == set(ALPHABET), f"position {position}"
    counts = Counter("".join(raw))
    expected = SAMPLES * LENGTH / len(ALPHABET)  # 1250, standard deviation ~35
    assert set(counts) == set(ALPHABET)
    assert all(abs(n - expected) < 250 for n in counts.values()), counts


def test_generated_code_normalises_to_itself_without_hyphens() -> None:
    code = generate()
    assert normalise(code) == code.replace("-", "")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("k7qm-3xhd-9tpa-rw2e-v5nb", "K7QM3XHD9TPARW2EV5NB"),
        ("K7QM 3XHD 9TPA RW2E V5NB", "K7QM3XHD9TPARW2EV5NB"),
        ("  K7QM3XHD9TPARW2EV5NB  ", "K7QM3XHD9TPARW2EV5NB"),
        ("K7QM--3XHD - 9TPA\tRW2E\nV5NB", "K7QM3XHD9TPARW2EV5NB"),
        ("OOOO-oooo-IIII-iiii-LLLL", "00000000111111111111"),
        ("llll-0000-1111-0000-1111", "11110000111100001111"),
    ],
)
def test_normalise_forgives_case_spacing_hyphens_and_look_alikes(
    typed: str, canonical: str
) -> None:
    assert normalise(typed) == canonical


def test_a_code_typed_sloppily_opens_the_same_conversation() -> None:
    code = "0K1M-3XHD-9TPA-RW2E-V5NB"
    sloppy = " ok1m 3xhd-9tpa  rw2e-v5nb "
    assert hash_code(sloppy) == hash_code(code)
    assert hash_code("OKIM3XHD9TPARW2EV5NB") == hash_code(code)
    assert hash_code("0KLM3XHD9TPARW2EV5NB") == hash_code(code)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "K7QM-3XHD-9TPA-RW2E-V5N",  # 19 symbols
        "K7QM-3XHD-9TPA-RW2E-V5NBB",  # 21 symbols
        "K7QM-3XHD-9TPA-RW2E-V5N*",  # not in the alphabet
        "K7QM-3XHD-9TPA-RW2E-V5NÅ",
        "K7QM_3XHD_9TPA_RW2E_V5NB",  # underscores are not separators
        "K7QM-3XHD-9TPA-RW2E-V5NB" + " " * (MAX_INPUT_LENGTH - 23),  # 65 characters
        "A" * 10_000,
    ],
)
def test_invalid_or_over_long_input_is_refused(bad: str) -> None:
    assert normalise(bad) is None
    assert hash_code(bad) is None


def test_over_long_input_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    class Untouchable(str):
        __slots__ = ()

        def upper(self) -> str:
            raise AssertionError("an over-long string was processed")

    hashed: list[bytes] = []
    real_sha256 = hashlib.sha256

    def counting_sha256(data: bytes = b"") -> Any:
        hashed.append(data)
        return real_sha256(data)

    monkeypatch.setattr(hashlib, "sha256", counting_sha256)
    attack = Untouchable("K" * 1_000_000)
    assert normalise(attack) is None
    assert hash_code(attack) is None
    assert hashed == []
    # The boundary: 64 characters are still looked at.
    assert hash_code("K7QM-3XHD-9TPA-RW2E-V5NB" + " " * (MAX_INPUT_LENGTH - 24)) is not None
    assert len(hashed) == 1


def test_hash_is_stable_and_pinned() -> None:
    """Only this hash is stored: changing it would lock every young person out."""
    code = "K7QM-3XHD-9TPA-RW2E-V5NB"
    digest = hash_code(code)
    assert digest == hash_code(code)
    assert digest == hashlib.sha256(b"lykta-resume-v1:K7QM3XHD9TPARW2EV5NB").digest()
    assert digest is not None
    assert len(digest) == 32


def test_hash_differs_across_codes(codes: list[str]) -> None:
    hashes = {hash_code(code) for code in codes}
    assert None not in hashes
    assert len(hashes) == len(codes)
    # One symbol different is a different key.
    assert hash_code("K7QM-3XHD-9TPA-RW2E-V5NB") != hash_code("K7QM-3XHD-9TPA-RW2E-V5NC")
