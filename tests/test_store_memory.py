"""The Store contract against MemoryStore."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.domain.ports import Store
from bot.store.memory import MemoryStore
from tests.store_contract import StoreContract


class MemoryFactory:
    """Memory stores; reopening one is the same store (there is nothing to reload)."""

    def __init__(self) -> None:
        self.opened: list[MemoryStore] = []

    def open(self) -> Store:
        store = MemoryStore()
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        return store


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def factory(self) -> Iterator[MemoryFactory]:
        factory = MemoryFactory()
        yield factory
        for store in factory.opened:
            store.close()
