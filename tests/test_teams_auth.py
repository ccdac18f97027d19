"""Inbound authentication against a local Bot Framework identity provider: every documented check, key rotation."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from hypothesis import given, strategies as st

from bot.teams.auth import AuthRejected, InboundAuth, KeysUnavailable, SigningKeys, activity_tenant
from bot.teams.settings import AppType
from testkit.fake_botframework import FakeBotFramework, public_pem, rsa_key


class Clock:
    """Monotonic seconds the test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp():
    with FakeBotFramework() as fake:
        yield fake


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def auth(idp, clock):
    with requests.Session() as http:
        yield InboundAuth(settings=idp.settings(), http=http, clock=clock)


def rejection(auth: InboundAuth, header: str | None, activity: dict) -> tuple[int, str]:
    with pytest.raises(AuthRejected) as raised:
        auth.check(header, activity)
    return raised.value.status, raised.value.reason


def test_a_token_bot_framework_signed_for_this_activity_passes(idp, auth):
    verified = auth.check(f"Bearer {idp.token()}", idp.activity())
    assert verified.claims["aud"] == idp.app_id and verified.claims["serviceurl"] == idp.service_url
    assert verified.endorsements == frozenset({"msteams", "webchat"})


def test_the_token_is_checked_before_the_body_is_read_then_against_the_activity(idp, auth):
    verified = auth.verify(f"Bearer {idp.token()}")

    class Parsed:
        """The endpoint's own parsed activity, holding the JSON object as `raw`."""
        raw = idp.activity()

    auth.check_activity(verified, Parsed())
    auth.check_activity(verified, idp.activity())
    foreign = idp.activity(serviceUrl="https://smba.trafficmanager.net/emea/")
    with pytest.raises(AuthRejected) as raised:
        auth.check_activity(verified, foreign)
    assert (raised.value.status, raised.value.reason) == (403, "serviceUrl mismatch")
    with pytest.raises(AuthRejected):
        auth.check_activity(verified, object())


def test_the_scheme_is_case_insensitive_as_http_says(idp, auth):
    auth.check(f"bearer {idp.token()}", idp.activity())


def now() -> int:
    return int(time.time())


OTHER_KEY = rsa_key(40)  # never published by the fake

# (what is wrong, how the header is made from the fake, the status and reason expected)
REJECTED_TOKENS = [
    ("no header", lambda idp: None, (401, "no token")),
    ("empty header", lambda idp: "", (401, "no token")),
    ("bearer without a token", lambda idp: "Bearer ", (401, "no token")),
    ("basic scheme", lambda idp: "Basic dXNlcjpwYXNz", (401, "not a bearer token")),
    ("token without a scheme", lambda idp: idp.token(), (401, "not a bearer token")),
    ("not a jwt", lambda idp: "Bearer not.a.jwt", (401, "malformed token")),
    ("alg none", lambda idp: "Bearer " + idp.token(alg="none"), (401, "algorithm not allowed")),
    ("hs256 with the public key", lambda idp: "Bearer " + idp.token(alg="HS256"), (401, "algorithm not allowed")),
    ("hs256 with the public key, header says RS256",
     lambda idp: "Bearer " + idp.token(alg="HS256", header={"alg": "RS256"}), (401, "bad signature")),
    ("bad signature", lambda idp: "Bearer " + idp.token(signing_key=OTHER_KEY), (401, "bad signature")),
    ("no kid", lambda idp: "Bearer " + idp.token(kid=""), (401, "no key id")),
    ("unknown key", lambda idp: "Bearer " + idp.token(kid="not-published"), (401, "unknown signing key")),
    ("wrong issuer", lambda idp: "Bearer " + idp.token(iss="https://api.botframework.com.evil"), (401, "wrong issuer")),
    ("emulator token", lambda idp: "Bearer " + idp.token(iss="https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"),
     (401, "wrong issuer")),
    ("skill token", lambda idp: "Bearer " + idp.token(iss=f"https://login.microsoftonline.com/{idp.tenant_id}/v2.0"),
     (401, "wrong issuer")),
    ("no issuer", lambda idp: "Bearer " + idp.token(iss=None), (401, "required claim missing")),
    ("wrong audience", lambda idp: "Bearer " + idp.token(aud="11111111-2222-3333-4444-555555555555"),
     (401, "wrong audience")),
    ("no audience", lambda idp: "Bearer " + idp.token(aud=None), (401, "required claim missing")),
    ("expired beyond the skew", lambda idp: "Bearer " + idp.token(exp=now() - 330), (401, "token expired")),
    ("no expiry", lambda idp: "Bearer " + idp.token(exp=None), (401, "required claim missing")),
    ("not yet valid beyond the skew", lambda idp: "Bearer " + idp.token(nbf=now() + 400), (401, "token not yet valid")),
    ("huge header", lambda idp: "Bearer " + "a" * 20_000, (401, "token too large")),
]


@pytest.mark.parametrize("make_header, expected", [(make, expected) for _, make, expected in REJECTED_TOKENS],
                         ids=[name for name, _, _ in REJECTED_TOKENS])
