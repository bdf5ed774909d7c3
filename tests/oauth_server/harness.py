"""A real OAuth 2.0 / OpenID Connect provider for tests: panva's oidc-provider in a Node process.

Fixture-free API::

    from tests.oauth_server.harness import OidcProvider, ProviderConfig, authorize, obtain_refresh_token

    config = ProviderConfig.default(redirect_uris=[f"http://127.0.0.1:{port}/oauth/callback"])
    with OidcProvider().start(config) as provider:
        byo = provider.client("byo")
        tokens = obtain_refresh_token(provider, byo.client_id, byo.client_secret, byo.redirect_uris[0])
        provider.stats()["refresh_success"]

``ensure_installed`` puts the pinned npm packages in a cache outside the repository, once per
lockfile. ``authorize`` drives the provider's login and consent pages over plain HTTP like a
browser and stops at the redirect back to the client. ``FaultProxy`` (re-exported from
``fault_proxy``) sits in front of the token endpoint and injects errors, delays and drops.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import httpx

from tests.canary import remember
from tests.oauth_server.fault_proxy import FaultProxy, RecordedRequest, Step, token_hash

__all__ = [
    "BYO",
    "MANAGED",
    "OIDC_PROVIDER_VERSION",
    "PLACEHOLDER_REDIRECT_URI",
    "RESOURCE_SERVER",
    "AuthorizationFlowError",
    "FaultProxy",
    "HarnessUnavailableError",
    "OAuthClient",
    "OidcProvider",
    "ProviderConfig",
    "RecordedRequest",
    "Step",
    "authorization_url",
    "authorize",
    "authorize_async",
    "default_cache_root",
    "ensure_installed",
    "free_port",
    "lockfile_hash",
    "obtain_refresh_token",
    "obtain_refresh_token_async",
    "pkce_pair",
    "token_hash",
    "token_request",
    "token_request_async",
]

PACKAGE_DIR = Path(__file__).resolve().parent
SERVER_SCRIPT = PACKAGE_DIR / "server.mjs"
OIDC_PROVIDER_VERSION: str = json.loads((PACKAGE_DIR / "package.json").read_text())["dependencies"][
    "oidc-provider"
]
MANAGED = "managed"
BYO = "byo"
RESOURCE_SERVER = "api"
PLACEHOLDER_REDIRECT_URI = "http://127.0.0.1/oauth/callback"
DAY = 24 * 3600
EXIT_ADDRESS_IN_USE = 3

AuthMethod = Literal["client_secret_basic", "client_secret_post"]


class HarnessUnavailableError(RuntimeError):
    """Node or npm is missing, or the packages cannot be installed."""


class AuthorizationFlowError(RuntimeError):
    """The authorization flow stopped somewhere other than the client's redirect URI."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- installation


