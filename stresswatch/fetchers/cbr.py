"""Bank of Russia (cbr.ru): official ruble exchange rates and the key rate.

Owns the request builders and pure parsers for three endpoints:

* `GET /scripts/XML_dynamic.asp` — one currency over a date range (history, a year per request);
* `GET /scripts/XML_daily.asp` — every currency in force on one day (keyed on the returned date);
* `POST /DailyInfoWebServ/DailyInfo.asmx` — SOAP 1.1 `KeyRateXML` (the key rate, from 2013-09-13);

plus `parse_directory` for the currency directory `XML_valFull.asp` and the shipped ISO -> CBR id
table `CBR_IDS`. Bodies go to defusedxml as bytes (the windows-1251 prolog is honoured by the
parser; nothing is decoded first). Values are stored as RUB per 1 unit: `Value / Nominal` per row,
computed in Decimal, because nominals change over time for the same currency (CNY 1 -> 10 -> 1).
Series: `cbr.fx.<ISO>` and `cbr.keyrate`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlSyntaxError

import defusedxml
import defusedxml.ElementTree as SafeET

from stresswatch.errors import ConfigError, ParseError
from stresswatch.fetchers.base import Fetcher, ParseResult, Observation, Request, SeriesInfo, register, sniff_html
from stresswatch.settings import Setting

SOURCE = "cbr"

#: ISO 4217 code -> Bank of Russia internal currency id. Built from the real captures of
#: XML_daily.asp (2021-05-22, 2022-03-15, 2022-07-23, 2023-11-02, XML_daily_eng 2025-12-13) and
#: checked against XML_valFull.asp (2021-10) wherever the currency is listed there. Currencies the
#: CBR does not quote (e.g. MXN) are deliberately absent.
CBR_IDS: dict[str, str] = {
    "AED": "R01230",  # UAE Dirham
    "AMD": "R01060",  # Armenian Dram
    "AUD": "R01010",  # Australian Dollar
    "AZN": "R01020A",  # Azerbaijan Manat
    "BDT": "R01685",  # Bangladesh Taka
    "BGN": "R01100",  # Bulgarian Lev
    "BHD": "R01080",  # Bahraini Dinar
    "BOB": "R01105",  # Bolivian Boliviano
    "BRL": "R01115",  # Brazilian Real
    "BYN": "R01090B",  # Belarusian Ruble
    "CAD": "R01350",  # Canadian Dollar
    "CHF": "R01775",  # Swiss Franc
    "CNY": "R01375",  # Yuan Renminbi
    "CUP": "R01395",  # Cuban Peso
    "CZK": "R01760",  # Czech Koruna
    "DKK": "R01215",  # Danish Krone
    "DZD": "R01030",  # Algerian Dinar
    "EGP": "R01240",  # Egyptian Pound
    "ETB": "R01800",  # Ethiopian Birr
    "EUR": "R01239",  # Euro
    "GBP": "R01035",  # Pound Sterling
    "GEL": "R01210",  # Lari
    "HKD": "R01200",  # Hong Kong Dollar
    "HUF": "R01135",  # Forint
    "IDR": "R01280",  # Rupiah
    "INR": "R01270",  # Indian Rupee
    "IRR": "R01300",  # Iranian Rial
    "JPY": "R01820",  # Yen
    "KGS": "R01370",  # Som
    "KRW": "R01815",  # Won
    "KZT": "R01335",  # Tenge
    "MDL": "R01500",  # Moldovan Leu
    "MMK": "R02005",  # Kyat
    "MNT": "R01503",  # Tugrik
    "NGN": "R01520",  # Naira
    "NOK": "R01535",  # Norwegian Krone
    "NZD": "R01530",  # New Zealand Dollar
    "OMR": "R01540",  # Omani Rial
    "PLN": "R01565",  # Zloty
    "QAR": "R01355",  # Qatari Rial
    "RON": "R01585F",  # Romanian Leu
    "RSD": "R01805F",  # Serbian Dinar
    "SAR": "R01580",  # Saudi Riyal
    "SEK": "R01770",  # Swedish Krona
    "SGD": "R01625",  # Singapore Dollar
    "THB": "R01675",  # Baht
    "TJS": "R01670",  # Somoni
    "TMT": "R01710A",  # Turkmenistan New Manat
    "TRY": "R01700J",  # Turkish Lira
    "UAH": "R01720",  # Hryvnia
    "USD": "R01235",  # US Dollar
    "UZS": "R01717",  # Uzbekistan Sum
    "VND": "R01150",  # Dong
    "XDR": "R01589",  # SDR
    "ZAR": "R01810",  # Rand
}

#: the key rate was introduced on 13 September 2013
KEYRATE_START = dt.date(2013, 9, 13)
#: currencies the Bank of Russia is known to have quoted every business day since these dates
#: (an empty answer for a window after them is a hole, not "no data"); others may be listed later
PUBLISHED_SINCE = {"USD": dt.date(1992, 7, 1), "EUR": dt.date(1999, 1, 1)}
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
CBR_WS_NS = "http://web.cbr.ru/"
KEYRATE_ACTION = '"http://web.cbr.ru/KeyRateXML"'
DYNAMIC_PATH = "/scripts/XML_dynamic.asp"
DAILY_PATH = "/scripts/XML_daily.asp"
DIRECTORY_PATH = "/scripts/XML_valFull.asp"
SOAP_PATH = "/DailyInfoWebServ/DailyInfo.asmx"


def _check_currencies(value: list[str]) -> str | None:
    unknown = [code for code in value if code not in CBR_IDS]
    if unknown:
        return (f"ISO codes the Bank of Russia quotes (unknown: {', '.join(unknown)}); "
                f"allowed: {', '.join(sorted(CBR_IDS))}")
    if len(set(value)) != len(value):
        return "a list of distinct ISO codes (duplicates given)"
    return None


def fx_series_id(iso: str) -> str:
    return f"cbr.fx.{iso}"


KEYRATE_SERIES = "cbr.keyrate"


# ---------------------------------------------------------------------------------------------
# Request builders (pure)
# ---------------------------------------------------------------------------------------------
def _ddmmyyyy(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def dynamic_request(base_url: str, iso: str, start: dt.date, end: dt.date) -> Request:
    """XML_dynamic.asp for one currency over start..end inclusive."""
    cbr_id = CBR_IDS[iso]
    return Request(
        method="GET",
        url=f"{base_url}{DYNAMIC_PATH}",
        params=(("date_req1", _ddmmyyyy(start)), ("date_req2", _ddmmyyyy(end)), ("VAL_NM_RQ", cbr_id)),
        label=f"{iso} {start.isoformat()}..{end.isoformat()}",
        context=(("kind", "dynamic"), ("iso", iso), ("cbr_id", cbr_id), ("series_id", fx_series_id(iso))),
    )


def daily_request(base_url: str, day: dt.date | None = None, isos: tuple[str, ...] | None = None) -> Request:
    """XML_daily.asp: the table in force on `day` (None = the latest registered one).

    `isos` limits the parsed observations to those currencies; None = every currency in the table."""
    params = (("date_req", _ddmmyyyy(day)),) if day is not None else ()
    return Request(
        method="GET",
        url=f"{base_url}{DAILY_PATH}",
        params=params,
        label=f"daily {day.isoformat() if day else 'latest'}",
        context=(("kind", "daily"), ("isos", tuple(isos) if isos is not None else None)),
    )


def keyrate_envelope(start: dt.date, end: dt.date) -> bytes:
    """The SOAP 1.1 body of KeyRateXML; element names `fromDate` / `ToDate` as in the WSDL."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP_NS}">\n'
        "  <soap:Body>\n"
        f'    <KeyRateXML xmlns="{CBR_WS_NS}">\n'
        f"      <fromDate>{start.isoformat()}T00:00:00</fromDate>\n"
        f"      <ToDate>{end.isoformat()}T00:00:00</ToDate>\n"
        "    </KeyRateXML>\n"
        "  </soap:Body>\n"
        "</soap:Envelope>\n"
    ).encode("utf-8")


