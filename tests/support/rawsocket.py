"""A WebSocket client written by hand over a plain TCP connection: nothing answers the
server's pings unless the test does, and it reads only when the test says so."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from typing import Any

import orjson

from tests.support.frames import frames_in


class RawSocket:
    """A WebSocket client written by hand, so that nothing answers the server's pings."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.opcodes: list[int] = []
        self.close_code: int | None = None
        self.unread: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls,
        port: int,
        path: str = "/ws/chat",
        *,
        cookie: str | None = None,
        receive_buffer: int | None = None,
    ) -> RawSocket:
        """Open and upgrade; ``cookie``: a worker's session; ``receive_buffer``: the
        kernel's buffer for what the server sends (small: a slow phone's)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = f"Cookie: lykta_staff={cookie}\r\n" if cookie else ""
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n{extra}"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        return cls(reader, writer)

    async def send_json(self, data: dict[str, Any]) -> None:
        payload = orjson.dumps(data)
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        await self.writer.drain()

    async def read_frame(self) -> tuple[int, bytes]:
        head = await self.reader.readexactly(2)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        payload = await self.reader.readexactly(length)
        self.opcodes.append(opcode)
        if opcode == 0x8 and len(payload) >= 2:
            self.close_code = struct.unpack("!H", payload[:2])[0]
        return opcode, payload

    async def read_text(self) -> dict[str, Any]:
        """The next frame (a text frame may hold several)."""
        while not self.unread:
            opcode, payload = await self.read_frame()
            if opcode == 0x1:
                self.unread.extend(frames_in(payload))
        return self.unread.pop(0)

    async def read_until_closed(self) -> list[dict[str, Any]]:
        """Read (never answering pings) up to the server's close frame; the text frames
        read on the way."""
        frames: list[dict[str, Any]] = []
        while True:
            opcode, payload = await self.read_frame()
            if opcode == 0x1:
                frames.extend(frames_in(payload))
            elif opcode == 0x8:
                return frames

    async def read_until_dropped(self) -> None:
        """Read (and never answer) until the server drops the connection."""
        try:
            while True:
                await self.read_frame()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return
