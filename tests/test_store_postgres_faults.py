"""PostgresStore under failure, against a real server: nothing half written, nothing lost, nothing twice.

Faults are real: backends killed with pg_terminate_backend, the network cut by a TCP proxy (the server
commits, the answer never arrives; the server gone), serialization failures and deadlocks made by a
second session. Nothing of the store is patched.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from bot.crypto import Keyring
from bot.domain.errors import StoreError, user_message
from bot.domain.ports import Changes
from bot.domain.report import Status
from bot.store.postgres.store import PostgresStore
from testkit.fake_slack import FakeSlack
from testkit.postgres import PostgresCluster
from testkit.slack_harness import BOT_TOKEN, SlackBot, report_state
from testkit.tcp_proxy import TcpProxy
from testkit.waits import wait_until
from tests.store_contract import T0, alert, report, submission

KEY = bytes(range(32))


@pytest.fixture
def proxy(postgres: PostgresCluster) -> Iterator[TcpProxy]:
    with TcpProxy(upstream=("127.0.0.1", postgres.port)) as running:
        yield running


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _blocked_backends(url: str) -> list[int]:
    """The server processes of this database waiting for a lock (a commit held up by a test's session)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                            (_name(url),)).fetchall()
    return [int(pid) for (pid,) in rows]


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # the test looks at it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _case(store: PostgresStore, report_id: str) -> tuple[int, int, int]:
    return (1 if store.report(report_id) else 0), len(store.audit(report_id)), len(store.outbox_of(report_id))


def test_a_commit_whose_acknowledgement_is_lost_is_found_by_its_retry_not_taken_for_a_conflict(
    proxy: TcpProxy, database: str
) -> None:
    with PostgresStore.open(proxy.url_for(database), Keyring(keys=[KEY]), pool_size=2) as store:
        r = report()
        proxy.lose_next_commit_ack()
        store.commit(submission(r))  # committed by the server; the answer was lost; the retry finds it
        assert proxy.lost_acks == 1 and _case(store, r.id) == (1, 1, 1)
        moved = r.evolve(now=T0, status=Status.ACKNOWLEDGED, handler_id="slack:ULEAD")
        proxy.lose_next_commit_ack()
        store.commit(Changes(reports=(moved,)))  # version 2 is stored: the retry must not call it a Conflict
        assert proxy.lost_acks == 2 and store.report(r.id) == moved


def test_a_claim_whose_acknowledgement_is_lost_is_found_by_its_retry_not_left_to_lapse(
    proxy: TcpProxy, database: str
) -> None:
    with PostgresStore.open(proxy.url_for(database), Keyring(keys=[KEY]), pool_size=2) as store:
        items = tuple(alert("r", minutes=-i) for i in range(3))
        store.commit(Changes(outbox=items))
        proxy.lose_next_commit_ack()
        claimed = store.claim_due(T0, 2, "worker-1", timedelta(minutes=2), {"slack"})
        assert proxy.lost_acks == 1
        assert [i.id for i in claimed] == [items[2].id, items[1].id]  # the committed claim, oldest due first
        assert all(i.claimed_by == "worker-1" for i in claimed)
        [left] = store.claim_due(T0, 10, "worker-2", timedelta(minutes=2), {"slack"})
        assert left.id == items[0].id


def test_a_backend_killed_mid_commit_is_retried_and_the_commit_lands_once(database: str,
                                                                            postgres: PostgresCluster) -> None:
    with PostgresStore.open(database, Keyring(keys=[KEY]), pool_size=2) as store:
        r = report()
        with psycopg.connect(database) as blocker:
            blocker.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")  # the commit stops half way through
            thread, outcome = _in_thread(lambda: store.commit(submission(r)))
            wait_until(lambda: _blocked_backends(database))
            with psycopg.connect(postgres.url(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (_blocked_backends(database)[0],))
            blocker.rollback()
        thread.join(30)
        assert outcome == [None]
        assert _case(store, r.id) == (1, 1, 1)


def test_when_the_database_stays_away_the_user_is_asked_to_try_again_and_nothing_is_half_written(
    proxy: TcpProxy, database: str
) -> None:
    with PostgresStore.open(proxy.url_for(database), Keyring(keys=[KEY]), pool_size=2) as store:
        assert store.healthy
        r = report()
        with psycopg.connect(database) as blocker:
            blocker.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")
            thread, outcome = _in_thread(lambda: store.commit(submission(r)))
            wait_until(lambda: _blocked_backends(database))
            started = time.monotonic()
            proxy.refuse()  # the server is gone: every connection drops, none can be made
            thread.join(30)
            blocker.rollback()
        [error] = outcome
        assert isinstance(error, StoreError) and time.monotonic() - started < 5
        assert user_message(error) == "Sorry, I can't save anything right now. Please try again in a few minutes."
        assert not store.healthy
        proxy.accept()
        wait_until(lambda: store.healthy)
        assert _case(store, r.id) == (0, 0, 0)  # nothing of the report, its audit or its alert
        store.commit(submission(r))  # and the user's second try goes through
        assert _case(store, r.id) == (1, 1, 1)


def test_a_failover_cutting_every_connection_is_ridden_out(proxy: TcpProxy, database: str) -> None:
    with PostgresStore.open(proxy.url_for(database), Keyring(keys=[KEY]), pool_size=3) as store:
        first = report()
        store.commit(submission(first))
        proxy.cut_all()  # pooled connections are dead now; the next calls find out and reconnect
        second = report()
        store.commit(submission(second))
        assert store.report(first.id) == first and _case(store, second.id) == (1, 1, 1)


def test_a_serialization_failure_is_retried(database: str, caplog: pytest.LogCaptureFixture) -> None:
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{_name(database)}" SET default_transaction_isolation = \'serializable\'')
    with PostgresStore.open(database, Keyring(keys=[KEY]), pool_size=2) as store:
        r = report()
        store.commit(submission(r))
        moved = r.evolve(now=T0, status=Status.ACKNOWLEDGED, handler_id="slack:ULEAD")
        caplog.set_level(logging.INFO, logger="bot.store.postgres.retry")
        with psycopg.connect(database) as other:
            other.execute("UPDATE reports SET tag = tag WHERE id = %s", (r.id,))  # holds the row
            thread, outcome = _in_thread(lambda: store.commit(Changes(reports=(moved,))))
            wait_until(lambda: _blocked_backends(database))
            other.commit()  # the store's snapshot is now stale: 40001 for it
        thread.join(30)
        assert outcome == [None] and store.report(r.id) == moved
        assert "SerializationFailure 40001" in caplog.text


def test_a_deadlock_is_retried(database: str, caplog: pytest.LogCaptureFixture) -> None:
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{_name(database)}" SET deadlock_timeout = \'100ms\'')
    with PostgresStore.open(database, Keyring(keys=[KEY]), pool_size=2) as store:
        one, two = report(), report()
        store.commit(Changes(reports=(one, two)))
        caplog.set_level(logging.INFO, logger="bot.store.postgres.retry")
        both = Changes(reports=(one.evolve(now=T0, escalations=1), two.evolve(now=T0, escalations=1)))
        with psycopg.connect(database) as other:
            other.execute("UPDATE reports SET tag = tag WHERE id = %s", (two.id,))
            thread, outcome = _in_thread(lambda: store.commit(both))  # locks one, then waits for two
            wait_until(lambda: _blocked_backends(database))
            other.execute("SET deadlock_timeout = '10s'")  # so the store's session is the one PostgreSQL aborts
            other.execute("UPDATE reports SET tag = tag WHERE id = %s", (one.id,))  # waits for the store: deadlock
            other.commit()
        thread.join(30)
        assert outcome == [None]
        assert [store.report(one.id).escalations, store.report(two.id).escalations] == [1, 1]  # type: ignore[union-attr]
        assert "DeadlockDetected 40P01" in caplog.text


def test_claims_on_a_serializable_database_still_hand_each_item_to_one_worker(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{_name(database)}" SET default_transaction_isolation = \'serializable\'')
    with PostgresStore.open(database, Keyring(keys=[KEY]), pool_size=8) as store:
        items = tuple(alert("r", minutes=-i / 10) for i in range(60))
        store.commit(Changes(outbox=items))
        claimed: list[str] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            try:
                while batch := store.claim_due(T0, 5, f"w{n}", timedelta(minutes=1), {"slack"}):
                    with lock:
                        claimed.extend(i.id for i in batch)
            except StoreError as exc:  # retries spent under heavy contention: the caller polls again later
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            while batch := store.claim_due(T0, 5, "late", timedelta(minutes=1), {"slack"}):
                claimed.extend(i.id for i in batch)
        assert sorted(claimed) == sorted(i.id for i in items)  # each once, none lost


def test_over_slack_a_report_sent_while_the_database_is_away_is_asked_again_kindly_and_healthz_says_so(
    proxy: TcpProxy, database: str, tmp_path: Path
) -> None:
    store = PostgresStore.open(proxy.url_for(database), Keyring(keys=[KEY]), pool_size=4)
    with FakeSlack(token=BOT_TOKEN) as slack:
        bot = SlackBot(tmp_path=tmp_path, slack=slack, store=store)
        try:
            assert bot.command("report").status == 200
            view = bot.opened_view("report.form")
            assert bot.get("/healthz").status == 200
            proxy.refuse()
            refused = bot.submit(view, report_state())
            assert refused.status == 200 and "Please try again in a few minutes" in refused.body, refused.body
            assert "Operational" not in refused.body and "psycopg" not in refused.body
            assert bot.get("/healthz").status == 503
            proxy.accept()
            wait_until(lambda: bot.get("/healthz").status == 200)
            assert store.all_reports() == []  # nothing of the refused report
            accepted = bot.submit(view, report_state())
            assert accepted.json()["response_action"] == "update", accepted.body
            assert len(store.all_reports()) == 1
        finally:
            bot.stop()


def test_after_a_long_outage_the_store_is_back_as_soon_as_the_server_is(proxy: TcpProxy, database: str) -> None:
    with PostgresStore.open(proxy.url_for(database), Keyring(keys=[KEY]), pool_size=2) as store:
        proxy.refuse()
        away = time.monotonic()
        while time.monotonic() - away < 8:  # the pool's own retries would have backed off to 4 s and more
            assert not store.healthy
            time.sleep(0.5)
        proxy.accept()
        back = time.monotonic()
        wait_until(lambda: store.healthy)
        assert time.monotonic() - back < 5  # the pool's own backoff took 19 s here; a loaded CI runner needs slack
        r = report()
        store.commit(submission(r))
        assert _case(store, r.id) == (1, 1, 1)
