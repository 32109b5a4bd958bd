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
    once would multiply attempts); False for a body cut short after the headers arrived.
    `host` and `cause` say in a few words what failed where ("www.cbr.ru", "connection refused")."""

    def __init__(self, source: str, url: str, message: str, retried: bool = True, unreachable: bool = False,
                 host: str = "", cause: str = ""):
        super().__init__(source, url, message)
        self.retried = retried
        #: the host could not be reached at all (name resolution, refused connection, no route,
        #: connect timeout) -- never a read timeout: that host answered the connection
        self.unreachable = unreachable
        self.host = host
        self.cause = cause or message


class SourceRejected(FetchError):
    """Permanent for this request: 4xx other than 429, or a refusal the source states."""


class RedirectRefused(SourceRejected):
    """The source redirected to a host it may not send us to (another host, another scheme, a POST
    body that would travel to another host); nothing was asked of that host."""


class ResponseTooLarge(SourceRejected):
    """The answer is larger than the source's `max_body_mb`; reading stopped at the cap. `received`
    bytes were read (0 when the declared Content-Length alone was over the cap)."""

    def __init__(self, source: str, url: str, message: str, limit: int, received: int, declared: int | None):
        super().__init__(source, url, message)
        self.limit = limit
        self.received = received
        self.declared = declared
        #: what arrived before reading stopped (status, headers, final URL), body left out, for the archive
        self.response: object | None = None


class FetchInterrupted(StresswatchError):
    """A transfer was abandoned because the command was asked to stop (SIGTERM, Ctrl-C)."""


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
    """The SQLite store is unusable (bad schema, integrity problem, locked beyond the timeout).

    Every sqlite3 error is turned into this or one of the subclasses below by the store
    (`stresswatch.store.database`), with one line naming the file and what to do."""


class StoreNotFound(StoreError):
    """No store at the path (or its folder does not exist) and the command does not create one (exit 2)."""

    exit_code = 2


class StoreCorrupt(StoreError):
    """The file is not a usable stresswatch store: damaged pages, an empty (0-byte) file, not SQLite."""


class StoreReadOnly(StoreError):
    """The store (or its folder) cannot be written: reads work, writes say why."""


class StoreFull(StoreError):
    """The disk (or a file-size limit) left no room to write; nothing partial was committed."""


class StoreIOError(StoreError):
    """The operating system reported an I/O error reading or writing the store."""


class LockError(StresswatchError):
    """The single-instance lock cannot be taken: held by another writer (LockHeld), or its path is
    unusable (a folder in its place, no permission, a read-only file system)."""


class LockHeld(LockError):
    """Another stresswatch writer (daemon or CLI) holds the single-instance lock; the message names it."""


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
