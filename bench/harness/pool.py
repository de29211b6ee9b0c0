"""The coordinator's side of the load generators: a few processes (``multiprocessing``,
spawn), each commanded over a pipe."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bench.harness import loadgen
from bench.harness.plan import Command, Crashed, Shutdown
from bench.harness.servers import cpu_seconds

A = TypeVar("A")


class LoadGenFailed(RuntimeError):
    """A load-generator process crashed or did not answer."""


class LoadGenerators:
    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for index in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=loadgen.run, args=(theirs, index), name=f"loadgen-{index}", daemon=True
            )
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.pipes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def ask(self, commands: Sequence[Command], kind: type[A], timeout: float = 900) -> list[A]:
        """Give each process its command; wait for every answer (in process order)."""
        if len(commands) != len(self.pipes):
            raise ValueError("one command per load generator")
        for pipe, command in zip(self.pipes, commands, strict=True):
            pipe.send(command)
        answers: dict[int, Any] = {}
        pending = dict(enumerate(self.pipes))
        while pending:
            ready = wait(list(pending.values()), timeout)
            if not ready:
                raise LoadGenFailed(f"no answer from the load generators within {timeout:.0f} s")
            for index, pipe in list(pending.items()):
                if pipe in ready:
                    try:
                        answers[index] = pipe.recv()
                    except EOFError:
                        raise LoadGenFailed(f"load generator {index} died") from None
                    del pending[index]
        result: list[A] = []
        for index in range(len(self.pipes)):
            answer = answers[index]
            if isinstance(answer, Crashed):
                raise LoadGenFailed(f"load generator {index} failed: {answer.error}")
            if not isinstance(answer, kind):
                raise LoadGenFailed(f"load generator {index} answered {type(answer).__name__}")
            result.append(answer)
        return result

    def all(self, command: Command, kind: type[A], timeout: float = 900) -> list[A]:
        return self.ask([command] * len(self.pipes), kind, timeout)

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(Shutdown())
            except OSError:
                continue
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in self.pipes:
            pipe.close()


def default_count() -> int:
    """As many load-generator processes as cores, at least two."""
    return max(2, os.cpu_count() or 2)
