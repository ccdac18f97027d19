"""A local fake of the Slack Web API: a real HTTP server on 127.0.0.1 that records calls and fails on demand.

    with FakeSlack() as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls("chat.postMessage")[0].args["text"] == "hi"

Requests go through the real slack_sdk/Bolt HTTP code, so retries, error mapping and encodings are exercised
as in production. Two logs are kept: `attempts()` holds every request that arrived, `calls()` only those
the fake acted on (posted, opened, stored) — a test proving "posted exactly once" counts `calls()`.
Besides Web API methods, a few pseudo-methods share the same recording and failure injection:
"upload" (the pre-signed upload URL), "download" (url_private_download) and "response_url:NAME".

Like Slack, it can rate-limit chat.postMessage per channel and per workspace (`limit()`, off by default) and
refuse posts to channels the bot has left or that are archived (`add_channel()`, `remove_bot()`).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import mimetypes
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from testkit.waits import WAIT_SECONDS

# Fields slack_sdk (and Bolt) send as JSON strings inside form bodies; decoded so tests see Python objects.
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls", "outputs"})
FIRST_TS = 1_700_000_000_000_100  # microseconds; ts strings are seconds "." six digits, like Slack's
# Waiting exactly the advertised time must be enough, so refill arithmetic may fall short by this much.
TOKEN_SLACK = 1e-9


@dataclass(frozen=True)
class Call:
    """One request the fake received: the method (or pseudo-method), its decoded arguments and headers."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Upload:
    """A file shared through files.getUploadURLExternal, the upload URL and files.completeUploadExternal."""

    file_id: str
    filename: str
    title: str
    data: bytes
    channel_id: str | None
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass
class _Channel:
    """A conversation the fake knows of, and whether the bot is in it."""

    id: str
    name: str
    member: bool = True
    archived: bool = False
    private: bool = False
    mpim: bool = False

    @property
    def is_private(self) -> bool:
        # G ids are private channels (and group DMs) created before Slack gave private channels C ids.
        return self.private or self.mpim or self.id.startswith("G")

    def info(self) -> dict[str, Any]:
        """The conversation object conversations.info answers with."""
        return {"id": self.id, "name": self.name, "is_channel": self.id.startswith("C"),
                "is_group": self.id.startswith("G") and not self.mpim, "is_im": False, "is_mpim": self.mpim,
                "is_private": self.is_private, "is_archived": self.archived, "is_member": self.member}


@dataclass(frozen=True)
class _User:
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    tz: str = "Europe/London"


