"""Plausibility: which fetched values may become observations, judged before anything is stored.

Rules are data: `[[rule]]` tables in a TOML file (the shipped config/plausibility.toml, or the
file named by `[plausibility] rules`), loaded and validated by `load_rules`. Every value must also
pass the checks no file can switch off:

- a finite number (no inf or NaN -- `1e999` in JSON decodes to inf);
- dated inside the window it was asked for (from the start of the period that holds the window's
  first day, for monthly and weekly series) and not after the day it was fetched plus one day
  (time zones), so a 2015 row inside a 2023 answer or a row dated 2099 is not a "revision".

A rule whose `series` pattern matches adds its own checks: `positive`, a range `min`/`max`, and
limits against the last known value of the series -- the nearest earlier date, among the values
stored and those accepted from the same answer, at most `within_days` older: `max_ratio` (a
factor) and `max_change` (an absolute difference).

`screen` is pure: it takes the candidate observations and the stored history it needs and returns
what may be stored and what is quarantined with a reason. The pipeline stores the rejects with
`store.quarantine` and `stresswatch status` shows them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import fnmatch
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from stresswatch.errors import ConfigError
from stresswatch.fetchers.base import Observation
from stresswatch.settings import Settings, shipped_text

SHIPPED = "plausibility.toml"
DEFAULT_WITHIN_DAYS = 31
#: days after the fetch day a value may be dated (the fetch time is UTC, a source's day is local)
FUTURE_SLACK_DAYS = 1
_FIELDS = {"series", "positive", "min", "max", "max_ratio", "max_change", "within_days", "note"}


@dataclass(frozen=True)
class Rule:
    """One `[[rule]]` table."""

    series: str
    positive: bool = False
    min: float | None = None
    max: float | None = None
    max_ratio: float | None = None
    max_change: float | None = None
    within_days: int = DEFAULT_WITHIN_DAYS
    note: str = ""

    def matches(self, series_id: str) -> bool:
        return fnmatch.fnmatchcase(series_id, self.series)


@dataclass(frozen=True)
class Rejected:
    """An observation refused, with the reason in words."""

    observation: Observation
    reason: str


@dataclass(frozen=True)
class Window:
    """What one answer was asked for: observations dated `start`..`end`, fetched on `fetched_on`."""

    start: dt.date | None
    end: dt.date | None
    fetched_on: dt.date


class Rules:
    """The loaded rules; `for_series` gives those that apply to one series."""

    def __init__(self, rules: Iterable[Rule], origin: str = SHIPPED):
        self.rules = list(rules)
        self.origin = origin
        self._cache: dict[str, list[Rule]] = {}

    def for_series(self, series_id: str) -> list[Rule]:
        if series_id not in self._cache:
            self._cache[series_id] = [r for r in self.rules if r.matches(series_id)]
        return self._cache[series_id]


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def load_rules(settings: Settings | None = None) -> Rules:
    """The rules named by `[plausibility] rules`, else the shipped file. ConfigError names the
    file and the rule on anything malformed."""
    raw = str(settings["plausibility"]["rules"]) if settings is not None else ""
    if raw:
        path = Path(raw).expanduser()
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"[plausibility] rules = {raw!r}: cannot read it ({exc.strerror or exc})") from None
        return parse_rules(text, str(path))
    return parse_rules(shipped_text(SHIPPED), f"shipped {SHIPPED}")


def parse_rules(text: str, where: str) -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    unknown = set(data) - {"rule"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}; expected [[rule]] tables")
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: `rule` must be an array of tables ([[rule]])")
    return Rules([_rule(entry, n, where) for n, entry in enumerate(entries, start=1)], where)


def _rule(entry: Any, n: int, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: rule #{n} must be a table")
    what = f"{where}: rule #{n}" + (f" ({entry.get('series')!r})" if isinstance(entry.get("series"), str) else "")
    bad = set(entry) - _FIELDS
    if bad:
        raise ConfigError(f"{what}: unknown field(s) {', '.join(sorted(bad))}; allowed: {', '.join(sorted(_FIELDS))}")
    series = entry.get("series")
    if not isinstance(series, str) or not series.strip() or any(c.isspace() or ord(c) < 32 for c in series):
        raise ConfigError(f"{what}: `series` must be a series id pattern such as \"cbr.fx.*\"")

    def number(key: str, minimum: float | None = None, above: float | None = None) -> float | None:
        value = entry.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{what}: `{key}` must be a finite number, not {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{what}: `{key}` must be >= {minimum:g}, not {value!r}")
        if above is not None and value <= above:
            raise ConfigError(f"{what}: `{key}` must be > {above:g}, not {value!r}")
        return float(value)

    positive = entry.get("positive", False)
    if not isinstance(positive, bool):
        raise ConfigError(f"{what}: `positive` must be true or false")
    low, high = number("min"), number("max")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{what}: min {low:g} is above max {high:g}")
    within = entry.get("within_days", DEFAULT_WITHIN_DAYS)
    if isinstance(within, bool) or not isinstance(within, int) or within < 1:
        raise ConfigError(f"{what}: `within_days` must be a whole number of days >= 1, not {within!r}")
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise ConfigError(f"{what}: `note` must be text")
    return Rule(series=series.strip(), positive=positive, min=low, max=high, max_ratio=number("max_ratio", above=1.0),
                max_change=number("max_change", minimum=0.0), within_days=within, note=note)


# ---------------------------------------------------------------------------------------------
# judging
# ---------------------------------------------------------------------------------------------
def period_start(day: dt.date, frequency: str) -> dt.date:
    """The first day of the period of `frequency` that holds `day` (a week ends on the day)."""
    if frequency == "W":
        return day - dt.timedelta(days=6)
    if frequency == "M":
        return day.replace(day=1)
    if frequency == "Q":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if frequency == "A":
        return dt.date(day.year, 1, 1)
    return day


def screen(observations: Iterable[Observation], rules: Rules, window: Window,
           frequencies: Mapping[str, str] | None = None,
           history: Mapping[str, Iterable[tuple[dt.date, float]]] | None = None
           ) -> tuple[list[Observation], list[Rejected]]:
    """Split `observations` into (accepted, rejected). `frequencies`: series id -> "D"/"W"/"M"/...
    (default "D"); `history`: series id -> stored (date, value) pairs near the window, the last
    known values the jump limits compare with. Order of `accepted` follows the input."""
    frequencies = frequencies or {}
    history = history or {}
    known: dict[str, tuple[list[dt.date], list[float]]] = {}
    verdicts: dict[int, str | None] = {}
    indexed = list(enumerate(observations))
    latest = window.fetched_on + dt.timedelta(days=FUTURE_SLACK_DAYS)
    for i, obs in sorted(indexed, key=lambda item: (item[1].series_id, item[1].date)):
        if obs.series_id not in known:
            pairs = sorted(dict(history.get(obs.series_id, ())).items())
            known[obs.series_id] = ([d for d, _ in pairs], [v for _, v in pairs])
        dates, values = known[obs.series_id]
        reason = _date_problem(obs, window, frequencies.get(obs.series_id, "D"), latest)
        if reason is None:
            reason = _value_problem(obs, rules.for_series(obs.series_id), _last_before(dates, values, obs.date))
        verdicts[i] = reason
        if reason is None:  # an accepted value is the reference for the next date
            if not dates or dates[-1] < obs.date:  # the usual case: values come in date order
                dates.append(obs.date)
                values.append(obs.value)
                continue
            at = bisect.bisect_left(dates, obs.date)
            if at < len(dates) and dates[at] == obs.date:
                values[at] = obs.value
            else:
                dates.insert(at, obs.date)
                values.insert(at, obs.value)
    accepted = [obs for i, obs in indexed if verdicts[i] is None]
    rejected = [Rejected(obs, verdicts[i] or "") for i, obs in indexed if verdicts[i] is not None]
    return accepted, rejected


def _last_before(dates: list[dt.date], values: list[float], day: dt.date) -> tuple[dt.date, float] | None:
    at = bisect.bisect_left(dates, day)
    return (dates[at - 1], values[at - 1]) if at else None


def _date_problem(obs: Observation, window: Window, frequency: str, latest: dt.date) -> str | None:
    if obs.date > latest:
        return f"dated {obs.date}, after the day it was fetched ({window.fetched_on})"
    if window.end is not None and obs.date > window.end:
        return f"dated {obs.date}, after the window asked for ({window.start}..{window.end})"
    if window.start is not None and obs.date < window.start and obs.date < period_start(window.start, frequency):
        return f"dated {obs.date}, before the window asked for ({window.start}..{window.end})"
    return None


def _value_problem(obs: Observation, rules: list[Rule], last: tuple[dt.date, float] | None) -> str | None:
    value = obs.value
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"value {value!r} is not a finite number"
    for rule in rules:
        if rule.positive and value <= 0:
            return f"value {value:g} is not positive (rule {rule.series})"
        if rule.min is not None and value < rule.min:
            return f"value {value:g} is below {rule.min:g} (rule {rule.series})"
        if rule.max is not None and value > rule.max:
            return f"value {value:g} is above {rule.max:g} (rule {rule.series})"
        if last is None or (obs.date - last[0]).days > rule.within_days:
            continue
        before_day, before = last
        if rule.max_change is not None and abs(value - before) > rule.max_change:
            return (f"value {value:g} moves {value - before:+g} from {before:g} on {before_day}, "
                    f"more than {rule.max_change:g} (rule {rule.series})")
        if rule.max_ratio is not None and before > 0 and value > 0 and \
                max(value / before, before / value) > rule.max_ratio:
            return (f"value {value:g} is {value / before:.3g} times {before:g} on {before_day}, "
                    f"beyond a factor {rule.max_ratio:g} (rule {rule.series})")
        if rule.max_ratio is not None and (before > 0) != (value > 0):
            return f"value {value:g} changes sign from {before:g} on {before_day} (rule {rule.series})"
    return None