def test_a_bad_token_is_refused_with_401_and_a_reason(idp, auth, make_header, expected):
    assert rejection(auth, make_header(idp), idp.activity()) == expected


def test_five_minutes_of_clock_skew_are_allowed_either_way(idp, auth):
    auth.check("Bearer " + idp.token(exp=int(time.time()) - 240), idp.activity())
    auth.check("Bearer " + idp.token(nbf=int(time.time()) + 240), idp.activity())


def test_a_token_meant_for_another_service_url_is_refused(idp, auth):
    header = "Bearer " + idp.token(serviceurl="https://smba.trafficmanager.net/emea/")
    assert rejection(auth, header, idp.activity()) == (403, "serviceUrl mismatch")
    assert rejection(auth, "Bearer " + idp.token(serviceurl=None), idp.activity()) == (403, "serviceUrl mismatch")
    activity = idp.activity(serviceUrl="https://attacker.example/teams/")
    assert rejection(auth, "Bearer " + idp.token(), activity) == (403, "serviceUrl mismatch")


def test_a_key_signs_only_for_the_channels_it_endorses(idp, auth):
    webchat_only = idp.add_key(endorsements=("webchat",))
    header = "Bearer " + idp.token(kid=webchat_only)
    assert rejection(auth, header, idp.activity()) == (403, "channel not endorsed")
    assert rejection(auth, "Bearer " + idp.token(), idp.activity(channelId="skype")) == (403, "channel not endorsed")
    assert rejection(auth, "Bearer " + idp.token(), idp.activity(channelId=None)) == (403, "channel not endorsed")


def test_an_activity_from_another_tenant_is_refused(idp, auth):
    foreign = "0f0f0f0f-0000-4000-8000-000000000000"
    cases = [
        idp.activity(channelData={"tenant": {"id": foreign}}, conversation={"id": "a:1", "tenantId": foreign}),
        idp.activity(channelData={"tenant": {"id": foreign}}),  # the two places disagree
        idp.activity(channelData=None, conversation={"id": "a:1"}),  # no tenant at all
    ]
    for activity in cases:
        assert rejection(auth, "Bearer " + idp.token(), activity) == (403, "foreign tenant")


def test_the_tenant_may_come_from_either_place_in_any_case(idp, auth):
    auth.check("Bearer " + idp.token(), idp.activity(channelData={}))
    auth.check("Bearer " + idp.token(), idp.activity(conversation={"id": "a:1"},
                                                     channelData={"tenant": {"id": idp.tenant_id.upper()}}))


def test_a_legacy_multi_tenant_bot_takes_any_tenant(idp, clock):
    auth = InboundAuth(settings=idp.settings(app_type=AppType.MULTI_TENANT, tenant_id=""), http=requests.Session(),
                       clock=clock)
    foreign = "0f0f0f0f-0000-4000-8000-000000000000"
    auth.check("Bearer " + idp.token(), idp.activity(channelData={"tenant": {"id": foreign}}, conversation={"id": "a"}))


def test_keys_are_fetched_once_and_reused(idp, auth):
    for _ in range(5):
        auth.check("Bearer " + idp.token(), idp.activity())
    assert (idp.fetches("metadata"), idp.fetches("keys")) == (1, 1)


def test_a_key_published_after_start_works_after_one_refresh(idp, auth, clock):
    auth.check("Bearer " + idp.token(), idp.activity())
    new = idp.add_key()
    clock.now += 300  # the keys were fetched at start; an unknown kid may fetch again 5 minutes later
    auth.check("Bearer " + idp.token(kid=new), idp.activity())
    assert idp.fetches("keys") == 2


def test_a_flood_of_unknown_kids_refreshes_at_most_once_per_window(idp, auth, clock):
    auth.check("Bearer " + idp.token(), idp.activity())
    clock.now += 300
    for number in range(200):
        assert rejection(auth, "Bearer " + idp.token(kid=f"bogus-{number}"), idp.activity())[1] == "unknown signing key"
        clock.now += 1  # 200 seconds: inside one 5-minute window
    assert idp.fetches("keys") == 2
    clock.now += 100
    rejection(auth, "Bearer " + idp.token(kid="bogus-again"), idp.activity())
    assert idp.fetches("keys") == 3


def test_a_key_withdrawn_is_refused_after_the_daily_refresh(idp, auth, clock):
    old = idp.kid
    auth.check("Bearer " + idp.token(), idp.activity())
    idp.kid = idp.add_key()
    idp.remove_key(old)
    auth.check("Bearer " + idp.token(kid=old), idp.activity())  # still cached
    clock.now += 24 * 3600
    assert rejection(auth, "Bearer " + idp.token(kid=old), idp.activity()) == (401, "unknown signing key")
    auth.check("Bearer " + idp.token(), idp.activity())


