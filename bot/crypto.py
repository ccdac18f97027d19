"""Keys for encryption at rest: a keyring (newest key first), AES-256-GCM tokens and keyed hashes.

A token is `ss1:<key id>:<base64(nonce | ciphertext | tag)>`; the key id is the first 8 hex digits
of sha256(key), so a reader knows which key sealed a value and an operator can match key ids
without ever seeing a key. Additional authenticated data binds each token to the place it was
written for (the store uses `table/record-id/field`), so a token copied elsewhere fails to open.
A tag (`<key id>.<HMAC-SHA256 hex>`) authenticates whole files and lines the store writes, so an
edit to a field left in clear (a status, a legal hold) is noticed; it names its key like a token,
so tags written before a rotation still verify while the old key is in the keyring.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.domain.errors import ConfigError
from bot.durable import fsync_dir

log = logging.getLogger(__name__)

KEY_BYTES = 32
SECRET_FILE_NAME = "secret.key"
_TOKEN_PREFIX = "ss1"
_NONCE_BYTES = 12


class CryptoError(ValueError):
    """A token cannot be opened. Messages carry key ids at most, never key or plaintext."""


class UnknownKey(CryptoError):
    """The token was sealed with a key that is not in the keyring."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"sealed with key id {key_id}, which is not in the keyring")
        self.key_id = key_id


class TokenInvalid(CryptoError):
    """The token is malformed, was tampered with, or belongs to another place (wrong AAD)."""


class TagInvalid(CryptoError):
    """The data does not match its authentication tag (edited or damaged), or the tag is malformed."""


def key_id(key: bytes) -> str:
    """The public id of a key: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


def _derive(key: bytes, purpose: bytes) -> bytes:
    # Separate subkeys so the cipher key and the hash key are never the same bytes.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


@dataclass(frozen=True, repr=False)
class _Key:
    id: str
    cipher: AESGCM
    hash_key: bytes
    mac_key: bytes
    file_key: bytes  # the root of the per-file keys of evidence blobs


class Keyring:
    """Ordered keys: the first seals new values, every key opens values it sealed."""

    def __init__(self, *, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ConfigError("the keyring needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ConfigError(f"each secret key must be {KEY_BYTES} bytes (base64-encoded)")
        self._keys = [
            _Key(
                id=key_id(key),
                cipher=AESGCM(_derive(key, b"staffsafe/aes-256-gcm")),
                hash_key=_derive(key, b"staffsafe/hmac-sha256"),
                mac_key=_derive(key, b"staffsafe/store-mac"),
                file_key=_derive(key, b"staffsafe/file-keys"),
            )
            for key in keys
        ]
        self._by_id = {k.id: k for k in reversed(self._keys)}  # on a repeat, the newest wins

    def __repr__(self) -> str:
        return f"Keyring(key_ids={self.key_ids!r})"

    @property
    def primary_id(self) -> str:
        """The id of the key that seals new values."""
        return self._keys[0].id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id, newest first."""
        return tuple(k.id for k in self._keys)

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> str:
        """Seal bytes under the primary key, bound to `aad`."""
        key = self._keys[0]
        nonce = os.urandom(_NONCE_BYTES)
        sealed = key.cipher.encrypt(nonce, plaintext, aad)
        return f"{_TOKEN_PREFIX}:{key.id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, *, aad: bytes) -> bytes:
        """Open a token sealed for `aad`; raises UnknownKey or TokenInvalid."""
        kid = token_key_id(token)
        key = self._by_id.get(kid)
        if key is None:
            raise UnknownKey(kid)
        try:
            raw = base64.b64decode(token.split(":", 2)[2], validate=True)
            return key.cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise TokenInvalid("does not authenticate (tampered, or copied from elsewhere)") from exc

    def file_key(self, *, salt: bytes, key_id: str | None = None) -> tuple[str, bytes]:
        """A key of its own for one file (evidence blob), from `salt` and the primary key (or key `key_id`).

        Returns (key id, 32-byte key); UnknownKey if `key_id` is not in the keyring. A fresh random
        salt per file gives every file a fresh key, so its chunks can be numbered as nonces.
        """
        key = self._keys[0] if key_id is None else self._by_id.get(key_id)
        if key is None:
            raise UnknownKey(str(key_id))
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"staffsafe/evidence-blob")
        return key.id, derived.derive(key.file_key)

    def keyed_hash(self, value: str, *, purpose: str) -> str:
        """`<key id>:<HMAC-SHA256 hex>` of `value` under the primary key, for lookups without plaintext."""
        return _keyed_hash(self._keys[0], value, purpose)

    def keyed_hashes(self, value: str, *, purpose: str) -> list[str]:
        """The keyed hash of `value` under every key, newest first: a lookup that finds rows hashed before a rotation."""
        return [_keyed_hash(key, value, purpose) for key in self._keys]

    def tag(self, data: bytes, *, purpose: bytes) -> str:
        """`<key id>.<HMAC-SHA256 hex>` authenticating `data` for `purpose`, under the primary key."""
        return self.tagger(purpose=purpose).finish(data)

    def tagger(self, *, purpose: bytes) -> Tagger:
        """A tag under the primary key, computed over data given piece by piece."""
        return Tagger(kid=self._keys[0].id, mac_key=self._keys[0].mac_key, purpose=purpose)

    def verify_tag(self, data: bytes, tag: str, *, purpose: bytes) -> None:
        """Raise UnknownKey if `tag` names a key not in the keyring, TagInvalid if it does not match."""
        kid, _, digest = tag.partition(".")
        key = self._by_id.get(kid)
        if key is None:
            if len(kid) != 8 or len(digest) != 64:
                raise TagInvalid("is not an authentication tag")
            raise UnknownKey(kid)
        expected = hmac.new(key.mac_key, purpose + b"\x00" + data, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, digest):
            raise TagInvalid("does not match (edited or damaged)")


