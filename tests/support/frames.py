"""Reading what a Lykta server sends: a text frame holds one frame (a JSON object) or
several sent together (a JSON array of them, in order; docs/protocol.md)."""

from __future__ import annotations

from typing import Any

import orjson


def frames_in(raw: str | bytes) -> list[dict[str, Any]]:
    """The frames in one WebSocket text frame, in order."""
    data = orjson.loads(raw)
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    raise ValueError(f"not a frame or a list of frames: {data!r}")
