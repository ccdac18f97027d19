"""Running the Slack adapter: over HTTP with waitress, or over Socket Mode (no public URL)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient
from waitress.server import create_server

from bot.slack.http import MAX_BODY, SlackHttpApp
from bot.slack.logs import library_logger
from bot.slack.socket_mode import ScreenedSocketModeHandler

log = logging.getLogger(__name__)

THREADS = 8  # request threads: acks are short (a commit at most), so a few threads serve many clients


class HttpServer:
    """A waitress server that another thread (or a signal, through one) can stop without racing its loop."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._left: list[Any] = []  # the connections the loop let go of, closed once it has returned
        self.effective_port: int = server.effective_port

    def run(self) -> None:
        """Serve until stop(); the sockets are closed here, on the loop's own thread, once it has left."""
        self._server.run()
        if self._stopping.is_set():
            self._woken.wait()  # stop() has written its wake-up byte: the trigger may be closed now
        for channel in self._left:
            channel.close()
        self._server.close()

    def stop(self) -> None:
        """End run(), after the requests in hand are answered; from any thread but the loop's (again: no-op)."""
        if self._stopping.is_set():
            return  # the trigger may be closed already: writing to it could reach a reused descriptor
        # Closing sockets from here would race the loop's select() and the trigger's own wake-up
        # write (EBADF, or a reused descriptor written to). So the request threads finish first (they
        # wake the loop through its trigger), then the loop, woken, lets go of every socket and, with
        # none left in its map, returns; run() closes them.
        self._stopping.set()
        self._server.task_dispatcher.shutdown()
        server = self._server

        def leave() -> None:
            self._left = list(server.active_channels.values())
            for dispatcher in (*self._left, server, server.trigger):
                dispatcher.del_channel()
        server.trigger.pull_trigger(leave)  # the loop may run `leave` before this returns
        self._woken.set()


def http_server(wsgi_app: Any, *, host: str, port: int) -> HttpServer:
    """A waitress server bound to host:port (port 0 picks a free one: see `.effective_port`)."""
    # Waitress warns each time requests queue for a free thread: normal under bursts, and it would
    # drown the log (measured: one line per request at 50 concurrent clients).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return HttpServer(create_server(wsgi_app, host=host, port=port, threads=THREADS, ident="StaffSafe",
                                    max_request_body_size=MAX_BODY, clear_untrusted_proxy_headers=True))


def serve_http(wsgi_app: Any, *, host: str, port: int, paths: Sequence[str] = ("/slack/events",)) -> None:
    """Serve until SIGINT or SIGTERM; `paths`: what it answers on, for the start-up line."""
    server = http_server(wsgi_app, host=host, port=port)
    stopping = threading.Event()

    def stop() -> None:
        # A signal handler runs on the loop's own thread, between any two of its steps: it only starts the stop.
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.stop, name="http-stop").start()
    _on_stop(stop)
    log.warning("StaffSafe is listening on %s", " and ".join(f"http://{host}:{server.effective_port}{path}"
                                                            for path in paths))
    server.run()


def serve_socket(bolt_app: Any, *, door: SlackHttpApp, app_token: str, api_url: str) -> None:
    """Connect to Slack over Socket Mode and serve until SIGINT or SIGTERM; `door` screens each envelope."""
    # The app token opens the connection, through the same Web API host as everything else.
    web_client = WebClient(token=app_token, base_url=api_url, logger=library_logger("slack_sdk"))
    handler = ScreenedSocketModeHandler(bolt_app, door=door, app_token=app_token, web_client=web_client,
                                        logger=library_logger("slack_socket_mode"))
    stopped = threading.Event()
    _on_stop(stopped.set)
    handler.connect()
    log.warning("StaffSafe is connected to Slack over Socket Mode")
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    handler.close()


def _on_stop(stop: Any) -> None:
    def handle(signum: int, frame: Any) -> None:
        stop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