@dataclass
class _Bucket:
    """A token bucket: `rate` tokens a second, holding at most `burst`; each admitted request spends one."""

    rate: float
    burst: int
    tokens: float
    updated: float

    @classmethod
    def full(cls, limit: tuple[float, int], now: float) -> _Bucket:
        rate, burst = limit
        return cls(rate=rate, burst=burst, tokens=float(burst), updated=now)

    def wait(self, now: float) -> float:
        """Refill up to `now`; the seconds until a token is available, 0 if one is."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 - TOKEN_SLACK else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class _Failure:
    status: int | None = None
    retry_after: int = 1
    error: str | None = None
    disconnect: bool = False
    disconnect_after_processing: bool = False
    times: int = 1


@dataclass
class _Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def payload(cls, content: dict[str, Any], status: int = 200, **headers: str) -> _Reply:
        return cls(status=status, body=json.dumps(content).encode(), headers=headers)


# A route's implementation: (the recorded request, its raw body, the URL path) -> the answer.
_Process = Callable[[Call, bytes, str], _Reply]


class _SlackError(Exception):
    """Raised by a method implementation to answer 200 {"ok": false, "error": ...}, as Slack does."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class FakeSlack:
    """The Slack Web API, files and response_url endpoints, served locally; a context manager."""

    def __init__(self, *, token: str = "xoxb-fake-token", team_id: str = "T0FAKE", bot_user_id: str = "U0BOT",
                 bot_id: str = "B0BOT", app_id: str = "A0FAKE", app_token: str = "xapp-fake-token",
                 channel_rate: float | None = None, channel_burst: int = 1, workspace_rate: float | None = None,
                 workspace_burst: int = 1, strict_channels: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token = token
        self.app_token = app_token
        self.socket_url = ""  # where apps.connections.open sends a Socket Mode client (testkit/fake_socket_mode.py)
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._attempts: list[Call] = []
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._down = False
        self._held: dict[str, threading.Event] = {}
        self._counter = 0
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_data: dict[str, bytes] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._uploads: list[Upload] = []
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        self.strict_channels = strict_channels  # unknown C/G channels are channel_not_found rather than accepted
        self._clock = clock
        self._rate_limited = 0
        self._channel_limit: tuple[float, int] | None = None
        self._channel_buckets: dict[str, _Bucket] = {}
        self._workspace_bucket: _Bucket | None = None
        self._bugs: list[BaseException] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "users.conversations": self._users_conversations,
            "apps.connections.open": lambda args: {"url": self.socket_url},
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.info": self._files_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "users.info": self._users_info,
        }
        self.limit(channel_rate=channel_rate, channel_burst=channel_burst, workspace_rate=workspace_rate,
                   workspace_burst=workspace_burst)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Listen on an ephemeral port of 127.0.0.1 in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True  # a client holding a keep-alive connection must not block stop()
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        # A short poll interval keeps stop() fast; tests start and stop many servers.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="FakeSlack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        with self._lock:
            for release in self._held.values():
                release.set()  # a held call must not keep its handler thread, and so stop(), waiting
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
        # A bug in the fake answers 500, which the code under test may well swallow; fail loudly instead.
        if kind is None and self._bugs:
            raise AssertionError("FakeSlack crashed while serving a request") from self._bugs[0]

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The base_url for WebClient; the trailing slash matters to slack_sdk."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url whose POSTs are recorded as the pseudo-method "response_url:NAME"."""
        return f"{self.base_url}/response/{quote(name, safe='')}"

    # -- what happened ---------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Calls the fake acted on, optionally of one method, oldest first."""
        with self._lock:
            return [call for call in self._calls if method is None or call.method == method]

    def attempts(self, method: str | None = None) -> list[Call]:
        """Every request received, including those answered with an injected failure or invalid_auth."""
        with self._lock:
            return [call for call in self._attempts if method is None or call.method == method]

    def responses(self, name: str) -> list[Call]:
        """The POSTs made to response_url(name)."""
        return self.calls(f"response_url:{name}")

    def posts_in(self, channel: str) -> list[dict[str, Any]]:
        """The messages stored in one channel (as chat.update left them), oldest first; a user id means their DM."""
        with self._lock:
            return [dict(message) for message in self._messages_in(_conversation_id(channel))]

    @property
    def rate_limited(self) -> int:
        """How many requests were answered 429 because of the limits set with limit() (not fail_next)."""
        with self._lock:
            return self._rate_limited

    @property
    def uploads(self) -> list[Upload]:
        """Files shared by files.completeUploadExternal, with the bytes posted to their upload URL."""
        with self._lock:
            return list(self._uploads)

    def wait_for(self, method: str, count: int = 1, timeout: float = WAIT_SECONDS) -> list[Call]:
        """Block until `count` calls of `method` were acted on; return them all (for asynchronous listeners)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [call for call in self._calls if call.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({call.method for call in self._calls})
                    raise AssertionError(f"waited {timeout}s for {count} {method} call(s), got {len(found)}; "
                                         f"methods seen: {seen}")
                self._lock.wait(remaining)

    # -- arranging the world ---------------------------------------------------------------------------

    def add_file(self, file_id: str, name: str, mimetype: str, data: bytes) -> dict[str, Any]:
        """Register a file for files.info and its private download URL; returns the file object."""
        with self._lock:
            return self._register_file(file_id, name, mimetype, data, title=name)

    def add_view(self, view: dict[str, Any]) -> None:
        """A modal a user already has open (its "id" set), so views.update on it succeeds."""
        with self._lock:
            self._store_view(view["id"], {"view": view})

    def add_user(self, user_id: str, real_name: str, *, is_admin: bool = False, is_owner: bool = False,
                 tz: str = "Europe/London") -> None:
        """Describe a user for users.info (others get a made-up name and no admin rights)."""
        with self._lock:
            self._users[user_id] = _User(real_name, is_admin=is_admin, is_owner=is_owner, tz=tz)

    def add_channel(self, channel_id: str, *, name: str | None = None, member: bool = True, archived: bool = False,
                    private: bool = False) -> None:
        """Register (or replace) a channel for conversations.info and chat.postMessage's membership checks."""
        with self._lock:
            self._channels[channel_id] = _Channel(channel_id, name or channel_id.lower(), member=member,
                                                  archived=archived, private=private)

    def remove_bot(self, channel_id: str) -> None:
        """Take the bot out of a channel, registering the channel if it was unknown."""
        with self._lock:
            known = self._channels.get(channel_id) or _Channel(channel_id, channel_id.lower())
            known.member = False
            self._channels[channel_id] = known

    def limit(self, *, channel_rate: float | None = None, channel_burst: int = 1,
              workspace_rate: float | None = None, workspace_burst: int = 1) -> None:
        """Rate-limit chat.postMessage per channel and per workspace (messages a second; None is unlimited).

        Replaces every earlier setting and starts with full buckets. A request over either limit is answered
        429 with Retry-After and not processed, as Slack does; `rate_limited` counts those answers.
        """
        for rate, burst in ((channel_rate, channel_burst), (workspace_rate, workspace_burst)):
            if (rate is not None and rate <= 0) or burst < 1:
                raise ValueError("a rate must be positive and a burst at least 1")
        with self._lock:
            self._channel_limit = None if channel_rate is None else (channel_rate, channel_burst)
            self._channel_buckets.clear()
            self._workspace_bucket = (None if workspace_rate is None
                                      else _Bucket.full((workspace_rate, workspace_burst), self._clock()))

    def fail_next(self, method: str, *, status: int | None = None, retry_after: int = 1, times: int = 1,
                  error: str | None = None, disconnect: bool = False,
                  disconnect_after_processing: bool = False) -> None:
        """Make the next `times` requests of `method` fail; by default with 429 and Retry-After.

        status: answer with this HTTP status (429 adds Retry-After; 5xx an HTML body, as a gateway would).
        error: answer 200 {"ok": false, "error": error}.
        disconnect: close the connection without answering; nothing is done.
        disconnect_after_processing: do the work and record it, then close without answering — the client
            sees a connection error although the message was posted.
        """
        kinds = sum([status is not None, error is not None, disconnect, disconnect_after_processing])
        if kinds > 1:
            raise ValueError("fail_next takes one of status, error, disconnect, disconnect_after_processing")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kinds == 0:
            status = 429
        failure = _Failure(status=status, retry_after=retry_after, error=error, disconnect=disconnect,
                           disconnect_after_processing=disconnect_after_processing, times=times)
        with self._lock:
            self._failures[method].append(failure)

    def down(self) -> None:
        """Answer every request with 503 until up() is called."""
        with self._lock:
            self._down = True

    def up(self) -> None:
        """Serve normally again after down()."""
        with self._lock:
            self._down = False

    def hold(self, method: str) -> threading.Event:
        """A slow Slack: calls of `method`, once received (see attempts()), wait until the returned event is set."""
        release = threading.Event()
        with self._lock:
            self._held[method] = release
        return release

    # -- request pipeline (called from handler threads) ------------------------------------------------

    def _serve(self, handler: _Handler, verb: str) -> None:
        url = urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {key: value for key, value in handler.headers.items()}
        method, process, needs_auth = self._route(verb, url.path)
        args: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            if method != "upload":  # the upload URL receives the raw file bytes, not arguments
                args.update(_decode_body(raw, handler.headers.get("Content-Type", "")))
        except (ValueError, UnicodeDecodeError):
            process = _unparsable  # Slack answers a body it cannot parse with ok false, so does the fake
        reply: _Reply | None
        try:
            reply = self._answer(method, process, needs_auth, Call(method, args, headers), raw, url.path)
        except Exception as bug:  # noqa: BLE001 - reported when the with block ends
            with self._lock:
                self._bugs.append(bug)
            reply = _Reply.payload({"ok": False, "error": "fake_slack_bug"}, status=500)
        if reply is None:
            handler.close_connection = True  # no status line at all: the client sees RemoteDisconnected
            return
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(reply.body)

    def _route(self, verb: str, path: str) -> tuple[str, _Process, bool]:
        if path.startswith("/api/"):
            name = path[len("/api/"):]
            return name, self._api_method(name), True
        if path.startswith("/upload/v1/") and verb == "POST":
            return "upload", self._receive_upload, False
        if path.startswith("/files-pri/") and verb == "GET":
            return "download", self._serve_download, False  # checks the token itself: 403, not invalid_auth
        if path.startswith("/response/") and verb == "POST":
            return f"response_url:{unquote(path[len('/response/'):])}", self._receive_response, False
        return "not_found", _not_found, False

    def _answer(self, method: str, process: _Process, needs_auth: bool, call: Call, raw: bytes,
                path: str) -> _Reply | None:
        with self._lock:
            self._attempts.append(call)
            if self._down:
                return _gateway_error(503)
            # Socket Mode's connection URL is the one method that takes the app-level token.
            token = self.app_token if method == "apps.connections.open" else self.token
            if needs_auth and call.headers.get("Authorization") != f"Bearer {token}":
                return _Reply.payload({"ok": False, "error": "invalid_auth"})
            failure = self._take_failure(method)
            held = self._held.get(method)
        if held is not None:
            held.wait(WAIT_SECONDS)
        if failure is not None:
            if failure.disconnect:
                return None
            if failure.status == 429:
                return _ratelimited(failure.retry_after)
            if failure.status is not None and failure.status >= 500:
                return _gateway_error(failure.status)
            if failure.status is not None:
                return _Reply.payload({"ok": False, "error": "invalid_request"}, status=failure.status)
            if failure.error is not None:
                return _Reply.payload({"ok": False, "error": failure.error})
        limited = self._throttle(method, call.args)
        if limited is not None:
            return limited
        reply = process(call, raw, path)
        if failure is not None and failure.disconnect_after_processing:
            return None
        return reply

    def _throttle(self, method: str, args: dict[str, Any]) -> _Reply | None:
        """A 429 when chat.postMessage is over a limit set with limit(); otherwise spend the request's tokens."""
        if method != "chat.postMessage":
            return None
        with self._lock:
            now = self._clock()
            channel = _conversation_id(str(args.get("channel") or ""))
            buckets = [self._workspace_bucket] if self._workspace_bucket is not None else []
            if self._channel_limit is not None and channel:
                buckets.append(self._channel_buckets.setdefault(channel, _Bucket.full(self._channel_limit, now)))
            # Spend nothing on a refusal: the retry must not find the channel's bucket drained by its own 429.
            wait = max([bucket.wait(now) for bucket in buckets], default=0.0)
            if wait > 0:
                self._rate_limited += 1
                return _ratelimited(max(1, math.ceil(wait)))
            for bucket in buckets:
                bucket.take()
        return None

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times == 0:
            queue.popleft()
        return failure

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()

    def _api_method(self, name: str) -> _Process:
        implementation = self._methods.get(name)

        def process(call: Call, raw: bytes, path: str) -> _Reply:
            if implementation is None:
                return _Reply.payload({"ok": False, "error": "unknown_method"})
            with self._lock:
                try:
                    payload = implementation(call.args)
                except _SlackError as error:
                    return _Reply.payload({"ok": False, "error": error.error})
                self._record(call)  # only successful calls: Slack did nothing for an ok-false answer
            return _Reply.payload({"ok": True, **payload})

        return process

    # -- pseudo-methods --------------------------------------------------------------------------------

    def _receive_upload(self, call: Call, raw: bytes, path: str) -> _Reply:
        file_id = path.rsplit("/", 1)[-1]
        with self._lock:
            pending = self._pending_uploads.get(file_id)
            if pending is None:
                return _Reply(status=404, body=b"unknown upload", content_type="text/plain")
            pending["data"] = raw
            self._record(Call(call.method, {"file_id": file_id, "data": raw}, call.headers))
        return _Reply(body=f"OK - {len(raw)}".encode(), content_type="text/plain")

    def _serve_download(self, call: Call, raw: bytes, path: str) -> _Reply:
        # /files-pri/T-F/download/name or /files-pri/T-F/name; the token is checked here because Slack
        # answers a missing or wrong one with an error page, not with invalid_auth JSON.
        if call.headers.get("Authorization") != f"Bearer {self.token}":
            return _Reply(status=403, body=b"forbidden", content_type="text/plain")
        owner = path[len("/files-pri/"):].split("/", 1)[0]
        file_id = owner.split("-", 1)[-1]
        with self._lock:
            info, data = self._files.get(file_id), self._file_data.get(file_id)
            if info is None or data is None or owner != f"{self.team_id}-{file_id}":
                return _Reply(status=404, body=b"not found", content_type="text/plain")
            self._record(Call(call.method, {"file_id": file_id}, call.headers))
        return _Reply(body=data, content_type=str(info["mimetype"]))

    def _receive_response(self, call: Call, raw: bytes, path: str) -> _Reply:
        self._record(call)
        return _Reply(body=b"ok", content_type="text/html")

    # -- Web API methods (run under the lock) ----------------------------------------------------------

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _next_ts(self) -> str:
        micros = FIRST_TS + 100 * (self._next() - 1)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, args: dict[str, Any]) -> str:
        channel = _conversation_id(str(args.get("channel") or ""))
        if not channel:
            raise _SlackError("channel_not_found")
        return channel

    def _check_postable(self, channel: str) -> None:
        """Raise the error Slack gives for posting where the bot cannot; DMs are always open to it."""
        if channel[0] not in "CG":
            return
        known = self._channels.get(channel)
        if known is None:
            if self.strict_channels:
                raise _SlackError("channel_not_found")
            return  # tests written before channels were modelled post to made-up ids
        if not known.member and known.is_private:
            raise _SlackError("channel_not_found")  # a private channel is invisible to non-members
        if known.archived:
            raise _SlackError("is_archived")
        if not known.member:
            raise _SlackError("not_in_channel")

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://fake.slack.com/", "team": "Fake Workspace", "user": "staffsafe",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._check_postable(channel)
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            raise _SlackError("no_text")
        ts = self._next_ts()
        message = self._message(args, ts)
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(args), str(args.get("ts") or "")
        if (channel, ts) not in self._messages:
            raise _SlackError("message_not_found")
        message = self._message(args, ts)
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args)
        if not args.get("user"):
            raise _SlackError("user_not_in_channel")
        return {"message_ts": self._next_ts()}

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id,
                   "team": self.team_id, "ts": ts, "text": args.get("text") or ""}
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if args.get(key):
                message[key] = args[key]
        return message

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [user for user in str(args.get("users") or "").split(",") if user]
        if not users:
            raise _SlackError("users_list_not_supplied")
        if len(users) == 1:
            return {"channel": {"id": f"D{users[0]}"}}
        channel_id = "G" + "".join(users)
        # A group DM is a private conversation the bot is in, so strict_channels must know it.
        self._channels.setdefault(channel_id, _Channel(channel_id, f"mpdm-{'--'.join(users)}-1", mpim=True))
        return {"channel": {"id": channel_id}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages, newest first; metadata only when asked for, as Slack does."""
        channel = self._channel(args)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = self._messages_in(channel)[::-1]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in found[start:start + limit]]
        more = start + limit < len(found)
        return {"messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _messages_in(self, channel: str) -> list[dict[str, Any]]:
        return sorted((m for (c, _), m in self._messages.items() if c == channel), key=lambda m: m["ts"])

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel.startswith("D"):  # the fake's DM ids are "D" + the user id, and every DM exists
            return {"channel": {"id": channel, "is_im": True, "user": channel[1:], "is_archived": False,
                                "is_open": True}}
        known = self._channels.get(channel)
        if known is None or (known.is_private and not known.member):
            raise _SlackError("channel_not_found")
        return {"channel": known.info()}

    def _users_conversations(self, args: dict[str, Any]) -> dict[str, Any]:
        """The bot's channels, paged by a cursor that is the index to start at."""
        with self._lock:
            mine = [c for c in self._channels.values() if c.member and not c.mpim
                    and not (c.archived and str(args.get("exclude_archived", "")).lower() in ("true", "1"))]
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page = mine[start:start + limit]
        cursor = str(start + limit) if start + limit < len(mine) else ""
        return {"channels": [c.info() for c in page], "response_metadata": {"next_cursor": cursor}}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            raise _SlackError("invalid_arguments")
        return {"view": self._store_view(f"V{self._next():010d}", args)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((key for key, view in self._views.items()
                            if view.get("external_id") == args["external_id"]), None)
        if view_id not in self._views:
            raise _SlackError("not_found")
        return {"view": self._store_view(str(view_id), args)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user_id") or "")
        if not user_id:
            raise _SlackError("invalid_arguments")
        view_id = self._home_views.setdefault(user_id, f"V{self._next():010d}")
        return {"view": self._store_view(view_id, args)}

    def _store_view(self, view_id: str, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise _SlackError("invalid_arguments")
        stored = {"id": view_id, "team_id": self.team_id, "state": {"values": {}}, **view,
                  "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}", "app_id": self.app_id,
                  "bot_id": self.bot_id, "root_view_id": view_id, "previous_view_id": None}
        self._views[view_id] = stored
        return stored

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._files.get(str(args.get("file") or ""))
        if found is None:
            raise _SlackError("file_not_found")
        return {"file": found, "comments": [], "response_metadata": {"next_cursor": ""}}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), str(args.get("length") or "")
        if not filename or not length.isdigit():
            raise _SlackError("invalid_arguments")
        file_id = f"F{self._next():010d}"
        self._pending_uploads[file_id] = {"filename": filename, "length": int(length), "data": None}
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise _SlackError("invalid_arguments")
        pending = [self._pending_uploads.get(str(item.get("id"))) for item in files]
        if any(upload is None or upload["data"] is None for upload in pending):
            raise _SlackError("file_not_found")
        channel_id = args.get("channel_id") or None
        shared = []
        for item, upload in zip(files, pending):
            assert upload is not None
            file_id, title = str(item["id"]), str(item.get("title") or upload["filename"])
            mimetype = mimetypes.guess_type(upload["filename"])[0] or "application/octet-stream"
            shared.append(self._register_file(file_id, upload["filename"], mimetype, upload["data"], title=title))
            self._uploads.append(Upload(file_id=file_id, filename=upload["filename"], title=title,
                                        data=upload["data"], channel_id=channel_id,
                                        initial_comment=args.get("initial_comment") or None,
                                        thread_ts=args.get("thread_ts") or None))
            del self._pending_uploads[file_id]
        return {"files": [{"id": item["id"], "title": item["title"]} for item in shared]}

    def _register_file(self, file_id: str, name: str, mimetype: str, data: bytes, *, title: str) -> dict[str, Any]:
        path = f"/files-pri/{self.team_id}-{file_id}"
        quoted = quote(name)
        info = {"id": file_id, "name": name, "title": title, "mimetype": mimetype,
                "filetype": (mimetypes.guess_extension(mimetype) or ".bin").lstrip("."), "size": len(data),
                "user": self.bot_user_id, "is_external": False, "mode": "hosted",
                "url_private": f"{self.base_url}{path}/{quoted}",
                "url_private_download": f"{self.base_url}{path}/download/{quoted}"}
        self._files[file_id] = info
        self._file_data[file_id] = data
        return info

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if not user_id or user_id[0] not in "UW":
            raise _SlackError("user_not_found")
        user = self._users.get(user_id) or _User(f"User {user_id}")
        real_name = user.real_name
        return {"user": {"id": user_id, "team_id": self.team_id, "name": real_name.lower().replace(" ", "."),
                         "real_name": real_name, "deleted": False, "is_bot": False, "is_admin": user.is_admin,
                         "is_owner": user.is_owner, "tz": user.tz,
                         "profile": {"real_name": real_name, "display_name": real_name.split(" ")[0]}}}


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the FakeSlack that owns the server."""

    protocol_version = "HTTP/1.1"  # keep-alive like Slack; every reply carries Content-Length

    def do_POST(self) -> None:
        self.server.fake._serve(self, "POST")  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self.server.fake._serve(self, "GET")  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; failures surface through the test instead."""


def _not_found(call: Call, raw: bytes, path: str) -> _Reply:
    return _Reply(status=404, body=b"not found", content_type="text/plain")


def _unparsable(call: Call, raw: bytes, path: str) -> _Reply:
    return _Reply.payload({"ok": False, "error": "invalid_json"})


def _conversation_id(channel: str) -> str:
    # Posting to a user id posts in the bot's DM with them; Slack answers with the DM's id.
    return f"D{channel}" if channel[:1] in ("U", "W") else channel


def _ratelimited(retry_after: int) -> _Reply:
    return _Reply.payload({"ok": False, "error": "ratelimited"}, status=429, **{"Retry-After": str(retry_after)})


def _gateway_error(status: int) -> _Reply:
    # Slack's edge answers 5xx with HTML, not JSON: clients must cope with a body they cannot parse.
    phrase = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
    return _Reply(status=status, body=f"<html><body><h1>{status} {phrase}</h1></body></html>".encode(),
                  content_type="text/html; charset=utf-8")


def _decode_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """Arguments from a JSON, form-encoded or multipart body, with JSON-string fields decoded."""
    if not raw:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        decoded = json.loads(raw)
        return decoded if isinstance(decoded, dict) else {"_body": decoded}
    if kind == "multipart/form-data":
        args = _decode_multipart(raw, content_type)
    else:
        args = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for key in JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in "[{":
            try:
                args[key] = json.loads(value)
            except ValueError:
                pass  # left as sent; the method decides whether that is an error
    return args


def _decode_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    args: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        args[str(name)] = data if part.get_filename() else data.decode("utf-8")
    return args
