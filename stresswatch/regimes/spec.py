"""What a regime model is and which one speaks for the project.

`RegimeSpec` (one model: input series, transform, number of regimes, what switches), the specs of
`[[regimes.models]]` (built-in defaults when that list is empty) and `headline`, the headline
rule: which model reports, alerts, the event study and the CLI use when none is named. The spec's
defaults and choices come from the settings declarations of `[[regimes.models]]` (declared once, in
stresswatch.settings).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from stresswatch.errors import ConfigError
from stresswatch.settings import Settings, declared
from stresswatch.store import Store

#: the declared fields of one `[[regimes.models]]` table
_FIELDS = {f.name: f for f in declared("regimes", "models").fields}
TRANSFORMS: tuple[str, ...] = tuple(_FIELDS["transform"].choices or ())
FREQUENCIES: tuple[str, ...] = tuple(_FIELDS["frequency"].choices or ())
MIN_REGIMES, MAX_REGIMES = int(_FIELDS["k_regimes"].minimum or 2), int(_FIELDS["k_regimes"].maximum or 4)

REGIME_NAMES = {2: ("calm", "stress"), 3: ("calm", "elevated", "stress"), 4: ("calm", "elevated", "high", "stress")}

#: default specs used when `[regimes] models` is empty
DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    # headline: weekly returns, 3 regimes -- passes every documented-episode check on 1999-2026
    # (docs/regimes.md); the daily variant reacts faster but misses most of the 2008-09 devaluation
    {"id": "ruble3", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 3,
     "switching_mean": True, "switching_variance": True, "frequency": "W", "start": dt.date(1999, 1, 1)},
    {"id": "ruble3d", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 3,
     "switching_mean": True, "switching_variance": True, "frequency": "D", "start": dt.date(1999, 1, 1)},
    {"id": "stress", "series": "stress.index", "transform": "level", "k_regimes": 2,
     "switching_mean": True, "switching_variance": True, "frequency": "D", "start": dt.date(1999, 1, 1)},
    # the floating era only: 2 regimes (calm, stress) fitted from 2013, so the same whatever history
    # the store holds beyond that; the headline when the store lacks the managed era (see `headline`)
    {"id": "ruble2f", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 2,
     "switching_mean": True, "switching_variance": True, "frequency": "W", "start": dt.date(2013, 1, 1)},
)

#: the Bank of Russia let the ruble float on 10 Nov 2014 (end of the managed band)
FLOAT_DATE = dt.date(2014, 11, 10)
#: managed-era history a full-history 3-regime ruble model needs to give that era its own calm regime
MANAGED_ERA_YEARS = 5
#: `[regimes] headline = "auto"` chooses between these two built-in models
AUTO_HEADLINE = ("ruble3", "ruble2f")


MIN_OBS_PER_REGIME = 30


@dataclass(frozen=True)
class RegimeSpec:
    """One regime model. Validates itself; `ValueError` names the bad field."""

    id: str
    series: str
    transform: str = _FIELDS["transform"].default
    k_regimes: int = _FIELDS["k_regimes"].default
    switching_mean: bool = _FIELDS["switching_mean"].default
    switching_variance: bool = _FIELDS["switching_variance"].default
    frequency: str = _FIELDS["frequency"].default
    start: dt.date = _FIELDS["start"].default
    #: autoregressive order (0 = MarkovRegression; >0 = MarkovAutoregression with common AR terms)
    order: int = _FIELDS["order"].default

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", self.id or ""):
            raise ValueError(f"model id {self.id!r}: use letters, digits, '_', '-', '.'")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"model {self.id}: transform {self.transform!r} is not one of {', '.join(TRANSFORMS)}")
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"model {self.id}: frequency {self.frequency!r} is not one of {', '.join(FREQUENCIES)}")
        if not MIN_REGIMES <= int(self.k_regimes) <= MAX_REGIMES:
            raise ValueError(f"model {self.id}: k_regimes must be {MIN_REGIMES}..{MAX_REGIMES}, got {self.k_regimes}")
        if not (self.switching_mean or self.switching_variance):
            raise ValueError(f"model {self.id}: at least one of switching_mean / switching_variance must be true")
        if self.order < 0:
            raise ValueError(f"model {self.id}: order must be >= 0")

    @property
    def periodicity(self) -> str:
        return "W" if self.frequency == "W" or self.transform == "weekly_logret" else "D"

    @property
    def regime_names(self) -> tuple[str, ...]:
        return REGIME_NAMES[self.k_regimes]

    @property
    def min_observations(self) -> int:
        """The fewest observations a fit of this spec accepts."""
        return MIN_OBS_PER_REGIME * self.k_regimes + self.order

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["start"] = self.start.isoformat()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RegimeSpec":
        data = dict(data)
        data["start"] = dt.date.fromisoformat(str(data["start"]))
        return cls(**data)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:16]


#: THE labelling rule, used by every consumer (report, alerts, event study, e-mail, CLI): the regime
#: of a period is the one with the highest *filtered* probability, P(S_t | data up to t) with the
#: run's parameters -- what the model could say on that day. Smoothed probabilities use later data
#: (they revise the past as data arrive), so they are shown only as a labelled hindsight column.
LABEL_BASIS = "filtered"


def most_likely(filtered: np.ndarray) -> np.ndarray:
    """Index of the most likely regime per row of filtered probabilities (n x k, or k)."""
    return np.asarray(filtered, dtype=float).argmax(axis=-1)


def specs_from_settings(settings: Settings) -> list[RegimeSpec]:
    """The model specs of `[regimes] models`, or the built-in ones when that list is empty."""
    tables = settings["regimes"]["models"] or list(DEFAULT_MODELS)
    specs, seen = [], set()
    for table in tables:
        try:
            spec = RegimeSpec(**{k: table[k] for k in table if k in RegimeSpec.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"[[regimes.models]]: {exc}") from None
        if spec.id in seen:
            raise ConfigError(f"[[regimes.models]]: model id {spec.id!r} appears twice")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def headline(store: Store, settings: Settings, asof: dt.date | str | None = None) -> str:
    """The model reports, alerts, `events align` and `regimes show` use.

    `[regimes] headline` names it, or is "auto" (the default): the full-history 3-regime weekly ruble
    model (`ruble3`) when the store holds at least MANAGED_ERA_YEARS of the managed ruble before the
    float (or no ruble data at all), else the floating-era 2-regime model (`ruble2f`). A 3-regime fit
    needs the managed era to spend its calm regime on; without it the three regimes split the
    floating era into calm / elevated / extreme and the August 2023 episode reads as merely
    "elevated" (docs/regimes.md has the numbers). With custom `[[regimes.models]]` lacking either
    built-in, "auto" means the first configured model.
    """
    chosen = settings["regimes"]["headline"]
    if chosen != "auto":
        return chosen
    specs = {spec.id: spec for spec in specs_from_settings(settings)}
    full, floating = AUTO_HEADLINE
    if full not in specs or floating not in specs:
        return next(iter(specs))
    first = store.observations.first_date(specs[full].series, asof=asof)
    needed = FLOAT_DATE.replace(year=FLOAT_DATE.year - MANAGED_ERA_YEARS)
    return full if first is None or first <= needed else floating


def get_spec(settings: Settings, model_id: str) -> RegimeSpec:
    specs = {s.id: s for s in specs_from_settings(settings)}
    if model_id not in specs:
        raise ConfigError(f"unknown regime model {model_id!r}; configured models: {', '.join(sorted(specs))}")
    return specs[model_id]


