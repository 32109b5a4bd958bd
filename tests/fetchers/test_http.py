"""The HTTP layer against a real local server: retries, Retry-After, timeouts, typed errors, pacing,
redirects kept on the source's host, and what counts as an unreachable host."""

import socket
import time

import pytest
from werkzeug import Response

from stresswatch.errors import RedirectRefused, SourceRejected, SourceUnavailable
from stresswatch.fetchers.base import Request
from tests.fakes.hostile import HostileServer, answer
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


# -- issue 14 item 3: redirects stay on the source's host -------------------------------------------
def test_a_redirect_on_the_same_host_is_followed_and_recorded(httpserver):
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new?x=1"})
    httpserver.expect_request("/new").respond_with_data("<ok/>", content_type="text/xml")
    response = http_client(SOURCE).fetch(Request("GET", httpserver.url_for("/old")))
    assert response.body == b"<ok/>"
    assert response.redirects == (f"301 {httpserver.url_for('/new')}?x=1",)
    assert response.final_url == f"{httpserver.url_for('/new')}?x=1"


def test_a_redirect_to_another_host_is_refused_without_asking_it(httpserver):
    with HostileServer(answer(b"<ValCurs>evil</ValCurs>")) as evil:
        httpserver.expect_request("/x").respond_with_data("", status=302, headers={"Location": evil.url("/x")})
        with pytest.raises(RedirectRefused, match="another host") as err:
            http_client(SOURCE).send(Request("GET", httpserver.url_for("/x")))
        assert evil.connections == []
    assert f"127.0.0.1:{evil.port}" in str(err.value) and "redirect_hosts" in str(err.value)


def test_a_post_is_never_sent_to_another_host_even_when_allowed(httpserver):
    with HostileServer(answer(b"<Envelope/>")) as evil:
        httpserver.expect_request("/soap", method="POST").respond_with_data(
            "", status=307, headers={"Location": evil.url("/soap")})
        client = http_client(SOURCE, redirect_hosts=[f"127.0.0.1:{evil.port}"])
        with pytest.raises(RedirectRefused, match="body is never sent to another host"):
            client.send(Request("POST", httpserver.url_for("/soap"), body=b"<Envelope>secret</Envelope>"))
        assert evil.connections == []


def test_an_allow_listed_host_is_followed_for_a_get(httpserver):
    with HostileServer(answer(b"<ok/>")) as mirror:
        httpserver.expect_request("/x").respond_with_data("", status=302, headers={"Location": mirror.url("/y")})
        response = http_client(SOURCE, redirect_hosts=["127.0.0.1"]).fetch(Request("GET", httpserver.url_for("/x")))
    assert response.body == b"<ok/>" and response.redirects == (f"302 {mirror.url('/y')}",)
    assert len(mirror.connections) == 1


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.test/x", "https:///nohost"])
def test_redirects_to_other_schemes_are_refused(httpserver, location):
    httpserver.expect_request("/x").respond_with_data("", status=302, headers={"Location": location})
    with pytest.raises(RedirectRefused, match="only http"):
        http_client(SOURCE).send(Request("GET", httpserver.url_for("/x")))


def test_a_redirect_loop_ends(httpserver):
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(RedirectRefused, match="more than 5 redirects"):
        http_client(SOURCE).send(Request("GET", httpserver.url_for("/loop")))


def test_a_303_after_a_post_asks_with_get_and_no_body(httpserver):
    httpserver.expect_request("/soap", method="POST").respond_with_data("", status=303, headers={"Location": "/r"})
    httpserver.expect_request("/r", method="GET").respond_with_data("<ok/>")
    response = http_client(SOURCE).fetch(Request("POST", httpserver.url_for("/soap"), body=b"<Envelope/>"))
    assert response.body == b"<ok/>"
    assert httpserver.log[-1][0].method == "GET" and httpserver.log[-1][0].data == b""


# -- issue 13 / 14 item 11: what "unreachable" means ---------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_is_unreachable_on_the_first_attempt():
    port = _closed_port()
    with pytest.raises(SourceUnavailable) as err:
        http_client(SOURCE, retries=4).send(Request("GET", f"http://127.0.0.1:{port}/x"))
    assert err.value.unreachable and err.value.cause == "connection refused"
    assert err.value.host == f"127.0.0.1:{port}"
    assert "Max retries" not in str(err.value) and "HTTPConnection" not in str(err.value)


def test_a_name_that_does_not_resolve_is_unreachable():
    with pytest.raises(SourceUnavailable) as err:
        http_client(SOURCE, retries=4).send(Request("GET", "http://no-such-host.invalid/x"))
    assert err.value.unreachable and err.value.cause == "name not resolved"


def test_a_host_found_unreachable_is_not_asked_again_in_the_run():
    from stresswatch.fetchers.http import HostBook

    port = _closed_port()
    book = HostBook()
    first = http_client(SOURCE, retries=0)
    first.hosts = book
    with pytest.raises(SourceUnavailable):
        first.send(Request("GET", f"http://127.0.0.1:{port}/a"))
    other = http_client("bis", retries=0)  # another source on the same host, same run
    other.hosts = book
    with socket.socket() as listener:  # the port now listens: a connection attempt would succeed
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        listener.settimeout(0.5)
        with pytest.raises(SourceUnavailable, match="not asked again in this run") as err:
            other.send(Request("GET", f"http://127.0.0.1:{port}/b"))
        with pytest.raises(socket.timeout):
            listener.accept()  # nobody knocked
    assert err.value.unreachable


def test_a_read_timeout_is_not_unreachable(httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(SourceUnavailable) as err:
        http_client(SOURCE, retries=0, timeout=0.3).send(Request("GET", httpserver.url_for("/slow")))
    assert err.value.unreachable is False and "timed out" in err.value.cause


def test_the_causes_of_a_failed_connection_in_a_few_words():
    """classify() on the exception chains urllib3 and requests build (a connect timeout cannot be
    provoked here: this sandbox's network accepts connections to unroutable addresses)."""
    import errno

    import requests
    import urllib3

    from stresswatch.fetchers.http import classify

    def wrapped(reason):
        return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))

    refused = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    refused.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    no_route = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    no_route.__cause__ = OSError(errno.EHOSTUNREACH, "No route to host")
    assert classify(wrapped(refused)) == ("connection refused", True)
    assert classify(wrapped(no_route)) == ("no route to host", True)
    assert classify(requests.exceptions.ConnectTimeout(urllib3.exceptions.MaxRetryError(
        None, "/x", urllib3.exceptions.ConnectTimeoutError(None, "timed out")))) == ("connect timed out", True)
    assert classify(wrapped(urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"))) == \
        ("read timed out", False)
    assert classify(wrapped(urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError()))) == \
        ("connection dropped before an answer", False)
