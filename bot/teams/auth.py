"""Inbound authentication: every check Bot Framework documents for a request from the Connector to the bot.

    auth = InboundAuth(settings=teams, http=requests.Session())
    try:
        verified = auth.verify(environ.get("HTTP_AUTHORIZATION"))  # before the body is parsed
        activity = json.loads(body)
        auth.check_activity(verified, activity)  # before anything is stored
    except AuthRejected as rejected:
        # rejected.status: 401 (no or bad token), 403 (a good token for another activity, channel or
        # tenant) or 503 (no signing keys could be fetched yet: try again later); rejected.reason is a
        # short fixed phrase, safe to log; store nothing.

Checked, in order: the `Authorization: Bearer` scheme; RS256 only (never `none`, never HMAC with the
public key); the signing key by `kid` from the OpenID metadata's JWKS; the signature; issuer
`https://api.botframework.com` (so no emulator or skill tokens, which Entra issues); audience = the
app id; `exp` and `nbf` with 5 minutes' skew; the `serviceurl` claim equal to the activity's
`serviceUrl`; the key's `endorsements` holding the activity's `channelId`; the activity's tenant equal
to the configured one (not for legacy MultiTenant bots).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from bot.teams.settings import LOOPBACK_HOSTS, TeamsSettings

log = logging.getLogger(__name__)

BOTFRAMEWORK_ISSUER = "https://api.botframework.com"
ALGORITHM = "RS256"
SKEW_SECONDS = 300  # clocks differ: exp and nbf are honoured 5 minutes either way
MAX_TOKEN_CHARS = 16_384  # far above a real token; a bigger header is refused before any parsing
KEYS_MAX_AGE = 24 * 3600.0  # keys are fetched again daily, as Bot Framework advises
UNKNOWN_KID_GAP = 300.0  # an unknown kid fetches the keys again at most this often
FAILED_FETCH_GAP = 10.0  # after a failed fetch, the next try waits this long (an IdP outage is not hammered)
FETCH_TIMEOUT = (3.05, 5.0)  # connect, read: a request waits on the IdP at most a few seconds
MAX_DOCUMENT_BYTES = 1_000_000  # metadata and key sets are a few kB


class AuthRejected(Exception):
    """A request refused: `status` 401, 403 or 503 to answer with, `reason` a short content-free phrase to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class KeysUnavailable(AuthRejected):
    """No signing keys are known and none could be fetched: answer 503 (Bot Framework retries), not 500."""

    def __init__(self, reason: str = "signing keys unavailable") -> None:
        super().__init__(503, reason)


@dataclass(frozen=True)
class SigningKey:
    """One of Bot Framework's public keys, with the channels it may sign for."""

    kid: str
    key: Any = field(repr=False)  # a cryptography RSA public key
    endorsements: frozenset[str]


@dataclass(frozen=True)
class Verified:
    """A token that passed its own checks: its claims, and the channels its signing key endorses."""

    claims: dict[str, Any]
    endorsements: frozenset[str]


class SigningKeys:
    """Bot Framework's signing keys, from the OpenID metadata's `jwks_uri`: cached, refreshed daily and on demand.

    An unknown `kid` fetches the keys again at most once per `unknown_kid_gap`, so a key published after
    start-up is found and a flood of made-up kids costs the IdP one request per window. When a fetch fails
    the cached keys keep working (tried again once per window); with none cached, `key` raises
    KeysUnavailable and the next request tries again after `failed_fetch_gap`. Safe across threads: one
    thread fetches while the others wait for its result.
    """

    def __init__(self, *, metadata_url: str, http: requests.Session, clock: Callable[[], float] = time.monotonic,
                 max_age: float = KEYS_MAX_AGE, unknown_kid_gap: float = UNKNOWN_KID_GAP,
                 failed_fetch_gap: float = FAILED_FETCH_GAP) -> None:
        self._metadata_url = metadata_url
        self._http = http
        self._clock = clock
        self._max_age = max_age
        self._unknown_kid_gap = unknown_kid_gap
        self._failed_fetch_gap = failed_fetch_gap
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # when the cached keys were fetched
        self._tried_at: float | None = None  # when a fetch was last tried, whatever came of it
        self._lock = threading.Lock()

    def key(self, kid: str) -> SigningKey | None:
        """The key with this id (None if Bot Framework does not publish it); KeysUnavailable if none are known."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            # With keys in hand, fetch again at most once a window (daily, or for an unknown kid), even if
            # the IdP is down; with none, try again soon after a failure.
            gap = self._unknown_kid_gap if self._keys else self._failed_fetch_gap
            if (stale or kid not in self._keys) and (self._tried_at is None or now - self._tried_at >= gap):
                self._refresh(now)
            if not self._keys:
                raise KeysUnavailable()
            return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._tried_at = now
        try:
            metadata = self._get_json(self._metadata_url)
            keys = _signing_keys(self._get_json(_jwks_uri(metadata)))
        except (requests.RequestException, ValueError) as error:
            # Only the error's class: the IdP is down or answered nonsense; cached keys stay in use.
            log.warning("Bot Framework signing keys not fetched (%s); %d cached keys stay in use",
                        type(error).__name__, len(self._keys))
            return
        self._keys, self._fetched_at = keys, now

    def _get_json(self, url: str) -> Any:
        with self._http.get(url, timeout=FETCH_TIMEOUT, stream=True, allow_redirects=False) as response:
            response.raise_for_status()
            body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError("document too large")
        return json.loads(body)


def _jwks_uri(metadata: Any) -> str:
    """The key set's address from the metadata: https (or http on loopback, for local fakes)."""
    uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
    if not isinstance(uri, str):
        raise ValueError("metadata without jwks_uri")
    parts = requests.utils.urlparse(uri)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        raise ValueError("jwks_uri is not https")
    return uri


