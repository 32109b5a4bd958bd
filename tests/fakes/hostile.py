"""A hostile HTTP server on a raw socket (127.0.0.1): it trickles, floods, lies about lengths and
redirects, which a well-behaved test server cannot. Each connection reads one request and hands
the socket to a behaviour; the server records, per connection, the request line and how many
body bytes it managed to send before the client hung up (`Connection.sent`, `Connection.cut`).

    with HostileServer(trickle(b"<ValCurs/>" * 100, every=0.05)) as server:
        client.send(Request("GET", server.url("/x")))
    assert server.connections[0].cut and server.connections[0].sent < 40

Behaviours are functions `(sock, connection_record) -> None`; `trickle`, `flood` and `redirect`
build the usual ones. `tls=` an SSL context makes it an https server (see `self_signed`).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Connection:
    request_line: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    sent: int = 0  # body bytes written before the end or the client hanging up
    cut: bool = False  # the client hung up before the behaviour finished
    opened: float = field(default_factory=time.monotonic)
    closed: float | None = None
    first_byte: threading.Event = field(default_factory=threading.Event)


Behaviour = Callable[[socket.socket, Connection], None]


class HostileServer:
    """`tls`: an `ssl.SSLContext` (server side) to speak https with."""

    def __init__(self, behaviour: Behaviour, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        self.behaviour = behaviour
        self.tls = tls
        self.connections: list[Connection] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._workers: list[threading.Thread] = []

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def __enter__(self) -> "HostileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for worker in self._workers:
            worker.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            record = Connection()
            self.connections.append(record)
            worker = threading.Thread(target=self._handle, args=(conn, record), daemon=True)
            self._workers.append(worker)
            worker.start()

    def _handle(self, conn: socket.socket, record: Connection) -> None:
        conn.settimeout(10)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            raw_head, rest = head.split(b"\r\n\r\n", 1)
            lines = raw_head.decode("latin-1").split("\r\n")
            record.request_line = lines[0]
            record.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(record.headers.get("content-length", "0") or 0)
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            record.body = rest
            self.behaviour(conn, record)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout, ssl.SSLError, OSError):
            record.cut = True
        finally:
            record.closed = time.monotonic()
            try:
                conn.close()
            except OSError:
                pass


def trickle(body: bytes, every: float = 0.05, content_type: str = "text/xml", declare_length: bool = True,
            status: str = "200 OK") -> Behaviour:
    """Headers at once, then the body one byte every `every` seconds."""
    def behaviour(conn: socket.socket, record: Connection) -> None:
        length = f"Content-Length: {len(body)}\r\n" if declare_length else ""
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{length}Connection: close\r\n\r\n"
                     .encode())
        for i in range(len(body)):
            conn.sendall(body[i:i + 1])
            record.sent += 1
            record.first_byte.set()
            time.sleep(every)
    return behaviour


def flood(total: int, declare_length: bool = True, chunk: int = 64 * 1024, content_type: str = "text/xml",
          fill: bytes = b"<Record/>") -> Behaviour:
    """A `total`-byte body as fast as the client takes it (Content-Length declared or not)."""
    block = (fill * (chunk // len(fill) + 1))[:chunk]

    def behaviour(conn: socket.socket, record: Connection) -> None:
        length = f"Content-Length: {total}\r\n" if declare_length else ""
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{length}Connection: close\r\n\r\n".encode())
        while record.sent < total:
            piece = block[:min(chunk, total - record.sent)]
            conn.sendall(piece)
            record.sent += len(piece)
            record.first_byte.set()
    return behaviour


def answer(body: bytes, status: str = "200 OK", content_type: str = "text/xml",
           headers: dict[str, str] | None = None) -> Behaviour:
    """A plain, complete answer."""
    def behaviour(conn: socket.socket, record: Connection) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                     f"{extra}Connection: close\r\n\r\n".encode() + body)
        record.sent += len(body)
    return behaviour


def redirect(location: str, status: str = "302 Found") -> Behaviour:
    return answer(b"", status=status, headers={"Location": location})


def self_signed(folder) -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh self-signed certificate for 127.0.0.1 (made with the openssl
    command) and the certificate's path, for the client to trust."""
    import subprocess

    key, cert = f"{folder}/key.pem", f"{folder}/cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert
