"""An optional sampling profile of the Lykta server under load (``--profile``), taken with
py-spy (``pip install py-spy``) while messages flow at the sustained rate, after the
throughput ramp, so that the sampling does not touch the measured figures. Only the thread
holding the GIL is sampled (where Python code runs); the CPU time of the event loop's thread
and of the other threads (the database driver's) is read from /proc beside it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


class Recording:
    """``py-spy record`` attached to one process until ``stop``."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        binary = py_spy()
        if binary is None:
            raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
        self.output = output
        output.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - the py-spy found above
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--output",
                str(output),
                "--nonblocking",
                "--gil",  # only the thread running Python code: where the interpreter works
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> str:
        """Stop sampling, wait for the file; py-spy's complaint if it wrote none."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return "" if self.output.is_file() else err.decode(errors="replace").strip()


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the process's main thread (the event loop) and of everything else
    it ran (on Lykta: the database drivers' threads, e.g. aiosqlite's one per connection;
    threads that have ended included)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def seconds(stat: Path) -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    total = seconds(Path(f"/proc/{pid}/stat"))
    main = seconds(Path(f"/proc/{pid}/task/{pid}/stat"))
    return {"main": main, "others": total - main}


PASS_THROUGH = ("lykta/__main__.py", "lykta/cli.py", "lykta/web/")
"""Frames every request passes through (entry point, middleware): not worth listing."""


def _frame(text: str) -> tuple[str, str]:
    match = FRAME.match(text)
    if match is None:
        return text, ""
    file = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return match["name"], file


def summarise(collapsed: Path, top: int = 20) -> dict[str, Any]:
    """Where the samples were: the functions with the most samples of their own, and the
    share of samples spent inside each of Lykta's own functions (inclusive)."""
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        name, file = frames[-1]
        own[f"{name} ({file})"] += n
        for label in {
            f"{name} ({file})"
            for name, file in frames
            if file.startswith("lykta/") and not file.startswith(PASS_THROUGH)
        }:
            inside[label] += n
    if total == 0:
        return {"samples": 0}

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": label, "percent": round(100 * n / total, 1)}
            for label, n in counter.most_common(top)
        ]

    return {"samples": total, "self": share(own), "lykta_inclusive": share(inside)}
