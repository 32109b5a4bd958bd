"""The raw payload archive: compressed bodies stored once, requests archived without secrets."""

import datetime as dt

from stresswatch.fetchers.base import Request
from tests.store.peek import peek

UTC = dt.timezone.utc


def test_payload_archive_round_trip_redacts_secrets(store):
    req = Request("GET", "https://api.example/fred/series/observations",
                  params=(("series_id", "DFF"), ("api_key", "abcdef0123456789abcdef0123456789")),
                  context=(("kind", "json"),))
    pid = store.payloads.save(source="fred", request=req, status=200, content_type="application/json",
                              body=b'{"observations": []}', fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
                              parser_version="1")
    again = store.payloads.save(source="fred", request=req, status=200, content_type="application/json",
                                body=b'{"observations": []}', fetched_at=dt.datetime(2024, 1, 2, tzinfo=UTC),
                                parser_version="1")
    assert again == pid
    (raw,) = peek(store, "SELECT url, request_json, size, length(body) AS stored FROM raw_payloads")
    assert "abcdef0123456789" not in raw["url"] and "abcdef0123456789" not in raw["request_json"]
    (payload,) = list(store.payloads.iter("fred"))
    assert payload.body == b'{"observations": []}'
    assert payload.request.context_get("kind") == "json"
    assert payload.fetched_at == dt.datetime(2024, 1, 1, tzinfo=UTC)
