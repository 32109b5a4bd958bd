"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with an explicitly chosen free port
(aiosmtpd 1.4 does not support port=0), that records every accepted message as bytes, can be
stopped and started again on the same port (server down / up), can refuse chosen recipients
with a 4xx code for a number of attempts, and can hold its answer to RCPT or to the end of DATA
(after saving the message) until the test releases it - the window in which a killed sender
cannot know whether its mail arrived."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps (envelope sender, recipients, raw bytes) of each accepted message."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, int] = {}  # address -> how many more RCPT attempts get a 451
        self.sessions = 0
        self._lock = threading.Lock()
        #: set each time a message was saved (before the DATA answer is sent)
        self.saved = threading.Event()
        #: set each time a RCPT command arrived (before it is answered)
        self.rcpt_seen = threading.Event()
        #: when not None, the answer to RCPT / to the end of DATA waits until the event is set
        self.hold_rcpt: threading.Event | None = None
        self.hold_data: threading.Event | None = None

    @staticmethod
    async def _wait_for(event: threading.Event | None, limit: float = 60.0) -> None:
        waited = 0.0
        while event is not None and not event.is_set() and waited < limit:
            await asyncio.sleep(0.02)
            waited += 0.02

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen.set()
        await self._wait_for(self.hold_rcpt)
        with self._lock:
            left = self.refuse.get(address, 0)
            if left > 0:
                self.refuse[address] = left - 1
                return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content
                                                                                     or envelope.content)))
        self.saved.set()
        await self._wait_for(self.hold_data)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for _f, _r, raw in self.received]

    def deliveries(self) -> list[tuple[str, str]]:
        """(recipient, subject) per delivered copy."""
        out = []
        for _f, rcpts, raw in self.received:
            msg = email.message_from_bytes(raw, policy=policy.default)
            out.extend((r, str(msg["Subject"])) for r in rcpts)
        return out


class SmtpServer:
    """`credentials=(user, password)` turns on AUTH (plain text allowed: loopback test only)."""

    def __init__(self, port: int | None = None, credentials: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.box = Mailbox()
        self.credentials = credentials
        self.logins: list[str] = []
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and self.credentials is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    def start(self) -> "SmtpServer":
        kwargs = {}
        if self.credentials is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self._controller = Controller(self.box, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None
