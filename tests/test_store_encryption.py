"""TinyDBStore at rest: no plaintext on disk, values bound to their place, keys checked and rotated."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from bot.crypto import Keyring, key_id, load_keyring, rotate_key_file
from bot.domain.errors import Conflict, EvidenceUnreadable, KeyMismatch, StoreCorrupt
from bot.domain.reminder import PressKind
from bot.domain.ports import Changes
from bot.domain.report import AuditEvent, Status
from bot.store.blobs import blob_name
from bot.store.snapshot import TAG, TAG_PURPOSE
from bot.store.tinydb_store import SNAPSHOT_NAME, TinyDBStore
from tests.store_contract import T0, alert, evidence, note, press, reminder, reminder_run, report, submission

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))

SECRETS = {
    "reporter_id": "slack:UREPORTER7731",
    "reporter_name": "Marigold Fenwick-Quarry",
    "what_happened": "ZEPHYR-TEXT he posted my home address",
    "urls": ("https://example.com/ZEPHYR-URL-991",),
    "subject_id": "slack:USUBJECT4410",
    "subject_name": "Thaddeus Bramblewood",
    "handler_id": "slack:UHANDLER5521",
}
NOTE_AUTHOR, NOTE_TEXT, AUDIT_ACTOR = "slack:UNOTEAUTHOR88", "QUOKKA-NOTE we spoke today", "slack:UAUDITOR6262"
# Inside an uploaded screenshot: must not show on disk as bytes, nor as base64 at any alignment.
FILE_MARKER = b"\x89PNG-PANGOLIN-PIXELS: his message said I know where you live \x00\xff"
FILE_NAME, FILE_SOURCE = "PANGOLIN threat from Mr Bramblewood.png", "F0SOURCE9090"


def all_bytes(data_dir: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in data_dir.rglob("*") if p.is_file()]


def base64_forms(needle: bytes) -> list[bytes]:
    """The base64 text `needle` shows inside a longer encoded value, whatever its offset there."""
    # Dropping the outer 4 characters leaves only those that depend on `needle` alone.
    return [base64.b64encode(bytes(offset) + needle)[4:-4] for offset in range(3)]


def assert_no_plaintext(data_dir: Path) -> None:
    needles = [
        *(v for v in SECRETS.values() if isinstance(v, str)),
        *SECRETS["urls"],
        NOTE_AUTHOR,
        NOTE_TEXT,
        AUDIT_ACTOR,
        FILE_NAME,
        FILE_SOURCE,
        "UREPORTER7731", "Marigold", "ZEPHYR", "Thaddeus", "QUOKKA", "UAUDITOR6262", "PANGOLIN",
    ]
    file_needles = [FILE_MARKER, FILE_MARKER[4:30], *base64_forms(FILE_MARKER)]
    for name, data in all_bytes(data_dir):
        for needle in needles:
            for encoded in (needle.encode("utf-8"), json.dumps(needle).encode()):
                assert encoded not in data, f"{needle!r} in plaintext in {name}"
        for raw in file_needles:
            assert raw not in data, f"evidence bytes in plaintext in {name}"


def write_with_key(path: Path, data: dict, keyring: Keyring = Keyring(keys=[KEY_A])) -> None:
    """Write an edited snapshot with a valid tag, as only someone holding the key could.

    The tag alone would refuse these edits; this proves the sealed fields refuse them too.
    """
    body = json.dumps({name: table for name, table in data.items() if name != TAG})[:-1]
    tag = keyring.tag(body.encode(), purpose=TAG_PURPOSE)
    path.write_text(body + f', "{TAG}": {{"1": {{"tag": "{tag}"}}}}}}')


def confidential_changes(store: TinyDBStore) -> tuple[Changes, str]:
    r = report(**SECRETS, status=Status.ACKNOWLEDGED)
    n = note(r.id, author_id=NOTE_AUTHOR, text=NOTE_TEXT)
    ev = AuditEvent(id="ev1", report_id=r.id, actor_id=AUDIT_ACTOR, action="report.view", at=T0)
    screenshot = evidence(
        store, r.id, data=b"header " * 50 + FILE_MARKER + b" trailer" * 50, file_name=FILE_NAME,
        source_id=FILE_SOURCE,
    )
    changes = Changes(reports=(r,), notes=(n,), audit=(ev,), outbox=(alert(r.id),), evidence=(screenshot,))
    return changes, r.id


def test_no_report_text_or_user_id_on_disk(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = TinyDBStore.open(data, Keyring(keys=[KEY_A]))
    changes, report_id = confidential_changes(store)
    store.commit(changes)
    assert_no_plaintext(data)  # the journal
    store.close()
    assert_no_plaintext(data)  # the snapshot
    with TinyDBStore.open(data, Keyring(keys=[KEY_A])) as again:
        assert again.report(report_id) == changes.reports[0]
        assert again.reports_by_reporter(SECRETS["reporter_id"]) == [changes.reports[0]]
        assert again.notes(report_id) == list(changes.notes)
        assert again.evidence(report_id) == list(changes.evidence)
        assert FILE_MARKER in b"".join(again.open_evidence(report_id, changes.evidence[0].id))


def test_sensitive_fields_are_tokens_carrying_the_key_id(tmp_path: Path) -> None:
    keyring = Keyring(keys=[KEY_A])
    with TinyDBStore.open(tmp_path, keyring) as store:
        store.commit(confidential_changes(store)[0])
    doc = json.loads((tmp_path / SNAPSHOT_NAME).read_bytes())["reports"]["1"]
    for field in SECRETS:
        assert doc[field].startswith(f"ss1:{keyring.primary_id}:"), field
    assert re.fullmatch(rf"{keyring.primary_id}:[0-9a-f]{{64}}", doc["reporter_hmac"])
    assert re.fullmatch(rf"{keyring.primary_id}:[0-9a-f]{{64}}", doc["subject_hmac"])
    assert doc["status"] == "acknowledged" and doc["version"] == 1  # plain: needed to reason about


@pytest.mark.parametrize("field", ["what_happened", "reporter_id"])
def test_a_value_copied_into_another_report_fails_loudly(tmp_path: Path, field: str) -> None:
    keyring = Keyring(keys=[KEY_A])
    mine, theirs = report(what_happened="mine", reporter_id="slack:UME"), report(what_happened="theirs")
    with TinyDBStore.open(tmp_path, keyring) as store:
        store.commit(Changes(reports=(mine, theirs)))
    path = tmp_path / SNAPSHOT_NAME
    data = json.loads(path.read_bytes())
    docs = data["reports"]
    docs["2"][field] = docs["1"][field]
    if field == "reporter_id":
        docs["2"]["reporter_hmac"] = docs["1"]["reporter_hmac"]
    write_with_key(path, data)
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt) as caught:
        TinyDBStore.open(tmp_path, keyring)
    message = str(caught.value)
    assert f"reports record {theirs.id}, field {field}" in message
    assert "mine" not in message and "UME" not in message
    assert path.read_bytes() == before


def test_evidence_bytes_copied_to_another_file_fail_loudly(tmp_path: Path) -> None:
    keyring = Keyring(keys=[KEY_A])
    r = report()
    with TinyDBStore.open(tmp_path, keyring) as store:
        mine, theirs = evidence(store, r.id, data=b"same size A"), evidence(store, r.id, data=b"same size B")
        store.commit(Changes(reports=(r,), evidence=(mine, theirs)))
    blobs = tmp_path / "evidence"
    shutil.copy(blobs / blob_name(r.id, mine.id), blobs / blob_name(r.id, theirs.id))
    with TinyDBStore.open(tmp_path, keyring) as store:
        with pytest.raises(EvidenceUnreadable, match=f"evidence file {theirs.id} of report {r.id}: chunk 0"):
            list(store.open_evidence(r.id, theirs.id))
        assert b"".join(store.open_evidence(r.id, mine.id)) == b"same size A"


@pytest.mark.parametrize(("field", "value"), [("sha256", "0" * 64), ("size", 3)])
def test_clear_evidence_metadata_must_match_the_sealed_bytes(tmp_path: Path, field: str, value: object) -> None:
    keyring = Keyring(keys=[KEY_A])
    r = report()
    with TinyDBStore.open(tmp_path, keyring) as store:
        store.commit(Changes(reports=(r,), evidence=(evidence(store, r.id),)))
    path = tmp_path / SNAPSHOT_NAME
    data = json.loads(path.read_bytes())
    data["evidence"]["1"][field] = value
    write_with_key(path, data)
    with TinyDBStore.open(tmp_path, keyring) as store:
        [edited] = store.evidence(r.id)
        with pytest.raises(EvidenceUnreadable, match="do not match the size and SHA-256 recorded"):
            list(store.open_evidence(r.id, edited.id))  # checked before the last chunk is given


def test_a_swapped_keyed_hash_fails_loudly(tmp_path: Path) -> None:
    keyring = Keyring(keys=[KEY_A])
    with TinyDBStore.open(tmp_path, keyring) as store:
        store.commit(Changes(reports=(report(reporter_id="slack:U1"), report(reporter_id="slack:U2"))))
    path = tmp_path / SNAPSHOT_NAME
    data = json.loads(path.read_bytes())
    data["reports"]["2"]["reporter_hmac"] = data["reports"]["1"]["reporter_hmac"]
    write_with_key(path, data)
    with pytest.raises(StoreCorrupt, match="keyed hash"):
        TinyDBStore.open(tmp_path, keyring)


def test_the_wrong_key_is_refused_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TinyDBStore.open(data, Keyring(keys=[KEY_A])) as store:
        store.commit(submission(report()))
    before = all_bytes(data)
    wrong = Keyring(keys=[KEY_B])
    with pytest.raises(KeyMismatch) as caught:
        TinyDBStore.open(data, wrong)
    message = str(caught.value)
    assert str(data) in message and wrong.primary_id in message
    assert Keyring(keys=[KEY_A]).primary_id in message  # which key the folder wants
    assert all_bytes(data) == before


def test_rotation_then_reencrypt(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_ring = load_keyring(data_dir=data)
    old = [report(minutes=i, reporter_id="slack:UROT") for i in range(3)]
    with TinyDBStore.open(data, old_ring) as store:
        for r in old:
            store.commit(Changes(reports=(r,), notes=(note(r.id),)))
        screenshot = evidence(store, old[0].id, source_id="F0ROT", data=b"rotated pixels " * 10_000)
        store.commit(Changes(evidence=(screenshot,)))

    new_kid = rotate_key_file(data / "secret.key")
    both = load_keyring(data_dir=data)
    assert both.key_ids == (new_kid, old_ring.primary_id)
    newer = report(minutes=9, reporter_id="slack:UROT")
    with TinyDBStore.open(data, both) as store:
        assert store.all_reports() == old  # old records still open
        assert store.reports_by_reporter("slack:UROT") == old[::-1]
        assert b"".join(store.open_evidence(old[0].id, screenshot.id)) == b"rotated pixels " * 10_000
        store.commit(submission(newer))

    only_new = Keyring(keys=[_key_of(data, new_kid)])
    before = all_bytes(data)
    with pytest.raises(KeyMismatch, match=old_ring.primary_id):
        TinyDBStore.open(data, only_new)  # old records still need the old key
    assert all_bytes(data) == before

    with TinyDBStore.open(data, both) as store:
        assert store.reencrypt() == 3 + 3 + 1 + 1 + 1 + 1  # reports, notes, evidence, audit, outbox
    text = b"".join(content for _, content in all_bytes(data) if _ != "secret.key")
    assert old_ring.primary_id.encode() not in text

    with TinyDBStore.open(data, only_new) as store:
        assert store.all_reports() == [*old, newer]
        assert store.reports_by_reporter("slack:UROT") == [newer, *old[::-1]]
        assert [len(store.notes(r.id)) for r in old] == [1, 1, 1]
        assert store.evidence(old[0].id) == [screenshot]
        assert b"".join(store.open_evidence(old[0].id, screenshot.id)) == b"rotated pixels " * 10_000
    snapshot = json.loads((data / SNAPSHOT_NAME).read_bytes())
    assert snapshot["evidence"]["1"]["source_hmac"] == only_new.keyed_hash("F0ROT", purpose="source_id")


def _key_of(data: Path, kid: str) -> bytes:
    keys = [base64.b64decode(line) for line in (data / "secret.key").read_text().split()]
    return next(k for k in keys if key_id(k) == kid)


def test_a_copied_data_folder_opens_with_its_key_only(tmp_path: Path) -> None:
    with TinyDBStore.open(tmp_path / "a", Keyring(keys=[KEY_A])) as store:
        store.commit(submission(report()))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with pytest.raises(KeyMismatch):
        TinyDBStore.open(tmp_path / "b", Keyring(keys=[KEY_B]))
    with TinyDBStore.open(tmp_path / "b", Keyring(keys=[KEY_B, KEY_A])) as store:
        assert len(store.all_reports()) == 1


def test_reminder_creators_and_pressers_are_sealed_and_reencrypted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_ring = load_keyring(data_dir=data)
    creator, presser = "slack:UCREATOR3131", "slack:UPRESSER4242"
    r = reminder(created_by=creator)
    run = reminder_run(r.id)
    with TinyDBStore.open(data, old_ring) as store:
        store.commit(Changes(reminders=(r,), runs=(run,), presses=(press(run, presser),)))
    for _, content in all_bytes(data):
        assert b"UCREATOR3131" not in content and b"UPRESSER4242" not in content
    doc = json.loads((data / SNAPSHOT_NAME).read_bytes())["presses"]["1"]
    assert doc["presser_hmac"] == old_ring.keyed_hash(presser, purpose="presser_id")

    new_kid = rotate_key_file(data / "secret.key")
    with TinyDBStore.open(data, load_keyring(data_dir=data)) as store:
        assert store.reencrypt() == 3
    only_new = Keyring(keys=[_key_of(data, new_kid)])
    with TinyDBStore.open(data, only_new) as store:
        assert store.reminder(r.id) == r and store.press_counts(r.id)[PressKind.DONE] == 1
        with pytest.raises(Conflict):  # the keyed hash still finds the same person
            store.commit(Changes(presses=(press(run, presser),)))