def _keyed_hash(key: _Key, value: str, purpose: str) -> str:
    digest = hmac.new(key.hash_key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
    return f"{key.id}:{digest.hexdigest()}"


class Tagger:
    """An authentication tag computed piece by piece, for data written in pieces (a snapshot)."""

    def __init__(self, *, kid: str, mac_key: bytes, purpose: bytes) -> None:
        self._kid = kid
        self._mac = hmac.new(mac_key, purpose + b"\x00", hashlib.sha256)

    def update(self, data: bytes) -> None:
        """Add the next piece of the data."""
        self._mac.update(data)

    def finish(self, data: bytes = b"") -> str:
        """The tag of every piece given, and then `data`."""
        self._mac.update(data)
        return f"{self._kid}.{self._mac.hexdigest()}"


def token_key_id(token: str) -> str:
    """The id of the key that sealed a token; raises TokenInvalid if it is not a token."""
    parts = token.split(":", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != _TOKEN_PREFIX:
        raise TokenInvalid("is not an encrypted value")
    return parts[1]


def new_key() -> bytes:
    """A fresh random key."""
    return secrets.token_bytes(KEY_BYTES)


def load_keyring(
    *, data_dir: Path, secret_file: Path | None = None, env_value: str | None = None
) -> Keyring:
    """The keyring from a secret file, else a STAFFSAFE_SECRET_KEY value, else `data_dir/secret.key` (created on first start)."""
    if secret_file is not None:
        if not secret_file.exists():
            raise ConfigError(f"secret key file {secret_file} does not exist")
        return Keyring(keys=_read_key_file(secret_file))
    if env_value:
        return Keyring(keys=_parse_keys(env_value.split(","), source="STAFFSAFE_SECRET_KEY"))
    path = Path(data_dir) / SECRET_FILE_NAME
    if key_file_a_start_creates(data_dir=data_dir) is not None:
        try:
            _create_dir(Path(data_dir))
            _write_key_file(path, [new_key()], exclusive=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the secret key file {path} ({type(exc).__name__}: {exc.strerror}); "
                "check that the data folder is writable by this user"
            ) from None
        log.info("created a new secret key file in %s", data_dir)
    return Keyring(keys=_read_key_file(path))


def key_file_a_start_creates(
    *, data_dir: Path, secret_file: Path | None = None, env_value: str | None = None
) -> Path | None:
    """The key file `load_keyring` would create (no key is configured or found), None if it creates none.

    ConfigError where it would refuse: a new key in a folder that holds data. Changes nothing.
    """
    path = Path(data_dir) / SECRET_FILE_NAME
    if secret_file is not None or env_value or path.exists():
        return None
    _refuse_a_new_key_beside_data(Path(data_dir), path)
    return path


# Files a data folder holds besides its key and its lock; any of them means data a new key cannot open.
_NOT_DATA = frozenset({SECRET_FILE_NAME, "staffsafe.lock"})


def _refuse_a_new_key_beside_data(data_dir: Path, path: Path) -> None:
    # A fresh key beside existing records would lock them away for good (and be written into the
    # folder as if it belonged there): the missing key file is an operator error to fix, not to paper over.
    try:
        found = sorted(p.name for p in data_dir.iterdir() if p.name not in _NOT_DATA)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot read the data folder {data_dir} ({type(exc).__name__})") from None
    if found:
        raise ConfigError(
            f"the secret key file {path} is missing, but the data folder holds data ({', '.join(found)}); "
            "restore the key file from your backup (or give the key with STAFFSAFE_SECRET_KEY or a "
            "secret file): a new key could not open the stored reports"
        )


def rotate_key_file(path: Path) -> str:
    """Prepend a new key to a key file (old keys stay to open old records); returns the new key id."""
    if not path.exists():
        raise ConfigError(f"secret key file {path} does not exist; restore it from your backup before rotating")
    keys = _read_key_file(path)
    fresh = new_key()
    _write_key_file(path, [fresh, *keys], exclusive=False)
    return key_id(fresh)


def _read_key_file(path: Path) -> list[bytes]:
    if path.stat().st_mode & 0o077:
        log.warning("secret key file %s is readable by other users; chmod 600 it", path)
    lines = [ln.strip() for ln in path.read_text(encoding="ascii").splitlines()]
    keys = _parse_keys([ln for ln in lines if ln and not ln.startswith("#")], source=str(path))
    if not keys:
        raise ConfigError(f"secret key file {path} holds no key")
    return keys


def _parse_keys(values: Sequence[str], *, source: str) -> list[bytes]:
    keys = []
    for value in values:
        try:
            key = base64.b64decode(value.strip(), validate=True)
        except binascii.Error:
            key = b""
        if len(key) != KEY_BYTES:
            # Never echo the value: it is (part of) a secret.
            raise ConfigError(f"{source}: each key must be base64 of {KEY_BYTES} random bytes")
        keys.append(key)
    return keys


def _write_key_file(path: Path, keys: Sequence[bytes], *, exclusive: bool) -> None:
    text = "".join(base64.b64encode(k).decode("ascii") + "\n" for k in keys).encode("ascii")
    target = path if exclusive else path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(target, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    if not exclusive:
        os.replace(target, path)  # a crash leaves either the old file or the new one, whole
    fsync_dir(path.parent)


def _create_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
