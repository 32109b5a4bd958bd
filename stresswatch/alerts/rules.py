"""Alert rules: `Rule` (one `[[alerts.rules]]` table), `load_rules` and the built-in `default_rules`.

A rule's fields, their defaults and the allowed kinds are declared once, in stresswatch.settings
(`[[alerts.rules]]`); `Rule` takes them from that declaration, as `regimes.spec.RegimeSpec` does for
`[[regimes.models]]`. This module adds only what the declaration cannot say: cross-field checks
(exit <= enter, a source for source_stale) and unique ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from stresswatch.errors import ConfigError
from stresswatch.settings import SOURCE_COMMON, Settings, declared

#: the declared fields of one `[[alerts.rules]]` table
_FIELDS = {f.name: f for f in declared("alerts", "rules").fields}
KINDS: tuple[str, ...] = tuple(_FIELDS["kind"].choices or ())
#: kinds whose alerts are one-off events: they resolve silently
EVENT_KINDS = ("extraordinary_keyrate",)
#: the declared default of `[sources.<id>] stale_days`
_SOURCE_STALE_DAYS: int = next(s.default for s in SOURCE_COMMON if s.name == "stale_days")


@dataclass(frozen=True)
class Rule:
    """One alert rule from `[[alerts.rules]]` (or the built-in defaults)."""

    id: str
    kind: str
    enter: float = _FIELDS["enter"].default
    exit: float = _FIELDS["exit"].default
    for_runs: int = _FIELDS["for_runs"].default
    clear_runs: int = _FIELDS["clear_runs"].default
    percentile: float = _FIELDS["percentile"].default
    pct: float = _FIELDS["pct"].default
    days: int = _FIELDS["days"].default
    series: str = _FIELDS["series"].default
    source: str = _FIELDS["source"].default
    model: str = _FIELDS["model"].default
    min_change: float = _FIELDS["min_change"].default

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> "Rule":
        known = set(cls.__dataclass_fields__)
        rule = cls(**{k: v for k, v in table.items() if k in known})
        if rule.kind not in KINDS:
            raise ConfigError(f"alert rule {rule.id!r}: unknown kind {rule.kind!r}; use one of {', '.join(KINDS)}")
        if rule.kind == "regime" and rule.exit > rule.enter:
            raise ConfigError(f"alert rule {rule.id!r}: exit ({rule.exit}) must not exceed enter ({rule.enter})")
        if rule.kind == "source_stale" and not rule.source:
            raise ConfigError(f"alert rule {rule.id!r}: source_stale needs `source`")
        return rule

    @property
    def sends_resolved(self) -> bool:
        return self.kind not in EVENT_KINDS


def default_rules(settings: Settings) -> list[Rule]:
    """Built-in rules, used while `[alerts] rules` is empty.

    Only the headline regime alert and a staleness guard on the Bank of Russia data are on by
    default: they give one mail when the ruble enters the stress regime and one when it leaves.
    The other kinds (index percentile, extraordinary key-rate decision, ruble move) are opt-in;
    docs/operations.md has ready-to-paste tables.
    """
    try:
        stale_days = int(settings.source("cbr")["stale_days"])
    except KeyError:  # no cbr source registered
        stale_days = _SOURCE_STALE_DAYS
    return [
        # model "" = the headline model, resolved against the store on each run date; enter, exit
        # and for_runs are the declared defaults (0.5, 0.3, 2)
        Rule(id="stress-regime", kind="regime", model="", clear_runs=_episode_clear_runs(settings)),
        Rule(id="cbr-stale", kind="source_stale", source="cbr", days=max(stale_days, 7), for_runs=1, clear_runs=1),
    ]


def _episode_clear_runs(settings: Settings) -> int:
    """Observations of P(stress) below `exit` before the built-in regime alert resolves: one more
    than the gap over which the model's episodes are merged (`[regimes] episode_merge_gap`, in the
    model's own periods: weeks for a weekly model, whose stored probabilities have one row per
    week). So the alert ends when the episode shown in the report would end, and a short lull
    inside one episode does not send a resolved mail followed by a new firing one."""
    return int(settings["regimes"].get("episode_merge_gap", 5)) + 1


def load_rules(settings: Settings) -> list[Rule]:
    """The rules of `[[alerts.rules]]`, or the built-in ones while that list is empty."""
    tables = settings["alerts"]["rules"]
    rules = [Rule.from_config(t) for t in tables] if tables else default_rules(settings)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"[alerts] rules: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    return rules
