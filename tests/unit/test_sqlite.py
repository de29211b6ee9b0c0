"""SQLite's group writer: when the disk is too slow to be waited for in the event loop."""

from __future__ import annotations

import logging

import pytest

from lykta.sqlite import FAST_FLUSH_S, SLOW_FLUSH_S, FlushClock


def test_a_few_slow_flushes_move_group_commits_to_a_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FlushClock()
    for _ in range(10):
        clock.record(0.0003)  # a local SSD
    assert not clock.slow
    clock.record(0.030)  # one slow flush (a checkpoint, a neighbour's burst) is not enough
    assert not clock.slow
    with caplog.at_level(logging.WARNING, logger="lykta.db"):
        for _ in range(5):
            clock.record(0.010)  # a network volume
    assert clock.slow
    assert clock.average > SLOW_FLUSH_S
    assert "group commits now wait in a thread" in caplog.text


def test_they_come_back_once_flushes_are_fast_and_do_not_flap_in_between() -> None:
    clock = FlushClock()
    for _ in range(20):
        clock.record(0.010)
    assert clock.slow
    while clock.average > (SLOW_FLUSH_S + FAST_FLUSH_S) / 2:
        clock.record(0.0003)
        assert clock.slow  # between the two thresholds it stays where it was
    for _ in range(20):
        clock.record(0.0003)
    assert not clock.slow
