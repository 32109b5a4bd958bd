"""The HTTP layer: one requests.Session per source with urllib3 Retry, timeouts, pacing and error mapping.

Retries for 429/500/502/503/504 and connection errors are urllib3's (`Retry` with backoff and
`Retry-After` honoured up to a cap). Every call has explicit (connect, read) timeouts and an
identifying User-Agent. Requests to one host are spaced by the source's `min_interval`.
Failures come out typed: `SourceUnavailable` (worth retrying later: timeouts, connection errors,
429/5xx after the retries) or `SourceRejected` (other 4xx). Secrets in query strings are redacted
from every message.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from stresswatch import __version__
from stresswatch.clock import Clock, system_clock
from stresswatch.errors import SourceRejected, SourceUnavailable
from stresswatch.fetchers.base import Request
from stresswatch.redaction import redact

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    url: str  # redacted
    fetched_at: dt.datetime
    headers: Mapping[str, str]


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep is capped (urllib3 < 2.6.3 has no `retry_after_max`) and
    whose backoff never drops below the source's politeness interval (urllib3 retries the first
    failure at once, which rate-limited APIs such as GDELT punish with long cool-downs)."""

    cap: float = 120.0
    min_backoff: float = 0.0

    def get_retry_after(self, response: Any) -> float | None:  # noqa: D102
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.cap)

    def get_backoff_time(self) -> float:  # noqa: D102
        return max(super().get_backoff_time(), self.min_backoff)

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
    def wait(cls, host: str, min_interval: float, sleep: Callable[[float], None] = time.sleep) -> None:
        if min_interval <= 0:
            return
        with cls._lock:
            now = time.monotonic()
            ready = cls._last.get(host, 0.0) + min_interval
            delay = max(0.0, ready - now)
            cls._last[host] = max(now, ready)
        if delay:
            sleep(delay)


def make_retry(retries: int, backoff_factor: float, retry_after_max: float, min_backoff: float = 0.0) -> Retry:
    retry = _CappedRetry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        backoff_factor=backoff_factor, backoff_max=max(backoff_factor * 60, 1.0),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),  # our POSTs (SOAP reads) are idempotent
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
    )
    retry.cap = retry_after_max
    retry.min_backoff = min_backoff
    return retry


class HttpClient:
    """One source's session. `send(Request) -> Response` (any status; transport failures raise
    SourceUnavailable), then `raise_for_status(response)`; `fetch` does both."""

    def __init__(self, source_id: str, *, timeout: float, min_interval: float, http_settings: Mapping[str, Any],
                 clock: Clock = system_clock):
        self.source_id = source_id
        self.clock = clock  # stamps Response.fetched_at
        self.timeout = (float(http_settings.get("connect_timeout", 10.0)), float(timeout))
        self.min_interval = float(min_interval)
        self.session = requests.Session()
        retry = make_retry(int(http_settings.get("retries", 4)), float(http_settings.get("backoff_factor", 1.0)),
                           float(http_settings.get("retry_after_max", 120.0)), min_backoff=self.min_interval)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        agent = str(http_settings.get("user_agent") or "stresswatch/{version}").replace("{version}", __version__)
        self.session.headers["User-Agent"] = agent

    def close(self) -> None:
        self.session.close()

    def send(self, request: Request) -> Response:
        display = redact(request.display())
        host = urlsplit(request.url).netloc
        _HostPacer.wait(host, self.min_interval)
        try:  # urllib3 retries connection errors, timeouts and retryable statuses in here
            resp = self.session.request(
                request.method, request.url, params=list(request.params) or None,
                headers=dict(request.headers), data=request.body, timeout=self.timeout, stream=True)
        except requests.exceptions.ConnectTimeout as exc:
            raise SourceUnavailable(self.source_id, display, f"timed out connecting ({_short(exc)})",
                                    unreachable=True) from None
        except requests.exceptions.Timeout as exc:
            raise SourceUnavailable(self.source_id, display, f"timed out ({_short(exc)})") from None
        except requests.exceptions.RetryError as exc:
            raise SourceUnavailable(self.source_id, display, f"gave up after retries ({_short(exc)})") from None
        except requests.exceptions.ConnectionError as exc:
            raise SourceUnavailable(self.source_id, display, f"connection failed ({_short(exc)})",
                                    unreachable=True) from None
        except requests.exceptions.RequestException as exc:
            raise SourceRejected(self.source_id, display, f"request failed ({_short(exc)})") from None
        try:  # ... but not a body cut short after the headers: that one the caller may ask again
            body = resp.content
        except (requests.exceptions.RequestException, OSError) as exc:
            raise SourceUnavailable(self.source_id, display, f"response body cut short ({_short(exc)})",
                                    retried=False) from None
        finally:
            resp.close()
        fetched_at = self.clock().astimezone(dt.timezone.utc).replace(microsecond=0)
        content_type = resp.headers.get("Content-Type", "")
        return Response(status=resp.status_code, content_type=content_type, body=body, url=display,
                        fetched_at=fetched_at, headers=dict(resp.headers))

    def raise_for_status(self, response: Response) -> None:
        """Typed error for an error status (called after the body has been archived)."""
        if response.status in RETRY_STATUSES:
            raise SourceUnavailable(self.source_id, response.url,
                                    f"HTTP {response.status} after retries: {_snippet(response.body)}")
        if response.status >= 400:
            raise SourceRejected(self.source_id, response.url, f"HTTP {response.status}: {_snippet(response.body)}")

    def fetch(self, request: Request) -> Response:
        """`send` + `raise_for_status`, for callers that do not archive."""
        response = self.send(request)
        self.raise_for_status(response)
        return response


def _short(exc: BaseException) -> str:
    return redact(str(exc))[:300]


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").replace("\n", " ").strip()
    return redact(text) or "(empty body)"
