"""A WebSocket client that only reads: enough to follow a local server's text frames from a test, stdlib only.

RFC 6455 client side: an HTTP/1.1 upgrade, then frames (the server's are unmasked). It sends nothing after
the handshake but the pongs and the close reply the protocol requires, each masked as clients must.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

TEXT, CLOSE, PING = 0x1, 0x8, 0x9
MAX_FRAME = 16 * 1024 * 1024


class WebSocketReader:
    """Reads JSON text frames from ws://host:port/path on a thread, handing each to `on_message`."""

    def __init__(self, *, host: str, port: int, path: str, on_message: Callable[[Any], None],
                 timeout: float = 10.0) -> None:
        self._socket = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self._socket.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                             .encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += self._receive()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"no WebSocket upgrade at {path}: {head.splitlines()[0]!r}")
        self._socket.settimeout(None)  # frames come when they come; close() ends the wait
        self._on_message = on_message
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"ws {path}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reading."""
        self._closed.set()
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()
        self._thread.join(5)

    def _read(self) -> None:
        try:
            while not self._closed.is_set():
                opcode, payload = self._frame()
                if opcode == TEXT:
                    self._on_message(json.loads(payload))
                elif opcode == PING:
                    self._send(0xA, payload)
                elif opcode == CLOSE:
                    self._send(CLOSE, payload[:2])
                    return
        except (OSError, ConnectionError, ValueError):
            return  # closed by either side

    def _frame(self) -> tuple[int, bytes]:
        """The next message: its opcode and payload (continuation frames joined)."""
        first, payload = self._one_frame()
        opcode = first & 0x0F
        while not first & 0x80:
            first, more = self._one_frame()
            payload += more
        return opcode, payload

    def _one_frame(self) -> tuple[int, bytes]:
        first, second = self._take(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._take(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._take(8))
        if length > MAX_FRAME:
            raise ValueError("frame too large")
        mask = self._take(4) if second & 0x80 else b""
        payload = self._take(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return first, payload

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._buffer += self._receive()
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def _receive(self) -> bytes:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        return chunk

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytes((0x80 | opcode, 0x80 | len(payload)))  # control frames are under 126 bytes
        self._socket.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
