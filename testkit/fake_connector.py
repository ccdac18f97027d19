"""A local Bot Connector (the Teams service URL): records every call and fails on demand.

    with FakeConnector() as teams:
        client = ConnectorClient(tokens=StaticTokens("t"), ..., allowed_origins=(teams.base_url,))
        client.send(teams.service_url, "a:1", {"type": "message", "text": "hi"})
        assert teams.calls("send")[0].body["text"] == "hi"
        teams.fail_next("send", status=403, code="BotNotInConversationRoster")
        teams.fail_next("send", status=429, retry_after=3)
        teams.fail_next("send", disconnect="after")  # acted on, then the connection drops: the sender cannot know

Like Teams, the service URL has a path (`{base_url}/teams/`) the client must keep. Operations: "create"
(POST v3/conversations: one conversation per member, as Teams answers a repeated 1:1 create), "send"
(POST .../activities), "reply" (POST .../activities/{replyToId}), "update" (PUT .../activities/{id}) and
"download" (GET v3/attachments/{id}/views/original), "team" and "team_channels" (GET v3/teams/{id}, its
/conversations; `add_team`). `attempts()` holds every request that arrived,
`calls()` only those acted on: a test proving "sent exactly once" counts `calls()`. Optional rate
limits (`limit()`) answer 429 as Teams does past 7 sends a second per conversation or 50 a second overall.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from testkit.local_server import LocalServer
from testkit.waits import WAIT_SECONDS, wait_until

PREFIX = "/teams"  # the service URL's own path, as in https://smba.trafficmanager.net/teams/


@dataclass(frozen=True)
class Call:
    """One request: the operation, HTTP method, raw path, conversation and activity ids, JSON body, Authorization."""

    operation: str
    method: str
    path: str
    conversation_id: str
    activity_id: str
    body: Any
    authorization: str


@dataclass
class _Fault:
    status: int | None = None
    code: str = ""
    retry_after: str | None = None
    disconnect: str = ""  # "before" (nothing done) or "after" (done, then the connection drops)
    times: int = 1


@dataclass
class _Window:
    count: int
    seconds: float
    sent: deque[float] = field(default_factory=deque)

    def admits(self, now: float) -> bool:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        return len(self.sent) < self.count


class FakeConnector(LocalServer):
    """The Bot Connector REST API of one service URL, served locally; a context manager."""

    def __init__(self, *, token_ok: Callable[[str], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_ok = token_ok  # when set, a request whose bearer token fails it is answered 401
        self._clock = clock
        self._lock = threading.Condition()
        self._attempts: list[Call] = []
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._conversations: dict[str, str] = {}  # member id -> conversation id
        self._activities: dict[str, dict[str, Any]] = {}  # conversation/activity id -> the activity as last written
        self._files: dict[str, tuple[str, bytes]] = {}  # attachment id -> (media type, bytes)
        self._teams: dict[str, tuple[str, dict[str, str]]] = {}  # team id -> (name, channel id -> name)
        self._limits: dict[str, tuple[int, float]] = {}
        self._windows: dict[str, _Window] = {}
        self.rate_limited = 0  # 429s answered because a limit was passed
        self.hide_length = False  # downloads without Content-Length (the body ends when the connection closes)
        self._counter = 0

    @property
    def service_url(self) -> str:
        """The service URL activities carry, with its path and trailing slash."""
        return f"{self.base_url}{PREFIX}/"

    # -- scripting -------------------------------------------------------------------------------------------

    def fail_next(self, operation: str, *, status: int | None = None, code: str = "", retry_after: str | None = None,
                  disconnect: str = "", times: int = 1) -> None:
        """Answer the next `times` requests of an operation with a status (and error code), or drop the connection."""
        assert disconnect in ("", "before", "after")
        with self._lock:
            self._faults[operation].append(_Fault(status=status, code=code, retry_after=retry_after,
                                                  disconnect=disconnect, times=times))

    def limit(self, *, per_conversation: tuple[int, float] | None = (7, 1.0),
              overall: tuple[int, float] | None = (50, 1.0)) -> None:
        """Answer 429 past these (count, seconds) limits, as Teams does."""
        with self._lock:
            self._limits = {name: value for name, value in (("conversation", per_conversation),
                                                             ("overall", overall)) if value}
            self._windows.clear()

    def add_team(self, team_id: str, name: str, channels: dict[str, str]) -> None:
        """A team the bot is in: its name and channels by id (the General channel, the team's own id, named "")."""
        with self._lock:
            self._teams[team_id] = (name, dict(channels))

    def add_file(self, attachment_id: str, media_type: str, data: bytes) -> str:
        """Host an attachment; returns its download URL (as an activity's contentUrl gives it)."""
        with self._lock:
            self._files[attachment_id] = (media_type, data)
        return f"{self.service_url}v3/attachments/{attachment_id}/views/original"

    # -- reading ---------------------------------------------------------------------------------------------

    def calls(self, operation: str | None = None) -> list[Call]:
        """Requests acted on, oldest first."""
        with self._lock:
            return [c for c in self._calls if operation is None or c.operation == operation]

    def attempts(self, operation: str | None = None) -> list[Call]:
        """Every request that arrived, oldest first (including those refused or dropped)."""
        with self._lock:
            return [c for c in self._attempts if operation is None or c.operation == operation]

    def activity(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        """An activity as last sent or updated."""
        with self._lock:
            return self._activities.get(f"{conversation_id}/{activity_id}")

    def wait_for(self, operation: str, count: int = 1, timeout: float = WAIT_SECONDS) -> list[Call]:
        """Wait until at least `count` calls of an operation were acted on."""
        return wait_until(lambda: len(self.calls(operation)) >= count and self.calls(operation), timeout)

    # -- serving ---------------------------------------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[str, str, str]:
        """(operation, conversation id, activity id) of a request path; operation "" if unknown."""
        if not path.startswith(PREFIX + "/v3/"):
            return "", "", ""
        parts = path[len(PREFIX) + 4:].split("?")[0].split("/")
        if method == "POST" and parts == ["conversations"]:
            return "create", "", ""
        if len(parts) >= 3 and parts[0] == "conversations" and parts[2] == "activities":
            conversation = unquote(parts[1])
            if method == "POST" and len(parts) == 3:
                return "send", conversation, ""
            if method == "POST" and len(parts) == 4:
                return "reply", conversation, unquote(parts[3])
            if method == "PUT" and len(parts) == 4:
                return "update", conversation, unquote(parts[3])
        if method == "GET" and parts[0] == "teams" and len(parts) in (2, 3) and parts[2:] in ([], ["conversations"]):
            return ("team" if len(parts) == 2 else "team_channels"), "", unquote(parts[1])
        if method == "GET" and len(parts) == 4 and parts[0] == "attachments" and parts[2:] == ["views", "original"]:
            return "download", "", unquote(parts[1])
        return "", "", ""

    def _serve(self, handler: _Handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        operation, conversation, activity_id = self._route(method, handler.path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        call = Call(operation=operation, method=method, path=handler.path, conversation_id=conversation,
                    activity_id=activity_id, body=body, authorization=handler.headers.get("Authorization", ""))
        with self._lock:
            self._attempts.append(call)
            fault = self._take_fault(operation)
        if fault is not None and fault.disconnect == "before":
            return _drop(handler)
        if not operation:
            return _reply(handler, 404, _error("NotFound", "no such operation"))
        token = call.authorization.removeprefix("Bearer ")
        if not call.authorization.startswith("Bearer ") or (self.token_ok is not None and not self.token_ok(token)):
            return _reply(handler, 401, _error("Unauthorized", "Authorization has been denied for this request."))
        if fault is not None and fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return _reply(handler, fault.status, _error(fault.code or f"HTTP{fault.status}", "scripted failure"),
                          headers)
        if operation not in ("download", "team", "team_channels") and not self._admitted(conversation):
            return _reply(handler, 429, _error("TooManyRequests", "Too many requests"), {"Retry-After": "1"})
        status, answer, media_type = self._act(call)
        if fault is not None and fault.disconnect == "after":
            return _drop(handler)
        if media_type:
            return _reply(handler, status, answer, media_type=media_type, length=not self.hide_length)
        return _reply(handler, status, answer)

    def _take_fault(self, operation: str) -> _Fault | None:
        queue = self._faults.get(operation)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    def _admitted(self, conversation: str) -> bool:
        with self._lock:
            now = self._clock()
            windows = []
            if "overall" in self._limits:
                windows.append(self._windows.setdefault("overall", _Window(*self._limits["overall"])))
            if "conversation" in self._limits and conversation:
                windows.append(self._windows.setdefault(conversation, _Window(*self._limits["conversation"])))
            if not all(window.admits(now) for window in windows):
                self.rate_limited += 1
                return False
            for window in windows:
                window.sent.append(now)
            return True

    def _act(self, call: Call) -> tuple[int, Any, str]:
        with self._lock:
            self._counter += 1
            body = call.body if isinstance(call.body, dict) else {}
            if call.operation == "download":
                media_type, data = self._files.get(call.activity_id, ("", b""))
                if not media_type:
                    return 404, _error("NotFound", "no such attachment"), ""
                self._calls.append(call)
                return 200, data, media_type
            if call.operation in ("team", "team_channels"):
                if call.activity_id not in self._teams:
                    return 404, _error("NotFound", "no such team"), ""
                name, channels = self._teams[call.activity_id]
                self._calls.append(call)
                if call.operation == "team":
                    return 200, {"id": call.activity_id, "name": name, "aadGroupId": "g-1"}, ""
                return 200, {"conversations": [{"id": c, **({"name": n} if n else {})} for c, n in channels.items()]}, ""
            if call.operation == "create":
                members = body.get("members") or [{}]
                member = str(members[0].get("id", "")) if isinstance(members[0], dict) else ""
                conversation = self._conversations.setdefault(member, f"a:1conversation-{len(self._conversations) + 1}")
                self._calls.append(call)
                return 201, {"id": conversation}, ""
            activity_id = call.activity_id if call.operation == "update" else f"1700000000{self._counter:06d}"
            key = f"{call.conversation_id}/{activity_id}"
            if call.operation == "update" and key not in self._activities:
                return 404, _error("ActivityNotFoundInConversation", "no such activity"), ""
            self._activities[key] = body
            self._calls.append(call)
            self._lock.notify_all()
            return (200 if call.operation == "update" else 201), {"id": activity_id}, ""


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _reply(handler: BaseHTTPRequestHandler, status: int, answer: Any, headers: dict[str, str] | None = None,
           media_type: str = "", length: bool = True) -> None:
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", media_type or "application/json; charset=utf-8")
    if length:
        handler.send_header("Content-Length", str(len(body)))
    else:  # the body ends when the connection does
        handler.send_header("Connection", "close")
        handler.close_connection = True
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def _drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with no answer at all (RST), as a dying proxy would."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    fake: FakeConnector
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.fake._serve(self, "POST")

    def do_PUT(self) -> None:
        self.fake._serve(self, "PUT")

    def do_GET(self) -> None:
        self.fake._serve(self, "GET")

    def log_message(self, format: str, *args: Any) -> None:
        pass


FakeConnector.handler = _Handler
