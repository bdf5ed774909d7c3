"""Where the managed handshake may send the browser back: the account's registered origins.

An origin is ``scheme://host[:port]`` (lower-case, default ports left out). ``return_url`` must
be https, or http on a loopback host (local development), carry no user info, and have an
origin the account registered: Lockstitch never becomes an open redirect.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlError(ValueError):
    pass


def origin_of(url: str) -> str:
    """The normalized origin of an absolute URL; raises ``UrlError`` with the reason."""
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c in url for c in "\x00\r\n\t "):
        raise UrlError("must be an absolute URL")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UrlError("must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise UrlError("must not contain user information")
    host = parts.hostname.lower()
    if scheme == "http" and host not in _LOOPBACK:
        raise UrlError("must use https (http is allowed for localhost only)")
    try:
        port = parts.port
    except ValueError:
        raise UrlError("has an invalid port") from None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origin(value: object) -> str:
    """An origin as a person writes it (``https://App.example.com/``), normalized."""
    if not isinstance(value, str):
        raise UrlError("must be a string")
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UrlError("must be an origin (scheme://host[:port]) without a path")
    return origin_of(value)


# What the callback reports to the partner's page; the return_url's own values for them go.
RESULT_PARAMS = frozenset({"source_id", "status", "error"})


def with_params(url: str, params: dict[str, str]) -> str:
    """``url`` with the callback's result in its query: the partner's own parameters kept, except
    any named like a result parameter (one ``status`` only, the true one), fragment dropped."""
    parts = urlsplit(url)
    # The partner's parameters are kept byte for byte (their encoding is theirs).
    kept = [p for p in parts.query.split("&") if p and unquote_plus(p.split("=", 1)[0]) not in RESULT_PARAMS]
    query = "&".join([*kept, urlencode(params)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
