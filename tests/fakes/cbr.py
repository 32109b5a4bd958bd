"""A fake Bank of Russia on a real HTTP server (127.0.0.1), answering in the real wire formats.

Endpoints (paths as on www.cbr.ru, matched case-insensitively like IIS does):

* `GET /scripts/XML_dynamic.asp?date_req1=DD/MM/YYYY&date_req2=DD/MM/YYYY&VAL_NM_RQ=<id>`
* `GET /scripts/XML_daily.asp[?date_req=DD/MM/YYYY]` — the table in force on that day
* `GET /scripts/XML_valFull.asp` — the currency directory (currencies with a known numeric code)
* `POST /DailyInfoWebServ/DailyInfo.asmx` with `SOAPAction: "http://web.cbr.ru/KeyRateXML"`

Bodies: windows-1251 bytes with the prolog, comma decimals, `Value` per `Nominal` units (the
history carries the nominal per date, so CNY can be quoted per 10), `VunitRate` from November 2023
on, empty `<ValCurs ...></ValCurs>` for empty ranges, the key rate in UTF-8 with dot decimals,
`+03:00` and newest first. Days without a record in the history (Sundays, Mondays, holidays) are
simply absent, as on the real service.

Faults are switched per endpoint ("dynamic", "daily", "keyrate", "valfull" or "*") for the next N
requests: `inject("dynamic", "503", times=3)`. Kinds: "503" (with Retry-After), "slow" (sleeps
`delay` seconds before answering -> client read timeout), "challenge" (DDOS-GUARD HTML page with
HTTP 200), "truncated" (the XML cut in half, consistent Content-Length), "bomb" (entity expansion),
"xxe" (external entity), "fault" (SOAP fault with HTTP 500), "404", "empty" (a well-formed answer
without records: `<ValCurs ...></ValCurs>`, an empty KeyRate). `times=None` = until cleared.
Every request is logged (`requests`, `count()`), so tests can assert that a rerun asks nothing.

Standalone replay of the real history for manual runs:
`python -m tests.fakes.cbr --port 8765 --from-shared` (reads ../shared/data/real; never copies it).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import defusedxml.ElementTree as SafeET

from stresswatch.fetchers.cbr import CBR_IDS, KEYRATE_START
from tests.conftest import shared_root

ID_TO_ISO = {cbr_id: iso for iso, cbr_id in CBR_IDS.items()}
#: ISO numeric codes (ISO 4217) for the directory and the daily table
NUM_CODES = {"USD": "840", "EUR": "978", "CNY": "156", "KZT": "398", "TRY": "949", "INR": "356",
             "BRL": "986", "ZAR": "710", "HUF": "348", "PLN": "985", "IDR": "360", "GBP": "826",
             "JPY": "392", "CHF": "756"}
NAMES_RU = {"USD": ("Доллар США", "Долларов США"), "EUR": ("Евро", "Евро"),
            "CNY": ("Китайский юань", "Китайских юаней"), "KZT": ("Казахстанский тенге", "Казахстанских тенге"),
            "TRY": ("Турецкая лира", "Турецких лир"), "INR": ("Индийская рупия", "Индийских рупий")}
NAMES_EN = {"USD": "US Dollar", "EUR": "Euro", "CNY": "China Yuan", "KZT": "Kazakhstan Tenge",
            "TRY": "Turkish Lira", "INR": "Indian Rupee", "BRL": "Brazil Real", "ZAR": "S.African Rand",
            "HUF": "Hungarian Forint", "PLN": "Polish Zloty", "IDR": "Rupiah", "GBP": "British Pound Sterling",
            "JPY": "Japanese Yen", "CHF": "Swiss Franc"}
#: VunitRate appears in the real responses from late 2023 on (present in the 2023-11-02 capture)
VUNIT_FROM = dt.date(2023, 11, 1)
#: CNY was quoted per 10 yuan between the real captures of 15.03.2022 (1) and 02.11.2023 (1)
#: (23.07.2022 shows 10); the exact switch days are not in our captures, so this window is a
#: documented assumption of the replay, not a fact.
CNY_PER_10 = (dt.date(2022, 6, 1), dt.date(2023, 10, 31))

CHALLENGE_PAGE = (b"<!DOCTYPE html>\n<html><head><title>DDOS-GUARD</title></head><body>"
                  b"<h1>Checking your browser before accessing www.cbr.ru</h1>"
                  b"<script>/* challenge */</script></body></html>")
BOMB = (b'<?xml version="1.0" encoding="windows-1251"?>\n<!DOCTYPE ValCurs [\n<!ENTITY a "aaaaaaaaaa">\n'
        + b"".join(b'<!ENTITY %s "%s">\n' % (bytes(chr(98 + i), "ascii"), (b"&" + bytes(chr(97 + i), "ascii") + b";") * 10)
                   for i in range(8))
        + b']>\n<ValCurs ID="R01235" DateRange1="01.01.2013" DateRange2="31.12.2013" '
          b'name="Foreign Currency Market Dynamic">&i;</ValCurs>')
XXE = (b'<?xml version="1.0" encoding="windows-1251"?>\n<!DOCTYPE ValCurs [\n'
       b'<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<ValCurs ID="R01235" DateRange1="01.01.2013" '
       b'DateRange2="31.12.2013" name="Foreign Currency Market Dynamic"><Record Date="09.01.2013" Id="R01235">'
       b"<Nominal>1</Nominal><Value>&xxe;</Value></Record></ValCurs>")
SOAP_FAULT = (b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
              b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
              b"<soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Server was unable to process "
              b"request. ---&gt; %s</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>")

FAULT_KINDS = ("503", "slow", "challenge", "truncated", "bomb", "xxe", "fault", "404", "empty")
ENDPOINTS = ("dynamic", "daily", "keyrate", "valfull")


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _comma(value: Decimal, places: int = 4) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}".replace(".", ",")


def _vunit(value: Decimal, nominal: int) -> str:
    per = value / Decimal(nominal)
    text = f"{per.quantize(Decimal('0.00000001')):f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _ru(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------
@dataclass
class CbrHistory:
    """`fx[iso][date] = (nominal, value per nominal)`; `keyrate[date] = percent`."""

    fx: dict[str, dict[dt.date, tuple[int, Decimal]]] = field(default_factory=dict)
    keyrate: dict[dt.date, Decimal] = field(default_factory=dict)

    def per_unit(self, iso: str) -> dict[dt.date, float]:
        """What a correct client stores for `iso`: RUB per 1 unit by date."""
        return {day: float(_dec(value) / Decimal(nominal)) for day, (nominal, value) in self.fx.get(iso, {}).items()}

    def rows(self, start: dt.date, end: dt.date) -> list[tuple[str, str, float]]:
        """(series id, ISO date, value) of every observation in [start, end], as stored."""
        out = []
        for iso in sorted(self.fx):
            out += [(f"cbr.fx.{iso}", d.isoformat(), v) for d, v in sorted(self.per_unit(iso).items())
                    if start <= d <= end]
        out += [("cbr.keyrate", d.isoformat(), float(v)) for d, v in sorted(self.keyrate.items())
                if start <= d <= end]
        return out


def cbr_calendar(start: dt.date, end: dt.date, holidays: set[dt.date] = frozenset()) -> list[dt.date]:
    """Dates the CBR dates its fixings with: the day after each business day (Tue..Sat), minus
    the first days of January and any holiday's following day."""
    out = []
    day = start
    while day <= end:
        fixing_day = day - dt.timedelta(days=1)
        if (fixing_day.weekday() < 5 and fixing_day not in holidays
                and not (day.month == 1 and day.day <= 10)):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def synthetic_history(start: dt.date, end: dt.date, isos: tuple[str, ...] = ("USD", "EUR", "CNY"),
                      seed: int = 7, cny_per_10: tuple[dt.date, dt.date] | None = None) -> CbrHistory:
    """A small deterministic history in CBR's calendar: a random walk per currency with 4-decimal
    per-unit values, CNY quoted per 10 inside `cny_per_10`, and a stepped key rate on Mon..Fri
    from 2013-09-13."""
    rng = random.Random(seed)
    levels = {"USD": 32.0, "EUR": 42.0, "CNY": 5.2, "KZT": 0.21, "TRY": 16.0, "INR": 0.55}
    hist = CbrHistory()
    days = cbr_calendar(start, end)
    for iso in isos:
        level = levels.get(iso, 10.0)
        series: dict[dt.date, tuple[int, Decimal]] = {}
        for day in days:
            level *= 1 + rng.gauss(0.0002, 0.006)
            per_unit = Decimal(f"{level:.4f}")
            nominal = 10 if (iso == "CNY" and cny_per_10 and cny_per_10[0] <= day <= cny_per_10[1]) else 1
            series[day] = (nominal, per_unit * nominal)
        hist.fx[iso] = series
    rate = Decimal("5.50")
    day = max(start, KEYRATE_START)
    while day <= end:
        if day.weekday() < 5 and not (day.month == 1 and day.day <= 8):
            if day.day == 1 and day.month in (3, 6, 9, 12):
                rate += Decimal("0.25") * rng.choice((-2, 1, 2, 4))
            hist.keyrate[day] = rate
        day += dt.timedelta(days=1)
    return hist


