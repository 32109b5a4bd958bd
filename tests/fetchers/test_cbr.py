"""Bank of Russia fetcher: real captures, own payloads in the real formats, hostile input, builders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from stresswatch import settings as settings_mod
from stresswatch.errors import ConfigError, ParseError
from stresswatch.fetchers.base import load_all
from stresswatch.fetchers.cbr import (CBR_IDS, KEYRATE_START, CbrFetcher, daily_request, directory_request,
                                      dynamic_request, keyrate_request, parse_daily, parse_directory)
from tests.conftest import SPECIMENS, specimen

D = dt.date
BASE = "https://www.cbr.ru"


def real_dir() -> Path:
    """The real CBR captures kept in the repository (tests/specimens/cbr)."""
    return SPECIMENS / "cbr"


def real_file(name: str) -> bytes:
    return specimen("cbr", name).read_bytes()


@pytest.fixture
def fetcher() -> CbrFetcher:
    return CbrFetcher({"base_url": BASE, "currencies": ["USD", "EUR", "CNY"], "keyrate": True})


def obs_map(result) -> dict[tuple[str, dt.date], float]:
    return {(o.series_id, o.date): o.value for o in result.observations}


# ---------------------------------------------------------------------------------------------
# Real captures
# ---------------------------------------------------------------------------------------------
def test_every_real_capture_parses():
    files = sorted(real_dir().glob("*.xml"))
    assert len(files) >= 8
    for path in files:
        body = path.read_bytes()
        if path.name.startswith("XML_daily"):
            day, table, warnings = parse_daily(body)
            assert len(table) >= 34 and warnings == [], path.name
            assert all(nominal >= 1 and value > 0 for _, nominal, value in table.values())
        elif path.name.startswith("XML_dynamic"):
            iso = "CNY"
            req = dynamic_request(BASE, iso, D(2021, 8, 1), D(2021, 12, 31))
            result = CbrFetcher({"currencies": [iso]}).parse(body, req, "application/xml")
            assert result.observations and all(o.series_id == "cbr.fx.CNY" for o in result.observations)
        elif path.name.startswith("XML_valFull"):
            assert parse_directory(body)["USD"] == "R01235"
        else:  # pragma: no cover - a new kind of capture needs a test
            pytest.fail(f"no parser test for {path.name}")


@pytest.mark.parametrize("name, date, count, checks", [
    ("XML_daily_2021-05-22_cp1251.xml", D(2021, 5, 22), 34,
     {"USD": (1, 73.5803), "EUR": (1, 89.9446), "TRY": (10, 8.78896), "INR": (10, 1.00764)}),
    ("XML_daily_2022-03-15_cp1251.xml", D(2022, 3, 15), 34,
     {"USD": (1, 115.1963), "EUR": (1, 127.2343), "CNY": (1, 18.2218), "HKD": (1, 14.7323)}),
    ("XML_daily_2022-07-23_cp1251.xml", D(2022, 7, 23), 34,
     {"CNY": (10, 8.58282), "INR": (100, 0.718477), "DKK": (10, 7.86263), "USD": (1, 57.3917)}),
    ("XML_daily_2023-11-02_cp1251.xml", D(2023, 11, 2), 43,
     {"USD": (1, 93.2801), "VND": (10000, 0.00387231), "IDR": (10000, 0.00586778), "CNY": (1, 12.7052)}),
    ("XML_daily_eng_2025-12-13_extracted_utf8.xml", D(2025, 12, 13), 55,
     {"USD": (1, 79.7296), "DZD": (100, 0.615323), "INR": (100, 0.882079)}),
])
def test_real_daily_tables(name, date, count, checks):
    day, table, warnings = parse_daily(real_file(name))
    assert day == date
    assert len(table) == count
    assert warnings == []  # VunitRate, where present, agrees with Value / Nominal
    for iso, (nominal, per_unit) in checks.items():
        cbr_id, got_nominal, value = table[iso]
        assert cbr_id == CBR_IDS[iso]
        assert got_nominal == nominal
        assert float(value / nominal) == pytest.approx(per_unit, rel=0, abs=1e-12)


def test_real_daily_through_fetcher_keys_on_returned_date(fetcher):
    body = real_file("XML_daily_2022-07-23_cp1251.xml")
    # asked for Monday 25.07.2022, the table in force is the one dated Saturday 23.07.2022
    result = fetcher.parse(body, fetcher.daily_request(D(2022, 7, 25)), "application/xml; charset=windows-1251")
    assert obs_map(result) == {("cbr.fx.USD", D(2022, 7, 23)): 57.3917, ("cbr.fx.EUR", D(2022, 7, 23)): 57.7608,
                               ("cbr.fx.CNY", D(2022, 7, 23)): 8.58282}


def test_real_dynamic_saturday_and_gaps(fetcher):
    body = real_file("XML_dynamic_R01375_2021-08-28_2021-09-02_cp1251.xml")
    req = dynamic_request(BASE, "CNY", D(2021, 8, 28), D(2021, 9, 2))
    got = obs_map(fetcher.parse(body, req))
    assert got == {("cbr.fx.CNY", D(2021, 8, 28)): 11.4177, ("cbr.fx.CNY", D(2021, 8, 31)): 11.378,
                   ("cbr.fx.CNY", D(2021, 9, 1)): 11.3367, ("cbr.fx.CNY", D(2021, 9, 2)): 11.3211}
    assert D(2021, 8, 28).weekday() == 5  # Saturday-dated fixing, nothing for Sun 29 / Mon 30

    body = real_file("XML_dynamic_R01375_2021-10-24_2021-10-27_cp1251.xml")
    got = obs_map(fetcher.parse(body, dynamic_request(BASE, "CNY", D(2021, 10, 24), D(2021, 10, 27))))
    assert got == {("cbr.fx.CNY", D(2021, 10, 26)): 10.9908, ("cbr.fx.CNY", D(2021, 10, 27)): 10.8993}


def test_real_directory_agrees_with_shipped_table():
    directory = parse_directory(real_file("XML_valFull_2021-10_cp1251.xml"))
    common = sorted(set(directory) & set(CBR_IDS))
    assert len(common) >= 30
    assert {iso: directory[iso] for iso in common} == {iso: CBR_IDS[iso] for iso in common}
    assert directory["TRY"] == "R01700J" and directory["AZN"] == "R01020A" and directory["BYN"] == "R01090B"
    assert directory["DEM"] == "R01510"  # two items share DEM: the one that is its own parent wins
    assert "" not in directory  # dead currencies without an ISO code are skipped


def test_shipped_table_matches_every_real_daily_table():
    seen = {}
    for path in real_dir().glob("XML_daily*.xml"):
        _day, table, _ = parse_daily(path.read_bytes())
        seen.update({iso: cbr_id for iso, (cbr_id, _, _) in table.items()})
    assert seen == {iso: CBR_IDS[iso] for iso in seen}
    assert set(seen) == set(CBR_IDS)


# ---------------------------------------------------------------------------------------------
# Own payloads, written in the real wire format (windows-1251 bytes, comma decimals)
# ---------------------------------------------------------------------------------------------
def cp1251(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="windows-1251"?>' + text).encode("cp1251")


def dynamic_body(cbr_id: str, d1: str, d2: str, records: str) -> bytes:
    return cp1251(f'<ValCurs ID="{cbr_id}" DateRange1="{d1}" DateRange2="{d2}" '
                  f'name="Foreign Currency Market Dynamic">{records}</ValCurs>')


def test_dynamic_nominal_changes_within_one_response(fetcher):
    body = dynamic_body("R01375", "20.07.2022", "27.07.2022",
                        '<Record Date="21.07.2022" Id="R01375"><Nominal>1</Nominal><Value>8,6123</Value></Record>'
                        '<Record Date="23.07.2022" Id="R01375"><Nominal>10</Nominal><Value>85,8282</Value></Record>'
                        '<Record Date="26.07.2022" Id="R01375"><Nominal>10</Nominal><Value>87,1234</Value></Record>')
    got = obs_map(fetcher.parse(body, dynamic_request(BASE, "CNY", D(2022, 7, 20), D(2022, 7, 27))))
    assert got == {("cbr.fx.CNY", D(2022, 7, 21)): 8.6123, ("cbr.fx.CNY", D(2022, 7, 23)): 8.58282,
                   ("cbr.fx.CNY", D(2022, 7, 26)): 8.71234}


def test_dynamic_with_vunitrate_and_large_nominal(fetcher):
    body = dynamic_body("R01280", "01.11.2023", "03.11.2023",
                        '<Record Date="02.11.2023" Id="R01280"><Nominal>10000</Nominal><Value>58,6778</Value>'
                        "<VunitRate>0,00586778</VunitRate></Record>"
                        '<Record Date="03.11.2023" Id="R01280"><Nominal>10000</Nominal><Value>58,1000</Value>'
                        "<VunitRate>0,00581</VunitRate></Record>")
    fx = CbrFetcher({"currencies": ["IDR"]})
    result = fx.parse(body, dynamic_request(BASE, "IDR", D(2023, 11, 1), D(2023, 11, 3)))
    assert obs_map(result) == {("cbr.fx.IDR", D(2023, 11, 2)): 0.00586778, ("cbr.fx.IDR", D(2023, 11, 3)): 0.00581}
    assert result.warnings == []


def test_dynamic_vunitrate_disagreeing_is_a_warning_not_a_loss(fetcher):
    body = dynamic_body("R01235", "14.11.2023", "14.11.2023",
                        '<Record Date="14.11.2023" Id="R01235"><Nominal>1</Nominal><Value>91,2345</Value>'
                        "<VunitRate>91,3</VunitRate></Record>")
    result = fetcher.parse(body, dynamic_request(BASE, "USD", D(2023, 11, 14), D(2023, 11, 14)))
    assert obs_map(result) == {("cbr.fx.USD", D(2023, 11, 14)): 91.2345}
    assert len(result.warnings) == 1 and "VunitRate" in result.warnings[0]


def test_empty_range_is_an_empty_result(fetcher):
    body = dynamic_body("R01235", "01.01.2014", "05.01.2014", "")
    assert body.endswith(b"></ValCurs>")
    result = fetcher.parse(body, dynamic_request(BASE, "USD", D(2014, 1, 1), D(2014, 1, 5)))
    assert result.observations == [] and result.follow_up is None


def test_daily_table_with_cyrillic_names_read_from_bytes(fetcher):
    body = cp1251('<ValCurs Date="12.08.2023" name="Foreign Currency Market">'
                  '<Valute ID="R01235"><NumCode>840</NumCode><CharCode>USD</CharCode><Nominal>1</Nominal>'
                  "<Name>Доллар США</Name><Value>98,2066</Value></Valute>"
                  '<Valute ID="R01375"><NumCode>156</NumCode><CharCode>CNY</CharCode><Nominal>10</Nominal>'
                  "<Name>Китайских юаней</Name><Value>135,3510</Value></Valute>"
                  '<Valute ID="R01335"><NumCode>398</NumCode><CharCode>KZT</CharCode><Nominal>100</Nominal>'
                  "<Name>Казахстанских тенге</Name><Value>21,6543</Value></Valute></ValCurs>")
    assert "Доллар".encode("cp1251") in body
    result = fetcher.parse(body, fetcher.daily_request(D(2023, 8, 14)))
    # USD and CNY configured, EUR missing from this table -> warning, KZT not configured -> not returned
    assert obs_map(result) == {("cbr.fx.USD", D(2023, 8, 12)): 98.2066, ("cbr.fx.CNY", D(2023, 8, 12)): 13.5351}
    assert any("EUR" in w for w in result.warnings)
    every = fetcher.parse(body, daily_request(BASE, D(2023, 8, 14)))
    assert obs_map(every)[("cbr.fx.KZT", D(2023, 8, 12))] == pytest.approx(0.216543, abs=1e-12)


def keyrate_body(rows: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            '<soap:Body><KeyRateXMLResponse xmlns="http://web.cbr.ru/"><KeyRateXMLResult>'
            f'<KeyRate xmlns="">{rows}</KeyRate></KeyRateXMLResult></KeyRateXMLResponse></soap:Body></soap:Envelope>'
            ).encode("utf-8")


def test_keyrate_newest_first_with_moscow_offset(fetcher):
    body = keyrate_body("<KR><DT>2023-08-15T00:00:00+03:00</DT><Rate>12.00</Rate></KR>"
                        "<KR><DT>2023-08-14T00:00:00+03:00</DT><Rate>8.50</Rate></KR>"
                        "<KR><DT>2023-08-11T00:00:00+03:00</DT><Rate>8.50</Rate></KR>")
    result = fetcher.parse(body, keyrate_request(BASE, D(2023, 8, 11), D(2023, 8, 15)), "text/xml; charset=utf-8")
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [
        ("cbr.keyrate", D(2023, 8, 11), 8.5), ("cbr.keyrate", D(2023, 8, 14), 8.5),
        ("cbr.keyrate", D(2023, 8, 15), 12.0)]


def test_keyrate_single_row_and_empty(fetcher):
    req = keyrate_request(BASE, D(2014, 12, 16), D(2014, 12, 16))
    one = fetcher.parse(keyrate_body("<KR><DT>2014-12-16T00:00:00+03:00</DT><Rate>17.00</Rate></KR>"), req)
    assert obs_map(one) == {("cbr.keyrate", D(2014, 12, 16)): 17.0}
    assert fetcher.parse(keyrate_body(""), req).observations == []


def test_xml_labelled_text_html_is_judged_by_its_body(fetcher):
    result = fetcher.parse(GOOD_DYN, dynamic_request(BASE, "USD", D(2013, 1, 1), D(2013, 12, 31)),
                           "text/html; charset=windows-1251")
    assert obs_map(result) == {("cbr.fx.USD", D(2013, 1, 10)): 30.3161, ("cbr.fx.USD", D(2013, 1, 11)): 30.3716}


def test_keyrate_namespace_layout_variants(fetcher):
    # KeyRate without xmlns="" (rows inherit http://web.cbr.ru/), a comma decimal tolerated
    body = keyrate_body("<KR><DT>2022-02-28T00:00:00+03:00</DT><Rate>20,00</Rate></KR>").replace(
        b'<KeyRate xmlns="">', b"<KeyRate>")
    req = keyrate_request(BASE, D(2022, 2, 28), D(2022, 2, 28))
    assert obs_map(fetcher.parse(body, req)) == {("cbr.keyrate", D(2022, 2, 28)): 20.0}


# ---------------------------------------------------------------------------------------------
# Hostile and broken input -> ParseError naming the source and the URL
# ---------------------------------------------------------------------------------------------
DYN_REQ = dynamic_request(BASE, "USD", D(2013, 1, 1), D(2013, 12, 31))
KR_REQ = keyrate_request(BASE, D(2013, 9, 13), D(2013, 12, 31))
GOOD_DYN = dynamic_body("R01235", "01.01.2013", "31.12.2013",
                        '<Record Date="10.01.2013" Id="R01235"><Nominal>1</Nominal><Value>30,3161</Value></Record>'
                        '<Record Date="11.01.2013" Id="R01235"><Nominal>1</Nominal><Value>30,3716</Value></Record>')

HOSTILE = {
    "ddos_guard_challenge": (DYN_REQ, b"<!DOCTYPE html>\n<html><head><title>DDOS-GUARD</title></head>"
                                      b"<body>Checking your browser</body></html>", "text/html", "DDOS-GUARD"),
    "html_without_doctype": (DYN_REQ, b"  <html><body>Access denied</body></html>", "", "HTML"),
    "html_content_type": (DYN_REQ, b"<p>blocked</p>", "text/html; charset=utf-8", "HTML"),
    "soap_fault": (KR_REQ, b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
                           b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
                           b"<faultcode>soap:Client</faultcode><faultstring>Server was unable to read request."
                           b"</faultstring></soap:Fault></soap:Body></soap:Envelope>", "text/xml", "SOAP fault"),
    "truncated": (DYN_REQ, GOOD_DYN[: len(GOOD_DYN) * 2 // 3], "application/xml", "truncated"),
    "xml_bomb": (DYN_REQ, b'<?xml version="1.0"?><!DOCTYPE ValCurs [<!ENTITY a "aaaaaaaaaa">'
                          b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                          b'<ValCurs ID="R01235">&c;</ValCurs>', "application/xml", "entity"),
    "external_entity": (DYN_REQ, b'<?xml version="1.0"?><!DOCTYPE ValCurs [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                 b'<ValCurs ID="R01235"><Record Date="10.01.2013" Id="R01235"><Nominal>1</Nominal>'
                                 b"<Value>&x;</Value></Record></ValCurs>", "application/xml", "external entity"),
    "wrong_root": (DYN_REQ, cp1251('<Valuta name="Foreign Currency Market Lib"></Valuta>'), "", "Valuta"),
    "keyrate_to_dynamic_parser": (DYN_REQ, keyrate_body(""), "text/xml", "ValCurs"),
    "dynamic_to_keyrate_parser": (KR_REQ, GOOD_DYN, "application/xml", "Envelope"),
    "non_numeric_value": (DYN_REQ, dynamic_body("R01235", "01.01.2013", "31.12.2013",
                                                '<Record Date="10.01.2013" Id="R01235"><Nominal>1</Nominal>'
                                                "<Value>н/д</Value></Record>"), "", "not a number"),
    "missing_nominal": (DYN_REQ, dynamic_body("R01235", "01.01.2013", "31.12.2013",
                                              '<Record Date="10.01.2013" Id="R01235"><Value>30,3161</Value></Record>'),
                        "", "Nominal"),
    "zero_nominal": (DYN_REQ, dynamic_body("R01235", "01.01.2013", "31.12.2013",
                                           '<Record Date="10.01.2013" Id="R01235"><Nominal>0</Nominal>'
                                           "<Value>30,3161</Value></Record>"), "", "Nominal"),
    "bad_date": (DYN_REQ, dynamic_body("R01235", "01.01.2013", "31.12.2013",
                                       '<Record Date="2013-01-10" Id="R01235"><Nominal>1</Nominal>'
                                       "<Value>30,3161</Value></Record>"), "", "DD.MM.YYYY"),
    "other_currency": (DYN_REQ, dynamic_body("R01239", "01.01.2013", "31.12.2013", ""), "", "R01239"),
    "empty_body": (DYN_REQ, b"", "", "empty"),
    "keyrate_non_numeric": (KR_REQ, keyrate_body("<KR><DT>2013-09-17T00:00:00+03:00</DT><Rate>n/a</Rate></KR>"),
                            "", "not a number"),
    "keyrate_bad_date": (KR_REQ, keyrate_body("<KR><DT>17.09.2013</DT><Rate>5.50</Rate></KR>"), "", "DT"),
    "keyrate_wrong_response": (KR_REQ, keyrate_body("").replace(b"KeyRateXMLResponse", b"MainInfoXMLResponse"),
                               "", "KeyRateXMLResponse"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_and_broken_bodies_raise_parse_error(fetcher, case):
    request, body, content_type, fragment = HOSTILE[case]
    with pytest.raises(ParseError) as info:
        fetcher.parse(body, request, content_type)
    err = info.value
    assert err.source == "cbr"
    assert err.url == request.display() and request.url in err.url
    assert fragment.lower() in err.message.lower()


def test_directory_parse_errors_name_the_url():
    with pytest.raises(ParseError) as info:
        parse_directory(b"<html><title>DDOS-GUARD</title></html>", "https://example.test/scripts/XML_valFull.asp")
    assert info.value.url == "https://example.test/scripts/XML_valFull.asp" and info.value.source == "cbr"


def test_parse_without_kind_is_an_error(fetcher):
    from stresswatch.fetchers.base import Request

    with pytest.raises(ParseError):
        fetcher.parse(GOOD_DYN, Request("GET", BASE + "/x"))


# ---------------------------------------------------------------------------------------------
# Request builders
# ---------------------------------------------------------------------------------------------
def test_build_requests_for_a_year(fetcher):
    reqs = fetcher.build_requests(D(2014, 1, 1), D(2014, 12, 31))
    assert [r.method for r in reqs] == ["GET", "GET", "GET", "POST"]
    for req, (iso, cbr_id) in zip(reqs, [("USD", "R01235"), ("EUR", "R01239"), ("CNY", "R01375")]):
        assert req.url == "https://www.cbr.ru/scripts/XML_dynamic.asp"
        assert req.params == (("date_req1", "01/01/2014"), ("date_req2", "31/12/2014"), ("VAL_NM_RQ", cbr_id))
        assert req.context_get("kind") == "dynamic" and req.context_get("iso") == iso
        assert req.context_get("series_id") == f"cbr.fx.{iso}"
        assert req.body is None
    assert reqs[0].display() == ("GET https://www.cbr.ru/scripts/XML_dynamic.asp?"
                                 "date_req1=01%2F01%2F2014&date_req2=31%2F12%2F2014&VAL_NM_RQ=R01235")
    soap = reqs[3]
    assert soap.url == "https://www.cbr.ru/DailyInfoWebServ/DailyInfo.asmx" and soap.params == ()
    assert dict(soap.headers) == {"Content-Type": "text/xml; charset=utf-8",
                                  "SOAPAction": '"http://web.cbr.ru/KeyRateXML"'}
    envelope = SafeET.fromstring(soap.body)
    assert envelope.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    call = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body/{http://web.cbr.ru/}KeyRateXML")
    assert [child.tag for child in call] == ["{http://web.cbr.ru/}fromDate", "{http://web.cbr.ru/}ToDate"]
    assert [child.text for child in call] == ["2014-01-01T00:00:00", "2014-12-31T00:00:00"]
    assert soap.context_get("kind") == "keyrate" and soap.context_get("series_id") == "cbr.keyrate"


def test_keyrate_request_only_from_2013_09_13(fetcher):
    before = fetcher.build_requests(D(2012, 1, 1), D(2012, 12, 31))
    assert [r.context_get("kind") for r in before] == ["dynamic"] * 3
    during = fetcher.build_requests(D(2013, 1, 1), D(2013, 12, 31))
    soap = [r for r in during if r.context_get("kind") == "keyrate"]
    assert len(soap) == 1 and b"<fromDate>2013-09-13T00:00:00</fromDate>" in soap[0].body
    assert KEYRATE_START == D(2013, 9, 13)
    off = CbrFetcher({"currencies": ["USD"], "keyrate": False})
    assert [r.context_get("kind") for r in off.build_requests(D(2020, 1, 1), D(2020, 12, 31))] == ["dynamic"]


def test_requests_clipped_to_earliest_and_base_url_from_settings():
    fx = CbrFetcher({"base_url": "http://127.0.0.1:9/", "currencies": ["TRY"], "keyrate": True})
    assert fx.build_requests(D(1990, 1, 1), D(1991, 12, 31)) == []
    (req,) = fx.build_requests(D(1992, 1, 1), D(1992, 12, 31))
    assert req.url == "http://127.0.0.1:9/scripts/XML_dynamic.asp"
    assert req.params == (("date_req1", "01/07/1992"), ("date_req2", "31/12/1992"), ("VAL_NM_RQ", "R01700J"))
    assert [p.key for p in fx.partitions(D(1990, 1, 1), D(1993, 3, 1))] == [
        "1992-07-01..1992-12-31", "1993-01-01..1993-03-01"]


def test_daily_and_directory_builders(fetcher):
    req = fetcher.daily_request(D(2023, 8, 14))
    assert req.url == "https://www.cbr.ru/scripts/XML_daily.asp" and req.params == (("date_req", "14/08/2023"),)
    assert req.context_get("kind") == "daily" and req.context_get("isos") == ("USD", "EUR", "CNY")
    assert daily_request(BASE).params == ()
    assert directory_request(BASE).url == "https://www.cbr.ru/scripts/XML_valFull.asp"


def test_series_metadata(fetcher):
    infos = {s.id: s for s in fetcher.series()}
    assert list(infos) == ["cbr.fx.USD", "cbr.fx.EUR", "cbr.fx.CNY", "cbr.keyrate"]
    assert infos["cbr.fx.CNY"].unit == "RUB per 1 CNY" and infos["cbr.fx.CNY"].frequency == "D"
    assert infos["cbr.fx.USD"].publication_lag_days == 0 and infos["cbr.fx.USD"].source == "cbr"
    assert infos["cbr.keyrate"].unit == "percent"


def test_registered_with_settings_section():
    assert load_all()["cbr"] is CbrFetcher
    values = settings_mod.load(environ={}).source("cbr")
    assert values["currencies"] == ["USD", "EUR", "CNY"] and values["keyrate"] is True
    assert CbrFetcher.earliest == D(1992, 7, 1) and CbrFetcher.window == "year"


# ---------------------------------------------------------------------------------------------
# Configuration errors
# ---------------------------------------------------------------------------------------------
def test_unknown_currency_in_fetcher_settings():
    with pytest.raises(ConfigError) as info:
        CbrFetcher({"currencies": ["USD", "XYZ"]})
    text = str(info.value)
    assert "sources.cbr.currencies" in text and "XYZ" in text and "R01235" not in text
    assert "USD" in text and "CNY" in text and "TRY" in text  # the allowed codes are listed


def test_unknown_currency_in_config_file(tmp_path):
    path = tmp_path / "stresswatch.toml"
    path.write_text('[sources.cbr]\ncurrencies = ["USD", "MXN"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        settings_mod.load(config=path, environ={})
    text = str(info.value)
    assert str(path) in text and "sources.cbr.currencies" in text and "MXN" in text and "KZT" in text
    assert info.value.exit_code == 2


def test_currencies_from_environment():
    values = settings_mod.load(environ={"STRESSWATCH_SOURCES__CBR__CURRENCIES": "KZT,TRY"}).source("cbr")
    fx = CbrFetcher(values)
    assert [r.params[2][1] for r in fx.build_requests(D(2020, 1, 1), D(2020, 12, 31))[:2]] == ["R01335", "R01700J"]
