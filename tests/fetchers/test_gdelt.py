"""GDELT DOC 2.0: requests, ArtList candidates, TimelineTone, quirks, window splitting, wire and CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from werkzeug.wrappers import Response

from stresswatch import cli
from stresswatch import settings as settings_mod
from stresswatch.errors import ConfigError, ParseError, SourceUnavailable
from stresswatch.fetchers.base import load_all
from stresswatch.fetchers.gdelt import (DEFAULT_QUERIES, MAX_RECORDS, GdeltFetcher, parse_seendate,
                                        repair_json_text, tidy_title)
from stresswatch.store import Store
from tests.fakes.gdelt import GdeltFake, article, collect
from tests.fetchers.conftest import http_client, make_fetcher

D = dt.date
UTC = dt.timezone.utc
Q = "Russia China (alliance OR partnership)"


def T(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def one_query(**overrides) -> GdeltFetcher:
    return make_fetcher("gdelt", queries=[{"id": "ru_cn", "query": Q}], **overrides)


def requests_aug(fetcher: GdeltFetcher):
    arts, tone = fetcher.build_requests(D(2023, 8, 1), D(2023, 8, 31))
    return arts, tone


def artlist(*arts: dict) -> bytes:
    return json.dumps({"articles": [
        {"url": a["url"], "url_mobile": "", "title": a["title"], "seendate": a["seen"].strftime("%Y%m%dT%H%M%SZ"),
         "socialimage": "", "domain": a["domain"], "language": a["language"], "sourcecountry": a["sourcecountry"]}
        for a in arts]}).encode()


# -- registration, settings, requests --------------------------------------------------------------
def test_registered_with_default_queries_and_five_second_pacing():
    assert load_all()["gdelt"] is GdeltFetcher
    conf = settings_mod.load(environ={}).source("gdelt")
    assert conf["min_interval"] == 5.0
    assert [q["id"] for q in conf["queries"]] == [q["id"] for q in DEFAULT_QUERIES] == ["alliance", "leaders",
                                                                                          "ministers"]
    fetcher = GdeltFetcher(conf)
    assert [s.id for s in fetcher.series()] == ["gdelt.tone.alliance", "gdelt.tone.leaders", "gdelt.tone.ministers"]
    assert fetcher.window == "month" and fetcher.earliest == D(2017, 1, 1)


def test_default_queries_follow_gdelt_syntax():
    for q in DEFAULT_QUERIES:
        text = q["query"]
        assert text.count('"') % 2 == 0 and text.count("(") == text.count(")")
        # OR only inside parentheses; every parenthesised group is an OR list
        depth = 0
        for token in text.replace("(", " ( ").replace(")", " ) ").split():
            depth += token == "("
            depth -= token == ")"
            if token == "OR":
                assert depth == 1
        for group in text.split("(")[1:]:
            assert " OR " in group.split(")")[0]


@pytest.mark.parametrize("queries, text", [
    ([{"id": "a", "query": "x y"}, {"id": "a", "query": "z"}], "unique query ids"),
    ([{"id": "a b", "query": "x"}], "query ids of letters"),
    ([{"id": "a", "query": "  "}], "non-empty query"),
    ([{"id": "a"}], "missing the required key 'query'"),
])
def test_bad_queries_are_config_errors(queries, text):
    load_all()
    with pytest.raises(ConfigError, match=text):
        settings_mod.load(environ={}, overrides={"sources.gdelt.queries": queries})


def test_build_requests_artlist_and_tone_per_query():
    arts, tone = requests_aug(one_query())
    assert arts.url == tone.url == "https://api.gdeltproject.org/api/v2/doc/doc"
    assert dict(arts.params) == {"query": Q, "mode": "ArtList", "format": "json", "maxrecords": "250",
                                 "startdatetime": "20230801000000", "enddatetime": "20230831235959",
                                 "sort": "DateDesc"}
    assert dict(tone.params) == {"query": Q, "mode": "TimelineTone", "format": "json",
                                 "startdatetime": "20230801000000", "enddatetime": "20230831235959"}
    assert len(make_fetcher("gdelt").build_requests(D(2023, 8, 1), D(2023, 8, 31))) == 6
    assert len(one_query(tone=False).build_requests(D(2023, 8, 1), D(2023, 8, 31))) == 1
    # history before GDELT's DOC coverage is clipped
    first = one_query().build_requests(D(2016, 6, 1), D(2017, 1, 31))[0]
    assert dict(first.params)["startdatetime"] == "20170101000000"


# -- ArtList parsing -------------------------------------------------------------------------------
A1 = article("https://tass.com/politics/1660001", T(2023, 8, 15, 9, 30), "Shoigu : ties with China are \"more than "
             "an alliance\" , minister says", "tass.com", "English", "Russia")
A2 = article("https://www.globaltimes.cn/page/202308/1296233.shtml", T(2023, 8, 16, 3, 15),
             "China , Russia hold talks", "globaltimes.cn", "English", "China")


def test_articles_become_candidates_with_utc_times():
    arts, _ = requests_aug(one_query())
    result = one_query().parse(artlist(A1, A2), arts, "application/json; charset=utf-8")
    assert result.observations == [] and result.follow_up is None and result.warnings == []
    first, second = result.candidates
    assert first.url == A1["url"] and first.seen_at == T(2023, 8, 15, 9, 30) and first.seen_at.tzinfo == UTC
    assert first.title == 'Shoigu: ties with China are "more than an alliance", minister says'
    assert (first.domain, first.language, first.source_country, first.query_id) == (
        "tass.com", "English", "Russia", "ru_cn")
    assert second.source_country == "China" and second.title == "China, Russia hold talks"


@pytest.mark.parametrize("body", [b"{}", b'{"articles": []}', b""])
def test_no_articles_is_empty(body):
    arts, _ = requests_aug(one_query())
    result = one_query().parse(body, arts, "application/json")
    assert result.candidates == [] and result.follow_up is None


def test_articles_without_url_or_with_bad_seendate_are_skipped_with_warnings():
    arts, _ = requests_aug(one_query())
    body = json.dumps({"articles": [{"title": "no url", "seendate": "20230801T000000Z"},
                                    {"url": "https://x.example/1", "seendate": "2023-08-01"},
                                    {"url": "https://x.example/2", "seendate": "20230801T001500Z"}]})
    result = one_query().parse(body.encode(), arts)
    assert [c.url for c in result.candidates] == ["https://x.example/2"]
    assert len(result.warnings) == 2 and "no url" in result.warnings[0] and "seendate" in result.warnings[1]


def test_html_answer_is_a_rejected_query_with_gdelts_message():
    arts, _ = requests_aug(one_query())
    with pytest.raises(ParseError) as info:
        one_query().parse(b"Parentheses may only be used around OR'd statements.\n", arts, "text/html")
    assert "GDELT rejected the query: Parentheses may only be used around OR'd statements." in str(info.value)
    with pytest.raises(ParseError, match="The specified phrase is too short"):
        one_query().parse(b"<html><body><p>The specified phrase is too short.</p></body></html>", arts, "")


def test_invalid_escapes_and_control_characters_are_repaired():
    arts, _ = requests_aug(one_query())
    body = ('{"articles": [{"url": "https://x.example/a", "title": "Putin\\\'s \\xvisit\x01 to \\"Beijing\\"'
            ' caf\\u00e9", "seendate": "20230801T001500Z", "domain": "x.example", "language": "English",'
            ' "sourcecountry": "Russia"}]}').encode()
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    [cand] = one_query().parse(body, arts, "application/json").candidates
    assert cand.title == 'Putin\'s xvisit to "Beijing" café'
    assert repair_json_text('"a\\\\b \\n \\/ \\q"') == '"a\\\\b \\n \\/ q"'


@pytest.mark.parametrize("cut", [1, 40, -3])
def test_truncated_body_is_a_parse_error(cut):
    arts, _ = requests_aug(one_query())
    with pytest.raises(ParseError, match="truncated"):
        one_query().parse(artlist(A1, A2)[:cut], arts)


def test_helpers():
    assert parse_seendate("20230918T031500Z") == T(2023, 9, 18, 3, 15)
    assert tidy_title("  Systems , Inc .  ( NYSE ) ") == "Systems, Inc. (NYSE)"


# -- saturated windows -----------------------------------------------------------------------------
def test_full_page_splits_the_window_at_the_oldest_article():
    fetcher = one_query()
    arts, _ = requests_aug(fetcher)
    page = [article(f"https://x.example/{i}", T(2023, 8, 31, 23, 45) - dt.timedelta(minutes=15 * i))
            for i in range(MAX_RECORDS)]
    result = fetcher.parse(artlist(*page), arts)
    assert len(result.candidates) == MAX_RECORDS
    nxt = result.follow_up
    oldest = page[-1]["seen"]
    assert dict(nxt.params)["startdatetime"] == "20230801000000"
    assert dict(nxt.params)["enddatetime"] == oldest.strftime("%Y%m%d%H%M%S")
    assert dict(nxt.params)["query"] == Q and dict(nxt.params)["mode"] == "ArtList"
    assert nxt.context_get("page") == 2 and "page 2" in nxt.label


def test_one_instant_with_250_articles_steps_past_it():
    fetcher = one_query()
    arts, _ = requests_aug(fetcher)
    instant = T(2023, 8, 31, 23, 59, 59)
    result = fetcher.parse(artlist(*[article(f"https://x.example/{i}", instant) for i in range(MAX_RECORDS)]), arts)
    assert dict(result.follow_up.params)["enddatetime"] == "20230831235958"
    assert "250+ articles" in result.warnings[0]


# -- TimelineTone ----------------------------------------------------------------------------------
def test_tone_is_averaged_per_utc_day_inside_the_window():
    fetcher = one_query()
    _, tone = requests_aug(fetcher)
    body = json.dumps({"query_details": {"title": Q, "date_resolution": "15m"}, "timeline": [
        {"series": "Average Tone", "data": [
            {"date": "20230731T234500Z", "value": 9.0},
            {"date": "20230801T000000Z", "value": -1.0}, {"date": "20230801T001500Z", "value": -2.0},
            {"date": "20230801T233000Z", "value": -3.0}, {"date": "20230815T120000Z", "value": 2.5},
            {"date": "20230816T000000Z", "value": None}]}]}).encode()
    result = fetcher.parse(body, tone, "application/json")
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [
        ("gdelt.tone.ru_cn", D(2023, 8, 1), -2.0), ("gdelt.tone.ru_cn", D(2023, 8, 15), 2.5)]


@pytest.mark.parametrize("body", [b'{"timeline": [{"series": "Average Tone", "data": []}]}', b'{"timeline": []}',
                                  b"{}"])
def test_empty_tone_is_empty(body):
    _, tone = requests_aug(one_query())
    assert one_query().parse(body, tone).observations == []


# -- over the wire ---------------------------------------------------------------------------------
def month_of_articles(n: int, start: dt.datetime = T(2023, 8, 1)) -> list[dict]:
    """n articles, four per hour slot (15-minute seen times shared in pairs), inside August 2023."""
    return [article(f"https://news.example/{i}", start + dt.timedelta(minutes=30 * (i // 2)), f"Story {i}")
            for i in range(n)]


def test_wire_600_articles_come_back_complete_over_three_pages(httpserver):
    items = month_of_articles(600)
    fake = GdeltFake({Q: items + [article("https://old.example/1", T(2023, 7, 31, 23, 45))]})
    fetcher = one_query(base_url=fake.install(httpserver), tone=False)
    _, cands, warnings, sent = collect(fetcher, http_client("gdelt"), D(2023, 8, 1), D(2023, 8, 31))
    assert sent == 3 and warnings == []
    assert {c.url for c in cands} == {a["url"] for a in items}
    ends = [r.args["enddatetime"] for r in fake.requests]
    assert ends[0] == "20230831235959" and ends[1] > ends[2] and all(r.args["startdatetime"] == "20230801000000"
                                                                     for r in fake.requests)


def test_wire_tone_and_no_articles(httpserver):
    fake = GdeltFake({}, {Q: {T(2023, 8, 1, 0, 0): -1.5, T(2023, 8, 1, 12, 0): -2.5, T(2023, 8, 2, 6, 0): 0.5}})
    fetcher = one_query(base_url=fake.install(httpserver))
    obs, cands, warnings, sent = collect(fetcher, http_client("gdelt"), D(2023, 8, 1), D(2023, 8, 31))
    assert sent == 2 and cands == [] and warnings == []
    assert [(o.date, o.value) for o in obs] == [(D(2023, 8, 1), -2.0), (D(2023, 8, 2), 0.5)]


def test_wire_rejected_query_is_a_parse_error_with_the_message(httpserver):
    fake = GdeltFake(rejected={Q: "Your search contained a keyword that was too short."})
    fetcher = one_query(base_url=fake.install(httpserver))
    with pytest.raises(ParseError, match="keyword that was too short"):
        collect(fetcher, http_client("gdelt"), D(2023, 8, 1), D(2023, 8, 31))


def test_wire_broken_json_is_repaired(httpserver):
    fake = GdeltFake({Q: [article("https://x.example/a", T(2023, 8, 3, 10, 0), "Russia's partner")]},
                     broken_json=True)
    fetcher = one_query(base_url=fake.install(httpserver), tone=False)
    _, [cand], _, _ = collect(fetcher, http_client("gdelt"), D(2023, 8, 1), D(2023, 8, 31))
    assert cand.title == "Russia's partner"


@pytest.mark.parametrize("status", [429, 503])
def test_wire_burst_with_retry_after_then_data(httpserver, status):
    fake = GdeltFake({Q: month_of_articles(3)}).fail(status, count=2, retry_after="1",
                                                     body=b"Please limit requests to one every 5 seconds")
    fetcher = one_query(base_url=fake.install(httpserver), tone=False)
    _, cands, _, sent = collect(fetcher, http_client("gdelt", retries=3), D(2023, 8, 1), D(2023, 8, 31))
    assert sent == 1 and len(fake.requests) == 3 and len(cands) == 3


def test_wire_429_that_never_ends_is_unavailable(httpserver):
    fake = GdeltFake({}).fail(429, count=None, retry_after="1", body=b"Please limit requests to one every 5 seconds")
    fetcher = one_query(base_url=fake.install(httpserver), tone=False)
    with pytest.raises(SourceUnavailable, match="429"):
        collect(fetcher, http_client("gdelt", retries=1), D(2023, 8, 1), D(2023, 8, 31))


def test_wire_truncated_body(httpserver):
    httpserver.expect_request("/api/v2/doc/doc").respond_with_response(
        Response(artlist(A1, A2)[:-10], status=200, content_type="application/json"))
    fetcher = one_query(base_url=httpserver.url_for("/").rstrip("/"), tone=False)
    with pytest.raises(ParseError, match="truncated"):
        collect(fetcher, http_client("gdelt"), D(2023, 8, 1), D(2023, 8, 31))


# -- end to end through the CLI: backfill, candidates stored once, reparse rebuilds them ----------
def test_cli_backfill_stores_deduplicated_candidates_and_tone(httpserver, tmp_path, monkeypatch):
    q2 = "Putin \"Xi Jinping\" (alliance OR partnership)"
    shared = article("https://tass.com/politics/1660001", T(2023, 8, 15, 9, 30), "Shoigu : more than an alliance",
                     "tass.com", "English", "Russia")
    fake = GdeltFake({Q: month_of_articles(260) + [shared],
                      q2: [shared, article("https://kremlin.ru/events/1", T(2023, 9, 2, 8, 0), "Talks")]},
                     {Q: {T(2023, 8, 15, 0, 0): -3.0, T(2023, 8, 15, 6, 0): -1.0, T(2023, 9, 1, 0, 0): 1.25}})
    monkeypatch.setenv("STRESSWATCH_SOURCES__GDELT__BASE_URL", fake.install(httpserver))
    monkeypatch.setenv("STRESSWATCH_SOURCES__GDELT__MIN_INTERVAL", "0")
    monkeypatch.setenv("STRESSWATCH_SOURCES__GDELT__QUERIES",
                       json.dumps([{"id": "ru_cn", "query": Q}, {"id": "leaders", "query": q2}])
                       .replace('"id":', "id =").replace('"query":', "query ="))
    db = str(tmp_path / "sw.db")
    out = io.StringIO()
    assert cli.main(["--store", db, "backfill", "--source", "gdelt", "--start", "2023-08-01",
                     "--end", "2023-09-30"], out=out) == 0, out.getvalue()
    with Store.open(db) as store:
        cands = store.candidates.rows()
        assert len(cands) == 260 + 2  # 261 + 2 found, the shared one once
        by_url = {c["url"]: c for c in cands}
        assert by_url[shared["url"]]["query_ids"] == ["leaders", "ru_cn"]
        assert by_url[shared["url"]]["seen_at"] == "2023-08-15T09:30:00Z"
        assert by_url[shared["url"]]["title"] == "Shoigu: more than an alliance"
        assert [c["url"] for c in store.candidates.rows(start=D(2023, 9, 1))] == ["https://kremlin.ru/events/1"]
        assert len(store.candidates.rows(query_id="leaders")) == 2
    out = io.StringIO()
    assert cli.main(["--store", db, "series", "show", "gdelt.tone.ru_cn", "--format", "json"], out=out) == 0
    assert {r["date"]: r["value"] for r in json.loads(out.getvalue())} == {"2023-08-15": -2.0, "2023-09-01": 1.25}
    # reparse rebuilds from the archive; candidates stay deduplicated
    assert cli.main(["--store", db, "reparse", "--source", "gdelt"], out=io.StringIO()) == 0
    with Store.open(db) as store:
        assert len(store.candidates.rows()) == 262
