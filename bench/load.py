"""The load generator the platform benchmarks share: client threads on keep-alive connections, each request
built fresh (signed as Slack signs it, or carrying a Bot Framework token), latencies and answers counted."""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT = 10.0  # seconds; a request slower than this counts as a timeout

Request = Callable[[int, str], tuple[bytes, dict[str, str]]]  # (request number, client's user) -> body, headers
# A 200 answer's body -> None if it confirms no report, else the report references it quotes.
Confirmation = Callable[[bytes], "list[str] | None"]


@dataclass
class Run:
    """What one run of `total` requests at one concurrency saw."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    failures: int = 0  # connection errors: reset, refused, closed without an answer
    updates: int = 0  # 200 answers that confirmed a report (Slack: response_action "update")
    references: list[str] = field(default_factory=list)  # report references quoted in those answers
    wall_s: float = 0.0
    client_cpu_s: float = 0.0  # this process's CPU (load generator and fakes) during the run

    @property
    def errors(self) -> int:
        """Answers other than 200, plus connection failures (timeouts are counted apart)."""
        return sum(n for status, n in self.statuses.items() if status != 200) + self.failures


def run_load(url: str | Sequence[str], request: Request, confirmation: Confirmation, *, total: int, clients: int,
             first: int = 0, user_prefix: str = "U0BENCH") -> Run:
    """Send `total` POSTs from `clients` threads, each on its own keep-alive connection.

    Given several URLs (instances behind a load balancer), client n sends to URL n modulo their number.
    """
    urls = [url] if isinstance(url, str) else list(url)
    numbers = itertools.count(first)
    taken = itertools.count()
    run, lock = Run(), threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        user = f"{user_prefix}{index:03d}"
        parts = urlsplit(urls[index % len(urls)])
        host = parts.hostname or "127.0.0.1"
        connection = http.client.HTTPConnection(host, parts.port, timeout=TIMEOUT)
        connection.connect()
        ready.wait()
        while next(taken) < total:
            outcome = _one(connection, parts.path, *request(next(numbers), user))
            if outcome.closed:
                connection.close()
                connection = http.client.HTTPConnection(host, parts.port, timeout=TIMEOUT)
            with lock:
                outcome.record(run, confirmation)
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

    def record(self, run: Run, confirmation: Confirmation) -> None:
        if self.timeout:
            run.timeouts += 1
            return
        if self.status is None:
            run.failures += 1
            return
        run.statuses[self.status] += 1
        run.latencies_ms.append(self.latency_ms)
        references = confirmation(self.answer) if self.status == 200 else None
        if references is not None:
            run.updates += 1
            run.references += references[:1]


def _one(connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> _Outcome:
    began = time.perf_counter()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    except TimeoutError:
        return _Outcome((time.perf_counter() - began) * 1000, timeout=True, closed=True)
    except (http.client.HTTPException, OSError):
        return _Outcome((time.perf_counter() - began) * 1000, closed=True)
    latency = (time.perf_counter() - began) * 1000
    return _Outcome(latency, status=response.status, closed=response.will_close, answer=answer)
