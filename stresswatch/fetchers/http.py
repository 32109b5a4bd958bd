"""The HTTP layer: one requests.Session per source with urllib3 Retry, a whole-request deadline, a
size cap, redirects kept on the source's host, pacing and error mapping.

- Retries for 429/500/502/503/504 and for reads that broke or timed out are urllib3's (`Retry`
  with backoff never shorter than the source's `min_interval`, `Retry-After` honoured up to a cap).
  A connection that cannot be made at all (name not resolved, refused, no route, connect timeout)
  is not retried: the host is unreachable, the error says so at once and `HostBook` remembers it
  for the rest of the run, so no other partition or source asks that host again.
- The source's `timeout` bounds each attempt as a whole -- connecting, the headers and the full
  body -- not each socket read (`fetchers.transfer`). The body is read in chunks up to the
  source's `max_body_mb`; past it reading stops with `ResponseTooLarge`. A stop event (SIGTERM)
  abandons a transfer within a fraction of a second with `FetchInterrupted`.
- Redirects are followed here, not by requests: only to the request's own host (same scheme or
  an upgrade to https, same port) or to a host listed in the source's `redirect_hosts`, never for
  a POST to another host; every hop is recorded (`Response.redirects`, `Response.final_url`).
- Failures come out typed and short: `SourceUnavailable` (worth retrying later) with `host` and a
  `cause` of a few words, `SourceRejected` (4xx, refused redirects, too large). No urllib3 repr
  reaches a message; secrets are redacted from every message by value and by form.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from urllib3.util.retry import Retry

from stresswatch import __version__
from stresswatch.clock import Clock, system_clock
from stresswatch.errors import (FetchInterrupted, RedirectRefused, ResponseTooLarge, SourceRejected,
                                SourceUnavailable)
from stresswatch.fetchers import transfer as transfer_mod
from stresswatch.fetchers.base import Request
from stresswatch.fetchers.transfer import STOPPED, Cutoff, TooLarge, Transfer, WatchedAdapter, read_body
from stresswatch.redaction import redact

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MB = 1024 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    url: str  # the request as sent, redacted
    fetched_at: dt.datetime
    headers: Mapping[str, str]
    #: where the answer finally came from (redacted); the request URL when nothing redirected
    final_url: str = ""
    #: each redirect followed, in order, as "<status> <target URL>" (redacted)
    redirects: tuple[str, ...] = ()

    def meta(self) -> dict[str, Any]:
        """What the payload archive records besides the body."""
        out: dict[str, Any] = {}
        if self.final_url:
            out["final_url"] = self.final_url
        if self.redirects:
            out["redirects"] = list(self.redirects)
        return out


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep is capped (urllib3 < 2.6.3 has no `retry_after_max`),
    whose backoff never drops below the source's politeness interval (urllib3 retries the first
    failure at once, which rate-limited APIs such as GDELT punish with long cool-downs), and which
    gives up at once when the transfer was asked to stop; its pauses wait on the stop event."""

    cap: float = 120.0
    min_backoff: float = 0.0

    def get_retry_after(self, response: Any) -> float | None:  # noqa: D102
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.cap)

    def get_backoff_time(self) -> float:  # noqa: D102
        return max(super().get_backoff_time(), self.min_backoff)

    def increment(self, *args: Any, **kwargs: Any) -> "_CappedRetry":  # noqa: D102
        current = transfer_mod.current()
        if current is not None:
            current.raise_if_stopped()
        return super().increment(*args, **kwargs)  # type: ignore[return-value]

    def sleep(self, response: Any = None) -> None:  # noqa: D102 - urllib3's order: Retry-After, else backoff
        delay = self.get_retry_after(response) if self.respect_retry_after_header and response is not None else None
        transfer_mod.pause(delay if delay else self.get_backoff_time())

    def new(self, **kw: Any) -> "_CappedRetry":
        new = super().new(**kw)
        new.cap = self.cap
        new.min_backoff = self.min_backoff
        return new


class _HostPacer:
    """Minimum spacing between requests to the same host, shared by every client in the process."""

    _lock = threading.Lock()
    _last: dict[str, float] = {}

    @classmethod
    def delay(cls, host: str, min_interval: float) -> float:
        """Seconds to wait before the next request to `host` (the slot is taken now)."""
        if min_interval <= 0:
            return 0.0
        with cls._lock:
            now = time.monotonic()
            ready = cls._last.get(host, 0.0) + min_interval
            cls._last[host] = max(now, ready)
        return max(0.0, ready - now)


