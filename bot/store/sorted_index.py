"""Record ids kept sorted by a key, so a range read costs what it returns, not what is stored."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

Key = tuple[Any, ...]  # ends with the record id, so keys are unique and ties are broken by id
LAST = "\U0010ffff"  # sorts after every id: (t, LAST) bounds every key whose time is t


class SortedIndex:
    """Keys in order (a plain sorted list: inserts and removals move memory, reads bisect)."""

    def __init__(self) -> None:
        self._keys: list[Key] = []
        self._key_of: dict[str, Key] = {}  # record id -> its key here

    def __len__(self) -> int:
        return len(self._keys)

    def put(self, record_id: str, key: Key) -> None:
        """Place the record at `key` (moving it if it was elsewhere)."""
        old = self._key_of.get(record_id)
        if old == key:
            return
        if old is not None:
            self.discard(record_id)
        bisect.insort(self._keys, key)
        self._key_of[record_id] = key

    def discard(self, record_id: str) -> None:
        """Take the record out, if it is here."""
        key = self._key_of.pop(record_id, None)
        if key is not None:
            del self._keys[bisect.bisect_left(self._keys, key)]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def below(self, bound: Key) -> Iterator[Key]:
        """Keys strictly below `bound`, in order."""
        stop = bisect.bisect_left(self._keys, bound)
        return (self._keys[i] for i in range(stop))

    def upto(self, bound: Key, after: Key | None = None) -> Iterator[Key]:
        """Keys at or below `bound` (and above `after`, if given), in order."""
        start = 0 if after is None else bisect.bisect_right(self._keys, after)
        stop = bisect.bisect_right(self._keys, bound)
        # Reads run under the store's lock, so the list cannot change while this is consumed.
        return (self._keys[i] for i in range(start, stop))
