"""Many concurrent submissions through the handler on the real store: none lost, none duplicated."""

from concurrent.futures import ThreadPoolExecutor

from bot.crypto import Keyring, new_key
from bot.domain.guidance import GuidanceEngine
from bot.domain.limits import Limits
from bot.domain.org import Actor
from bot.domain.report import Delivery
from bot.store.tinydb_store import TinyDBStore
from handlers.reports import submit_report
from handlers.services import Services
from testkit.builders import report_answers


def test_500_reports_from_10_threads_are_all_stored_with_their_routing(tmp_path, content, clock, org):
    keyring = Keyring(keys=[new_key()])
    store = TinyDBStore.open(tmp_path / "data", keyring)
    services = Services(store=store, content=content, clock=clock, org=org, guidance=GuidanceEngine(content=content),
                        limits=Limits(reports_per_day=500))  # 50 each from 10 people, all at one moment

    def submit(n: int) -> bool:
        return submit_report(services, Actor(id=f"console:user{n % 10}"), report_answers(what_happened=f"case {n}")).ok

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert all(pool.map(submit, range(500)))
    store.close()

    reopened = TinyDBStore.open(tmp_path / "data", keyring)
    reports = reopened.all_reports()
    assert sorted(r.what_happened for r in reports) == sorted(f"case {n}" for n in range(500))
    assert len({r.reference for r in reports}) == 500
    due = reopened.due_outbox(clock.now(), limit=2000)
    assert sorted(item.kind for item in due).count(Delivery.LEAD_ALERT) == 500 and len(due) == 1000
    assert len(reopened.reports_by_reporter("console:user3")) == 50
    reopened.close()
