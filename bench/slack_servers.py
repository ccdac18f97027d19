"""Servers under test as subprocesses pinned to one core, with their CPU time and peak memory from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_CORE = "0"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One running server process: its name, port and log file."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """The events endpoint."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole process (every thread) so far."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 onwards
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)

    def outbox_cpu_seconds(self) -> float:
        """CPU time of StaffSafe's outbox thread: its first thread after the main one (started before waitress's)."""
        tids = sorted(int(task.name) for task in Path(f"/proc/{self.process.pid}/task").iterdir())
        workers = [tid for tid in tids if tid != self.process.pid]
        if not workers:
            return 0.0
        fields = Path(f"/proc/{self.process.pid}/task/{workers[0]}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has used so far."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def wait_healthy(self, timeout: float = 60) -> None:
        """Block until GET /healthz answers 200; raise if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not healthy within {timeout:.0f} s; see {self.log}")

    def tail(self, lines: int = 20) -> str:
        """The end of the server's log, to show why it failed."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait for a clean exit; returns the exit code (SIGKILL after `timeout`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start(name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    """Start `argv` under `taskset -c 0`, with stdout and stderr to `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(["taskset", "-c", SERVER_CORE, *argv], env=env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    return Server(name=name, port=port, process=process, log=log)