def test_a_flood_of_unknown_kids_from_many_threads_fetches_once(idp, auth, clock):
    auth.check("Bearer " + idp.token(), idp.activity())
    clock.now += 300
    tokens = [idp.token(kid=f"bogus-{number}") for number in range(80)]
    refused: list[str] = []

    def flood(part: list[str]) -> None:
        for token in part:
            try:
                auth.check("Bearer " + token, idp.activity())
            except AuthRejected as rejected:
                refused.append(rejected.reason)

    threads = [threading.Thread(target=flood, args=(tokens[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert refused == ["unknown signing key"] * 80
    assert idp.fetches("keys") == 2


def test_an_idp_outage_with_keys_cached_keeps_working(idp, auth, clock):
    auth.check("Bearer " + idp.token(), idp.activity())
    idp.down()
    clock.now += 24 * 3600  # the daily refresh fails: the cached keys stay in use
    auth.check("Bearer " + idp.token(), idp.activity())
    for _ in range(20):
        clock.now += 1
        auth.check("Bearer " + idp.token(), idp.activity())
    assert idp.fetches("metadata") == 2  # one failed try per window, not one per request


def test_without_keys_an_outage_is_503_then_heals(idp, auth, clock):
    idp.down()
    with pytest.raises(KeysUnavailable) as raised:
        auth.check("Bearer " + idp.token(), idp.activity())
    assert (raised.value.status, raised.value.reason) == (503, "signing keys unavailable")
    rejection(auth, "Bearer " + idp.token(), idp.activity())
    assert idp.fetches("metadata") == 2 - 1  # the second request did not fetch again at once
    idp.up()
    clock.now += 10
    auth.check("Bearer " + idp.token(), idp.activity())


def test_an_unreachable_idp_is_503_within_seconds(clock):
    keys = SigningKeys(metadata_url="http://127.0.0.1:9/v1/.well-known/openidconfiguration", http=requests.Session(),
                       clock=clock)
    started = time.monotonic()
    with pytest.raises(KeysUnavailable):
        keys.key("any")
    assert time.monotonic() - started < 10


def test_malformed_keys_are_skipped(idp, auth):
    idp.extra_keys = [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, {"kty": "RSA", "kid": "broken", "n": "!!"},
                      {"kty": "RSA"}, "not a key", None]
    idp.kid = idp.add_key(endorsements="msteams")  # not a list: endorses nothing
    assert rejection(auth, "Bearer " + idp.token(), idp.activity()) == (403, "channel not endorsed")
    assert rejection(auth, "Bearer " + idp.token(kid="hmac", alg="HS256", secret=b"secret"), idp.activity()) == \
        (401, "algorithm not allowed")
    assert rejection(auth, "Bearer " + idp.token(kid="broken"), idp.activity()) == (401, "unknown signing key")


@pytest.mark.parametrize("metadata", [{"jwks_uri": None}, {"jwks_uri": "ftp://127.0.0.1/keys"},
                                      {"jwks_uri": "http://example.com/keys"}, {"jwks_uri": 7}])
def test_metadata_without_a_trustworthy_key_address_is_an_outage(idp, auth, metadata):
    idp.metadata_changes = metadata
    assert rejection(auth, "Bearer " + idp.token(), idp.activity()) == (503, "signing keys unavailable")
    assert idp.fetches("keys") == 0


def test_activity_tenant_reads_either_place():
    assert activity_tenant({"channelData": {"tenant": {"id": "T"}}}) == "t"
    assert activity_tenant({"conversation": {"tenantId": "t"}, "channelData": {"tenant": {"id": "T"}}}) == "t"
    assert activity_tenant({"conversation": {"tenantId": "a"}, "channelData": {"tenant": {"id": "b"}}}) == ""
    assert activity_tenant({"conversation": "x", "channelData": ["y"]}) == ""


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=3), max_leaves=10)


@pytest.fixture(scope="module")
def shared_idp():
    with FakeBotFramework() as fake:
        yield fake


@given(header=st.one_of(st.none(), st.text(max_size=300), st.builds(lambda t: "Bearer " + t, st.text(max_size=300))),
       activity=st.dictionaries(st.sampled_from(["serviceUrl", "channelId", "channelData", "conversation", "type"]),
                                json_values, max_size=5))
def test_garbled_headers_and_activities_are_only_ever_rejected(shared_idp, header, activity):
    auth = InboundAuth(settings=shared_idp.settings(), http=requests.Session())
    with pytest.raises(AuthRejected):
        auth.check(header, activity)


@given(data=st.data())
def test_a_real_token_with_garbled_parts_or_activity_is_only_ever_rejected(shared_idp, data):
    token = shared_idp.token()
    header, payload, signature = token.split(".")
    part = data.draw(st.sampled_from([0, 1, 2]))
    parts = [header, payload, signature]
    garble = data.draw(st.text(alphabet="ABCDEFabcdef0123456789-_.=+/ ", max_size=40))
    position = data.draw(st.integers(0, len(parts[part])))
    parts[part] = parts[part][:position] + garble + parts[part][position + len(garble):]
    activity = data.draw(st.one_of(st.just(shared_idp.activity()), st.dictionaries(st.text(max_size=12), json_values,
                                                                                   max_size=6)))
    auth = InboundAuth(settings=shared_idp.settings(), http=requests.Session())
    try:
        auth.check("Bearer " + ".".join(parts), activity)
    except AuthRejected:
        pass
    else:  # only a garble that changed nothing may pass
        assert ".".join(parts) == token and activity == shared_idp.activity()
