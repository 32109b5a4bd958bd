"""The raw payload archive: compressed bodies stored once, requests archived without secrets;
migration 0012 (uniqueness on a 32-byte key) on a store with rows from before it."""

import datetime as dt
import hashlib
import json
import zlib

import pytest

from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Observation, Request
from stresswatch.store import Store
from stresswatch.store.payloads import dedup_key, request_from_json, request_to_json
from tests.store.peek import peek
from tests.store.schema_before import store_before

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
    assert "abcdef0123456789" not in (raw["url"] or "") and "abcdef0123456789" not in _stored_text(raw["request_json"])
    (payload,) = list(store.payloads.iter("fred"))
    assert payload.body == b'{"observations": []}'
    assert payload.request.context_get("kind") == "json"
    assert payload.fetched_at == dt.datetime(2024, 1, 1, tzinfo=UTC)


def _stored_text(value: str | bytes) -> str:
    """request_json as the archive holds it: zlib-compressed since migration 0012, text before."""
    return value if isinstance(value, str) else zlib.decompress(value).decode("utf-8")


def test_requests_are_archived_compressed_and_their_line_only_when_it_says_more(store):
    """The request JSON is stored compressed; `url` only when it is not the request's own line
    (a masked secret): Payload.url is the same either way."""
    plain = Request("GET", "http://cbr.test/scripts/XML_dynamic.asp",
                    params=(("date_req1", "17/07/2026"), ("VAL_NM_RQ", "R01235"), ("n", 3)), label="USD")
    # masking the JSON and masking the line differ here (the value's '=' is %3D in the line)
    keyed = Request("GET", "https://api.example/fred/series/observations",
                    params=(("series_id", "DFF"), ("q", "x&api_key=abc")))
    posted = Request("POST", "http://cbr.test/DailyInfoWebServ/DailyInfo.asmx", body="<soap>к</soap>".encode(),
                     headers=(("Content-Type", "text/xml"),))
    for source, request in (("cbr", plain), ("fred", keyed), ("cbr", posted)):
        store.payloads.save(source=source, request=request, status=200, content_type="text/plain", body=b"x",
                            fetched_at=dt.datetime(2026, 7, 17, tzinfo=UTC), parser_version="1")
    raw = peek(store, "SELECT url, request_json FROM raw_payloads ORDER BY id")
    assert [_stored_text(r["request_json"]) for r in raw] == [request_to_json(r) for r in (plain, keyed, posted)]
    assert all(isinstance(r["request_json"], bytes) for r in raw)
    assert [r["url"] is None for r in raw] == [True, False, True]
    archived = list(store.payloads.iter("cbr")) + list(store.payloads.iter("fred"))
    assert [p.url for p in archived] == [plain.display(), posted.display(), keyed.display()]
    assert [p.request for p in archived] == [plain, posted, request_from_json(request_to_json(keyed))]


def _old_save(conn, source: str, request: Request, body: bytes, fetched_at: str, meta: dict | None = None) -> int:
    """A payload as Payloads.save wrote it before migration 0012 (no dedup_key)."""
    cur = conn.execute(
        "INSERT INTO raw_payloads (source, url, request_json, status, content_type, sha256, size, body, fetched_at, "
        "parser_version, job, partition, meta) VALUES (?, ?, ?, 200, 'text/xml', ?, ?, ?, ?, '1', 'fetch:cbr', "
        "'2026-01-01..2026-12-31', ?)",
        (source, request.display(), request_to_json(request), hashlib.sha256(body).hexdigest(), len(body),
         zlib.compress(body, 6), fetched_at, json.dumps(meta) if meta else None))
    return int(cur.lastrowid)


