"""The composition root: settings -> config, content, store and services. Nothing else wires things up."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

from bot.config import AppConfig, load_config
from bot.content import load_content
from bot.crypto import load_keyring
from bot.domain.guidance import GuidanceEngine
from bot.domain.ports import Clock, Store, SystemClock
from bot.settings import Settings
from bot.store.tinydb_store import TinyDBStore
from handlers.services import Services


def open_store(settings: Settings) -> TinyDBStore:
    """The embedded default store in the data folder, with the configured keys."""
    keyring = load_keyring(data_dir=settings.data_dir, secret_file=settings.secret_file, env_value=settings.secret_key)
    return TinyDBStore.open(settings.data_dir, keyring)


@contextmanager
def running(settings: Settings, *, clock: Clock | None = None, store: Store | None = None) -> Iterator[tuple[Services, AppConfig]]:
    """Build everything from settings; close the store on the way out."""
    config = load_config(settings.config_path)
    content = load_content()
    store = store or open_store(settings)
    try:
        yield (
            Services(
                store=store,
                content=content,
                clock=clock or SystemClock(),
                org=config.organisation,
                guidance=GuidanceEngine(content=content),
            ),
            config,
        )
    finally:
        store.close()
