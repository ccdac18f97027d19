"""Several `staffsafe serve` processes on one database, talking to one fake Slack: several instances as operators run them.

    with Instances(tmp_path=tmp_path, slack=slack, database_url=url, secret_key=key, count=3) as instances:
        first = instances[0]
        first.client.command("report")     # signed requests, as Slack sends them
        instances[1].kill()                # SIGKILL: its claims lapse after the lease, the others take over

Each instance has its own port and data folder (its console log; the store is the database), and
every one the same app.yaml, key and outbox lease (`lease_seconds`, short in tests). Output goes to
a log file per instance, read with `log()`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from testkit.slack_harness import APP_YAML, BOT_TOKEN, SIGNING_SECRET, SignedClient
from testkit.waits import WAIT_SECONDS

ROOT = Path(__file__).resolve().parents[1]
# Settings of the outer environment a test must not inherit (a developer's own STAFFSAFE_* or Slack tokens).
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "SLACK_TEAM_ID",
              "PORT", "HOST")
STOP_SECONDS = 60.0


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768+), so no outgoing connection takes it before serve binds it."""
    while True:
        port = random.randrange(20_000, 32_768)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def wait_for_health(port: int, process: subprocess.Popen[bytes] | None = None,
                    timeout: float = WAIT_SECONDS) -> dict[str, Any]:
    """GET /healthz until it answers; its JSON. Fails at once if `process` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Instance:
    """One `staffsafe serve` process."""

    def __init__(self, *, name: str, port: int, process: subprocess.Popen[bytes], log: Path, slack: Any) -> None:
        self.name = name
        self.port = port
        self.process = process
        self.log_path = log
        self.client = SignedClient(url=f"http://127.0.0.1:{port}", slack=slack)
        self._terminated = False

    @property
    def pid(self) -> int:
        """The process id, which its outbox claims carry ("host/pid/random")."""
        return self.process.pid

    def owns(self, claimed_by: str) -> bool:
        """Whether an outbox claim was made by this process."""
        return f"/{self.pid}/" in claimed_by

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill: no clean-up at all."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_SECONDS)

    def terminate(self) -> None:
        """SIGTERM, once: a second one can land after the server has put its handler down, and kill it."""
        if self.alive and not self._terminated:
            self._terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """SIGTERM (once) and wait; the exit code."""
        self.terminate()
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(STOP_SECONDS)

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace")


class Instances:
    """`count` serve processes on one database; started together (so their first scheduler passes race)."""

    def __init__(self, *, tmp_path: Path, slack: Any, database_url: str, secret_key: str, count: int = 3,
                 lease_seconds: float = 4.0, app_yaml: str = APP_YAML, extra_env: dict[str, str] | None = None) -> None:
        config = tmp_path / "app.yaml"
        config.write_text(app_yaml)
        self._tmp = tmp_path
        self._slack = slack
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_") and k not in SLACK_VARS} | {
            "STAFFSAFE_CONFIG": str(config), "STAFFSAFE_DATABASE_URL": database_url,
            "STAFFSAFE_SECRET_KEY": secret_key, "STAFFSAFE_OUTBOX_LEASE_SECONDS": str(lease_seconds),
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
        } | (extra_env or {})
        self._count = count
        self.all: list[Instance] = []

    def start(self) -> Instances:
        """Start every instance at once, then wait until each answers its health check."""
        for n in range(self._count):
            name, port = f"instance-{n}", free_port()
            log = self._tmp / f"{name}.log"
            env = self._env | {"PORT": str(port), "STAFFSAFE_DATA_DIR": str(self._tmp / name)}
            with log.open("wb") as out:
                process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT,
                                           stdout=out, stderr=subprocess.STDOUT)
            self.all.append(Instance(name=name, port=port, process=process, log=log, slack=self._slack))
        for instance in self.all:
            try:
                wait_for_health(instance.port, instance.process)
            except (AssertionError, OSError):
                self.stop()
                raise AssertionError(f"{instance.name} did not start:\n{instance.log()[-3000:]}") from None
        return self

    def __getitem__(self, n: int) -> Instance:
        return self.all[n]

    @property
    def alive(self) -> list[Instance]:
        """The instances still running."""
        return [i for i in self.all if i.alive]

    def stop(self) -> dict[str, int]:
        """SIGTERM every instance still running (all at once), wait; exit codes by name."""
        for instance in self.alive:
            instance.terminate()
        return {instance.name: instance.stop() for instance in self.all}

    def __enter__(self) -> Instances:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
