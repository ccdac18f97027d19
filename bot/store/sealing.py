"""Field-level encryption of plain documents: which fields are sealed, bound to which place.

Each sealed field holds the keyring token of its JSON value, with the additional authenticated
data `table/record-id/field`: moving a value to another record or field makes it fail to open.
Lookups by person go through keyed hashes (`reporter_hmac`, `subject_hmac`, `presser_hmac`), never
plaintext ids.
Evidence bytes are not a field: they are blobs of their own (`bot/store/blobs.py`). Evidence documents
written by earlier versions still hold them in a sealed `data` field (`LEGACY_EVIDENCE_DATA`): sealed as
raw bytes, not JSON text, opened with `open_legacy_evidence` when a start moves them out into blobs.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from bot.crypto import Keyring, Tagger, TagInvalid, TokenInvalid, UnknownKey
from bot.domain.errors import KeyMismatch, StoreCorrupt

ENCRYPTED: dict[str, tuple[str, ...]] = {
    "reports": (
        "reporter_id",
        "reporter_name",
        "what_happened",
        "urls",
        "subject_id",
        "subject_name",
        "handler_id",
    ),
    "notes": ("author_id", "text"),
    "evidence": ("file_name", "source_id"),
    "audit": ("actor_id",),
    "outbox": (),  # ids only
    "reminders": ("created_by",),
    "runs": ("requested_by",),  # the admin who pressed "send now"
    "presses": ("presser_id",),
    "purges": (),  # what is left on purpose: a reference and a time
    "conversations": ("target", "service_url", "conversation", "tenant"),
}

# field -> the document key holding its keyed hash
HASHED: dict[str, dict[str, str]] = {
    "reports": {"reporter_id": "reporter_hmac", "subject_id": "subject_hmac"},
    # Lets a store with indexes on disk refuse a second copy of a platform file without its id.
    "evidence": {"source_id": "source_hmac"},
    # Lets a store refuse a second press by the same person without knowing who pressed.
    "presses": {"presser_id": "presser_hmac"},
}

# The field in which versions before evidence blobs kept a file's bytes, sealed as raw bytes.
LEGACY_EVIDENCE_DATA = "data"

_KEY_CHECK = b"staffsafe key check v1"


class Sealer:
    """Seals and opens the sensitive fields of plain documents with one keyring."""

    def __init__(self, *, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        """The keys it seals with (evidence blobs derive their file keys from them)."""
        return self._keyring

    @property
    def primary_id(self) -> str:
        """The id of the key new values are sealed with."""
        return self._keyring.primary_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id in the keyring, newest first."""
        return self._keyring.key_ids

    def seal(self, table: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A copy of `doc` with its sensitive fields encrypted and its keyed hashes added."""
        sealed = dict(doc)
        record_id = doc["id"]
        for field, hash_field in HASHED.get(table, {}).items():
            value = doc.get(field)
            sealed[hash_field] = None if value is None else self.keyed_hash(field, value)
        for field in ENCRYPTED[table]:
            plaintext = json.dumps(doc[field], separators=(",", ":")).encode()
            sealed[field] = self._keyring.encrypt(plaintext, aad=_aad(table, record_id, field))
        return sealed

    def unseal(self, table: str, sealed: dict[str, Any]) -> dict[str, Any]:
        """The plain document; KeyMismatch for an unknown key, StoreCorrupt for a bad value."""
        doc = dict(sealed)
        record_id = sealed.get("id")
        if not isinstance(record_id, str):
            raise StoreCorrupt(f"a {table} record has no id")
        for field in ENCRYPTED[table]:
            where = f"{table} record {record_id}, field {field}"
            if field not in sealed:
                raise StoreCorrupt(f"{where}: missing")
            try:
                plaintext = self._keyring.decrypt(sealed[field], aad=_aad(table, record_id, field))
                doc[field] = json.loads(plaintext.decode("utf-8"))
            except UnknownKey as exc:
                raise KeyMismatch(f"{where}: {exc}; add that key to the keyring") from None
            except (TokenInvalid, ValueError) as exc:
                raise StoreCorrupt(f"{where}: {exc}") from None
        for field, hash_field in HASHED.get(table, {}).items():
            stored = doc.pop(hash_field, None)
            self._verify_hash(f"{table} record {record_id}", field, doc.get(field), stored)
        return doc

    def open_legacy_evidence(self, sealed: dict[str, Any]) -> bytes:
        """The bytes an earlier version kept inside a sealed evidence document; StoreCorrupt if they do not open."""
        record_id = sealed.get("id")
        where = f"evidence record {record_id}, field {LEGACY_EVIDENCE_DATA}"
        try:
            return self._keyring.decrypt(sealed[LEGACY_EVIDENCE_DATA],
                                         aad=_aad("evidence", str(record_id), LEGACY_EVIDENCE_DATA))
        except UnknownKey as exc:
            raise KeyMismatch(f"{where}: {exc}; add that key to the keyring") from None
        except (TokenInvalid, TypeError, ValueError) as exc:
            raise StoreCorrupt(f"{where}: {exc}") from None

    def keyed_hash(self, field: str, value: str) -> str:
        """The keyed hash used to look a person up by `field` without storing the id."""
        return self._keyring.keyed_hash(value, purpose=field)

    def keyed_hashes(self, field: str, value: str) -> list[str]:
        """The keyed hash of `value` under every key (newest first), to find records hashed before a rotation."""
        return self._keyring.keyed_hashes(value, purpose=field)

    def seal_bytes(self, data: bytes, *, aad: bytes) -> bytes:
        """Raw bytes sealed under the primary key, bound to `aad` (the token as ASCII bytes)."""
        return self._keyring.encrypt(data, aad=aad).encode("ascii")

    def open_bytes(self, sealed: bytes, *, aad: bytes, where: str) -> bytes:
        """Bytes sealed by `seal_bytes` for `aad`; KeyMismatch for an unknown key, StoreCorrupt for a bad value."""
        try:
            return self._keyring.decrypt(sealed.decode("ascii"), aad=aad)
        except UnknownKey as exc:
            raise KeyMismatch(f"{where}: {exc}; add that key to the keyring") from None
        except (TokenInvalid, ValueError) as exc:
            raise StoreCorrupt(f"{where}: {exc}") from None

    def key_check(self) -> dict[str, str]:
        """A record proving which key a data folder was written with: {key id: token}."""
        kid = self._keyring.primary_id
        return {kid: self._keyring.encrypt(_KEY_CHECK, aad=_key_check_aad(kid, authenticated=True))}

    def verify_key_checks(self, checks: dict[str, str], *, folder: str, authenticated: bool = True) -> None:
        """Raise KeyMismatch unless one of our keys wrote one of `checks`.

        Checks written since files carry tags are bound to that format (`authenticated`), so a
        snapshot relabelled as the older, untagged format to slip an edit past its tag fails here.
        """
        for kid, token in checks.items():
            if kid not in self._keyring.key_ids:
                continue
            try:
                if self._keyring.decrypt(token, aad=_key_check_aad(kid, authenticated=authenticated)) == _KEY_CHECK:
                    return
            except (TokenInvalid, UnknownKey):
                pass
        raise KeyMismatch(
            f"none of the configured keys (key ids {', '.join(self._keyring.key_ids)}) opens the "
            f"data folder {folder}, which was written with key ids {', '.join(sorted(checks))}; "
            "configure the key it was created with"
        )

    def tag(self, data: bytes, *, purpose: bytes) -> str:
        """An authentication tag over `data` (a journal line, a snapshot) under the primary key."""
        return self._keyring.tag(data, purpose=purpose)

    def tagger(self, *, purpose: bytes) -> Tagger:
        """A tag under the primary key over data written piece by piece."""
        return self._keyring.tagger(purpose=purpose)

    def tag_matches(self, data: bytes, tag: str, *, purpose: bytes, where: str) -> bool:
        """Whether `tag` authenticates `data`; KeyMismatch if it names a key not in the keyring."""
        try:
            self._keyring.verify_tag(data, tag, purpose=purpose)
        except UnknownKey as exc:
            raise KeyMismatch(f"{where} was written with key id {exc.key_id}, which is not in the keyring; "
                              "add that key") from None
        except TagInvalid:
            return False
        return True

    def _verify_hash(self, where: str, field: str, value: Any, stored: Any) -> None:
        # A hash under an older key is recomputed by reencrypt(); one under the primary key must
        # match, or a tampered hash could list a report among someone else's reports.
        if value is None or not isinstance(stored, str):
            if stored is not None or value is not None:
                raise StoreCorrupt(f"{where}: the keyed hash of {field} does not match")
            return
        if stored.split(":", 1)[0] != self._keyring.primary_id:
            return
        if not hmac.compare_digest(stored, self.keyed_hash(field, value)):
            raise StoreCorrupt(f"{where}: the keyed hash of {field} does not match")


def _aad(table: str, record_id: str, field: str) -> bytes:
    return f"{table}/{record_id}/{field}".encode()


def _key_check_aad(kid: str, *, authenticated: bool) -> bytes:
    return f"_meta/key_check/{kid}".encode() + (b"/tagged" if authenticated else b"")