def keyrate_request(base_url: str, start: dt.date, end: dt.date) -> Request:
    return Request(
        method="POST",
        url=f"{base_url}{SOAP_PATH}",
        headers=(("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", KEYRATE_ACTION)),
        body=keyrate_envelope(start, end),
        label=f"keyrate {start.isoformat()}..{end.isoformat()}",
        context=(("kind", "keyrate"), ("series_id", KEYRATE_SERIES)),
    )


def directory_request(base_url: str) -> Request:
    return Request(method="GET", url=f"{base_url}{DIRECTORY_PATH}", label="currency directory",
                   context=(("kind", "directory"),))


# ---------------------------------------------------------------------------------------------
# Parsing helpers (pure)
# ---------------------------------------------------------------------------------------------
class _Bad(Exception):
    """Internal: a format problem, turned into ParseError with the source and URL by the caller."""


def _xml_root(body: bytes, content_type: str = "") -> Element:
    if not body or not body.strip():
        raise _Bad("empty body")
    # the body decides, not the Content-Type: some servers label XML as text/html
    if sniff_html(body):
        title = ""
        low = body[:4096].lower()
        i, j = low.find(b"<title>"), low.find(b"</title>")
        if 0 <= i < j:
            title = body[i + 7:j].decode("ascii", "replace").strip()
        hint = f" titled {title!r}" if title else ""
        raise _Bad(f"got an HTML page{hint} instead of XML (anti-bot challenge or error page)")
    try:
        return SafeET.fromstring(body)
    except defusedxml.EntitiesForbidden as exc:
        if getattr(exc, "sysid", None) or getattr(exc, "pubid", None):
            raise _Bad(f"refused XML declaring the external entity {exc.name!r} "
                       f"({exc.sysid or exc.pubid!r})") from None
        raise _Bad(f"refused XML declaring the entity {exc.name!r} (possible entity-expansion bomb)") from None
    except defusedxml.ExternalReferenceForbidden as exc:
        raise _Bad(f"refused XML with an external reference: {exc}") from None
    except defusedxml.DefusedXmlException as exc:
        raise _Bad(f"refused hostile XML: {exc}") from None
    except XmlSyntaxError as exc:
        raise _Bad(f"malformed or truncated XML{_html_hint(content_type)}: {exc}") from None
    except (LookupError, ValueError) as exc:  # unknown encoding in the prolog
        raise _Bad(f"unreadable XML: {exc}") from None


