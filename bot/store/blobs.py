"""Evidence bytes as blobs beside the records: streamed in and out, never whole in memory.

A blob file (`evidence/<sha256 of the ids>` in the data folder) is a header, then the file
in chunks of `chunk size` bytes (the last may be shorter, and is empty only for an empty file), each
sealed with AES-256-GCM and followed by its 16-byte tag:

    b"SSBLOB1\\n" | key id (8 hex digits) | salt (16 random bytes) | chunk size (4 bytes, big-endian)

The file's key is derived from the keyring's key `key id` and the salt (`Keyring.file_key`), so each file
has a key of its own and a chunk's nonce can be its number: 11 bytes of index, then 1 for the last chunk
and 0 for the others (the STREAM construction). The additional data is the header and the report and evidence
ids. So a flipped byte, a cut file (its new last chunk was not sealed as the last), chunks swapped or
reordered, or a blob moved to another report or file, fail to open at the chunk concerned, before any of
its bytes are given out; the SHA-256 and size the record holds are checked before the last chunk is given.

A blob is written to a temporary file, fsynced, renamed into place and the folder fsynced, all before
the commit of the record that names it; files no record names (a crash between the two, or between a
purge's commit and its deletion) are orphans, swept at start.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import struct
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.crypto import Keyring, UnknownKey
from bot.domain.errors import EvidenceUnreadable, KeyMismatch, StoreError
from bot.domain.ports import BlobWritten
from bot.durable import fsync_dir

FOLDER_NAME = "evidence"
CHUNK_BYTES = 64 * 1024
MAGIC = b"SSBLOB1\n"
_HEADER = struct.Struct(">8s8s16sI")  # magic, key id, salt, chunk size
_TAG_BYTES = 16
_CHUNK_LIMITS = (1, 16 * 1024 * 1024)  # a header asking for more is damaged, not a reason to allocate it
_TEMP_SUFFIX = ".tmp"


class Blobs(Protocol):
    """Where a store keeps evidence bytes."""

    def write(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Store the bytes durably (replacing any blob of that file); their size and SHA-256."""
        ...

    def open(self, report_id: str, evidence_id: str, *, size: int, sha256: str) -> Iterator[bytes]:
        """The bytes, chunk by chunk, each checked; EvidenceUnreadable if missing or not these bytes."""
        ...

    def delete(self, files: Iterable[tuple[str, str]]) -> None:
        """Remove the blobs of these (report id, evidence id) pairs; missing ones are skipped."""
        ...


def blob_name(report_id: str, evidence_id: str) -> str:
    """The file name of a blob: a hash, so any id makes a safe name of one length."""
    return hashlib.sha256(_ids(report_id, evidence_id)).hexdigest()


