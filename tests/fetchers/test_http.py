"""The HTTP layer against a real local server: retries, Retry-After, timeouts, typed errors, pacing."""

import time

import pytest
from werkzeug import Response

from stresswatch.errors import SourceRejected, SourceUnavailable
from stresswatch.fetchers.base import Request
from tests.fetchers.conftest import http_client

SOURCE = "cbr"  # any configured source: the HTTP layer does not depend on which


def burst_then_ok(failures, status=503, headers=None, body=b"<ok/>"):
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] <= failures:
            return Response("busy", status=status, headers=headers or {})
        return Response(body, status=200, content_type="text/xml")

    return handler, calls


def test_503_burst_is_retried_and_retry_after_honoured(httpserver):
    handler, calls = burst_then_ok(2, headers={"Retry-After": "1"})
    httpserver.expect_request("/x").respond_with_handler(handler)
    started = time.monotonic()
    resp = http_client(SOURCE, retry_after_max=1.0).fetch(Request("GET", httpserver.url_for("/x")))
    assert resp.status == 200 and resp.body == b"<ok/>" and calls["n"] == 3
    assert time.monotonic() - started >= 1.9  # two Retry-After sleeps of 1 s


def test_retry_after_is_capped(httpserver):
    handler, calls = burst_then_ok(1, status=429, headers={"Retry-After": "3600"})
    httpserver.expect_request("/x").respond_with_handler(handler)
    started = time.monotonic()
    http_client(SOURCE, retry_after_max=0.5).fetch(Request("GET", httpserver.url_for("/x")))
    assert time.monotonic() - started < 10 and calls["n"] == 2


def test_persistent_503_is_source_unavailable(httpserver):
    httpserver.expect_request("/x").respond_with_data("down", status=503)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        http_client(SOURCE).fetch(Request("GET", httpserver.url_for("/x")))


def test_404_is_source_rejected_without_retries(httpserver):
    handler, calls = burst_then_ok(99, status=404)
    httpserver.expect_request("/x").respond_with_handler(handler)
    with pytest.raises(SourceRejected, match="HTTP 404"):
        http_client(SOURCE).fetch(Request("GET", httpserver.url_for("/x")))
    assert calls["n"] == 1


def test_read_timeout_is_source_unavailable(httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(SourceUnavailable, match="timed out|connection"):
        http_client(SOURCE, retries=0, timeout=0.3).fetch(Request("GET", httpserver.url_for("/slow")))


def test_connection_refused_is_source_unavailable():
    with pytest.raises(SourceUnavailable):
        http_client(SOURCE, retries=0, connect_timeout=2.0).fetch(Request("GET", "http://127.0.0.1:9/nothing"))


def test_user_agent_and_secret_redaction(httpserver):
    httpserver.expect_request("/k").respond_with_data("bad key", status=400)
    req = Request("GET", httpserver.url_for("/k"), params=(("api_key", "0123456789abcdef0123456789abcdef"),))
    with pytest.raises(SourceRejected) as err:
        http_client(SOURCE).fetch(req)
    assert "0123456789abcdef" not in str(err.value)
    logged, _ = httpserver.log[-1]
    assert logged.headers["User-Agent"].startswith("stresswatch/")


def test_post_is_retried_too(httpserver):
    handler, calls = burst_then_ok(1)
    httpserver.expect_request("/soap", method="POST").respond_with_handler(handler)
    resp = http_client(SOURCE).fetch(Request("POST", httpserver.url_for("/soap"), body=b"<Envelope/>"))
    assert resp.status == 200 and calls["n"] == 2


def test_pacing_spaces_requests_to_one_host(httpserver):
    httpserver.expect_request("/p").respond_with_data("ok")
    c = http_client(SOURCE, min_interval=0.4)
    started = time.monotonic()
    for _ in range(3):
        c.fetch(Request("GET", httpserver.url_for("/p")))
    assert time.monotonic() - started >= 0.75


def _short_body_server(bodies):
    """A raw socket server: each connection gets the next planned answer; a None body means the
    headers promise 1000 bytes and the connection closes after 10 (a transfer cut short)."""
    import socket
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    plan = list(bodies)

    def serve():
        while plan:
            conn, _ = sock.accept()
            conn.recv(65536)
            body = plan.pop(0)
            if body is None:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<ValCurs ")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            conn.close()
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/x"


def test_a_body_cut_short_is_unavailable_and_not_yet_retried():
    url = _short_body_server([None])
    with pytest.raises(SourceUnavailable, match="cut short") as err:
        http_client(SOURCE, retries=0).fetch(Request("GET", url))
    assert err.value.retried is False


def test_connection_failures_are_marked_as_already_retried():
    with pytest.raises(SourceUnavailable) as err:
        http_client(SOURCE, retries=1, connect_timeout=2.0).fetch(Request("GET", "http://127.0.0.1:9/nothing"))
    assert err.value.retried is True
