"""The one tree of typed errors; each knows the exit code the CLI turns it into."""

from __future__ import annotations

import datetime as dt


class StresswatchError(Exception):
    """Base of every error stresswatch raises on purpose."""

    exit_code = 1


class ConfigError(StresswatchError):
    """A setting is unknown, of the wrong type or out of range (exit code 2)."""

    exit_code = 2


class UsageError(StresswatchError):
    """A command was called with arguments that cannot work together (exit code 2)."""

    exit_code = 2


class FetchError(StresswatchError):
    """A remote source could not deliver a usable response."""

    def __init__(self, source: str, url: str, message: str):
        self.source = source
        self.url = url
        self.message = message
        super().__init__(f"{source}: {message} ({url})")


class SourceUnavailable(FetchError):
    """Transient: timeouts, connection errors, 429/5xx after retries. Worth retrying later.

    `retried` is True when the HTTP layer's own retries were already spent on it (asking again at
    once would multiply attempts); False for a body cut short after the headers arrived."""

    def __init__(self, source: str, url: str, message: str, retried: bool = True, unreachable: bool = False):
        super().__init__(source, url, message)
        self.retried = retried
        #: the host could not be reached at all (name resolution, refused connection, connect timeout)
        self.unreachable = unreachable


class SourceRejected(FetchError):
    """Permanent for this request: 4xx other than 429, or a refusal the source states."""


class ParseError(StresswatchError):
    """A response body is not what the source's format promises (HTML page, fault, truncation, hostile XML)."""

    def __init__(self, source: str, url: str, message: str, retryable: bool = True):
        self.source = source
        self.url = url
        self.message = message
        #: False when asking again cannot help (the source refused the query itself)
        self.retryable = retryable
        super().__init__(f"{source}: cannot parse response from {url}: {message}")


class StoreError(StresswatchError):
    """The SQLite store is unusable (bad schema, integrity problem, locked beyond the timeout)."""


class LockError(StresswatchError):
    """Another stresswatch writer (daemon or CLI) holds the single-instance lock."""


class ModelError(StresswatchError):
    """A regime model could not be fitted or evaluated and no accepted fallback exists."""


class DeliveryError(StresswatchError):
    """Mail could not be delivered (after the outbox recorded it)."""


class AlertRuleError(StresswatchError):
    """Alert rules could not be evaluated for a run date. The other rules were evaluated and their
    states (and the digest) stored; the failed rules' alerts keep the state they had, so running the
    date again evaluates them again. `failures`: rule id -> what went wrong."""

    def __init__(self, day: dt.date, failures: dict[str, str]):
        self.day = day
        self.failures = dict(failures)
        super().__init__(f"alert rule(s) failed on {day}: "
                         + "; ".join(f"{rule}: {why}" for rule, why in self.failures.items()))


class AnalysisMissing(StresswatchError):
    """The analysis a question needs (the stress index, a regime model run) is not stored as of the
    date asked; `stresswatch compute --asof D` (or `Monitor.compute(D)` in the Python API) makes it."""
