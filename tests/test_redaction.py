"""Secrets are masked by value wherever text leaves the program (issue 14 item 8).

The attack: a FRED error body that echoes the API key outside the `api_key=` form. Through the
real CLI (`fetch` at DEBUG level, `status`, `sources`, `reparse`) against a real local server, the
key must appear 0 times in: the log, the command output, the ledger (`runs.error`, `runs.detail`),
the archive (URL, request, metadata and the body itself), and the database file's bytes."""

from __future__ import annotations

import json
import logging
import zlib

from werkzeug import Response

from stresswatch.redaction import MASK, RedactingFilter, redact, redact_bytes, register_secret
from stresswatch.store import Store
from tests.conftest import run_cli

KEY = "f00dcafe0123456789abcdef01234567"  # shaped like a FRED key: 32 lower-case hex characters


def echo_the_key(request):
    key = request.args.get("api_key", "")
    body = {"error_code": 400, "error_message": f"Bad Request.  The value {key} for variable api_key is not "
                                                 f"registered (key {key})."}
    return Response(json.dumps(body), status=400, content_type="application/json",
                    headers={"X-Echo": key})


def test_an_echoed_key_is_found_nowhere(tmp_path, monkeypatch, httpserver, capfd):
    httpserver.expect_request("/fred/series/observations").respond_with_handler(echo_the_key)
    db = tmp_path / "sw.db"
    env = {"STRESSWATCH_STORE__PATH": str(db), "STRESSWATCH_FRED_API_KEY": KEY,
           "STRESSWATCH_SOURCES__FRED__API_BASE_URL": httpserver.url_for("").rstrip("/"),
           "STRESSWATCH_SOURCES__FRED__MIN_INTERVAL": "0", "STRESSWATCH_SOURCES__FRED__HISTORY_START": "2023-01-01",
           "STRESSWATCH_HTTP__RETRIES": "0", "STRESSWATCH_HTTP__BACKOFF_FACTOR": "0"}
    outputs = []
    code, text = run_cli(monkeypatch, env, "--log-level", "DEBUG", "fetch", "--source", "fred", "--date",
                         "2023-03-31", "--format", "json")
    assert code == 1 and json.loads(text)[0]["failed"] >= 1
    outputs.append(text)
    for argv in (("status", "--format", "json"), ("status",), ("sources", "--format", "json"),
                 ("reparse", "--source", "fred", "--format", "json"), ("fetch", "--source", "fred", "--dry-run")):
        code, text = run_cli(monkeypatch, env, "--log-level", "DEBUG", *argv)
        outputs.append(text)
    captured = capfd.readouterr()
    everything = "\n".join(outputs) + captured.out + captured.err
    assert "not registered" in everything and MASK in everything  # the echo arrived, masked
    assert KEY in httpserver.log[0][0].url  # the key did go out, where it belongs
    assert everything.count(KEY) == 0

    with Store.open(db) as store:
        rows = store.ledger.rows()
        assert any("not registered" in (r["error"] or "") for r in rows)
        assert sum(json.dumps(dict(r)).count(KEY) for r in rows) == 0
        payloads = list(store.payloads.iter("fred"))
        assert payloads and all(p.status == 400 for p in payloads)
        for p in payloads:
            text = p.url + repr(p.request) + json.dumps(p.meta) + p.body.decode("utf-8")
            assert text.count(KEY) == 0 and "not registered" in p.body.decode("utf-8")
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("sw.db*"))
    assert raw.count(KEY.encode()) == 0
    assert zlib.compress(KEY.encode()) not in raw


def test_redaction_by_value_and_by_form(monkeypatch):
    monkeypatch.setenv("STRESSWATCH_SMTP_PASSWORD", "hunter2-correct-horse")
    text = "login hunter2-correct-horse failed; url https://x/?token=abc&q=1; key=hunter2-correct-horse%20"
    assert redact(text) == f"login {MASK} failed; url https://x/?token={MASK}&q=1; key={MASK}%20"
    assert redact_bytes(b"pw=hunter2-correct-horse.") == f"pw={MASK}.".encode()
    register_secret("abc")  # too short to mask by value: ordinary words would go too
    assert redact("abcdef") == "abcdef"
    register_secret("zz-registered-secret")
    assert redact("say zz-registered-secret twice: zz-registered-secret") == f"say {MASK} twice: {MASK}"


def test_the_log_filter_masks_arguments_of_any_type_and_tracebacks(monkeypatch):
    monkeypatch.setenv("STRESSWATCH_FRED_API_KEY", KEY)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s (%r)", (ValueError(KEY), {"k": KEY}),
                               None)
    try:
        raise RuntimeError(f"boom {KEY}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    rendered = logging.Formatter().format(record)
    assert KEY not in rendered and rendered.count(MASK) >= 3