def _signing_keys(document: Any) -> dict[str, SigningKey]:
    """The usable RSA keys of a JWKS document; others (and malformed ones) are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("key set without keys")
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not isinstance(entry.get("kid"), str):
            continue
        endorsements = entry.get("endorsements")
        try:
            public_key = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        kid = entry["kid"]
        keys[kid] = SigningKey(kid=kid, key=public_key, endorsements=frozenset(
            e for e in endorsements if isinstance(e, str)) if isinstance(endorsements, list) else frozenset())
    return keys


# The reason given for each PyJWT failure (most specific classes first).
_JWT_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.MissingRequiredClaimError, "required claim missing"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.InvalidTokenError, "malformed token"),
)


class InboundAuth:
    """Checks that a request to the bot comes from Bot Framework, for this bot, about this activity."""

    def __init__(self, *, settings: TeamsSettings, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic, keys: SigningKeys | None = None) -> None:
        self._settings = settings
        self._keys = keys or SigningKeys(metadata_url=settings.openid_metadata_url, http=http or requests.Session(),
                                         clock=clock)

    def check(self, authorization: str | None, activity: Mapping[str, Any]) -> Verified:
        """Both steps at once (`verify`, then `check_activity`); AuthRejected (401, 403 or 503) if any check fails."""
        verified = self.verify(authorization)
        self.check_activity(verified, activity)
        return verified

    def verify(self, authorization: str | None) -> Verified:
        """The token's own checks, before the body is even parsed; AuthRejected (401 or 503) if one fails."""
        token = _bearer_token(authorization)
        key = self._signing_key(token)
        return Verified(claims=self._claims(token, key), endorsements=key.endorsements)

    def check_activity(self, verified: Verified, activity: Any) -> None:
        """The token fits the activity (service URL, endorsed channel, tenant); AuthRejected (403) if not.

        `activity` is the parsed JSON object, or anything holding it as `raw` (the endpoint's Activity).
        """
        raw = activity if isinstance(activity, Mapping) else getattr(activity, "raw", None)
        if not isinstance(raw, Mapping):
            raise AuthRejected(403, "not an activity")
        service_url = verified.claims.get("serviceurl")
        if not isinstance(service_url, str) or service_url != raw.get("serviceUrl"):
            raise AuthRejected(403, "serviceUrl mismatch")
        channel = raw.get("channelId")
        if not isinstance(channel, str) or channel not in verified.endorsements:
            raise AuthRejected(403, "channel not endorsed")
        if self._settings.checks_tenant and not _same_tenant(activity_tenant(raw), self._settings.tenant_id):
            raise AuthRejected(403, "foreign tenant")

    def _signing_key(self, token: str) -> SigningKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthRejected(401, "malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise AuthRejected(401, "algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthRejected(401, "no key id")
        key = self._keys.key(kid)
        if key is None:
            raise AuthRejected(401, "unknown signing key")
        return key

    def _claims(self, token: str, key: SigningKey) -> dict[str, Any]:
        try:
            return jwt.decode(token, key.key, algorithms=[ALGORITHM], audience=self._settings.app_id,
                              issuer=BOTFRAMEWORK_ISSUER, leeway=SKEW_SECONDS,
                              options={"require": ["exp", "iss", "aud"], "verify_signature": True})
        except jwt.InvalidTokenError as error:
            reason = next(reason for kind, reason in _JWT_REASONS if isinstance(error, kind))
            raise AuthRejected(401, reason) from None


def _bearer_token(authorization: str | None) -> str:
    if not authorization or not isinstance(authorization, str):
        raise AuthRejected(401, "no token")
    if len(authorization) > MAX_TOKEN_CHARS:
        raise AuthRejected(401, "token too large")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthRejected(401, "not a bearer token")
    token = token.strip()
    if not token:
        raise AuthRejected(401, "no token")
    return token


def activity_tenant(activity: Mapping[str, Any]) -> str:
    """The Entra tenant an activity says it comes from ("" if none, or if its two places disagree)."""
    channel_data = activity.get("channelData")
    tenant = channel_data.get("tenant") if isinstance(channel_data, Mapping) else None
    from_channel = tenant.get("id") if isinstance(tenant, Mapping) else None
    conversation = activity.get("conversation")
    from_conversation = conversation.get("tenantId") if isinstance(conversation, Mapping) else None
    found = {t.lower() for t in (from_channel, from_conversation) if isinstance(t, str) and t}
    return found.pop() if len(found) == 1 else ""


def _same_tenant(tenant: str, configured: str) -> bool:
    return bool(tenant) and tenant == configured.lower()
