"""The load generator: client threads on keep-alive connections, each request signed fresh as Slack signs it."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

REFERENCE = re.compile(r"SS-[A-Z0-9]{5}-[A-Z0-9]{5}")
TIMEOUT = 10.0  # seconds; a request slower than this counts as a timeout

Body = Callable[[int, str], str]  # (request number, client's user id) -> form-encoded body


def sign(secret: str, timestamp: int, body: str) -> str:
    """Slack's request signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def command_body(command: str, response_url: str) -> Body:
    """Slash command bodies, as Slack posts them, each with its own trigger id."""
    def body(n: int, user: str) -> str:
        return urlencode({
            "token": "legacy", "team_id": "T0TEAM", "team_domain": "example", "channel_id": "C0GENERAL",
            "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": command,
            "text": "", "api_app_id": "A0APP", "response_url": response_url, "trigger_id": f"trigger-{n}",
        })
    return body


def view_body(view: dict[str, Any], values: dict[str, Any]) -> Body:
    """view_submission bodies: the modal the bot opened, filled in, as in testkit/slack_harness.submit."""
    submitted = dict(view) | {"id": "V0SUBMIT", "state": {"values": values}}

    def body(n: int, user: str) -> str:
        return urlencode({"payload": json.dumps({
            "type": "view_submission", "team": {"id": "T0TEAM"}, "api_app_id": "A0APP",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
            "view": submitted, "trigger_id": f"trigger-{n}",
        })})
    return body


@dataclass
class Run:
    """What one run of `total` requests at one concurrency saw."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    failures: int = 0  # connection errors: reset, refused, closed without an answer
    updates: int = 0  # 200 answers with response_action "update"
    references: list[str] = field(default_factory=list)  # report references quoted in those answers
    wall_s: float = 0.0
    client_cpu_s: float = 0.0  # this process's CPU (load generator and fake Slack) during the run

    @property
    def errors(self) -> int:
        """Answers other than 200, plus connection failures (timeouts are counted apart)."""
        return sum(n for status, n in self.statuses.items() if status != 200) + self.failures


def run_load(url: str, secret: str, body: Body, *, total: int, clients: int, first: int = 0,
             user_prefix: str = "U0BENCH") -> Run:
    """Send `total` signed POSTs from `clients` threads, each on its own keep-alive connection."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    numbers = itertools.count(first)
    taken = itertools.count()
    run, lock = Run(), threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        user = f"{user_prefix}{index:03d}"
        connection = http.client.HTTPConnection(host, parts.port, timeout=TIMEOUT)
        connection.connect()
        ready.wait()
        while next(taken) < total:
            outcome = _one(connection, parts.path, secret, body(next(numbers), user))
            if outcome.closed:
                connection.close()
                connection = http.client.HTTPConnection(host, parts.port, timeout=TIMEOUT)
            with lock:
                outcome.record(run)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    run.wall_s, run.client_cpu_s = time.perf_counter() - began, time.process_time() - cpu
    return run


@dataclass
class _Outcome:
    latency_ms: float
    status: int | None = None
    timeout: bool = False
    closed: bool = False
    answer: bytes = b""

    def record(self, run: Run) -> None:
        if self.timeout:
            run.timeouts += 1
            return
        if self.status is None:
            run.failures += 1
            return
        run.statuses[self.status] += 1
        run.latencies_ms.append(self.latency_ms)
        if self.status == 200 and self.answer.startswith(b"{"):
            reply = json.loads(self.answer)
            if reply.get("response_action") == "update":
                run.updates += 1
                run.references += REFERENCE.findall(json.dumps(reply.get("view")))[:1]


def _one(connection: http.client.HTTPConnection, path: str, secret: str, body: str) -> _Outcome:
    timestamp = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": sign(secret, timestamp, body)}
    began = time.perf_counter()
    try:
        connection.request("POST", path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        answer = response.read()
    except TimeoutError:
        return _Outcome((time.perf_counter() - began) * 1000, timeout=True, closed=True)
    except (http.client.HTTPException, OSError):
        return _Outcome((time.perf_counter() - began) * 1000, closed=True)
    latency = (time.perf_counter() - began) * 1000
    return _Outcome(latency, status=response.status, closed=response.will_close, answer=answer)
