"""Every parser turns any bad input into ParseError naming source, URL and what was wrong (issue 14
item 4): the two bodies from the issue (IMF `dataSets: ["x"]`, Comtrade rows given as lists), and
for every source a matrix of wrong shapes, wrong types, deep nesting and broken encodings. A body
either parses or raises ParseError -- never AttributeError, KeyError, TypeError, IndexError,
ValueError, UnicodeError or a defusedxml error."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from stresswatch.errors import ParseError
from stresswatch.fetchers.base import ParseResult
from tests.fetchers.conftest import make_fetcher

D = dt.date
SOURCES = ("cbr", "bis", "fred", "imf", "comtrade", "moex", "gdelt")

JSON_SHAPES = [
    b"[]", b"[1, 2, 3]", b'"x"', b"1", b"null", b"true", b"{}",
    b'{"data": 1}', b'{"data": "x"}', b'{"data": [1]}', b'{"data": [[1, 2, 3]]}', b'{"data": {"dataSets": ["x"]}}',
    b'{"data": {"dataSets": [{"series": "x"}], "structures": []}}',
    b'{"data": {"dataSets": [{"series": {"0": "x"}}], "structures": [{"dimensions": "x"}]}}',
    b'{"data": {"dataSets": [{"series": {"0": {"observations": [1]}}}], '
    b'"structures": [{"dimensions": {"series": [{"id": "X", "values": [{"id": "a"}]}], "observation": "x"}}]}}',
    b'{"count": "x", "data": [{"reporterCode": [], "partnerCode": {}}]}',
    b'{"history": {"columns": "x", "data": []}}', b'{"history": {"columns": ["TRADEDATE"], "data": [[{}]]}}',
    b'{"history": {"columns": ["TRADEDATE", "CLOSE"], "data": [[[], []]]}, '
    b'"history.cursor": {"columns": ["INDEX"], "data": [["x"]]}}',
    b'{"articles": [1, "x", null]}', b'{"articles": {"a": 1}}', b'{"timeline": [{"data": "x"}]}',
    b'{"timeline": [{"series": "Average Tone", "data": [{"date": [], "value": {}}]}]}',
    b'{"observations": [1]}', b'{"observations": [{"date": [], "value": {}}]}', b'{"observations": "x"}',
    b'{"observations": [], "count": {}, "offset": [], "limit": "x"}',
    b"[" * 5_000 + b"]" * 5_000,  # nesting deep enough to exhaust the recursion limit
    b'{"x": 1e999999}', b'{"x": "\\ud800"}',
]
XML_SHAPES = [
    b"<ValCurs><Record/></ValCurs>", b'<ValCurs><Record Date="x"><Nominal>a</Nominal></Record></ValCurs>',
    b"<ValCurs><Valute/></ValCurs>", b'<?xml version="1.0" encoding="no-such-codec"?><ValCurs/>',
    b'<?xml version="1.0" encoding="utf-16"?><ValCurs/>', b"\xff\xfe<\x00V\x00",
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><KeyRateXMLResponse>'
    b"<KeyRateXMLResult><KR><DT>2099-99-99</DT><Rate>x</Rate></KR></KeyRateXMLResult></KeyRateXMLResponse>"
    b"</soap:Body></soap:Envelope>",
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/">]><ValCurs>&e;</ValCurs>',
    b"<" * 5_000,
]
TEXT_SHAPES = [
    b"", b"\x00\x01\x02", b"\xff\xfe\xfd", "é".encode("latin-1") * 10, b"a,b\n1", b'"unterminated,1\n',
    b"DATE,X\n2022-13-45,1\n", b"observation_date,DFF\n2022-01-01,1e999999\n",
    b"FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\nD,RU,2022-02-30,1\n", b"FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\nD\n",
]


def _fetcher_and_requests(source: str):
    fetcher = make_fetcher(source)
    requests = fetcher.build_requests(D(2023, 1, 1), D(2023, 12, 31))
    if source == "cbr":  # every CBR endpoint: dynamic, key rate, daily table
        requests = requests[:1] + requests[-1:] + [fetcher.daily_request(D(2023, 8, 15))]
    return fetcher, requests


def _parses_or_raises_parse_error(fetcher, body: bytes, request) -> None:
    try:
        result = fetcher.parse(body, request, "")
    except ParseError as exc:
        assert exc.source == fetcher.id
        assert exc.url == request.display() or "REDACTED" in exc.url
        assert exc.message
        return
    assert isinstance(result, ParseResult)


@pytest.mark.parametrize("source", SOURCES)
def test_no_body_raises_anything_but_parse_error(source):
    fetcher, requests = _fetcher_and_requests(source)
    for request in requests:
        for body in JSON_SHAPES + XML_SHAPES + TEXT_SHAPES:
            _parses_or_raises_parse_error(fetcher, body, request)


def test_imf_datasets_of_strings_is_a_parse_error_naming_the_element():
    fetcher = make_fetcher("imf")
    request = fetcher.build_requests(D(2023, 1, 1), D(2023, 12, 31))[0]
    with pytest.raises(ParseError, match=r"dataSets\[0\] is a string 'x', not an object") as err:
        fetcher.parse(json.dumps({"data": {"dataSets": ["x"], "structures": []}}).encode(), request)
    assert err.value.source == "imf" and "api.imf.org" in err.value.url


def test_comtrade_rows_as_lists_is_a_parse_error_naming_the_row():
    fetcher = make_fetcher("comtrade")
    request = fetcher.build_requests(D(2023, 1, 1), D(2023, 12, 31))[0]
    body = json.dumps({"count": 2, "data": [[156, 643, "X", "M", "202301", 9.9e9], [156, 643, "M"]], "error": ""})
    with pytest.raises(ParseError, match="row 0 is a list, not an object") as err:
        fetcher.parse(body.encode(), request)
    assert err.value.source == "comtrade" and "comtradeapi.un.org" in err.value.url


def test_an_unforeseen_exception_is_named_with_its_type():
    # the generic net: a structure the IMF decoder does not check for by name still becomes a ParseError
    fetcher = make_fetcher("imf")
    request = fetcher.build_requests(D(2023, 1, 1), D(2023, 12, 31))[0]
    body = {"data": {"dataSets": [{"series": {"0": {"observations": {"0": ["1"]}}}}],
                     "structures": [{"dimensions": {"series": [{"id": "X", "values": "ab"}], "observation": []}}]}}
    with pytest.raises(ParseError) as err:
        fetcher.parse(json.dumps(body).encode(), request)
    assert err.value.source == "imf" and err.value.message


@pytest.mark.parametrize("kind", ["external entity", "parameter entity", "billion laughs"])
def test_hostile_xml_is_refused_without_asking_anyone(kind):
    """What held (issue 14): XXE and entity bombs are refused before anything is resolved."""
    from tests.fakes.hostile import HostileServer, answer

    with HostileServer(answer(b"<secret/>")) as server:
        body = {
            "external entity": f'<!DOCTYPE ValCurs [<!ENTITY x SYSTEM "{server.url("/x")}">]><ValCurs>&x;</ValCurs>',
            "parameter entity": f'<!DOCTYPE ValCurs [<!ENTITY % p SYSTEM "{server.url("/p")}"> %p;]><ValCurs/>',
            "billion laughs": '<!DOCTYPE ValCurs [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><ValCurs>&c;</ValCurs>',
        }[kind].encode()
        fetcher = make_fetcher("cbr")
        request = fetcher.build_requests(D(2023, 1, 1), D(2023, 12, 31))[0]
        with pytest.raises(ParseError, match="refused"):
            fetcher.parse(body, request)
        assert server.connections == []
