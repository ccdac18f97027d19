"""A local fake of Slack's Socket Mode endpoint: one WebSocket client, envelopes out, acks back.

Speaks just enough RFC 6455 for slack_sdk's built-in client: the opening handshake, unmasked text
frames from the server, masked frames from the client, ping/pong and close.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import socket
import struct
import threading
import uuid
from typing import Any

from testkit.waits import WAIT_SECONDS

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's fixed key suffix
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    """Listens on 127.0.0.1; `url` is what apps.connections.open should hand out."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake"
        self._client: socket.socket | None = None
        self._connected = threading.Event()
        self._acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def wait_connected(self, timeout: float = WAIT_SECONDS) -> None:
        if not self._connected.wait(timeout):
            raise AssertionError("no Socket Mode client connected")

    def send(self, kind: str, payload: Any, *, timeout: float = WAIT_SECONDS, **fields: Any) -> dict[str, Any]:
        """Send one envelope (slash_commands, interactive, events_api) and return the client's ack.

        `payload` may be anything JSON (Slack's is an object); `fields` adds to the envelope (retry_attempt...).
        """
        envelope_id = str(uuid.uuid4())
        self._send_frame(TEXT, json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                           "accepts_response_payload": kind != "events_api", **fields}).encode())
        while True:
            ack = self._acks.get(timeout=timeout)
            if ack.get("envelope_id") == envelope_id:
                return ack

    def close(self) -> None:
        self._listener.close()
        if self._client:
            self._client.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        self._client = client
        request = b""
        while b"\r\n\r\n" not in request:
            request += client.recv(4096)
        key = next(line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        client.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self._send_frame(TEXT, json.dumps({"type": "hello", "num_connections": 1}).encode())
        self._connected.set()
        self._read(client)

    def _read(self, client: socket.socket) -> None:
        while True:
            try:
                opcode, data = _read_frame(client)
            except (OSError, ConnectionError):
                return
            if opcode == TEXT:
                self._acks.put(json.loads(data))
            elif opcode == PING:
                self._send_frame(PONG, data)
            elif opcode == CLOSE:
                return

    def _send_frame(self, opcode: int, data: bytes) -> None:
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([len(data)])
        elif len(data) < 65536:
            header += bytes([126]) + struct.pack("!H", len(data))
        else:
            header += bytes([127]) + struct.pack("!Q", len(data))
        with self._send_lock:
            assert self._client is not None
            self._client.sendall(header + data)


def _read_frame(client: socket.socket) -> tuple[int, bytes]:
    first, second = _exactly(client, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _exactly(client, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _exactly(client, 8))[0]
    mask = _exactly(client, 4) if second & 0x80 else b"\0\0\0\0"
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(_exactly(client, length)))
    return first & 0x0F, data


def _exactly(client: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = client.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data
