"""A local Microsoft Entra token endpoint over https, for msal: a test CA, tenant discovery, client credentials.

    with FakeEntra(tenant_id=TENANT, app_id=APP, secret="s3cret", directory=tmp_path) as entra:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(entra.ca_bundle))  # msal verifies the server's certificate
        tokens = BotTokens(settings=replace(teams, login_host=entra.login_host))
        assert tokens.token() in entra.issued
        entra.fail_next(aadsts=7000215)  # the next token request answers as Entra does for a wrong secret

msal speaks only https to an authority, so the fake makes a CA and a server certificate for 127.0.0.1 with
`cryptography` and writes the CA as a bundle file. It answers tenant discovery
(`/{tenant}/v2.0/.well-known/openid-configuration`), the token endpoint (`/{tenant}/oauth2/v2.0/token`)
and App Service's managed identity endpoint (`/msi/token`, for `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`),
with Entra's error shapes: an unknown tenant is AADSTS90002, an unknown app AADSTS700016, a wrong secret
AADSTS7000215. Every request is counted by kind ("discovery", "token", "msi").
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from testkit.local_server import LocalServer

BOTFRAMEWORK_SCOPE = "https://api.botframework.com/.default"
BOTFRAMEWORK_RESOURCE = "https://api.botframework.com"
IDENTITY_HEADER = "fake-identity-header"

# Entra's answers for the codes tests ask for: (HTTP status, OAuth error, the description's first sentence).
AADSTS: dict[int, tuple[int, str, str]] = {
    700016: (400, "unauthorized_client", "Application with identifier '{app}' was not found in the directory "
                                         "'{tenant}'. This can happen if the application has not been installed by "
                                         "the administrator of the tenant or consented to by any user in the tenant."),
    7000215: (401, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is "
                                     "the client secret value, not the client secret ID, for a secret added to app "
                                     "'{app}'."),
    7000222: (401, "invalid_client", "The provided client secret keys for app '{app}' are expired."),
    90002: (400, "invalid_tenant", "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                                   "and are signing into the correct cloud."),
    70011: (400, "invalid_scope", "The provided request must include a 'scope' input parameter."),
    53003: (400, "access_denied", "Access has been blocked by Conditional Access policies."),
    7000112: (401, "unauthorized_client", "Application '{app}' is disabled."),
}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@dataclass(frozen=True)
class TestCertificates:
    """A CA and a server certificate it signed for 127.0.0.1 and localhost, as PEM files in a folder."""

    ca_bundle: Path  # what REQUESTS_CA_BUNDLE should name
    certificate: Path
    private_key: Path

    __test__ = False  # not a pytest test class

    @classmethod
    def make(cls, directory: Path) -> TestCertificates:
        """Create the CA and the server's key and certificate in `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(_name("StaffSafe test CA")).issuer_name(_name("StaffSafe test CA"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        server = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
                  .public_key(key.public_key()).serial_number(x509.random_serial_number())
                  .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                  .add_extension(x509.SubjectAlternativeName(names), critical=False)
                  .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                  .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                  .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                  .sign(ca_key, hashes.SHA256()))
        made = cls(ca_bundle=directory / "test-ca.pem", certificate=directory / "server.pem",
                   private_key=directory / "server-key.pem")
        made.ca_bundle.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        made.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        made.private_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        return made

    def server_context(self) -> ssl.SSLContext:
        """A TLS context serving the certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.private_key)
        return context


@dataclass
class _Fault:
    aadsts: int | None = None
    status: int | None = None
    times: int = 1


class FakeEntra(LocalServer):
    """Entra's discovery, token and managed identity endpoints for one tenant and app, over https; a context manager."""

    scheme = "https"

    def __init__(self, *, tenant_id: str, app_id: str, secret: str = "fake-secret", directory: Path,
                 expires_in: int = 3599) -> None:
        self.tenant_id = tenant_id
        self.app_id = app_id
        self.secret = secret
        self.expires_in = expires_in
        self.certificates = TestCertificates.make(directory)
        self.issued: list[str] = []  # every access token handed out, oldest first
        self.bodies: list[dict[str, str]] = []  # every token request's form (secrets included: it is a test)
        self._requests: Counter[str] = Counter()
        self._faults: dict[str, deque[_Fault]] = {"discovery": deque(), "token": deque(), "msi": deque()}
        self._lock = threading.Lock()

    def tls_context(self) -> ssl.SSLContext:
        """https with the test CA's server certificate."""
        return self.certificates.server_context()

    @property
    def login_host(self) -> str:
        """https://127.0.0.1:PORT, for TEAMS_LOGIN_HOST."""
        return self.base_url

    @property
    def ca_bundle(self) -> Path:
        """The test CA as a PEM file, for REQUESTS_CA_BUNDLE."""
        return self.certificates.ca_bundle

    @property
    def identity_endpoint(self) -> str:
        """App Service's managed identity endpoint, for IDENTITY_ENDPOINT (with IDENTITY_HEADER)."""
        return self.login_host + "/msi/token"

    def requests(self, kind: str = "token") -> int:
        """How many requests of a kind arrived: "discovery", "token" or "msi"."""
        with self._lock:
            return self._requests[kind]

    def fail_next(self, kind: str = "token", *, aadsts: int | None = None, status: int | None = None,
                  times: int = 1) -> None:
        """Answer the next requests of a kind with Entra's error for an AADSTS code, or a bare HTTP status."""
        with self._lock:
            self._faults[kind].append(_Fault(aadsts=aadsts, status=status, times=times))

    # -- answers ---------------------------------------------------------------------------------------------

    def _answer(self, verb: str, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        route = urlsplit(path).path.strip("/").split("/")
        if verb == "GET" and route[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._guarded("discovery", route[0], lambda: self._discovery(route[0]))
        if verb == "POST" and route[1:] == ["oauth2", "v2.0", "token"]:
            with self._lock:
                self.bodies.append(form)
            return self._guarded("token", route[0], lambda: self._token(route[0], form))
        if verb == "GET" and route == ["msi", "token"]:
            query = {name: values[0] for name, values in parse_qs(urlsplit(path).query).items()}
            return self._guarded("msi", self.tenant_id, lambda: self._msi(query, headers))
        return 404, {"error": "not_found"}

    def _guarded(self, kind: str, tenant: str, answer: Any) -> tuple[int, Any]:
        with self._lock:
            self._requests[kind] += 1
            fault = self._faults[kind][0] if self._faults[kind] else None
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults[kind].popleft()
        if fault is not None and fault.aadsts is not None:
            return self._error(fault.aadsts, tenant)
        if fault is not None:
            return fault.status or 500, {"error": "temporarily_unavailable"}
        return answer()

    def _discovery(self, tenant: str) -> tuple[int, Any]:
        if tenant != self.tenant_id:
            return self._error(90002, tenant)
        base = f"{self.login_host}/{tenant}"
        return 200, {"token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                     "issuer": f"{self.login_host}/{tenant}/v2.0", "jwks_uri": f"{base}/discovery/v2.0/keys",
                     "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                               "client_secret_basic"]}

    def _token(self, tenant: str, form: dict[str, str]) -> tuple[int, Any]:
        if tenant != self.tenant_id:
            return self._error(90002, tenant)
        if form.get("client_id") != self.app_id:
            return self._error(700016, tenant, app=form.get("client_id", ""))
        if form.get("client_secret") != self.secret:
            return self._error(7000215, tenant)
        if form.get("grant_type") != "client_credentials" or form.get("scope", "").split() != [BOTFRAMEWORK_SCOPE]:
            return self._error(70011, tenant)
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "ext_expires_in": self.expires_in,
                     "access_token": self._new_token()}

    def _msi(self, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if headers.get("x-identity-header") != IDENTITY_HEADER:
            return 400, {"statusCode": 400, "message": "The request is missing the X-IDENTITY-HEADER header."}
        if query.get("client_id") != self.app_id:
            return 400, {"statusCode": 400, "message": "No User Assigned or Delegated Managed Identity found for "
                                                       "specified ClientId/ResourceId/PrincipalId."}
        if query.get("resource") != BOTFRAMEWORK_RESOURCE:
            return 500, {"statusCode": 500, "message": "An unexpected error occured while fetching the AAD Token."}
        return 200, {"access_token": self._new_token(), "expires_on": str(int(time.time()) + self.expires_in),
                     "resource": BOTFRAMEWORK_RESOURCE, "token_type": "Bearer", "client_id": self.app_id}

    def _new_token(self) -> str:
        with self._lock:
            token = f"entra-token-{len(self.issued) + 1}-{uuid.uuid4().hex[:8]}"
            self.issued.append(token)
            return token

    def _error(self, code: int, tenant: str, *, app: str | None = None) -> tuple[int, Any]:
        status, error, description = AADSTS.get(code, (400, "invalid_request", "Something is wrong."))
        trace = uuid.uuid4()
        text = description.format(app=self.app_id if app is None else app, tenant=tenant)
        return status, {"error": error,
                        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {uuid.uuid4()} "
                                             f"Timestamp: 2026-11-30 09:00:00Z",
                        "error_codes": [code], "timestamp": "2026-11-30 09:00:00Z", "trace_id": str(trace),
                        "correlation_id": str(uuid.uuid4()), "error_uri": f"{self.login_host}/error?code={code}"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEntra
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._reply(*self.fake._answer("GET", self.path, {}, self._headers()))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        form = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
        self._reply(*self.fake._answer("POST", self.path, form, self._headers()))

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _reply(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


FakeEntra.handler = _Handler
