"""What an ack prepared, handed to the lazy listener that follows it without Bolt deep-copying it.

Bolt gives a lazy listener a deep copy of the request's context. A prepared modal is a large nested
dict (the report form is about 15 kB), and deep-copying it cost about 0.8 ms of CPU per command:
half of a slash command's cost. So the context carries a short token, and the value waits here.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

MAX_WAITING = 10_000  # a lazy listener that never ran must not make this grow for ever


class Handoff:
    """Values parked under one-time tokens."""

    def __init__(self, *, max_waiting: int = MAX_WAITING) -> None:
        self._waiting: OrderedDict[str, Any] = OrderedDict()
        self._max = max_waiting
        self._lock = threading.Lock()

    def put(self, value: Any) -> str:
        """Park a value; returns the token to put in the context."""
        token = secrets.token_hex(8)
        with self._lock:
            self._waiting[token] = value
            while len(self._waiting) > self._max:
                self._waiting.popitem(last=False)
        return token

    def take(self, token: object) -> Any:
        """The value parked under the token, once; None for an unknown or used token."""
        with self._lock:
            return self._waiting.pop(token, None) if isinstance(token, str) else None
