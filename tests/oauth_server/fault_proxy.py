"""A programmable HTTP/1.1 reverse proxy for putting faults between a client and a token endpoint.

Pure asyncio streams for the listening side, httpx for the upstream side. One request per
connection (the proxy answers ``Connection: close``). Every request is recorded, with secrets
masked: a refresh token appears only as ``token_hash(value)`` so tests can tell reuse apart.

Steps, consumed one per matching request, in order (``pass`` once the program runs out)::

    ("pass",)                  forward to the upstream, relay its answer
    ("status", 503)            answer 503 without contacting the upstream (any status)
    ("status", 429, 2)         ... with ``Retry-After: 2``
    ("retry_after", 2)         shorthand for ("status", 429, 2)
    ("delay", 5)               hold the request 5 s, then forward it and relay the answer; if the
                               client hangs up first, the request is never forwarded
    ("delay_response", 5)      forward at once, hold the upstream's answer 5 s, then relay it
    ("drop",)                  forward, read the upstream's whole answer, then close the client's
                               connection without sending a byte of it

A program is a list of steps or a callable ``(RecordedRequest) -> step`` (``None`` means pass).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import httpx

from tests.canary import remember

Action = tuple[Any, ...]
Program = Iterable[Action] | Callable[["RecordedRequest"], Action | None]

# Form fields never recorded in clear. refresh_token and token are recorded as hashes.
SECRET_FIELDS = frozenset(
    {"client_secret", "code", "code_verifier", "client_assertion", "password", "access_token", "id_token"}
)
HASHED_FIELDS = frozenset({"refresh_token", "token"})
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "host",
        "accept-encoding",
    }
)
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


def token_hash(value: str) -> str:
    """First 12 hex digits of sha256(value): how tokens appear in records and provider logs."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Step:
    kind: str  # pass | status | delay | delay_response | drop
    status: int | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    body: bytes | None = None
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def parse(cls, action: Action | Step | None) -> Step:
        if action is None:
            return cls("pass")
        if isinstance(action, Step):
            return action
        if not isinstance(action, tuple) or not action:
            raise ValueError(f"not a proxy step: {action!r}")
        kind, *args = action
        if kind == "pass" and not args:
            return cls("pass")
        if kind == "drop" and not args:
            return cls("drop")
        if kind == "status" and len(args) in (1, 2):
            retry_after = float(args[1]) if len(args) == 2 and args[1] is not None else None
            return cls("status", status=int(args[0]), retry_after=retry_after)
        if kind == "retry_after" and len(args) == 1:
            return cls("status", status=429, retry_after=float(args[0]))
        if kind in ("delay", "delay_response") and len(args) == 1:
            return cls(kind, seconds=float(args[0]))
        raise ValueError(f"not a proxy step: {action!r}")

    def describe(self) -> str:
        if self.kind == "status":
            suffix = f" retry_after={self.retry_after:g}" if self.retry_after is not None else ""
            return f"status {self.status}{suffix}"
        if self.kind in ("delay", "delay_response"):
            return f"{self.kind} {self.seconds:g}"
        return self.kind


@dataclass
class RecordedRequest:
    """One request the proxy saw. ``form`` has secrets masked (see SECRET_FIELDS)."""

    index: int
    method: str
    path: str
    time: float  # time.monotonic() when the request had been read
    wall_time: float
    headers: dict[str, str]
    form: dict[str, str]
    client_id: str | None
    refresh_token_hash: str | None
    action: str = "pass"
    # pending | forwarded | responded | dropped | client_closed | upstream_error | bad_request
    outcome: str = "pending"
    status: int | None = None  # status sent to the client; None when it got none
    upstream_status: int | None = None
    upstream_refresh_token_hash: str | None = None  # refresh token in the upstream's answer
    finished: float | None = None

    @property
    def grant_type(self) -> str | None:
        return self.form.get("grant_type")

    @property
    def forwarded(self) -> bool:
        return self.upstream_status is not None


def _mask_form(body: bytes, content_type: str) -> tuple[dict[str, str], str | None]:
    if "application/x-www-form-urlencoded" not in content_type:
        return {}, None
    form: dict[str, str] = {}
    refresh_hash = None
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if key in HASHED_FIELDS:
            form[key] = f"sha256:{token_hash(value)}"
            if key == "refresh_token":
                refresh_hash = token_hash(value)
        elif key in SECRET_FIELDS:
            form[key] = "***"
        else:
            form[key] = value
    return form, refresh_hash


