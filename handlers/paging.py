"""Reading a targeted Store query page by page, for work whose results may stay due after a pass handles them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def every_page(read: Callable[[T | None], list[T]], page: int) -> Iterator[T]:
    """Every record `read(after)` returns, a page at a time; each page starts after the last record of the one before."""
    after: T | None = None
    while True:
        found = read(after)
        yield from found
        if len(found) < page:
            return
        after = found[-1]
