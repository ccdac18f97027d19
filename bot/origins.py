"""Where a bot token may be sent: an address's origin, read as the HTTP client will read it."""

from __future__ import annotations

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

DEFAULT_PORTS = {"https": 443, "http": 80}

Origin = tuple[str, str, int]  # scheme, host (lower case), port


def origin_of(url: str) -> Origin | None:
    """The (scheme, host, port) an address connects to, or None if it is not a plain http(s) address.

    The address is checked as if hostile, with the parser the HTTP client (requests, through urllib3)
    will connect with: a checker that reads the host one way and a client that reads it another would
    send the token elsewhere. Userinfo, backslashes, whitespace and anything outside printable ASCII
    are refused outright.
    """
    if not isinstance(url, str) or not url.isascii() or not url.isprintable() or any(ch in url for ch in "\\ \t"):
        return None
    try:
        parts = parse_url(url)
    except LocationParseError:
        return None
    if parts.auth is not None or not parts.host or parts.scheme not in DEFAULT_PORTS:
        return None
    return parts.scheme, parts.host.lower(), parts.port or DEFAULT_PORTS[parts.scheme]