class HostBook:
    """Hosts found unreachable during one run (host -> cause): a host that refused or could not
    be resolved is not asked again by any source until the run ends."""

    def __init__(self) -> None:
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()

    def mark(self, host: str, cause: str) -> None:
        with self._lock:
            self._down.setdefault(host, cause)

    def cause(self, host: str) -> str | None:
        with self._lock:
            return self._down.get(host)

    def __contains__(self, host: str) -> bool:
        return self.cause(host) is not None


def make_retry(retries: int, backoff_factor: float, retry_after_max: float, min_backoff: float = 0.0) -> Retry:
    """Statuses and broken reads are retried `retries` times; a connection that cannot be made at
    all is not (connect=0): the host is unreachable and said so on the first failure."""
    retry = _CappedRetry(
        total=retries, connect=0, read=retries, status=retries, other=0, redirect=False,
        backoff_factor=backoff_factor, backoff_max=max(backoff_factor * 60, 1.0),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),  # our POSTs (SOAP reads) are idempotent
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
    )
    retry.cap = retry_after_max
    retry.min_backoff = min_backoff
    return retry


@dataclass
class _Hop:
    """Where the request stands while redirects are followed."""

    method: str
    url: str
    body: bytes | None
    params: list[tuple[str, str]] | None
    chain: list[str] = field(default_factory=list)


