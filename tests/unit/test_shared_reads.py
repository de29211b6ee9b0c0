"""One read at a time per key, shared by everyone who needs it meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from lykta.shared_reads import SharedReads


class Source:
    """A read that counts itself and waits until released."""

    def __init__(self) -> None:
        self.reads = 0
        self.gate = asyncio.Event()
        self.fail = False

    async def read(self) -> int:
        self.reads += 1
        number = self.reads
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("the database went away")
        return number


async def test_callers_meanwhile_share_one_read_and_one_giving_up_cancels_nothing() -> None:
    source, reads = Source(), SharedReads[str, int]()
    waiters = [asyncio.create_task(reads.wait("team", source.read)) for _ in range(10)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    source.gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert results == [1] * 9
    assert source.reads == 1
    assert reads.under_way("team") is None  # done: the next caller reads anew
    assert await reads.wait("team", source.read) == 2


async def test_after_forget_a_caller_gets_a_new_read() -> None:
    source, reads = Source(), SharedReads[str, int]()
    first = asyncio.create_task(reads.wait("team", source.read))
    await asyncio.sleep(0)
    reads.forget("team")
    second = asyncio.create_task(reads.wait("team", source.read))
    await asyncio.sleep(0)
    source.gate.set()
    assert (await first, await second) == (1, 2)


async def test_a_failed_read_nobody_waited_for_is_reported() -> None:
    failures: list[tuple[str, BaseException]] = []
    source = Source()
    reads = SharedReads[str, int](lambda key, error: failures.append((key, error)))
    source.fail = True
    started = reads.start("team", source.read)
    source.gate.set()
    with pytest.raises(ConnectionError):
        await started
    [(key, error)] = failures
    assert key == "team"
    assert isinstance(error, ConnectionError)
