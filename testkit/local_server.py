"""A fake's HTTP(S) server on a free port of 127.0.0.1, served from a daemon thread: start, stop, `with`."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class LocalServer:
    """Base of the Teams fakes: subclasses give their request handler class (it reaches the fake as `fake`)."""

    handler: type[BaseHTTPRequestHandler]
    scheme = "http"

    _server: ThreadingHTTPServer | None = None

    def tls_context(self) -> ssl.SSLContext | None:
        """A server TLS context to serve https with (None: plain http)."""
        return None

    def start(self) -> Self:
        """Serve on a free port of 127.0.0.1 until `stop`."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (self.handler,), {"fake": self}))
        server.daemon_threads = True
        context = self.tls_context()
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving (connections already open are closed as their requests end)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """scheme://127.0.0.1:PORT"""
        assert self._server is not None, "start the fake first"
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"
