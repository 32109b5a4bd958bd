"""The whole-request deadline, the stop event and the size cap (fetchers/transfer.py through
fetchers/http.py) against a raw-socket server that trickles and floods (issue 14 items 1 and 2).

No test here times anything: a trickle that is not abandoned shows up as bytes the server managed
to send (a 1-byte-per-50-ms trickle of 2,000 bytes takes 100 s; a client that stops after its
deadline lets through a few dozen)."""

from __future__ import annotations

import gzip
import shutil
import threading
import time

import pytest

from stresswatch.errors import FetchInterrupted, ResponseTooLarge, SourceUnavailable
from stresswatch.fetchers.base import Request
from tests.fakes.hostile import HostileServer, answer, flood, self_signed, trickle
from tests.fetchers.conftest import http_client

SOURCE = "cbr"
BODY = b"<ValCurs>" + b"x" * 2000 + b"</ValCurs>"


def test_a_trickling_body_is_abandoned_at_the_deadline_of_each_attempt():
    with HostileServer(trickle(BODY, every=0.05)) as server:
        client = http_client(SOURCE, retries=0, timeout=0.5)
        with pytest.raises(SourceUnavailable, match="no complete answer within 0.5 s") as err:
            client.send(Request("GET", server.url("/x")))
    assert err.value.unreachable is False  # a slow host answered: no cooldown
    assert err.value.retried is False  # the pipeline may ask once more, again bounded
    (conn,) = server.connections
    assert conn.cut, "the client hung up"
    assert conn.sent < 60, f"{conn.sent} bytes trickled through: the deadline did not hold"


def test_trickling_headers_are_bounded_too():
    def slow_headers(sock, record):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Pad: " + b"a" * 500:
            sock.sendall(bytes([byte]))
            record.sent += 1
            time.sleep(0.05)

    with HostileServer(slow_headers) as server:
        with pytest.raises(SourceUnavailable, match="timed out"):
            http_client(SOURCE, retries=0, timeout=0.5).send(Request("GET", server.url("/x")))
    assert server.connections[0].sent < 60


def test_each_retry_gets_its_own_deadline_and_no_more():
    with HostileServer(trickle(BODY, every=0.05, status="503 Service Unavailable")) as server:
        with pytest.raises(SourceUnavailable):
            http_client(SOURCE, retries=2, timeout=0.4).send(Request("GET", server.url("/x")))
    assert len(server.connections) == 3  # the first attempt and two retries
    assert all(c.sent < 50 for c in server.connections), [c.sent for c in server.connections]


def test_the_stop_event_abandons_a_transfer_at_once():
    stop = threading.Event()
    with HostileServer(trickle(BODY, every=0.05)) as server:
        client = http_client(SOURCE, retries=3, timeout=600.0, stop=stop)  # only the stop event can end this
        threading.Thread(target=lambda: (server_first_byte(server).wait(10), stop.set()), daemon=True).start()
        with pytest.raises(FetchInterrupted, match="asked to stop"):
            client.send(Request("GET", server.url("/x")))
    assert len(server.connections) == 1, "a stopped transfer is not retried"
    assert server.connections[0].sent < 40


def test_the_stop_event_abandons_a_body_that_stalls():
    done = threading.Event()

    def stall(sock, record):  # ten bytes of a promised thousand, then silence for 30 s
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<ValCurs>x")
        record.sent = 10
        record.first_byte.set()
        done.wait(30)

    stop = threading.Event()
    with HostileServer(stall) as server:
        client = http_client(SOURCE, retries=0, timeout=600.0, stop=stop)  # a read would block for 600 s
        threading.Thread(target=lambda: (server_first_byte(server).wait(10), stop.set()), daemon=True).start()
        with pytest.raises(FetchInterrupted):
            client.send(Request("GET", server.url("/x")))
        assert server.connections[0].closed is None, "abandoned while the server was still stalling"
        done.set()


def server_first_byte(server: HostileServer) -> threading.Event:
    while not server.connections:
        time.sleep(0.01)
    return server.connections[0].first_byte


def test_the_stop_event_cuts_a_retry_after_pause_short():
    stop = threading.Event()
    with HostileServer(answer(b"busy", status="503 Service Unavailable", headers={"Retry-After": "600"})) as server:
        client = http_client(SOURCE, retries=3, timeout=5.0, retry_after_max=600.0, stop=stop)
        threading.Timer(0.3, stop.set).start()
        with pytest.raises(FetchInterrupted):
            client.send(Request("GET", server.url("/x")))
    assert len(server.connections) == 1  # stopped during the 600 s pause, before asking again


@pytest.mark.parametrize("declare_length", [True, False])
def test_an_answer_over_the_cap_stops_reading_and_is_a_typed_error(declare_length):
    total = 200 * 1024 * 1024
    with HostileServer(flood(total, declare_length=declare_length)) as server:
        client = http_client(SOURCE, retries=0, timeout=30.0, max_body_mb=0.25)
        with pytest.raises(ResponseTooLarge, match="max_body_mb = 0.25") as err:
            client.send(Request("GET", server.url("/big")))
    cap = int(0.25 * 1024 * 1024)
    assert err.value.limit == cap
    if declare_length:  # refused on the declared length, before reading a byte
        assert err.value.received == 0 and err.value.declared == total
    else:  # read up to the cap and one chunk more, then stopped
        assert cap < err.value.received <= cap + 64 * 1024
    assert server.connections[0].sent < 32 * 1024 * 1024, "the client kept reading the 200 MB answer"
    assert err.value.response is not None and err.value.response.status == 200 and err.value.response.body == b""


def test_a_compressed_bomb_is_capped_on_its_decoded_size():
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))  # about 50 KB on the wire
    headers = {"Content-Encoding": "gzip"}
    with HostileServer(answer(bomb, headers=headers)) as server:
        with pytest.raises(ResponseTooLarge) as err:
            http_client(SOURCE, retries=0, max_body_mb=1.0).send(Request("GET", server.url("/bomb")))
    assert err.value.received <= 1024 * 1024 + 64 * 1024 * 4


def test_an_answer_under_the_cap_comes_whole():
    body = b"<ValCurs>" + b"y" * 100_000 + b"</ValCurs>"
    with HostileServer(answer(body)) as server:
        response = http_client(SOURCE, retries=0, max_body_mb=1.0).send(Request("GET", server.url("/ok")))
    assert response.body == body and response.redirects == () and response.final_url == ""


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command for a certificate")
@pytest.mark.parametrize("cut", ["deadline", "stop"])
def test_over_tls_the_deadline_and_the_stop_event_hold_too(tmp_path, monkeypatch, cut):
    context, cert = self_signed(tmp_path)
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override the session's own CA
        monkeypatch.delenv(var, raising=False)
    stop = threading.Event()
    with HostileServer(trickle(BODY, every=0.05), tls=context) as server:
        client = http_client(SOURCE, retries=0, timeout=0.5 if cut == "deadline" else 600.0, stop=stop)
        client.session.verify = cert
        if cut == "stop":
            threading.Thread(target=lambda: (server_first_byte(server).wait(10), stop.set()), daemon=True).start()
        with pytest.raises(SourceUnavailable if cut == "deadline" else FetchInterrupted):
            client.send(Request("GET", server.url("/x")))
    assert server.connections[0].sent < 60