def lockfile_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update(name.encode() + b"\0" + (PACKAGE_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def default_cache_root() -> Path:
    """$LOCKSTITCH_TEST_CACHE, else $XDG_CACHE_HOME/lockstitch-test, else ~/.cache/lockstitch-test."""
    if os.environ.get("LOCKSTITCH_TEST_CACHE"):
        return Path(os.environ["LOCKSTITCH_TEST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lockstitch-test"


@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessUnavailableError(f"timed out waiting for the install lock {path}") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _installed(target: Path) -> bool:
    return (target / ".installed").is_file() and (target / "node_modules" / "oidc-provider").is_dir()


def ensure_installed(cache_dir: str | os.PathLike[str] | None = None, *, timeout: float = 600) -> Path:
    """Install the pinned npm packages under ``cache_dir`` (default: ``default_cache_root()``).

    Returns ``<cache_dir>/oidc-provider-<lockfile hash>``, the directory holding ``node_modules``.
    ``npm ci`` runs once per lockfile; concurrent callers (pytest-xdist workers) wait on a file
    lock and the install lands by an atomic rename, so nobody sees a half-installed tree.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_root()
    target = root / f"oidc-provider-{lockfile_hash()}"
    if _installed(target):
        return target
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise HarnessUnavailableError(
            "node and npm are needed for the OAuth provider tests (Node 20 or newer)"
        )
    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / f"{target.name}.lock", timeout):
        if _installed(target):
            return target
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", suffix=".partial", dir=root))
        staging.chmod(0o755)  # mkdtemp makes it 0700
        try:
            for name in ("package.json", "package-lock.json"):
                shutil.copy2(PACKAGE_DIR / name, staging / name)
            env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"],
                cwd=staging,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode != 0:
                raise HarnessUnavailableError(
                    f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                )
            installed = json.loads((staging / "node_modules" / "oidc-provider" / "package.json").read_text())
            if installed["version"] != OIDC_PROVIDER_VERSION:
                raise HarnessUnavailableError(f"npm installed oidc-provider {installed['version']}")
            (staging / ".installed").write_text(f"oidc-provider {OIDC_PROVIDER_VERSION}\n")
            if target.exists():  # a leftover without the marker
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------- configuration


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    scope: str | None = None  # scopes the client may ask for; None: any

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types),
        }
        if self.scope:
            data["scope"] = self.scope
        return data


@dataclass
class ProviderConfig:
    clients: list[OAuthClient]
    access_token_ttl: int = 10
    refresh_token_ttl: int = 14 * DAY
    authorization_code_ttl: int = 60
    grant_ttl: int = 14 * DAY
    session_ttl: int = 14 * DAY
    interaction_ttl: int = 600
    id_token_ttl: int = 3600
    # Scopes besides openid and offline_access.
    scopes: list[str] = field(default_factory=lambda: ["api:read", "api:write"])
    pkce_required: bool = False
    # "always": every code exchange for a client allowed the refresh_token grant gets one;
    # "offline_access": only when that scope was granted (oidc-provider's default).
    refresh_token_policy: Literal["always", "offline_access"] = "always"
    rotate_refresh_token: bool = True
    port: int | None = None  # None: a free port is picked
    admin_port: int | None = None

    @classmethod
    def default(cls, redirect_uris: Sequence[str] = (), **overrides: Any) -> ProviderConfig:
        """Clients ``managed`` (client_secret_basic), ``byo`` (client_secret_post) and ``api`` (a
        resource server that may only introspect), with fresh random secrets."""
        # Code-flow clients need a redirect URI; authorize() never follows it, so a placeholder works
        # until set_redirect_uris() gives the real one.
        uris = list(redirect_uris) or [PLACEHOLDER_REDIRECT_URI]
        clients = [
            OAuthClient(MANAGED, secrets.token_urlsafe(24), list(uris), "client_secret_basic"),
            OAuthClient(BYO, secrets.token_urlsafe(24), list(uris), "client_secret_post"),
            OAuthClient(
                RESOURCE_SERVER, secrets.token_urlsafe(24), [], "client_secret_basic", grant_types=[]
            ),
        ]
        return cls(clients=clients, **overrides)

    def with_ttl(self, **ttls: int) -> ProviderConfig:
        """A copy with other TTLs, e.g. ``config.with_ttl(access_token_ttl=2)``."""
        changes: dict[str, Any] = {
            key if key.endswith("_ttl") else f"{key}_ttl": v for key, v in ttls.items()
        }
        return replace(self, **changes)

    def to_json(self, port: int, admin_port: int) -> dict[str, Any]:
        return {
            "port": port,
            "admin_port": admin_port,
            "host": "127.0.0.1",
            "clients": [client.metadata() for client in self.clients],
            "ttl": {
                "AccessToken": self.access_token_ttl,
                "RefreshToken": self.refresh_token_ttl,
                "AuthorizationCode": self.authorization_code_ttl,
                "Grant": self.grant_ttl,
                "Session": self.session_ttl,
                "Interaction": self.interaction_ttl,
                "IdToken": self.id_token_ttl,
            },
            "scopes": list(self.scopes),
            "pkce_required": self.pkce_required,
            "refresh_token_policy": self.refresh_token_policy,
            "rotate_refresh_token": self.rotate_refresh_token,
            "parent_pid": os.getpid(),
        }


# ---------------------------------------------------------------------------- the provider process


class OidcProvider:
    """oidc-provider in a Node subprocess. ``start`` returns once discovery answers."""

    def __init__(
        self,
        config: ProviderConfig | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        node: str = "node",
    ) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.node = node
        self._log_path = Path(log_path) if log_path is not None else None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.admin_port = 0
        self.discovery: dict[str, Any] = {}
        self.startup_seconds = 0.0

    # -- lifecycle

    def start(self, config: ProviderConfig | None = None, *, timeout: float = 30.0) -> Self:
        if self.process is not None:
            raise RuntimeError("the provider is already running")
        if config is not None:
            self.config = config
        if self.config is None:
            self.config = ProviderConfig.default()
        modules = ensure_installed(self.cache_dir)
        if self._log_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="oidc-provider-")
            self._log_path = Path(self._tmpdir.name) / "provider.log"
        began = time.monotonic()
        for attempt in range(3):
            self.port = self.config.port or free_port()
            self.admin_port = self.config.admin_port or free_port()
            while self.admin_port == self.port:
                self.admin_port = free_port()
            env = {
                **os.environ,
                "LOCKSTITCH_OIDC_CONFIG": json.dumps(self.config.to_json(self.port, self.admin_port)),
                "LOCKSTITCH_OIDC_NODE_MODULES": str(modules),
            }
            with self._log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [self.node, str(SERVER_SCRIPT)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            code = self._wait_ready(began + timeout)
            if code is None:
                self.startup_seconds = time.monotonic() - began
                return self
            self.process = None
            fixed = self.config.port is not None and self.config.admin_port is not None
            if code != EXIT_ADDRESS_IN_USE or fixed or attempt == 2:
                raise RuntimeError(f"oidc-provider exited with {code}:\n{self.log_text()}")
        raise AssertionError("unreachable")

    def _wait_ready(self, deadline: float) -> int | None:
        """None once discovery answers; the exit code if the process died first."""
        assert self.process is not None
        url = f"http://127.0.0.1:{self.port}/.well-known/openid-configuration"
        delay = 0.02
        with httpx.Client(timeout=2.0) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    return code
                with contextlib.suppress(httpx.TransportError):
                    response = http.get(url)
                    if response.status_code == 200:
                        self.discovery = response.json()
                        return None
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"oidc-provider did not answer {url} in time:\n{self.log_text()}")
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def close(self) -> None:
        self.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
            self._log_path = None

    def __enter__(self) -> Self:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_text(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")

    # -- endpoints

    @property
    def issuer(self) -> str:
        return str(self.discovery["issuer"])

    @property
    def authorization_endpoint(self) -> str:
        return str(self.discovery["authorization_endpoint"])

    @property
    def token_endpoint(self) -> str:
        return str(self.discovery["token_endpoint"])

    @property
    def introspection_endpoint(self) -> str:
        return str(self.discovery["introspection_endpoint"])

    @property
    def revocation_endpoint(self) -> str:
        return str(self.discovery["revocation_endpoint"])

    @property
    def jwks_uri(self) -> str:
        return str(self.discovery["jwks_uri"])

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def client(self, client_id: str) -> OAuthClient:
        assert self.config is not None
        for client in self.config.clients:
            if client.client_id == client_id:
                return client
        raise KeyError(client_id)

    # -- admin API

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.request(method, self.admin_url + path, json=body, timeout=10.0)

    def stats(self) -> dict[str, int]:
        """Counters since start or the last reset(); see server.mjs for the events behind them."""
        response = self._admin("GET", "/stats")
        response.raise_for_status()
        return dict(response.json())

    def issued(self) -> list[str]:
        """Every token and authorization code the provider issued since it started."""
        response = self._admin("GET", "/issued")
        response.raise_for_status()
        return list(response.json())

    def reset(self) -> dict[str, int]:
        response = self._admin("POST", "/reset")
        response.raise_for_status()
        return dict(response.json())

    def revoke_grant(
        self,
        *,
        refresh_token: str | None = None,
        access_token: str | None = None,
        grant_id: str | None = None,
    ) -> str:
        """Revoke a whole grant as a user removing the app's access would; returns the grant id."""
        body = {
            key: value
            for key, value in (
                ("refresh_token", refresh_token),
                ("access_token", access_token),
                ("grant_id", grant_id),
            )
            if value
        }
        response = self._admin("POST", "/revoke-grant", body)
        if response.status_code != 200:
            raise LookupError(response.json().get("error", response.text))
        return str(response.json()["grant_id"])

    def register_client(self, client: OAuthClient) -> None:
        """Add or replace a client while the provider runs (e.g. another redirect URI)."""
        response = self._admin("POST", "/clients", client.metadata())
        if response.status_code != 200:
            raise ValueError(response.json().get("error", response.text))
        assert self.config is not None
        self.config.clients = [c for c in self.config.clients if c.client_id != client.client_id] + [client]

    def set_redirect_uris(self, client_id: str, redirect_uris: Sequence[str]) -> OAuthClient:
        client = replace(self.client(client_id), redirect_uris=list(redirect_uris))
        self.register_client(client)
        return client


# ---------------------------------------------------------------------------- OAuth helpers


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_url(
    provider: OidcProvider | str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str = "openid offline_access api:read",
    state: str | None = None,
    code_challenge: str | None = None,
    **extra: str,
) -> str:
    endpoint = provider.authorization_endpoint if isinstance(provider, OidcProvider) else provider
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope}
    if state is not None:
        params["state"] = state
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    params.update(extra)
    return f"{endpoint}?{urlencode(params)}"


class _Forms(HTMLParser):
    """Collects <form id=...> elements with their action, method and named <input> values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self.texts: dict[str, str] = {}
        self._form: dict[str, Any] | None = None
        self._text_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = {
                "action": attr.get("action", ""),
                "method": attr.get("method", "get").upper(),
                "fields": {},
            }
            self.forms[attr.get("id") or f"form{len(self.forms)}"] = self._form
        elif tag == "input" and self._form is not None and attr.get("name"):
            self._form["fields"][attr["name"]] = attr.get("value", "")
        elif attr.get("id") in ("error", "error_description"):
            self._text_id = attr["id"]
            self.texts[self._text_id] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        self._text_id = None

    def handle_data(self, data: str) -> None:
        if self._text_id:
            self.texts[self._text_id] += data


_Request = tuple[str, str, dict[str, str] | None]


def _authorize_steps(
    url: str, *, login: str, password: str, consent: bool
) -> Generator[_Request, httpx.Response, dict[str, str]]:
    """The browser's side of the flow, without I/O: yields requests, receives responses."""
    origin = urlsplit(url)[:2]
    request: _Request = ("GET", url, None)
    for _ in range(20):
        response = yield request
        here = str(response.request.url)
        if response.is_redirect:
            location = urljoin(here, response.headers["location"])
            parts = urlsplit(location)
            if parts[:2] == origin and parts.path.startswith(("/auth", "/interaction/")):
                request = ("GET", location, None)
                continue
            result = dict(parse_qsl(parts.query, keep_blank_values=True))
            result["redirect_url"] = location
            remember(result.get("code"))
            return result
        page = _Forms()
        page.feed(response.text)
        if response.status_code != 200:
            detail = " ".join(filter(None, (page.texts.get("error"), page.texts.get("error_description"))))
            raise AuthorizationFlowError(
                f"{response.status_code} at {here}: {detail or response.text[:200]}",
                status=response.status_code,
                body=response.text,
            )
        if "login" in page.forms:
            form = page.forms["login"]
            data = {**form["fields"], "login": login, "password": password}
        elif "consent" in page.forms:
            form = page.forms["consent" if consent else "deny"]
            data = dict(form["fields"])
        else:
            raise AuthorizationFlowError(
                f"no login or consent form at {here}", status=200, body=response.text
            )
        request = (form["method"], urljoin(here, form["action"]), data)
    raise AuthorizationFlowError(f"the authorization flow did not end: last request {request[1]}")


def authorize(
    authorization_url: str,
    *,
    login: str = "user",
    password: str = "password",
    consent: bool = True,
    http: httpx.Client | None = None,
) -> dict[str, str]:
    """Drive the provider's pages like a browser (fresh cookies unless ``http`` is given).

    Returns the query parameters of the redirect to the client (``code``, ``state``, ``iss`` or
    ``error``...) plus ``redirect_url``, the full URL, which is not requested.
    """
    client = http or httpx.Client(timeout=10.0)
    steps = _authorize_steps(authorization_url, login=login, password=password, consent=consent)
    try:
        request = next(steps)
        while True:
            method, url, data = request
            response = client.request(method, url, data=data, follow_redirects=False)
            request = steps.send(response)
    except StopIteration as done:
        return dict(done.value)
    finally:
        if http is None:
            client.close()


async def authorize_async(
    authorization_url: str,
    *,
    login: str = "user",
    password: str = "password",
    consent: bool = True,
    http: httpx.AsyncClient | None = None,
) -> dict[str, str]:
    """``authorize`` for async code."""
    client = http or httpx.AsyncClient(timeout=10.0)
    steps = _authorize_steps(authorization_url, login=login, password=password, consent=consent)
    try:
        request = next(steps)
        while True:
            method, url, data = request
            response = await client.request(method, url, data=data, follow_redirects=False)
            request = steps.send(response)
    except StopIteration as done:
        return dict(done.value)
    finally:
        if http is None:
            await client.aclose()


def _token_args(
    client_id: str, client_secret: str, data: dict[str, str], auth_method: AuthMethod
) -> tuple[dict[str, str], dict[str, str]]:
    headers = {"Accept": "application/json"}
    form = dict(data)
    if auth_method == "client_secret_basic":
        raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
    else:
        form.update(client_id=client_id, client_secret=client_secret)
    return form, headers


def token_request(
    endpoint: str,
    client_id: str,
    client_secret: str,
    data: dict[str, str],
    *,
    auth_method: AuthMethod = "client_secret_basic",
    timeout: float = 10.0,
) -> httpx.Response:
    """POST ``data`` to a token (or introspection/revocation) endpoint with client authentication."""
    form, headers = _token_args(client_id, client_secret, data, auth_method)
    return httpx.post(endpoint, data=form, headers=headers, timeout=timeout)


async def token_request_async(
    endpoint: str,
    client_id: str,
    client_secret: str,
    data: dict[str, str],
    *,
    auth_method: AuthMethod = "client_secret_basic",
    timeout: float = 10.0,  # noqa: ASYNC109 - httpx's per-request timeout, not a cancellation scope
    http: httpx.AsyncClient | None = None,
) -> httpx.Response:
    form, headers = _token_args(client_id, client_secret, data, auth_method)
    if http is not None:
        return await http.post(endpoint, data=form, headers=headers, timeout=timeout)
    async with httpx.AsyncClient() as client:
        return await client.post(endpoint, data=form, headers=headers, timeout=timeout)


def _auth_method(provider: OidcProvider, client_id: str, auth_method: AuthMethod | None) -> AuthMethod:
    if auth_method is not None:
        return auth_method
    try:
        return provider.client(client_id).token_endpoint_auth_method
    except KeyError:
        return "client_secret_basic"


def _check_redirect(provider: OidcProvider, result: dict[str, str], state: str) -> str:
    if "code" not in result:
        raise AuthorizationFlowError(f"no code in the redirect: {result}")
    if result.get("state") != state or result.get("iss") != provider.issuer:
        raise AuthorizationFlowError(f"state or iss do not match: {result}")
    return result["code"]


def _token_json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise AuthorizationFlowError(f"code exchange failed: {response.status_code} {response.text}")
    tokens = dict(response.json())
    remember(*(tokens.get(k) for k in ("access_token", "refresh_token", "id_token")))
    return tokens


def obtain_refresh_token(
    provider: OidcProvider,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    scope: str = "openid offline_access api:read",
    *,
    login: str = "user",
    auth_method: AuthMethod | None = None,
) -> dict[str, Any]:
    """A full authorization-code flow with PKCE; returns the token response.

    For "bring your own credentials" tests: the dict has access_token, refresh_token,
    expires_in, scope, token_type (and id_token with the openid scope).
    """
    state = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair()
    url = authorization_url(
        provider,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=challenge,
    )
    code = _check_redirect(provider, authorize(url, login=login), state)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    method = _auth_method(provider, client_id, auth_method)
    return _token_json(
        token_request(provider.token_endpoint, client_id, client_secret, data, auth_method=method)
    )


async def obtain_refresh_token_async(
    provider: OidcProvider,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    scope: str = "openid offline_access api:read",
    *,
    login: str = "user",
    auth_method: AuthMethod | None = None,
) -> dict[str, Any]:
    state = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair()
    url = authorization_url(
        provider,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=challenge,
    )
    code = _check_redirect(provider, await authorize_async(url, login=login), state)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    method = _auth_method(provider, client_id, auth_method)
    response = await token_request_async(
        provider.token_endpoint, client_id, client_secret, data, auth_method=method
    )
    return _token_json(response)
