"""A TCP proxy on 127.0.0.1 between the store and its PostgreSQL server, to break the network on purpose.

    with TcpProxy(upstream=("127.0.0.1", cluster.port)) as proxy:
        url = proxy.url_for(database_url)       # the same database, through the proxy
        proxy.lose_next_commit_ack()            # the server commits; the client never hears so
        proxy.refuse()                          # connections are dropped at once (server down)
        proxy.cut_all()                         # every open connection drops (a failover)
        proxy.accept()                          # back to normal

It understands one thing of the protocol: a simple-query "COMMIT" from the client (what psycopg sends
to end a transaction). Everything else is forwarded byte for byte.
"""

from __future__ import annotations

import select
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

_COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"  # the simple Query message "COMMIT"
_READY = b"Z\x00\x00\x00\x05"  # ReadyForQuery: the server finished answering


class TcpProxy:
    """Forwards connections to `upstream`, and drops them when told to."""

    def __init__(self, *, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._refusing = False
        self._lose_acks = 0
        self.lost_acks = 0  # commits the server made whose answer was dropped
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def url_for(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def lose_next_commit_ack(self, count: int = 1) -> None:
        """For the next `count` COMMITs: let the server commit, then drop the connection before the answer."""
        with self._lock:
            self._lose_acks += count

    def refuse(self) -> None:
        """Drop every open connection and every new one at once (the server is down)."""
        with self._lock:
            self._refusing = True
        self.cut_all()

    def accept(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._refusing = False

    def cut_all(self) -> None:
        """Drop every open connection (a failover, a crashed server)."""
        with self._lock:
            sockets, self._open = set(self._open), set()
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        """Stop accepting and drop everything."""
        self._stopped.set()
        _close(self._listener)
        self.cut_all()
        self._thread.join(5)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                _close(client)
                continue
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open |= {client, server}
            threading.Thread(target=self._pump, args=(client, server), name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        losing = False  # a COMMIT was forwarded whose answer must be dropped
        try:
            while True:
                ready, _, _ = select.select([client, server], [], [], 0.5)
                if self._stopped.is_set():
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if _COMMIT in data and self._take_lost_ack():
                            losing = True
                        server.sendall(data)
                    elif losing:
                        if _READY in data:  # the server has committed and answered: drop the answer
                            with self._lock:
                                self.lost_acks += 1
                            return
                    else:
                        client.sendall(data)
        except (OSError, ValueError):  # ValueError: select() on a socket another thread closed (fd -1)
            return
        finally:
            with self._lock:
                self._open -= {client, server}
            _close(client)
            _close(server)

    def _take_lost_ack(self) -> bool:
        with self._lock:
            if self._lose_acks <= 0:
                return False
            self._lose_acks -= 1
            return True


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
