"""bot.crypto: where keys come from, rotation, and tokens bound to their place."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bot.crypto import Keyring, TokenInvalid, UnknownKey, key_id, load_keyring, rotate_key_file, token_key_id
from bot.domain.errors import ConfigError

KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_first_start_creates_a_private_key_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ring = load_keyring(data_dir=data)
    path = data / "secret.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().split()) == 1
    assert load_keyring(data_dir=data).key_ids == ring.key_ids  # the same key next start


def test_key_id_is_the_start_of_sha256() -> None:
    assert key_id(KEY_A) == "630dcd29"  # sha256(bytes(range(32)))[:8]
    assert Keyring(keys=[KEY_A]).primary_id == key_id(KEY_A)


def test_env_value_lists_keys_newest_first(tmp_path: Path) -> None:
    ring = load_keyring(data_dir=tmp_path, env_value=f"{b64(KEY_B)}, {b64(KEY_A)}")
    assert ring.key_ids == (key_id(KEY_B), key_id(KEY_A))
    assert not (tmp_path / "secret.key").exists()


def test_secret_file_wins_over_env_value(tmp_path: Path) -> None:
    secret = tmp_path / "mounted.key"
    secret.write_text(f"# comment\n{b64(KEY_A)}\n\n")
    assert load_keyring(data_dir=tmp_path, secret_file=secret, env_value=b64(KEY_B)).key_ids == (key_id(KEY_A),)


@pytest.mark.parametrize("value", ["not base64!", b64(b"short"), b64(KEY_A) + ",", "c2VjcmV0"])
def test_a_bad_env_value_is_a_config_error_that_does_not_echo_it(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_keyring(data_dir=tmp_path, env_value=value)
    assert "STAFFSAFE_SECRET_KEY" in str(caught.value)
    assert value not in str(caught.value)


def test_a_missing_secret_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_keyring(data_dir=tmp_path, secret_file=tmp_path / "nope.key")


def test_rotation_prepends_a_new_key(tmp_path: Path) -> None:
    old = load_keyring(data_dir=tmp_path)
    new_kid = rotate_key_file(tmp_path / "secret.key")
    ring = load_keyring(data_dir=tmp_path)
    assert ring.key_ids == (new_kid, old.primary_id)
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    token = old.encrypt(b"sealed before", aad=b"t/1/f")
    assert ring.decrypt(token, aad=b"t/1/f") == b"sealed before"
    assert token_key_id(ring.encrypt(b"x", aad=b"a")) == new_kid


def test_tokens_are_bound_to_their_aad_and_key() -> None:
    ring = Keyring(keys=[KEY_A])
    token = ring.encrypt(b"hello", aad=b"reports/r1/what_happened")
    assert token.startswith(f"ss1:{ring.primary_id}:")
    assert ring.encrypt(b"hello", aad=b"x") != ring.encrypt(b"hello", aad=b"x")  # fresh nonce
    with pytest.raises(TokenInvalid):
        ring.decrypt(token, aad=b"reports/r2/what_happened")
    with pytest.raises(UnknownKey) as caught:
        Keyring(keys=[KEY_B]).decrypt(token, aad=b"reports/r1/what_happened")
    assert caught.value.key_id == ring.primary_id
    with pytest.raises(TokenInvalid):
        ring.decrypt("plain text", aad=b"")
    with pytest.raises(TokenInvalid):
        ring.decrypt(token[:-6] + "AAAAAA", aad=b"reports/r1/what_happened")


def test_keyed_hashes_depend_on_key_and_purpose() -> None:
    a, b = Keyring(keys=[KEY_A]), Keyring(keys=[KEY_B])
    assert a.keyed_hash("slack:U1", purpose="reporter_id") == a.keyed_hash("slack:U1", purpose="reporter_id")
    assert a.keyed_hash("slack:U1", purpose="reporter_id") != b.keyed_hash("slack:U1", purpose="reporter_id")
    assert a.keyed_hash("slack:U1", purpose="reporter_id") != a.keyed_hash("slack:U1", purpose="subject_id")


def test_the_keyring_never_shows_its_keys() -> None:
    ring = Keyring(keys=[KEY_A])
    assert b64(KEY_A) not in repr(ring) and KEY_A.hex() not in repr(ring)
