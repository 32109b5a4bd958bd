"""One HTTP transfer under a wall-clock deadline, a size cap and the stop event.

A socket timeout bounds each read, not a request: a server that trickles a byte a second never
trips it. `Transfer` bounds the whole attempt instead. While a request is in flight the transfer is
the thread's current one; the connections urllib3 opens or reuses for it (`WatchedAdapter` installs
connection classes that report to the current transfer) are watched by a small thread that shuts
their sockets down when

- the attempt's deadline passes (`budget` seconds after the attempt started: connect, headers and
  the whole body), or
- the stop event is set (SIGTERM, Ctrl-C): the transfer is abandoned within `POLL` seconds.

A socket shut down under a blocked read makes that read return at once; the caller then asks the
transfer why (`reason`). Each attempt urllib3 makes (a retry after a 503, a read error) starts a
new deadline; the pauses between attempts wait on the stop event (`pause`).

`read_body` streams a response in chunks, checking the deadline, the stop event and the size cap
between chunks, so neither a slow nor a huge answer is read past its limit.
"""

from __future__ import annotations

import socket
import threading
import time
from http.client import HTTPException
from typing import Any

import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: seconds between two looks of the watchdog at the deadline and the stop event
POLL = 0.05
#: bytes asked for per read of a body
CHUNK = 64 * 1024

_current = threading.local()

#: why a transfer was cut off
DEADLINE = "deadline"
STOPPED = "stopped"


class Cutoff(Exception):
    """Internal: the transfer was cut off (`reason` is DEADLINE or STOPPED)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TooLarge(Exception):
    """Internal: the body passed the cap (`received` bytes read, `declared` Content-Length)."""

    def __init__(self, received: int, declared: int | None):
        super().__init__(received)
        self.received = received
        self.declared = declared


class Transfer:
    """The watch over one request (all its attempts). Use as a context manager around the
    request and the reading of its body."""

    def __init__(self, budget: float, stop: threading.Event | None = None):
        self.budget = float(budget)
        self.stop = stop
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._deadline = time.monotonic() + self.budget
        self._cut: str | None = None
        self._done = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="stresswatch-transfer", daemon=True)
        #: attempts started (each connection request urllib3 made for this transfer)
        self.attempts = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> "Transfer":
        self._previous = getattr(_current, "transfer", None)
        _current.transfer = self
        self._watchdog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._watchdog.join()
        _current.transfer = self._previous

    # -- what the connections report ----------------------------------------------------------
    def begin_attempt(self, connection: Any) -> None:
        """A request is about to be sent on `connection`: a new attempt with a fresh deadline."""
        with self._lock:
            self.attempts += 1
            self._deadline = time.monotonic() + self.budget
            self._cut = None
            self._watch_socket(connection)
        self.raise_if_stopped()

    def connected(self, connection: Any) -> None:
        """`connection` has just opened its socket: watch it; if the transfer was cut off meanwhile,
        shut it at once."""
        with self._lock:
            sock = self._watch_socket(connection)
            cut = self._cut
        if cut and sock is not None:
            _shut(sock)

    def _watch_socket(self, connection: Any) -> Any:
        # the socket object itself is kept: http.client drops `connection.sock` as soon as an
        # answer says `Connection: close`, while the body is still read from that socket
        sock = getattr(connection, "sock", None)
        if sock is not None and all(s is not sock for s in self._sockets):
            self._sockets.append(sock)
        return sock

    # -- questions ------------------------------------------------------------------------------
    @property
    def reason(self) -> str | None:
        """DEADLINE or STOPPED when the current attempt was cut off, else None."""
        with self._lock:
            if self._cut:
                return self._cut
            if self.stop is not None and self.stop.is_set():
                return STOPPED
            if time.monotonic() >= self._deadline:
                return DEADLINE
        return None

    @property
    def cut(self) -> str | None:
        """DEADLINE or STOPPED when the watchdog cut the current attempt off, else None."""
        with self._lock:
            return self._cut

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def raise_if_cut(self) -> None:
        reason = self.reason
        if reason:
            raise Cutoff(reason)

    def raise_if_stopped(self) -> None:
        if self.stopped:
            raise Cutoff(STOPPED)

    def pause(self, seconds: float) -> None:
        """Sleep `seconds` (a backoff between attempts) unless the stop event comes first."""
        if seconds <= 0:
            return
        if self.stop is None:
            time.sleep(seconds)
            return
        if self.stop.wait(seconds):
            raise Cutoff(STOPPED)

    # -- the watchdog ---------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._done.wait(POLL):
            with self._lock:
                if self._cut:
                    continue
                if self.stop is not None and self.stop.is_set():
                    self._cut = STOPPED
                elif time.monotonic() >= self._deadline:
                    self._cut = DEADLINE
                else:
                    continue
                sockets = list(self._sockets)
            for sock in sockets:
                _shut(sock)


def current() -> Transfer | None:
    """The transfer in flight on this thread, if any."""
    return getattr(_current, "transfer", None)


def pause(seconds: float) -> None:
    """A stop-aware sleep: the current transfer's `pause`, else `time.sleep`."""
    transfer = current()
    if transfer is None:
        if seconds > 0:
            time.sleep(seconds)
        return
    transfer.pause(seconds)


def _shut(sock: socket.socket) -> None:
    """Shut a socket down under whoever is reading it (the read returns at once). The plain
    socket's shutdown is used for TLS sockets too: it leaves the TLS object alone."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


# ---------------------------------------------------------------------------------------------
# urllib3 connections that report to the current transfer
# ---------------------------------------------------------------------------------------------
class _Watched:
    """An attempt starts when a connection is opened for a request (TLS connections are opened
    before the request is written) or, on a reused connection, when the request is written."""

    _attempt_open = False

    def connect(self) -> None:  # noqa: D102
        transfer = current()
        if transfer is not None and not self._attempt_open:
            transfer.begin_attempt(self)
            self._attempt_open = True
        super().connect()  # type: ignore[misc]
        if transfer is not None:
            transfer.connected(self)

    def request(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        transfer = current()
        if transfer is not None and not self._attempt_open and getattr(self, "sock", None) is not None:
            transfer.begin_attempt(self)  # a kept-alive connection: no connect() for this attempt
        try:
            return super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._attempt_open = False


class _WatchedHTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections report to the current `Transfer` (proxied ones too)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:  # noqa: D102
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


# ---------------------------------------------------------------------------------------------
# the body
# ---------------------------------------------------------------------------------------------
def read_body(raw: Any, transfer: Transfer, cap: int, declared: int | None) -> bytes:
    """Read a streamed urllib3 response body (decoded) to the end, in chunks. Raises `TooLarge`
    past `cap` bytes (at once when `declared` alone is over it), `Cutoff` when the deadline passed
    or the stop event was set, and the reader's own error when the transfer broke."""
    if declared is not None and declared > cap:
        raise TooLarge(0, declared)
    body = bytearray()
    read = getattr(raw, "read1", None) or raw.read  # read1: return what has arrived, do not wait for a full chunk
    while True:
        transfer.raise_if_cut()
        try:
            chunk = read(CHUNK, decode_content=True)
        except (urllib3.exceptions.HTTPError, HTTPException, OSError):
            transfer.raise_if_cut()  # the watchdog cut it: say why, not how the socket broke
            raise
        if not chunk:
            break
        body += chunk
        if len(body) > cap:
            raise TooLarge(len(body), declared)
    transfer.raise_if_cut()  # a socket shut under a body without a length looks like its end
    return bytes(body)