def history_from_shared(shared_dir: str | Path) -> CbrHistory:
    """The real CBR history in ../shared/data/real as a replay history (read in place, never copied).

    USD 1992-2024 (MM/DD/YYYY, newest first) + USD/EUR/CNY 2021-2026 (long format), EUR 1999-2020,
    key rate 2013-2023 (tab-separated, DD.MM.YYYY) + 2021-2026. Values in the files are RUB per 1
    unit; CNY is re-quoted per 10 inside `CNY_PER_10` like the real service did."""
    root = Path(shared_dir)
    if (root / "data" / "real").is_dir():
        root = root / "data" / "real"
    fx: dict[str, dict[dt.date, Decimal]] = {"USD": {}, "EUR": {}, "CNY": {}}
    with open(root / "fx" / "cbr_usd_rub_1992_2024.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            fx["USD"][dt.datetime.strptime(row["date"], "%m/%d/%Y").date()] = Decimal(row["rate"])
    with open(root / "fx" / "cbr_eur_rub_1999_2020.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            fx["EUR"][dt.date.fromisoformat(row["date"])] = Decimal(row["value"])
    with open(root / "fx" / "cbr_usd_eur_cny_rub_2021_2026.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            fx[row["currency"]][dt.date.fromisoformat(row["date"])] = Decimal(row["rub_per_unit"])
    hist = CbrHistory()
    for iso, series in fx.items():
        quoted = {}
        for day, per_unit in series.items():
            nominal = 10 if (iso == "CNY" and CNY_PER_10[0] <= day <= CNY_PER_10[1]) else 1
            quoted[day] = (nominal, per_unit * nominal)
        hist.fx[iso] = quoted
    with open(root / "rates" / "cbr_key_rate_daily_2013_2023.tsv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)
        for date_text, rate in reader:
            hist.keyrate[dt.datetime.strptime(date_text, "%d.%m.%Y").date()] = Decimal(rate)
    with open(root / "rates" / "cbr_key_rate_daily_2021_2026.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            hist.keyrate[dt.date.fromisoformat(row["date"])] = Decimal(row["key_rate_pct"])
    return hist


# ---------------------------------------------------------------------------------------------
# Wire formats
# ---------------------------------------------------------------------------------------------
def render_dynamic(hist: CbrHistory, cbr_id: str, d1: dt.date, d2: dt.date) -> bytes:
    iso = ID_TO_ISO.get(cbr_id)
    parts = [f'<?xml version="1.0" encoding="windows-1251"?><ValCurs ID="{cbr_id}" DateRange1="{_ru(d1)}" '
             f'DateRange2="{_ru(d2)}" name="Foreign Currency Market Dynamic">']
    for day, (nominal, value) in sorted((hist.fx.get(iso or "", {})).items()):
        if d1 <= day <= d2:
            value = _dec(value)
            vunit = f"<VunitRate>{_vunit(value, nominal)}</VunitRate>" if day >= VUNIT_FROM else ""
            parts.append(f'<Record Date="{_ru(day)}" Id="{cbr_id}"><Nominal>{nominal}</Nominal>'
                         f"<Value>{_comma(value)}</Value>{vunit}</Record>")
    parts.append("</ValCurs>")
    return "".join(parts).encode("cp1251")


def render_daily(hist: CbrHistory, day: dt.date | None) -> bytes:
    all_days = sorted({d for series in hist.fx.values() for d in series})
    candidates = [d for d in all_days if day is None or d <= day]
    in_force = candidates[-1] if candidates else (day or dt.date.today())
    parts = [f'<?xml version="1.0" encoding="windows-1251"?><ValCurs Date="{_ru(in_force)}" '
             f'name="Foreign Currency Market">']
    for iso in sorted(hist.fx, key=lambda c: CBR_IDS[c]):
        if in_force not in hist.fx[iso]:
            continue
        nominal, value = hist.fx[iso][in_force]
        value = _dec(value)
        singular, plural = NAMES_RU.get(iso, (iso, iso))
        vunit = f"<VunitRate>{_vunit(value, nominal)}</VunitRate>" if in_force >= VUNIT_FROM else ""
        parts.append(f'<Valute ID="{CBR_IDS[iso]}"><NumCode>{NUM_CODES.get(iso, "000").zfill(3)}</NumCode>'
                     f"<CharCode>{iso}</CharCode><Nominal>{nominal}</Nominal>"
                     f"<Name>{singular if nominal == 1 else plural}</Name><Value>{_comma(value)}</Value>{vunit}</Valute>")
    parts.append("</ValCurs>")
    return "".join(parts).encode("cp1251")


def render_directory() -> bytes:
    parts = ['<?xml version="1.0" encoding="windows-1251"?><Valuta name="Foreign Currency Market Lib">']
    for iso, num in sorted(NUM_CODES.items(), key=lambda kv: CBR_IDS[kv[0]]):
        cbr_id = CBR_IDS[iso]
        parent = cbr_id[:6].ljust(10)
        parts.append(f'<Item ID="{cbr_id}"><Name>{NAMES_RU.get(iso, (iso,))[0]}</Name><EngName>{NAMES_EN[iso]}'
                     f"</EngName><Nominal>1</Nominal><ParentCode>{parent}</ParentCode><ISO_Num_Code>{int(num)}"
                     f"</ISO_Num_Code><ISO_Char_Code>{iso}</ISO_Char_Code></Item>")
    parts.append("</Valuta>")
    return "".join(parts).encode("cp1251")


def render_keyrate(hist: CbrHistory, d1: dt.date, d2: dt.date) -> bytes:
    rows = "".join(f"<KR><DT>{day.isoformat()}T00:00:00+03:00</DT><Rate>{_dec(rate).quantize(Decimal('0.01'))}</Rate></KR>"
                   for day, rate in sorted(hist.keyrate.items(), reverse=True) if d1 <= day <= d2)
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            '<soap:Body><KeyRateXMLResponse xmlns="http://web.cbr.ru/"><KeyRateXMLResult>'
            f'<KeyRate xmlns="">{rows}</KeyRate></KeyRateXMLResult></KeyRateXMLResponse></soap:Body></soap:Envelope>'
            ).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str
    remaining: int | None  # None = until cleared
    delay: float = 5.0
    retry_after: str = "0"
    #: only requests for which this returns True get the fault (None = every request)
    when: Callable[["Logged"], bool] | None = None


@dataclass
class Logged:
    endpoint: str
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]
    status: int = 0
    fault: str = ""


class _Bad(Exception):
    def __init__(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"):
        self.status, self.body, self.content_type = status, body, content_type


class FakeCbr:
    """`with FakeCbr(history) as fake: fake.base_url ...` or `base = fake.start(); ...; fake.stop()`."""

    def __init__(self, history: CbrHistory | None = None, keyrate: dict | None = None, port: int = 0,
                 delay: float = 0.0):
        if history is None:
            history = CbrHistory()
        elif not isinstance(history, CbrHistory):  # plain {iso: {date: (nominal, value)}}
            history = CbrHistory(fx=dict(history))
        if keyrate is not None:
            history.keyrate = dict(keyrate)
        self.history = history
        self.port = port
        #: seconds every response waits before being sent (to catch a client mid-partition)
        self.delay = delay
        self.requests: list[Logged] = []
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-cbr-{self.port}", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeCbr":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- faults and counters ----------------------------------------------------------------------
    def inject(self, endpoint: str, kind: str, times: int | None = 1, delay: float = 5.0,
               retry_after: str | int = 0, when: Callable[[Logged], bool] | None = None) -> None:
        """Make the next `times` requests to `endpoint` ("*" = any) fail with `kind`; `when`
        narrows it to matching requests, e.g. `when=lambda r: r.query.get("date_req1") == "01/01/2014"`."""
        if endpoint not in ENDPOINTS + ("*",):
            raise ValueError(f"endpoint {endpoint!r}: use one of {ENDPOINTS} or '*'")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault {kind!r}: use one of {FAULT_KINDS}")
        with self._lock:
            self._faults.setdefault(endpoint, []).append(Fault(kind, times, delay, str(retry_after), when))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, endpoint: str | None = None, served: bool | None = None) -> int:
        """Requests seen (for one endpoint); `served=True` counts only the good 200 answers."""
        with self._lock:
            return sum(1 for r in self.requests if (endpoint is None or r.endpoint == endpoint)
                       and (served is None or (r.status == 200 and not r.fault) == served))

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def _take_fault(self, endpoint: str, entry: Logged) -> Fault | None:
        with self._lock:
            for key in (endpoint, "*"):
                queue = self._faults.get(key) or []
                for fault in list(queue):
                    if fault.when is not None and not fault.when(entry):
                        continue
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            queue.remove(fault)
                    return fault
        return None

    def _log(self, entry: Logged) -> None:
        with self._lock:
            self.requests.append(entry)

    # -- answers ------------------------------------------------------------------------------------
    def answer(self, endpoint: str, query: dict[str, str], body: bytes, headers: dict[str, str]
               ) -> tuple[int, bytes, str]:
        """(status, body, content type) of a fault-free answer; raises _Bad for client errors."""
        if endpoint == "dynamic":
            try:
                d1 = dt.datetime.strptime(query["date_req1"], "%d/%m/%Y").date()
                d2 = dt.datetime.strptime(query["date_req2"], "%d/%m/%Y").date()
                cbr_id = query["VAL_NM_RQ"]
            except (KeyError, ValueError):
                raise _Bad(500, b"Error in parameters") from None
            return 200, render_dynamic(self.history, cbr_id, d1, d2), "application/xml; charset=windows-1251"
        if endpoint == "daily":
            day = None
            if query.get("date_req"):
                try:
                    day = dt.datetime.strptime(query["date_req"], "%d/%m/%Y").date()
                except ValueError:
                    raise _Bad(500, b"Error in parameters") from None
            return 200, render_daily(self.history, day), "application/xml; charset=windows-1251"
        if endpoint == "valfull":
            return 200, render_directory(), "application/xml; charset=windows-1251"
        if endpoint == "keyrate":
            action = headers.get("soapaction", "").strip()
            if action != '"http://web.cbr.ru/KeyRateXML"':
                raise _Bad(500, SOAP_FAULT % b"Server did not recognize the value of HTTP Header SOAPAction: "
                           + action.encode("utf-8", "replace"), "text/xml; charset=utf-8")
            try:
                envelope = SafeET.fromstring(body)
                args = {el.tag.rsplit("}", 1)[-1]: (el.text or "").strip() for el in envelope.iter()}
                d1 = dt.datetime.fromisoformat(args["fromDate"]).date()
                d2 = dt.datetime.fromisoformat(args["ToDate"]).date()
            except Exception:  # noqa: BLE001 - any unreadable request is a SOAP fault, like ASMX
                raise _Bad(500, SOAP_FAULT % b"Server was unable to read request (fromDate/ToDate)",
                           "text/xml; charset=utf-8") from None
            return 200, render_keyrate(self.history, d1, d2), "text/xml; charset=utf-8"
        raise _Bad(404, b"Not Found")


_ROUTES = {"/scripts/xml_dynamic.asp": "dynamic", "/scripts/xml_daily.asp": "daily",
           "/scripts/xml_valfull.asp": "valfull", "/dailyinfowebserv/dailyinfo.asmx": "keyrate"}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeCbr
    protocol_version = "HTTP/1.1"
    #: headers and body go out in two writes; without TCP_NODELAY keep-alive clients hit the
    #: 40 ms Nagle / delayed-ACK stall on every response
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        fake = self.owner
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        endpoint = _ROUTES.get(parts.path.lower(), "")
        if endpoint == "keyrate" and self.command != "POST":
            endpoint = "keyrate-get"
        entry = Logged(endpoint or "unknown", self.command, parts.path, query, body, headers)
        fake._log(entry)
        if fake.delay:
            time.sleep(fake.delay)
        fault = fake._take_fault(endpoint, entry) if endpoint in ENDPOINTS else None
        extra: dict[str, str] = {}
        try:
            if fault is not None:
                entry.fault = fault.kind
                if fault.kind == "slow":
                    time.sleep(fault.delay)
                status, payload, ctype = fake.answer(endpoint, query, body, headers)
                if fault.kind == "503":
                    status, payload, ctype = 503, b"Service Unavailable", "text/html"
                    extra["Retry-After"] = fault.retry_after
                elif fault.kind == "404":
                    status, payload, ctype = 404, b"Not Found", "text/html"
                elif fault.kind == "challenge":
                    status, payload, ctype = 200, CHALLENGE_PAGE, "text/html; charset=utf-8"
                elif fault.kind == "truncated":
                    payload = payload[: max(1, len(payload) // 2)]
                elif fault.kind == "bomb":
                    payload = BOMB
                elif fault.kind == "xxe":
                    payload = XXE
                elif fault.kind == "fault":
                    status, payload, ctype = 500, SOAP_FAULT % b"injected fault", "text/xml; charset=utf-8"
                elif fault.kind == "empty":  # a well-formed answer without a single record
                    payload = render_dynamic(CbrHistory(), query.get("VAL_NM_RQ", ""),
                                             dt.datetime.strptime(query["date_req1"], "%d/%m/%Y").date(),
                                             dt.datetime.strptime(query["date_req2"], "%d/%m/%Y").date()) \
                        if endpoint == "dynamic" else render_keyrate(CbrHistory(), dt.date.min, dt.date.min)
            elif endpoint in ENDPOINTS:
                status, payload, ctype = fake.answer(endpoint, query, body, headers)
            else:
                raise _Bad(404, b"Not Found", "text/html")
        except _Bad as bad:
            status, payload, ctype = bad.status, bad.body, bad.content_type
        entry.status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True


# ---------------------------------------------------------------------------------------------
# Standalone replay
# ---------------------------------------------------------------------------------------------
def default_shared_dir() -> Path:
    return shared_root()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.cbr", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve a fake Bank of Russia (XML_dynamic, XML_daily, XML_valFull, KeyRateXML) on 127.0.0.1.",
        epilog="example:\n  python -m tests.fakes.cbr --port 8765 --from-shared --fault dynamic:503:2\n"
               "  STRESSWATCH_SOURCES__CBR__BASE_URL=http://127.0.0.1:8765 stresswatch backfill "
               "--start 2013-01-01 --end 2024-05-31 --source cbr")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--from-shared", action="store_true", help="replay the real history in ../shared/data/real")
    parser.add_argument("--shared", default=str(default_shared_dir()), help="path of the shared folder")
    parser.add_argument("--synthetic", default="2013-01-01..2014-06-30",
                        help="date range of a synthetic history when --from-shared is not given")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--fault", action="append", default=[],
                        help="ENDPOINT:KIND:TIMES, e.g. dynamic:503:3 or keyrate:challenge:1 (repeatable)")
    args = parser.parse_args(argv)
    if args.from_shared:
        if not Path(args.shared).is_dir():
            print(f"shared folder {args.shared} not found", file=sys.stderr)
            return 2
        history = history_from_shared(args.shared)
    else:
        first, last = (dt.date.fromisoformat(p) for p in args.synthetic.split(".."))
        history = synthetic_history(first, last, cny_per_10=(dt.date(2013, 7, 1), dt.date(2013, 12, 31)))
    fake = FakeCbr(history, port=args.port, delay=args.delay)
    for spec in args.fault:
        endpoint, kind, times = spec.split(":")
        fake.inject(endpoint, kind, times=int(times))
    base = fake.start()
    print(f"fake CBR serving {sum(len(s) for s in history.fx.values())} fixings and "
          f"{len(history.keyrate)} key-rate days on {base} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        print(f"served {fake.count()} requests", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
