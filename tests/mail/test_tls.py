"""Mail over TLS against a real aiosmtpd server with a self-signed certificate: the default SSL
context verifies the certificate (refuses an untrusted one, accepts it once trusted), for STARTTLS
and for implicit TLS."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller

from stresswatch.mail.delivery import send_test
from stresswatch.errors import DeliveryError
from tests.conftest import settings_for
from tests.fakes.smtp import Mailbox, free_port

CLOCK = lambda: dt.datetime(2022, 3, 1, 16, 40, tzinfo=dt.timezone.utc)  # noqa: E731


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def starttls_server(certificate):
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=_server_context(certificate),
                            require_starttls=True)
    controller.start()
    yield port, box
    controller.stop()


@pytest.fixture
def implicit_tls_server(certificate):
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate))
    controller.start()
    yield port, box
    controller.stop()


def _settings(tmp_path, port, **extra):
    return settings_for(tmp_path, **{"mail.host": "127.0.0.1", "mail.port": port, "mail.recipients": ["a@example.org"],
                                     "mail.sender": "sw@example.org", "mail.timeout": 5.0, **extra})


def test_starttls_refuses_an_untrusted_certificate(tmp_path, store, starttls_server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    port, box = starttls_server
    with pytest.raises(DeliveryError, match="(?i)certificate"):
        send_test(store, _settings(tmp_path, port, **{"mail.starttls": True}), dt.date(2022, 3, 1), CLOCK)
    assert box.received == []


def test_starttls_delivers_once_the_certificate_is_trusted(tmp_path, store, starttls_server, certificate,
                                                           monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    port, box = starttls_server
    out = send_test(store, _settings(tmp_path, port, **{"mail.starttls": True}), dt.date(2022, 3, 1), CLOCK)
    assert out["accepted"] == ["a@example.org"] and len(box.received) == 1


def test_implicit_tls_verifies_too(tmp_path, store, implicit_tls_server, certificate, monkeypatch):
    port, box = implicit_tls_server
    settings = _settings(tmp_path, port, **{"mail.ssl": True, "mail.starttls": False})
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(DeliveryError, match="(?i)certificate"):
        send_test(store, settings, dt.date(2022, 3, 1), CLOCK)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    assert send_test(store, settings, dt.date(2022, 3, 1), CLOCK)["accepted"] == ["a@example.org"]
    assert len(box.received) == 1