def test_a_store_from_before_0012_keeps_its_payloads_their_references_and_their_dedup(tmp_path):
    path = tmp_path / "old.db"
    conn = store_before(path, "0012")
    usd = Request("GET", "http://cbr.test/scripts/XML_dynamic.asp", params=(("VAL_NM_RQ", "R01235"),),
                  label="USD", context=(("code", "USD"),))
    eur = Request("GET", "http://cbr.test/scripts/XML_dynamic.asp", params=(("VAL_NM_RQ", "R01239"),), label="EUR")
    first = _old_save(conn, "cbr", usd, b"<ValCurs>usd</ValCurs>", "2026-06-01T10:00:00Z", {"span": ["2026-05-20", "2026-06-01"]})
    second = _old_save(conn, "cbr", eur, b"<ValCurs>eur</ValCurs>", "2026-06-01T10:00:01Z")
    conn.execute("INSERT INTO series (id, source, name, unit, frequency, updated_at) VALUES ('cbr.fx.USD', 'cbr', 'USD', 'RUB', 'D', "
                 "'2026-06-01T10:00:00Z')")
    conn.execute("INSERT INTO observations (series_id, date, known_at, value, fetched_at, payload_id) "
                 "VALUES ('cbr.fx.USD', '2026-06-01', '2026-06-01', 80.5, '2026-06-01T10:00:00Z', ?)", (first,))
    conn.execute("INSERT INTO quarantine (source, series_id, date, value, reason, payload_id, fetched_at) "
                 "VALUES ('cbr', 'cbr.fx.USD', '2026-05-31', 'inf', 'not finite', ?, '2026-06-01T10:00:00Z')", (second,))
    before = conn.execute("SELECT * FROM raw_payloads ORDER BY id").fetchall()
    conn.close()

    with Store.open(path) as store:
        assert "0012_payload_dedup_key.sql" in {r[0] for r in peek(store, "SELECT name FROM schema_migrations")}
        after = [tuple(r)[:-1] for r in peek(store, "SELECT * FROM raw_payloads ORDER BY id")]
        assert after == [tuple(r) for r in before]  # every column, ids included, as it was
        payloads = list(store.payloads.iter("cbr"))
        assert [(p.id, p.body, p.request, p.meta) for p in payloads] == [
            (first, b"<ValCurs>usd</ValCurs>", usd, {"span": ["2026-05-20", "2026-06-01"]}),
            (second, b"<ValCurs>eur</ValCurs>", eur, {})]
        # the key computed in SQL by the migration is the one save computes: the same answer is the old row
        assert store.payloads.save(source="cbr", request=usd, status=200, content_type="text/xml",
                                   body=b"<ValCurs>usd</ValCurs>", fetched_at=dt.datetime(2026, 6, 2, tzinfo=UTC),
                                   parser_version="1") == first
        # another body, another source or another request is a new row
        new = {store.payloads.save(source=s, request=r, status=200, content_type="text/xml", body=b, parser_version="1",
                                   fetched_at=dt.datetime(2026, 6, 2, tzinfo=UTC))
               for s, r, b in (("cbr", usd, b"<ValCurs>usd2</ValCurs>"), ("moex", usd, b"<ValCurs>usd</ValCurs>"),
                               ("cbr", eur, b"<ValCurs>usd</ValCurs>"))}
        assert len(new) == 3 and not new & {first, second}
        # the observation and the quarantined value still point at their payloads, and references are enforced
        assert peek(store, "PRAGMA foreign_key_check") == []
        assert [tuple(r) for r in peek(store, "SELECT payload_id FROM observations")] == [(first,)]
        assert [r["payload_id"] for r in store.quarantine.rows()] == [second]
        with pytest.raises(StoreError, match="FOREIGN KEY"):
            store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2026, 6, 2), 81.0)],
                                                  fetched_at=dt.datetime(2026, 6, 2, tzinfo=UTC), payload_id=999)
        assert [r["name"] for r in peek(store, "SELECT name FROM sqlite_master WHERE tbl_name = 'raw_payloads' "
                                                "AND type = 'index' ORDER BY name")] == \
            ["raw_payloads_source", "sqlite_autoindex_raw_payloads_1"]
        assert [r["name"] for r in peek(store, "PRAGMA index_info('sqlite_autoindex_raw_payloads_1')")] == ["dedup_key"]


def test_the_archive_index_holds_a_fixed_size_key_not_the_request(store):
    """Uniqueness costs 32 bytes a row whatever the request's length (the old index repeated it)."""
    long_request = Request("GET", "http://moex.test/iss/history.json", params=tuple((f"p{i}", "x" * 40) for i in range(20)))
    store.payloads.save(source="moex", request=long_request, status=200, content_type="application/json",
                        body=b"{}", fetched_at=dt.datetime(2026, 6, 1, tzinfo=UTC), parser_version="1")
    (row,) = peek(store, "SELECT dedup_key FROM raw_payloads")
    assert len(row["dedup_key"]) == 32 and len(request_to_json(long_request)) > 800
    assert row["dedup_key"] == dedup_key("moex", hashlib.sha256(b"{}").hexdigest(), request_to_json(long_request))