class HttpClient:
    """One source's session. `send(Request) -> Response` (any status; transport failures raise
    SourceUnavailable), then `raise_for_status(response)`; `fetch` does both.

    `timeout` bounds each attempt as a whole; `max_body_bytes` caps a body; `redirect_hosts` are
    the other hosts a GET may be redirected to; `stop` abandons transfers; `hosts` is the run's
    book of unreachable hosts (shared by the clients of one run)."""

    def __init__(self, source_id: str, *, timeout: float, min_interval: float, http_settings: Mapping[str, Any],
                 clock: Clock = system_clock, max_body_bytes: int = 8 * MB, redirect_hosts: tuple[str, ...] = (),
                 stop: threading.Event | None = None, hosts: HostBook | None = None):
        self.source_id = source_id
        self.clock = clock  # stamps Response.fetched_at
        self.timeout = float(timeout)
        # a connection may take at most the whole budget; the budget itself is watched by Transfer
        self.connect_timeout = min(float(http_settings.get("connect_timeout", 10.0)), self.timeout)
        self.min_interval = float(min_interval)
        self.max_body_bytes = int(max_body_bytes)
        self.redirect_hosts = tuple(h.lower() for h in redirect_hosts)
        self.stop = stop
        self.hosts = hosts if hosts is not None else HostBook()
        self.session = requests.Session()
        retry = make_retry(int(http_settings.get("retries", 4)), float(http_settings.get("backoff_factor", 1.0)),
                           float(http_settings.get("retry_after_max", 120.0)), min_backoff=self.min_interval)
        adapter = WatchedAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        agent = str(http_settings.get("user_agent") or "stresswatch/{version}").replace("{version}", __version__)
        self.session.headers["User-Agent"] = agent

    def close(self) -> None:
        self.session.close()

    # -- sending ----------------------------------------------------------------------------------
    def send(self, request: Request) -> Response:
        """The answer to `request` with its whole body, after following allowed redirects."""
        display = redact(request.display())
        host = host_of(request.url)
        known = self.hosts.cause(host)
        if known:
            cause = f"{known}; not asked again in this run"
            raise SourceUnavailable(self.source_id, display, f"{host} unreachable: {cause}", unreachable=True,
                                    host=host, cause=cause)
        self._pace(host)
        transfer = Transfer(self.timeout, self.stop)
        try:
            with transfer:
                return self._send(request, display, transfer)
        except Cutoff as cut:
            if cut.reason == STOPPED:
                raise FetchInterrupted(f"{self.source_id}: transfer from {host} abandoned: asked to stop") from None
            cause = f"timed out: no complete answer within {self.timeout:g} s"
            raise SourceUnavailable(self.source_id, display, cause, retried=False, host=host, cause=cause) from None
        except SourceUnavailable as exc:
            if exc.unreachable:
                self.hosts.mark(exc.host or host, exc.cause)
            raise

    def _pace(self, host: str) -> None:
        delay = _HostPacer.delay(host, self.min_interval)
        if delay <= 0:
            return
        if self.stop is None:
            time.sleep(delay)
        elif self.stop.wait(delay):
            raise FetchInterrupted(f"{self.source_id}: stopped before asking {host}")

    def _send(self, request: Request, display: str, transfer: Transfer) -> Response:
        hop = _Hop(request.method, request.url, request.body, list(request.params) or None)
        headers = dict(request.headers)
        while True:
            resp = self._request(hop, headers, display, transfer)
            location = resp.headers.get("Location")
            if resp.status_code not in REDIRECT_STATUSES or not location:
                break
            target = urljoin(resp.url, location)
            resp.close()
            self._follow(hop, resp.status_code, target, request, display)
        try:
            return self._read(resp, display, transfer, hop)
        finally:
            resp.close()

    def _request(self, hop: _Hop, headers: dict[str, str], display: str, transfer: Transfer) -> requests.Response:
        try:  # urllib3 retries retryable statuses and broken reads in here
            return self.session.request(hop.method, hop.url, params=hop.params, headers=headers, data=hop.body,
                                        timeout=(self.connect_timeout, self.timeout), stream=True,
                                        allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            host = host_of(hop.url)
            log.debug("%s: %s %s failed: %r", self.source_id, hop.method, redact(hop.url), exc)
            if transfer.cut == STOPPED:
                raise Cutoff(STOPPED) from None
            if isinstance(exc, (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL,
                                requests.exceptions.MissingSchema, requests.exceptions.TooManyRedirects)):
                raise SourceRejected(self.source_id, display, f"request refused: {type(exc).__name__}") from None
            if transfer.cut is not None:  # the last attempt ran out of time
                cause, unreachable = f"timed out: no complete answer within {self.timeout:g} s", False
            else:
                cause, unreachable = classify(exc)
            raise SourceUnavailable(self.source_id, display, f"{host}: {cause}", unreachable=unreachable,
                                    host=host, cause=cause) from None

    def _follow(self, hop: _Hop, status: int, target: str, request: Request, display: str) -> None:
        """Move `hop` to a redirect `target`, or raise RedirectRefused."""
        shown = redact(target)
        if len(hop.chain) >= MAX_REDIRECTS:
            raise RedirectRefused(self.source_id, display, f"more than {MAX_REDIRECTS} redirects (last to {shown})")
        problem = self.redirect_problem(request.url, hop.method, target)
        if problem:
            raise RedirectRefused(self.source_id, display, f"HTTP {status} {problem}")
        hop.chain.append(f"{status} {shown}")
        if status == 303 or (status in (301, 302) and hop.method == "POST"):
            hop.method, hop.body = "GET", None  # as browsers and requests do; the body is not sent again
        hop.url, hop.params = target, None

    def redirect_problem(self, origin_url: str, method: str, target: str) -> str | None:
        """Why a redirect from `origin_url` to `target` may not be followed, or None."""
        origin, to = urlsplit(origin_url), urlsplit(target)
        if to.scheme not in ("http", "https") or not to.hostname:
            return f"redirect to {redact(target)[:120]} refused: only http(s) URLs are followed"
        if origin.scheme == "https" and to.scheme == "http":
            return f"redirect from https to plain http ({to.netloc}) refused"
        if _same_host(origin, to):
            return None
        if method != "GET":
            return (f"redirect of a {method} to another host ({to.netloc}) refused: "
                    "a request body is never sent to another host")
        if to.hostname.lower() in self.redirect_hosts or to.netloc.lower() in self.redirect_hosts:
            return None
        return (f"redirect to another host ({to.netloc}) refused; allowed: {origin.netloc} and "
                f"[sources.{self.source_id}] redirect_hosts")

    def _read(self, resp: requests.Response, display: str, transfer: Transfer, hop: _Hop) -> Response:
        final_url = redact(resp.url or hop.url)
        host = host_of(resp.url or hop.url)
        declared = _int(resp.headers.get("Content-Length"))
        try:
            body = read_body(resp.raw, transfer, self.max_body_bytes, declared)
        except TooLarge as big:
            limit_mb = self.max_body_bytes / MB
            what = (f"declares {big.declared:,} bytes" if big.received == 0 and big.declared is not None
                    else f"passed {big.received:,} bytes")
            error = ResponseTooLarge(self.source_id, display,
                                     f"answer {what}, over [sources.{self.source_id}] max_body_mb = {limit_mb:g}; "
                                     "reading stopped", limit=self.max_body_bytes, received=big.received,
                                     declared=big.declared)
            error.response = self._response(resp, b"", display, final_url, hop)
            raise error from None
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
            log.debug("%s: body of %s cut short: %r", self.source_id, display, exc)
            cause = "response body cut short"
            raise SourceUnavailable(self.source_id, display, f"{host}: {cause}", retried=False, host=host,
                                    cause=cause) from None
        return self._response(resp, body, display, final_url, hop)

    def _response(self, resp: requests.Response, body: bytes, display: str, final_url: str, hop: _Hop) -> Response:
        fetched_at = self.clock().astimezone(dt.timezone.utc).replace(microsecond=0)
        return Response(status=resp.status_code, content_type=resp.headers.get("Content-Type", ""), body=body,
                        url=display, fetched_at=fetched_at, headers=dict(resp.headers),
                        final_url=final_url if hop.chain else "", redirects=tuple(hop.chain))

    # -- judging ----------------------------------------------------------------------------------
    def raise_for_status(self, response: Response) -> None:
        """Typed error for an error status (called after the body has been archived)."""
        host = host_of(response.final_url or response.url.split(" ", 1)[-1])
        if response.status in RETRY_STATUSES:
            cause = f"HTTP {response.status} after retries"
            raise SourceUnavailable(self.source_id, response.url, f"{cause}: {_snippet(response.body)}",
                                    host=host, cause=cause)
        if response.status >= 400:
            raise SourceRejected(self.source_id, response.url, f"HTTP {response.status}: {_snippet(response.body)}")
        if response.status in REDIRECT_STATUSES:
            raise SourceRejected(self.source_id, response.url, f"HTTP {response.status} without a Location")

    def fetch(self, request: Request) -> Response:
        """`send` + `raise_for_status`, for callers that do not archive."""
        response = self.send(request)
        self.raise_for_status(response)
        return response


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def host_of(url: str) -> str:
    """`host[:port]` of a URL, lower case."""
    return urlsplit(url).netloc.lower().rsplit("@", 1)[-1]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_host(origin: Any, to: Any) -> bool:
    if (origin.hostname or "").lower() != (to.hostname or "").lower():
        return False
    from_port = origin.port or _DEFAULT_PORTS.get(origin.scheme)
    to_port = to.port or _DEFAULT_PORTS.get(to.scheme)
    if from_port == to_port:
        return True
    # an upgrade to https on the default ports is the same host
    return origin.scheme == "http" and to.scheme == "https" and from_port == 80 and to_port == 443


_ERRNO_CAUSES = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connect timed out",
    errno.EHOSTDOWN: "host down",
    errno.ENETDOWN: "network down",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps: requests' args[0], urllib3's `reason`, __cause__, __context__."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nxt in (getattr(item, "reason", None), item.__cause__, item.__context__,
                    *(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def classify(exc: BaseException) -> tuple[str, bool]:
    """(cause in a few words, unreachable?) of a failed request. Unreachable means no connection
    could be made: the name did not resolve, the connection was refused, no route, or connecting
    timed out. A read timeout or a dropped connection is not: that host answered the connection."""
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, (urllib3.exceptions.NameResolutionError, socket.gaierror)):
            return "name not resolved", True
    for item in chain:
        if isinstance(item, urllib3.exceptions.NewConnectionError):
            for inner in chain:
                if isinstance(inner, OSError) and inner.errno in _ERRNO_CAUSES:
                    return _ERRNO_CAUSES[inner.errno], True
            for inner in chain:
                if isinstance(inner, OSError) and not isinstance(inner, urllib3.exceptions.HTTPError) \
                        and inner.strerror:
                    return f"cannot connect: {inner.strerror.lower()}", True
            return "cannot connect", True
    for item in chain:
        if isinstance(item, urllib3.exceptions.ConnectTimeoutError) or \
                isinstance(item, requests.exceptions.ConnectTimeout):
            return "connect timed out", True
    for item in chain:
        if isinstance(item, (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout,
                             socket.timeout)):
            return "read timed out", False
    for item in chain:
        if isinstance(item, (urllib3.exceptions.SSLError, requests.exceptions.SSLError)):
            return "TLS handshake failed", False
    for item in chain:
        if isinstance(item, urllib3.exceptions.ResponseError):
            return "gave up after retries", False
    for item in chain:
        if isinstance(item, urllib3.exceptions.ProtocolError):
            return "connection dropped before an answer", False
    return f"request failed ({type(exc).__name__})", False


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").replace("\n", " ").strip()
    return redact(text) or "(empty body)"

