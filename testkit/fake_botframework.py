"""A local Bot Framework identity provider: OpenID metadata and a JWKS on 127.0.0.1, and a token minter.

    with FakeBotFramework() as idp:
        auth = InboundAuth(settings=idp.settings(), http=requests.Session())
        activity = idp.activity(text="help")
        auth.check(f"Bearer {idp.token()}", activity)  # passes every check
        idp.token(alg="none"), idp.token(kid="made-up"), idp.token(iss="https://sts.windows.net/x/")  # do not

Keys are RSA keys generated in the test, published with `endorsements` as Bot Framework publishes them;
`add_key` / `remove_key` rotate them while the server runs, and `fetches()` counts what clients asked for.
`token(**claims)` signs any claims (a claim given as None is left out) with any published key, a key of
its own (`signing_key=`), RS256, `none` or HS256 with any secret (the public key, for the classic attack).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.teams.settings import AppType, TeamsSettings
from testkit.local_server import LocalServer

APP_ID = "00000000-0000-4000-8000-00000000b0a7"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SERVICE_URL = "https://smba.trafficmanager.net/teams/"
ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"

_KEY_POOL: list[rsa.RSAPrivateKey] = []  # generating RSA keys is slow: tests reuse them, each under a fresh kid
_POOL_LOCK = threading.Lock()


def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The index-th RSA key of this test run (2048 bits, made on first use)."""
    with _POOL_LOCK:
        while len(_KEY_POOL) <= index:
            _KEY_POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEY_POOL[index]


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    """The public half of a key as PEM (what an attacker signs HS256 tokens with)."""
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeBotFramework(LocalServer):
    """Bot Framework's OpenID metadata and signing keys, served locally; mints tokens; a context manager."""

    def __init__(self, *, app_id: str = APP_ID, tenant_id: str = TENANT_ID, service_url: str = SERVICE_URL,
                 endorsements: tuple[str, ...] = ("msteams", "webchat")) -> None:
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.service_url = service_url
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[rsa.RSAPrivateKey, Any]] = {}
        self._fetches: Counter[str] = Counter()
        self._status: int | None = None  # answer every request with this status (an IdP outage)
        self._used = 0
        self.extra_keys: list[Any] = []  # served after the real keys as they are (malformed ones, for tests)
        self.metadata_changes: dict[str, Any] = {}  # changes to the metadata served (None removes a field)
        self.kid = self.add_key(endorsements=endorsements)  # the key tokens are signed with by default

    @property
    def metadata_url(self) -> str:
        """The OpenID metadata address (TEAMS_OPENID_METADATA_URL)."""
        return self.base_url + METADATA_PATH

    def settings(self, **changes: Any) -> TeamsSettings:
        """Teams settings of a single-tenant bot trusting this fake (the login host is a placeholder)."""
        values: dict[str, Any] = dict(app_id=self.app_id, app_type=AppType.SINGLE_TENANT, tenant_id=self.tenant_id,
                                      client_secret="fake-secret", openid_metadata_url=self.metadata_url)
        return TeamsSettings(**{**values, **changes})

    # -- keys ------------------------------------------------------------------------------------------------

    def add_key(self, *, kid: str | None = None, endorsements: Any = ("msteams", "webchat")) -> str:
        """Publish a new key (a rotation); returns its kid. Endorsements other than a tuple are served as given."""
        kid = kid or uuid.uuid4().hex[:16]
        with self._lock:
            key = rsa_key(self._used)
            self._used += 1
            self._keys[kid] = (key, endorsements)
        return kid

    def remove_key(self, kid: str) -> None:
        """Stop publishing a key."""
        with self._lock:
            del self._keys[kid]

    def private_key(self, kid: str | None = None) -> rsa.RSAPrivateKey:
        """A published key's private half."""
        with self._lock:
            return self._keys[kid or self.kid][0]

    def fetches(self, what: str = "keys") -> int:
        """How many times clients fetched "keys" (the JWKS) or "metadata"."""
        with self._lock:
            return self._fetches[what]

    def down(self, status: int = 503) -> None:
        """Answer every request with this status until `up` (an IdP outage)."""
        self._status = status

    def up(self) -> None:
        """Answer normally again."""
        self._status = None

    def jwks(self) -> dict[str, Any]:
        """The key set as served: RSA public keys with kid, use and endorsements."""
        with self._lock:
            keys = list(self._keys.items())
        served = []
        for kid, (key, endorsements) in keys:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            served.append({**jwk, "kid": kid, "use": "sig", "endorsements": list(endorsements) if isinstance(endorsements, tuple) else endorsements})
        return {"keys": served + list(self.extra_keys)}

    # -- tokens and activities -------------------------------------------------------------------------------

    def claims(self, **changes: Any) -> dict[str, Any]:
        """The claims Bot Framework puts in a token for this bot, changed as asked (None removes a claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {"serviceurl": self.service_url, "nbf": now - 5, "exp": now + 3600,
                                  "iss": ISSUER, "aud": self.app_id}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, *, kid: str | None = None, alg: str = "RS256", signing_key: rsa.RSAPrivateKey | None = None,
              secret: bytes | None = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token with these claims (see `claims`), signed as asked; by default exactly as Bot Framework signs."""
        kid = self.kid if kid is None else kid
        payload = self.claims(**claims)
        headers = {"kid": kid, **(header or {})} if kid else dict(header or {})
        if alg == "RS256":
            key = signing_key or (self.private_key(kid) if kid in self._keys else rsa_key(0))
            return jwt.encode(payload, key, algorithm="RS256", headers=headers)
        # PyJWT rightly refuses to sign these: build them by hand, as an attacker would.
        segments = [_b64(json.dumps({"alg": alg, "typ": "JWT", **headers}).encode()),
                    _b64(json.dumps(payload).encode())]
        signing_input = ".".join(segments).encode()
        if alg == "none":
            signature = b""
        else:
            digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
            signature = hmac.new(secret if secret is not None else public_pem(self.private_key()), signing_input,
                                 digest).digest()
        return ".".join([*segments, _b64(signature)])

    def activity(self, **changes: Any) -> dict[str, Any]:
        """A Teams message activity in a personal chat of this tenant, changed as asked (None removes a field)."""
        activity: dict[str, Any] = {
            "type": "message",
            "id": "1700000000000",
            "timestamp": "2026-11-30T09:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": "29:1abc", "aadObjectId": "6a0c7f3e-0000-4000-8000-000000000001", "name": "Sam Jones"},
            "conversation": {"id": "a:1personal", "conversationType": "personal", "tenantId": self.tenant_id},
            "recipient": {"id": f"28:{self.app_id}", "name": "StaffSafe"},
            "text": "help",
            "channelData": {"tenant": {"id": self.tenant_id}},
        }
        activity.update(changes)
        return {name: value for name, value in activity.items() if value is not None}

    # -- serving ---------------------------------------------------------------------------------------------

    def _answer(self, path: str) -> tuple[int, dict[str, Any] | None]:
        what = {METADATA_PATH: "metadata", KEYS_PATH: "keys"}.get(path.split("?")[0])
        if what is None:
            return 404, None
        with self._lock:
            self._fetches[what] += 1
        if self._status is not None:
            return self._status, None
        if what == "metadata":
            metadata = {"issuer": ISSUER, "authorization_endpoint": "https://invalid.botframework.com",
                        "jwks_uri": self.base_url + KEYS_PATH, "id_token_signing_alg_values_supported": ["RS256"],
                        "token_endpoint_auth_methods_supported": ["private_key_jwt"], **self.metadata_changes}
            return 200, {name: value for name, value in metadata.items() if value is not None}
        return 200, self.jwks()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBotFramework

    def do_GET(self) -> None:
        status, document = self.fake._answer(self.path)
        body = json.dumps(document).encode() if document is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


FakeBotFramework.handler = _Handler
