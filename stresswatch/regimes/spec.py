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
TRENDS: tuple[str, ...] = tuple(_FIELDS["trend"].choices or ())
MIN_REGIMES, MAX_REGIMES = int(_FIELDS["k_regimes"].minimum or 2), int(_FIELDS["k_regimes"].maximum or 4)

REGIME_NAMES = {2: ("calm", "stress"), 3: ("calm", "elevated", "stress"), 4: ("calm", "elevated", "high", "stress")}
#: the state of a gated model in its stress regime while the ruble strengthens: not stress
STRENGTHENING = "strengthening"

#: default specs used when `[regimes] models` is empty; the first is the headline (docs/regimes.md
#: has the real-time scorecards that chose them and of the models they replaced)
DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    # headline: the 3-day move of the exchange rate the Bank of Russia steered (USD, the USD/EUR
    # basket 2005-2014, USD after the float), scaled by a capped slow real-time baseline; zero-mean
    # calm/turbulent variance regimes; turbulence while the ruble strengthens is "strengthening";
    # pegged stretches are left out of the fits
    {"id": "ruble_rt", "series": "cbr.fx.USD", "transform": "policy_logret", "basket_series": "cbr.fx.EUR",
     "scale_window": 250, "scale_floor": 0.05, "scale_cap": 0.35, "horizon": 3,
     "gate": 63, "peg_level": 0.1, "k_regimes": 2, "trend": "n", "switching_mean": False,
     "switching_variance": True, "min_var_ratio": 4.0, "frequency": "D", "start": dt.date(1999, 1, 1)},
    # the composite stress index (stresswatch.compute), 2 regimes in level: a second opinion
    {"id": "stress", "series": "stress.index", "transform": "level", "k_regimes": 2,
     "switching_mean": True, "switching_variance": True, "frequency": "D", "start": dt.date(1999, 1, 1)},
)

#: transforms whose values are signed returns (a direction gate needs one)
SIGNED_RETURNS = ("logret", "weekly_logret", "policy_logret")
#: the headline setting's old value: the era switch between two ruble models, now one rule
RETIRED_HEADLINE = "auto"


MIN_OBS_PER_REGIME = 30


@dataclass(frozen=True)
class RegimeSpec:
    """One regime model. Validates itself; `ValueError` names the bad field.

    The input (transform.py): `series` (and `basket_series` for `policy_logret`) -> returns or
    levels -> divided by a capped slow baseline (`scale_*`, when `scale_window` > 0) -> summed over
    `horizon` observations / sqrt(horizon). `gate` > 0 adds the direction rule (stress only while the
    sum of the last `gate` returns is positive), `peg_level` > 0 leaves pegged rows out of the fits.
    The regimes (fit.py): `k_regimes`, `trend` ("c" constant, "n" zero mean), what switches, AR
    `order`; a fit whose stress variance is below `min_var_ratio` x the calm one is rejected."""

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
    trend: str = _FIELDS["trend"].default
    basket_series: str = _FIELDS["basket_series"].default
    scale_window: int = _FIELDS["scale_window"].default
    scale_floor: float = _FIELDS["scale_floor"].default
    scale_cap: float = _FIELDS["scale_cap"].default
    horizon: int = _FIELDS["horizon"].default
    gate: int = _FIELDS["gate"].default
    peg_level: float = _FIELDS["peg_level"].default
    min_var_ratio: float = _FIELDS["min_var_ratio"].default

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", self.id or ""):
            raise ValueError(f"model id {self.id!r}: use letters, digits, '_', '-', '.'")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"model {self.id}: transform {self.transform!r} is not one of {', '.join(TRANSFORMS)}")
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"model {self.id}: frequency {self.frequency!r} is not one of {', '.join(FREQUENCIES)}")
        if not MIN_REGIMES <= int(self.k_regimes) <= MAX_REGIMES:
            raise ValueError(f"model {self.id}: k_regimes must be {MIN_REGIMES}..{MAX_REGIMES}, got {self.k_regimes}")
        if self.trend not in TRENDS:
            raise ValueError(f"model {self.id}: trend {self.trend!r} is not one of {', '.join(TRENDS)}")
        if self.trend == "n" and self.switching_mean:
            raise ValueError(f"model {self.id}: trend \"n\" (zero mean) cannot have switching_mean = true")
        if not ((self.switching_mean and self.trend == "c") or self.switching_variance):
            raise ValueError(f"model {self.id}: at least one of switching_mean / switching_variance must be true")
        if self.order < 0:
            raise ValueError(f"model {self.id}: order must be >= 0")
        if self.horizon < 1 or self.scale_window < 0 or self.gate < 0 or self.peg_level < 0:
            raise ValueError(f"model {self.id}: horizon must be >= 1; scale_window, gate and peg_level >= 0")
        if self.scale_cap and self.scale_cap < self.scale_floor:
            raise ValueError(f"model {self.id}: scale_cap {self.scale_cap} is below scale_floor {self.scale_floor}")
        if self.gate and self.transform not in SIGNED_RETURNS:
            raise ValueError(f"model {self.id}: a direction gate needs signed returns "
                             f"(transform one of {', '.join(SIGNED_RETURNS)})")
        if self.basket_series and self.transform != "policy_logret":
            raise ValueError(f"model {self.id}: basket_series is used only by transform policy_logret")

    @property
    def periodicity(self) -> str:
        return "W" if self.frequency == "W" or self.transform == "weekly_logret" else "D"

    @property
    def inputs(self) -> tuple[str, ...]:
        """The stored series the model reads (the first one names the model's source)."""
        return (self.series, self.basket_series) if self.basket_series else (self.series,)

    @property
    def regime_names(self) -> tuple[str, ...]:
        return REGIME_NAMES[self.k_regimes]

    @property
    def states(self) -> tuple[str, ...]:
        """Every label an answer can carry: the regimes, plus `strengthening` for a gated model."""
        return self.regime_names + ((STRENGTHENING,) if self.gate else ())

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
        data = {k: v for k, v in dict(data).items() if k in cls.__dataclass_fields__}
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


def headline(store: Store | None, settings: Settings, asof: dt.date | str | None = None) -> str:
    """The model reports, alerts, `events align` and `regimes show` use: `[regimes] headline`, or
    the first configured model when it is empty (the built-in `ruble_rt`). One rule for every store
    and date: the retired "auto" (an era switch between two ruble models by the store's history) is
    read as empty. `store` and `asof` are accepted for the callers' sake and not consulted."""
    chosen = settings["regimes"]["headline"]
    if chosen and chosen != RETIRED_HEADLINE:
        return chosen
    return specs_from_settings(settings)[0].id


def get_spec(settings: Settings, model_id: str) -> RegimeSpec:
    specs = {s.id: s for s in specs_from_settings(settings)}
    if model_id not in specs:
        raise ConfigError(f"unknown regime model {model_id!r}; configured models: {', '.join(sorted(specs))}")
    return specs[model_id]