def rechunk(chunks: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """`chunks` cut into pieces of `size` bytes (the last may be shorter), each with whether it is the last."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        # Strictly more than one piece: a full piece is held back until we know whether it is the last.
        while len(buffer) > size:
            yield bytes(buffer[:size]), False
            del buffer[:size]
    yield bytes(buffer), True


class MemoryBlobs:
    """Blobs in a dict, for the in-memory store: gone when the process ends."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], tuple[bytes, ...]] = {}
        self._lock = threading.Lock()

    def write(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Keep the bytes (in pieces, as a file would hold them)."""
        digest, pieces = hashlib.sha256(), []
        for piece, _ in rechunk(chunks, CHUNK_BYTES):
            digest.update(piece)
            pieces.append(piece)
        with self._lock:
            self._files[report_id, evidence_id] = tuple(pieces)
        return BlobWritten(size=sum(len(p) for p in pieces), sha256=digest.hexdigest())

    def open(self, report_id: str, evidence_id: str, *, size: int, sha256: str) -> Iterator[bytes]:
        """The kept pieces."""
        with self._lock:
            pieces = self._files.get((report_id, evidence_id))
        if pieces is None:
            raise EvidenceUnreadable(f"evidence file {evidence_id} of report {report_id}: its bytes are missing")
        return iter(pieces)

    def delete(self, files: Iterable[tuple[str, str]]) -> None:
        """Forget these files."""
        with self._lock:
            for key in files:
                self._files.pop(key, None)


class NotRead:
    """No blobs here: what a check of a database opens, which reads records, never evidence bytes."""

    def write(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Refuse: nothing is written here."""
        raise StoreError("evidence files are not written by a check")

    def open(self, report_id: str, evidence_id: str, *, size: int, sha256: str) -> Iterator[bytes]:
        """Refuse: a check reads no evidence bytes."""
        raise StoreError("evidence files are not read by a check")

    def delete(self, files: Iterable[tuple[str, str]]) -> None:
        """Nothing to delete."""


class FolderBlobs:
    """Encrypted blob files in one folder of the data folder (see the module docstring)."""

    def __init__(self, *, folder: Path, keyring: Keyring, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.folder = folder
        self._keyring = keyring
        self._chunk_bytes = chunk_bytes

    def path(self, report_id: str, evidence_id: str) -> Path:
        """Where the blob of one evidence file is."""
        return self.folder / blob_name(report_id, evidence_id)

    def write(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Encrypt `chunks` into a temporary file, fsync it, rename it into place, fsync the folder."""
        self.folder.mkdir(mode=0o700, exist_ok=True)
        final = self.path(report_id, evidence_id)
        temp = final.with_name(f"{final.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
        salt = os.urandom(16)
        kid, key = self._keyring.file_key(salt=salt)
        header = _HEADER.pack(MAGIC, kid.encode("ascii"), salt, self._chunk_bytes)
        cipher, aad = AESGCM(key), _aad(header, report_id, evidence_id)
        digest, size = hashlib.sha256(), 0
        # Created private (0600) before any byte goes in; O_EXCL: never someone else's file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header)
                for index, (piece, last) in enumerate(rechunk(chunks, self._chunk_bytes)):
                    digest.update(piece)
                    size += len(piece)
                    out.write(cipher.encrypt(_nonce(index, last), piece, aad))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_dir(self.folder)
        return BlobWritten(size=size, sha256=digest.hexdigest())

    def open(self, report_id: str, evidence_id: str, *, size: int, sha256: str) -> Iterator[bytes]:
        """The file's bytes, chunk by chunk, each authenticated before it is given (see the module docstring)."""
        where = f"evidence file {evidence_id} of report {report_id}"
        try:
            file = open(self.path(report_id, evidence_id), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise _missing(where, report_id, evidence_id) from None
        try:
            header = file.read(_HEADER.size)
            cipher, chunk_bytes = self._cipher(header, where)
        except BaseException:
            file.close()
            raise
        return _plaintext(file, cipher, _aad(header, report_id, evidence_id), chunk_bytes,
                          size=size, sha256=sha256, where=where)

    def key_id(self, report_id: str, evidence_id: str) -> str:
        """The id of the key a blob was sealed with (to re-encrypt those under an old key)."""
        where = f"evidence file {evidence_id} of report {report_id}"
        try:
            with open(self.path(report_id, evidence_id), "rb") as file:
                return _parse_header(file.read(_HEADER.size), where)[0]
        except FileNotFoundError:
            raise _missing(where, report_id, evidence_id) from None

    def delete(self, files: Iterable[tuple[str, str]]) -> None:
        """Unlink the blobs, then fsync the folder once."""
        removed = False
        for report_id, evidence_id in files:
            try:
                self.path(report_id, evidence_id).unlink()
                removed = True
            except FileNotFoundError:
                pass
        if removed:
            fsync_dir(self.folder)

    def orphans(self, named: Iterable[tuple[str, str]]) -> list[Path]:
        """Files in the folder that are no blob of these (report id, evidence id) pairs, temporary files too."""
        try:
            present = sorted(self.folder.iterdir())
        except FileNotFoundError:
            return []
        keep = {blob_name(r, e) for r, e in named}
        return [p for p in present if p.name not in keep]

    def sweep(self, named: Iterable[tuple[str, str]]) -> int:
        """Delete the orphans (see `orphans`); how many. Only while no blob is being written (at start)."""
        found = self.orphans(named)
        for path in found:
            path.unlink(missing_ok=True)
        if found:
            fsync_dir(self.folder)
        return len(found)

    def _cipher(self, header: bytes, where: str) -> tuple[AESGCM, int]:
        kid, salt, chunk_bytes = _parse_header(header, where)
        try:
            _, key = self._keyring.file_key(salt=salt, key_id=kid)
        except UnknownKey:
            raise KeyMismatch(f"{where} was sealed with key id {kid}, which is not in the keyring; add that key") \
                from None
        return AESGCM(key), chunk_bytes


def _missing(where: str, report_id: str, evidence_id: str) -> EvidenceUnreadable:
    return EvidenceUnreadable(f"{where}: its blob {blob_name(report_id, evidence_id)} is missing")


def _parse_header(header: bytes, where: str) -> tuple[str, bytes, int]:
    if len(header) != _HEADER.size:
        raise EvidenceUnreadable(f"{where}: its blob is cut short (no whole header)")
    magic, kid, salt, chunk_bytes = _HEADER.unpack(header)
    if magic != MAGIC or not re.fullmatch(rb"[0-9a-f]{8}", kid) or not (
            _CHUNK_LIMITS[0] <= chunk_bytes <= _CHUNK_LIMITS[1]):
        raise EvidenceUnreadable(f"{where}: its blob's header is damaged or was edited")
    return kid.decode("ascii"), salt, chunk_bytes


def _plaintext(file: BinaryIO, cipher: AESGCM, aad: bytes, chunk_bytes: int, *, size: int, sha256: str,
               where: str) -> Iterator[bytes]:
    sealed_bytes = chunk_bytes + _TAG_BYTES
    digest, total = hashlib.sha256(), 0
    with file:
        current = file.read(sealed_bytes)
        index = 0
        while True:
            # A full chunk is the last one only if nothing follows it: read one ahead to know.
            following = file.read(sealed_bytes) if len(current) == sealed_bytes else b""
            last = not following
            try:
                piece = cipher.decrypt(_nonce(index, last), current, aad)
            except InvalidTag:
                raise EvidenceUnreadable(
                    f"{where}: chunk {index} does not authenticate (the blob is damaged, cut short, reordered, "
                    "or belongs to another file); nothing from that chunk on was given out") from None
            digest.update(piece)
            total += len(piece)
            if last:
                if total != size or digest.hexdigest() != sha256:
                    raise EvidenceUnreadable(f"{where}: its bytes do not match the size and SHA-256 recorded")
                yield piece
                return
            yield piece
            current, index = following, index + 1


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _aad(header: bytes, report_id: str, evidence_id: str) -> bytes:
    return header + _ids(report_id, evidence_id)


def _ids(report_id: str, evidence_id: str) -> bytes:
    # JSON, not "a/b": no two pairs of ids read the same.
    return json.dumps([report_id, evidence_id]).encode()