def _basic_client_id(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip()).decode()
    except ValueError:
        return None
    return unquote(decoded.partition(":")[0].replace("+", " "))


class _BadRequestError(Exception):
    pass


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, list[tuple[str, str]], bytes]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise _BadRequestError("request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise _BadRequestError(f"bad request line {lines[0]!r}") from exc
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequestError(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    lookup = {name.lower(): value for name, value in headers}
    if "chunked" in lookup.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in lookup:
        try:
            length = int(lookup["content-length"])
        except ValueError as exc:
            raise _BadRequestError("bad Content-Length") from exc
        if not 0 <= length <= MAX_BODY:
            raise _BadRequestError("body too large")
        body = await reader.readexactly(length)
    else:
        body = b""
    return method, target, headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise _BadRequestError("bad chunk size") from exc
        if size == 0:
            # Trailers, up to the empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        if len(body) > MAX_BODY:
            raise _BadRequestError("body too large")
        if await reader.readexactly(2) != b"\r\n":
            raise _BadRequestError("bad chunk terminator")


def _response_bytes(status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in HOP_BY_HOP]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class FaultProxy:
    """Reverse proxy to ``upstream`` (a base URL such as the provider's issuer).

    ``match`` limits which requests consume program steps (the others just pass); by default all
    do. Use ``paths=("/token",)`` for the common case.
    """

    def __init__(
        self,
        upstream: str,
        *,
        program: Program | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        paths: Iterable[str] | None = None,
        match: Callable[[RecordedRequest], bool] | None = None,
        upstream_timeout: float = 30.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.host = host
        self.port = port
        self.upstream_timeout = upstream_timeout
        only = frozenset(paths) if paths is not None else None
        self._match = match or (lambda r: only is None or urlsplit(r.path).path in only)
        self._lock = threading.Lock()
        self._steps: deque[Step] = deque()
        self._decide: Callable[[RecordedRequest], Action | None] | None = None
        self._records: list[RecordedRequest] = []
        # Every secret that crossed the proxy, in clear, for canary scans in tests: tokens in the
        # provider's answers, and secrets (codes, refresh tokens, client secrets) in requests.
        self.secrets_seen: set[str] = set()
        self._server: asyncio.Server | None = None
        self._http: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle: asyncio.Event | None = None
        if program is not None:
            self.set_program(program)

    # ------------------------------------------------------------------ program and records

    def set_program(self, program: Program | None) -> None:
        """Replace the program: a list of steps (then pass), a callable, or None (always pass)."""
        with self._lock:
            self._steps.clear()
            self._decide = None
            if callable(program):
                self._decide = program
            elif program is not None:
                self._steps.extend(Step.parse(action) for action in program)

    def remaining(self) -> int:
        """Steps of a list program not consumed yet."""
        with self._lock:
            return len(self._steps)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def _next_step(self, record: RecordedRequest) -> Step:
        with self._lock:
            if not self._match(record):
                return Step("pass")
            if self._decide is not None:
                decide = self._decide
            elif self._steps:
                return self._steps.popleft()
            else:
                return Step("pass")
        return Step.parse(decide(record))

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://{self.host}:{self.port}"

    def url_for(self, upstream_url: str) -> str:
        """The proxy's URL for one of the upstream's URLs, e.g. the provider's token endpoint."""
        parts = urlsplit(upstream_url)
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    async def start(self) -> FaultProxy:
        self._http = httpx.AsyncClient(timeout=self.upstream_timeout, follow_redirects=False)
        self._idle = asyncio.Event()
        self._idle.set()
        self._server = await asyncio.start_server(self._accept, self.host, self.port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self._http is not None:
            await self._http.aclose()
        self._server = None
        self._http = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_idle(self, seconds: float = 30.0) -> None:
        """Wait until no request is being handled (e.g. a delayed one whose client gave up)."""
        assert self._idle is not None, "the proxy is not running"
        await asyncio.wait_for(self._idle.wait(), seconds)

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[FaultProxy]:
        """Run the proxy on its own event loop in a thread, for synchronous tests."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(10)
            yield self
        finally:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # ------------------------------------------------------------------ handling

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._idle is not None
        self._tasks.add(task)
        self._idle.clear()
        try:
            await self._handle(reader, writer)
        finally:
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, target, headers, body = await _read_request(reader)
        except (
            _BadRequestError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ) as exc:
            with contextlib.suppress(ConnectionError):
                writer.write(_response_bytes(400, [], f"bad request: {exc}\n".encode()))
                await writer.drain()
            return
        lookup = {name.lower(): value for name, value in headers}
        form, refresh_hash = _mask_form(body, lookup.get("content-type", ""))
        if "application/x-www-form-urlencoded" in lookup.get("content-type", ""):
            for key, values in parse_qs(body.decode("utf-8", "replace")).items():
                if key in SECRET_FIELDS | HASHED_FIELDS:
                    self.secrets_seen.update(v for v in values if v)
                    remember(*values)
        shown = {
            name: ("***" if name.lower() in ("authorization", "cookie") else value) for name, value in headers
        }
        record = RecordedRequest(
            index=0,
            method=method,
            path=target,
            time=time.monotonic(),
            wall_time=time.time(),
            headers=shown,
            form=form,
            client_id=_basic_client_id(lookup.get("authorization")) or form.get("client_id"),
            refresh_token_hash=refresh_hash,
        )
        with self._lock:
            record.index = len(self._records)
            self._records.append(record)
        try:
            step = self._next_step(record)
        except Exception as exc:  # a broken program: answer 500 and say why
            record.action = "program error"
            await self._respond(writer, record, 500, [], f"fault proxy program failed: {exc!r}\n".encode())
            return
        record.action = step.describe()
        try:
            await self._apply(step, record, reader, writer, method, target, headers, body)
        finally:
            record.finished = time.monotonic()

    async def _apply(
        self,
        step: Step,
        record: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        if step.kind == "status":
            assert step.status is not None
            extra = [("Retry-After", f"{step.retry_after:g}")] if step.retry_after is not None else []
            payload = step.body if step.body is not None else f"fault proxy: {step.describe()}\n".encode()
            await self._respond(
                writer, record, step.status, [("Content-Type", step.content_type), *extra], payload
            )
            return
        if step.kind == "delay" and await self._client_left_within(reader, step.seconds):
            record.outcome = "client_closed"
            return
        upstream = await self._forward(record, method, target, headers, body)
        if upstream is None:
            await self._respond(writer, record, 502, [], b"fault proxy: upstream unreachable\n")
            record.outcome = "upstream_error"
            return
        if step.kind == "drop":
            record.outcome = "dropped"
            # Nothing of the answer is sent: a plain close, so the client sees the connection end.
            return
        if step.kind == "delay_response" and await self._client_left_within(reader, step.seconds):
            record.outcome = "client_closed"
            return
        status, response_headers, content = upstream
        await self._respond(writer, record, status, response_headers, content)

    async def _client_left_within(self, reader: asyncio.StreamReader, seconds: float) -> bool:
        """Sleep ``seconds``; True as soon as the client closes its side of the connection."""
        eof = asyncio.ensure_future(reader.read(1))
        try:
            done, _ = await asyncio.wait({eof}, timeout=seconds)
            return bool(done) and not eof.exception() and eof.result() == b""
        finally:
            eof.cancel()
            with contextlib.suppress(BaseException):
                await eof

    async def _forward(
        self, record: RecordedRequest, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        assert self._http is not None
        send_headers = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]
        send_headers.append(("Accept-Encoding", "identity"))
        try:
            response = await self._http.request(
                method, self.upstream + target, headers=send_headers, content=body
            )
        except httpx.HTTPError:
            return None
        record.upstream_status = response.status_code
        record.outcome = "forwarded"
        if "json" in response.headers.get("content-type", ""):
            with contextlib.suppress(ValueError):
                data = json.loads(response.content)
                if isinstance(data, dict) and isinstance(data.get("refresh_token"), str):
                    record.upstream_refresh_token_hash = token_hash(data["refresh_token"])
                if isinstance(data, dict):
                    remember(*(v for k, v in data.items() if k in SECRET_FIELDS | HASHED_FIELDS))
                    self.secrets_seen.update(
                        v
                        for k, v in data.items()
                        if k in SECRET_FIELDS | HASHED_FIELDS and isinstance(v, str) and v
                    )
        return response.status_code, list(response.headers.multi_items()), response.content

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        record: RecordedRequest,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> None:
        try:
            writer.write(_response_bytes(status, headers, body))
            await writer.drain()
        except ConnectionError:
            record.outcome = "client_closed"
            return
        record.status = status
        if record.outcome == "pending":
            record.outcome = "responded"
