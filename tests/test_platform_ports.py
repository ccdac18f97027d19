"""The core's platform ports: qualified ids, directories and capabilities per platform, opaque file
references, and stored conversation references."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crypto import Keyring
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Actor, Organisation
from bot.domain.platform import Capabilities, QualifiedId, conversation_id_of, local_id, platform_of
from bot.domain.ports import Notifiers
from bot.domain.report import Delivery
from bot.domain.ui import Form
from bot.store.memory import MemoryStore
from bot.store.tinydb_store import TinyDBStore
from handlers import home, leads, reports, takedown
from handlers.conversations import remember_conversation
from handlers.delivery import deliver_due
from handlers.reminders import is_admin
from handlers.services import Services
from testkit.builders import report_answers
from testkit.fakes import RecordingNotifier, a_fetched_file

SLACK_LEAD, FAKE_LEAD = "slack:ULEE", "fakechat:lou"
TIGHT = Capabilities(max_text=100, max_title=12, home_cases=2)  # the second, fake, platform's limits
ATTACHMENT = "https://files.fakechat.example/v3/attachments/0:a1-B2/views/original?name=shot-1.png"


@pytest.fixture
def services(content, clock):
    store = MemoryStore()
    org = Organisation(name="Trust", leads=frozenset({SLACK_LEAD, FAKE_LEAD}), lead_platforms=frozenset({"slack"}))
    yield Services(store=store, content=content, clock=clock, org=org, guidance=GuidanceEngine(content=content),
                   capabilities={"fakechat": TIGHT})
    store.close()


@pytest.mark.parametrize(("qualified", "platform", "local"), [
    ("slack:U0123", "slack", "U0123"),
    ("teams:29:1a-B_c", "teams", "29:1a-B_c"),  # only the first ":" separates the platform
    ("console:sam", "console", "sam"),
    ("U0123", "", "U0123"),
])
def test_a_qualified_id_splits_at_its_first_colon_and_reads_back(qualified, platform, local):
    parsed = QualifiedId.parse(qualified)
    assert (parsed.platform, parsed.local) == (platform, local) == (platform_of(qualified), local_id(qualified))
    assert str(parsed) == qualified


def test_each_person_is_looked_up_in_their_own_platforms_directory(services):
    class AdminsAre:
        def __init__(self, *ids: str) -> None:
            self.ids = ids

        def is_admin(self, user_id: str) -> bool:
            return user_id in self.ids

        def channel_problem(self, channel_id: str) -> str:
            return ""

        def time_zone(self, user_id: str) -> str:
            return ""

        def channel_label(self, channel_id: str) -> str:
            return channel_id

    # Each directory would say yes to anyone asked of it: only the asker's platform's is asked.
    routed = Services(**{**vars(services), "directories": {"slack": AdminsAre("slack:UADA", "fakechat:ada"),
                                                           "fakechat": AdminsAre()}})
    assert is_admin(routed, Actor(id="slack:UADA"))
    assert not is_admin(routed, Actor(id="fakechat:ada"))
    assert not is_admin(routed, Actor(id="console:ada"))  # no directory: NoDirectory


def test_text_limits_are_the_writers_platforms(services):
    long = "x" * 150
    assert reports.open_report_form(services, Actor(id="fakechat:kim")).field("what_happened").max_length == 100
    assert reports.open_report_form(services, Actor(id="slack:UKIM")).field("what_happened").max_length == 3000
    assert not reports.submit_report(services, Actor(id="fakechat:kim"), report_answers(what_happened=long)).ok
    assert reports.submit_report(services, Actor(id="slack:UKIM"), report_answers(what_happened=long)).ok
    report = services.store.reports_by_reporter("slack:UKIM")[0]
    # A lead's message must fit the reporter's platform and the lead's:
    assert not leads.message_reporter(services, Actor(id=FAKE_LEAD), report.reference, long).ok
    assert leads.message_reporter(services, Actor(id=SLACK_LEAD), report.reference, long).ok
    kim = Actor(id="fakechat:kim")
    assert reports.submit_report(services, kim, report_answers()).ok
    own = services.store.reports_by_reporter(kim.id)[0]
    assert "under 100 characters" in reports.reply_to_leads(services, kim, own.reference, long).errors["text"]


def test_form_titles_and_the_home_queue_fit_the_platform(services):
    form = takedown.takedown(services, "facebook", chat_platform="fakechat")
    assert isinstance(form, Form) and len(form.title) <= 12
    slack_form = takedown.takedown(services, "facebook", chat_platform="slack")
    assert isinstance(slack_form, Form) and len(slack_form.title) <= 24
    for n in range(4):
        assert reports.submit_report(services, Actor(id=f"slack:U{n}"), report_answers()).ok
    fake_queue = home.lead_queue_cards(services, Actor(id=FAKE_LEAD))
    slack_queue = home.lead_queue_cards(services, Actor(id=SLACK_LEAD))
    assert fake_queue[-1].title == "More" and len(fake_queue) == 1 + 2 + 1
    assert len(slack_queue) == 1 + 4


def test_an_attachment_reference_is_opaque_to_the_core(services):
    kim = Actor(id="fakechat:kim")
    assert reports.submit_report(services, kim, report_answers(screenshots=[ATTACHMENT])).ok
    report = services.store.reports_by_reporter(kim.id)[0]
    [item] = [o for o in services.store.outbox_of(report.id) if o.kind is Delivery.EVIDENCE]
    assert (item.platform, item.file_ref) == ("fakechat", ATTACHMENT)
    fakechat = RecordingNotifier("fakechat")
    fakechat.files[ATTACHMENT] = a_fetched_file("shot-1.png", "image/png", b"png")
    deliver_due(services, Notifiers([fakechat, RecordingNotifier("slack")]))
    [evidence] = services.store.evidence(report.id)
    assert evidence.source_id == ATTACHMENT and b"".join(services.store.open_evidence(report.id, evidence.id)) == b"png"


@pytest.mark.parametrize("hostile", ["", "has space", "line\nbreak", "x" * 2049, 42])
def test_file_references_of_a_strange_shape_are_refused_with_a_message(services, hostile):
    result = reports.submit_report(services, Actor(id="fakechat:kim"), report_answers(screenshots=[hostile]))
    assert not result.ok and "could not be read" in result.errors["screenshots"]


def test_a_conversation_reference_is_kept_once_and_refreshed_when_it_changes(services, clock):
    target = "fakechat:29:1a-B"
    first = remember_conversation(services, target=target, service_url="https://smba.example/emea/",
                                  conversation="a:1", tenant="t-1")
    clock.advance(minutes=5)
    again = remember_conversation(services, target=target, service_url="https://smba.example/emea/",
                                  conversation="a:1", tenant="t-1")
    assert again == first == services.store.conversation(target)  # unchanged: not written again
    moved = remember_conversation(services, target=target, service_url="https://smba.example/uk/",
                                  conversation="a:1", tenant="t-1")
    assert services.store.conversation(target) == moved and moved.updated_at == clock.now()


def test_conversation_references_hold_no_user_id_or_address_in_plaintext_on_disk(content, clock, tmp_path: Path):
    store = TinyDBStore.open(tmp_path, Keyring(keys=[bytes(range(32))]))
    services = Services(store=store, content=content, clock=clock, org=Organisation(name="T", leads=frozenset()),
                        guidance=GuidanceEngine(content=content))
    remember_conversation(services, target="fakechat:29:secret-user", service_url="https://smba.example/secret-host/",
                          conversation="a:secret-conv", tenant="secret-tenant")
    store.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for needle in (b"secret-user", b"secret-host", b"secret-conv", b"secret-tenant"):
        assert needle not in on_disk
    assert conversation_id_of("fakechat:29:secret-user").encode() in on_disk  # found by its hashed id