def _html_hint(content_type: str) -> str:
    return f" (Content-Type {content_type!r}: an HTML page?)" if "html" in content_type.lower() else ""


def _expect_root(root: Element, name: str, content_type: str) -> None:
    if root.tag != name:
        raise _Bad(f"expected root element {name}, got {root.tag!r}{_html_hint(content_type)}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _decimal(text: str | None, what: str) -> Decimal:
    raw = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        raise _Bad(f"missing {what}")
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        raise _Bad(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise _Bad(f"{what} {text!r} is not a finite number")
    return value


def _nominal(text: str | None) -> int:
    raw = (text or "").strip()
    if not raw.isdigit() or int(raw) <= 0:
        raise _Bad(f"Nominal {text!r} is not a positive integer")
    return int(raw)


def _ddmmyyyy_date(text: str | None, what: str) -> dt.date:
    try:
        return dt.datetime.strptime((text or "").strip(), "%d.%m.%Y").date()
    except ValueError:
        raise _Bad(f"{what} {text!r} is not a DD.MM.YYYY date") from None


def per_unit(value: Decimal, nominal: int) -> float:
    """RUB per 1 unit from a quote per `nominal` units, without losing decimals."""
    return float(value / Decimal(nominal))


def _check_vunit(value: Decimal, nominal: int, vunit_text: str | None, where: str, warnings: list[str]) -> None:
    if vunit_text is None:
        return
    vunit = _decimal(vunit_text, f"VunitRate of {where}")
    expected = value / Decimal(nominal)
    if abs(vunit - expected) > Decimal("0.00000001") + abs(expected) * Decimal("1e-9"):
        warnings.append(f"{where}: VunitRate {vunit} differs from Value/Nominal {expected}")


def parse_dynamic(body: bytes, content_type: str = "") -> tuple[str, list[tuple[dt.date, int, Decimal]], list[str]]:
    """XML_dynamic.asp -> (CBR id, [(date, nominal, value per nominal)], warnings). Raises _Bad."""
    root = _xml_root(body, content_type)
    _expect_root(root, "ValCurs", content_type)
    cbr_id = root.get("ID", "")
    rows: list[tuple[dt.date, int, Decimal]] = []
    warnings: list[str] = []
    for rec in root:
        if rec.tag != "Record":
            raise _Bad(f"unexpected element {rec.tag!r} in ValCurs")
        day = _ddmmyyyy_date(rec.get("Date"), "Record Date")
        where = f"Record {day.isoformat()}"
        nominal = _nominal(rec.findtext("Nominal"))
        value = _decimal(rec.findtext("Value"), f"Value of {where}")
        if value <= 0:
            raise _Bad(f"Value of {where} is not positive: {value}")
        _check_vunit(value, nominal, rec.findtext("VunitRate"), where, warnings)
        rows.append((day, nominal, value))
    return cbr_id, rows, warnings


def parse_daily(body: bytes, content_type: str = "") -> tuple[dt.date, dict[str, tuple[str, int, Decimal]], list[str]]:
    """XML_daily.asp -> (date in force as returned, {ISO: (CBR id, nominal, value per nominal)}, warnings)."""
    root = _xml_root(body, content_type)
    _expect_root(root, "ValCurs", content_type)
    day = _ddmmyyyy_date(root.get("Date"), "ValCurs Date")
    table: dict[str, tuple[str, int, Decimal]] = {}
    warnings: list[str] = []
    for val in root:
        if val.tag != "Valute":
            raise _Bad(f"unexpected element {val.tag!r} in ValCurs")
        iso = (val.findtext("CharCode") or "").strip()
        if not iso:
            raise _Bad(f"Valute {val.get('ID')!r} has no CharCode")
        nominal = _nominal(val.findtext("Nominal"))
        value = _decimal(val.findtext("Value"), f"Value of {iso}")
        if value <= 0:
            raise _Bad(f"Value of {iso} is not positive: {value}")
        _check_vunit(value, nominal, val.findtext("VunitRate"), iso, warnings)
        table[iso] = (val.get("ID", ""), nominal, value)
    return day, table, warnings


def parse_keyrate(body: bytes, content_type: str = "") -> list[tuple[dt.date, float]]:
    """KeyRateXML SOAP response -> [(date, percent)] oldest first. Raises _Bad."""
    root = _xml_root(body, content_type)
    _expect_root(root, f"{{{SOAP_NS}}}Envelope", content_type)
    body_el = root.find(f"{{{SOAP_NS}}}Body")
    if body_el is None:
        raise _Bad("SOAP envelope without Body")
    fault = body_el.find(f"{{{SOAP_NS}}}Fault")
    if fault is not None:
        code = (fault.findtext("faultcode") or "").strip()
        text = (fault.findtext("faultstring") or "").strip()
        raise _Bad(f"SOAP fault {code}: {text}"[:500])
    # matched by local name: the response's own namespace (http://web.cbr.ru/) is not relied on
    response = next((child for child in body_el if _local(child.tag) == "KeyRateXMLResponse"), None)
    if response is None:
        found = [_local(child.tag) for child in body_el]
        raise _Bad(f"expected KeyRateXMLResponse in the SOAP body, got {found}")
    result = next((child for child in response if _local(child.tag) == "KeyRateXMLResult"), None)
    if result is None:
        return []
    out: dict[dt.date, float] = {}
    for kr in result.iter():
        if _local(kr.tag) != "KR":
            continue
        dt_text = None
        rate_text = None
        for child in kr:
            name = _local(child.tag)
            if name == "DT":
                dt_text = child.text
            elif name == "Rate":
                rate_text = child.text
        raw = (dt_text or "").strip()
        try:
            day = dt.date.fromisoformat(raw[:10])
        except ValueError:
            raise _Bad(f"KR DT {dt_text!r} is not an ISO date-time") from None
        rate = _decimal(rate_text, f"key rate for {day}")  # dot decimals on this endpoint; a comma is tolerated
        if rate < 0 or rate > 1000:
            raise _Bad(f"key rate {rate} for {day} out of range")
        out[day] = float(rate)
    return sorted(out.items())


def parse_directory(body: bytes, url: str = f"https://www.cbr.ru{DIRECTORY_PATH}") -> dict[str, str]:
    """XML_valFull.asp -> {ISO code: CBR id}. Items without an ISO code (dead currencies) are
    skipped; where several items share a code the one whose ID equals its ParentCode wins."""
    try:
        root = _xml_root(body)
        if root.tag != "Valuta":
            raise _Bad(f"expected root element Valuta, got {root.tag!r}")
        out: dict[str, str] = {}
        for item in root:
            if item.tag != "Item":
                raise _Bad(f"unexpected element {item.tag!r} in Valuta")
            cbr_id = (item.get("ID") or "").strip()
            iso = (item.findtext("ISO_Char_Code") or "").strip()
            if not cbr_id:
                raise _Bad("Item without ID")
            if not iso:
                continue
            parent = (item.findtext("ParentCode") or "").strip()
            if iso not in out or cbr_id == parent:
                out[iso] = cbr_id
        return out
    except _Bad as exc:
        raise ParseError(SOURCE, url, str(exc)) from None


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------
@register
class CbrFetcher(Fetcher):
    """Bank of Russia: official ruble rates (XML_dynamic/XML_daily) and the key rate (DailyInfo SOAP)."""

    id = "cbr"
    parser_version = "1"
    default_base_url = "https://www.cbr.ru"
    window = "year"
    earliest = dt.date(1992, 7, 1)
    extra_settings = (
        Setting("currencies", "list[str]", ["USD", "EUR", "CNY"],
                "currencies to fetch, ISO codes (mapped to CBR ids by the shipped table)", check=_check_currencies),
        Setting("keyrate", "bool", True, "fetch the key rate (DailyInfo SOAP, from 2013-09-13)"),
    )

    def __init__(self, settings: Mapping[str, Any]):
        super().__init__(settings)
        currencies = list(settings.get("currencies", ["USD", "EUR", "CNY"]))
        problem = _check_currencies(currencies)
        if problem:
            raise ConfigError(f"sources.cbr.currencies = {currencies!r} is not allowed; expected {problem}")
        self.currencies: list[str] = currencies
        self.keyrate: bool = bool(settings.get("keyrate", True))

    def series(self) -> list[SeriesInfo]:
        out = [SeriesInfo(fx_series_id(iso), self.id, f"Bank of Russia official rate, RUB per 1 {iso}",
                          f"RUB per 1 {iso}", "D", 0) for iso in self.currencies]
        if self.keyrate:
            out.append(SeriesInfo(KEYRATE_SERIES, self.id, "Bank of Russia key rate", "percent", "D", 0))
        return out

    def published_since(self) -> dict[str, dt.date]:
        """USD since the first official rate (1992-07-01), EUR since its introduction
        (1999-01-01), the key rate since it was introduced (2013-09-13): each every business day."""
        out = {fx_series_id(iso): since for iso, since in PUBLISHED_SINCE.items() if iso in self.currencies}
        if self.keyrate:
            out[KEYRATE_SERIES] = KEYRATE_START
        return out

    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        start = max(start, self.earliest)
        if start > end:
            return []
        requests = [dynamic_request(self.base_url, iso, start, end) for iso in self.currencies]
        if self.keyrate and end >= KEYRATE_START:
            requests.append(keyrate_request(self.base_url, max(start, KEYRATE_START), end))
        return requests

    def daily_request(self, day: dt.date | None = None) -> Request:
        """The daily table for `day`, parsed into this fetcher's configured currencies."""
        return daily_request(self.base_url, day, tuple(self.currencies))

    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        kind = request.context_get("kind")
        try:
            if kind == "dynamic":
                return self._parse_dynamic(body, request, content_type)
            if kind == "daily":
                return self._parse_daily(body, request, content_type)
            if kind == "keyrate":
                rows = parse_keyrate(body, content_type)
                return ParseResult(observations=[Observation(KEYRATE_SERIES, day, rate) for day, rate in rows])
            if kind == "directory":
                mapping = parse_directory(body, request.display())
                return ParseResult(warnings=[f"directory lists {len(mapping)} currencies with ISO codes"])
        except _Bad as exc:
            raise self.parse_error(request, str(exc)) from None
        raise self.parse_error(request, f"request has no known kind in its context ({kind!r})")

    def _parse_dynamic(self, body: bytes, request: Request, content_type: str) -> ParseResult:
        cbr_id, rows, warnings = parse_dynamic(body, content_type)
        expected = request.context_get("cbr_id")
        if expected and cbr_id and cbr_id != expected:
            raise _Bad(f"response is for currency {cbr_id}, asked for {expected}")
        series_id = request.context_get("series_id")
        obs = [Observation(series_id, day, per_unit(value, nominal)) for day, nominal, value in rows]
        return ParseResult(observations=obs, warnings=warnings)

    def _parse_daily(self, body: bytes, request: Request, content_type: str) -> ParseResult:
        day, table, warnings = parse_daily(body, content_type)
        wanted = request.context_get("isos")
        isos = sorted(table) if wanted is None else list(wanted)
        obs = []
        for iso in isos:
            if iso not in table:
                warnings.append(f"{iso} is not in the table dated {day.isoformat()}")
                continue
            _cbr_id, nominal, value = table[iso]
            obs.append(Observation(fx_series_id(iso), day, per_unit(value, nominal)))
        return ParseResult(observations=obs, warnings=warnings)
