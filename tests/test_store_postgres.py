"""PostgresStore against a real server: the Store contract, migrations, sealing, keys and claims."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bot.crypto import Keyring
from bot.domain.ports import Store
from bot.store.postgres.store import PostgresStore
from testkit.postgres import PostgresCluster
from tests.store_contract import StoreContract

KEY = bytes(range(32))


class PostgresFactory:
    """Stores on one fresh database; reopening closes the store and connects again."""

    def __init__(self, *, url: str, keyring: Keyring) -> None:
        self.url = url
        self.keyring = keyring
        self.opened: list[PostgresStore] = []

    def open(self) -> Store:
        store = PostgresStore.open(self.url, self.keyring, pool_size=12)
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        store.close()
        return self.open()


@pytest.fixture
def database(postgres: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database's URL, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.new_database(name)
    yield url
    postgres.drop_database(name)


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def factory(self, database: str) -> Iterator[PostgresFactory]:
        factory = PostgresFactory(url=database, keyring=Keyring(keys=[KEY]))
        yield factory
        for store in factory.opened:
            store.close()
