"""Indicator registry: every indicator has an id (a template such as `fx.rv20.{code}`), the store
series it reads, a unit, and a pure function of pandas Series whose docstring states the formula.

Families live in their own modules (fx, rates, trade, markets, emp); each calls `register(...)` at
import time. `REGISTRY` maps template ids to `Indicator`; `resolve("fx.rv20.USD")` finds the
template and the placeholder values; `expand(available_series)` lists the concrete ids whose
inputs exist in a store. The composite index lives in `composite.py`; the orchestration that reads
the store is `stresswatch.compute`.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import pandas as pd


@dataclass(frozen=True)
class Indicator:
    """One registered indicator.

    `inputs` are store series ids, possibly with placeholders (`cbr.fx.{code}`); a trailing `*`
    means "every series with this prefix" (the function then receives a dict of them).
    `compute(inputs, ctx)` gets the input Series (reference-dated, as stored) keyed by the
    resolved input id and returns a Series. `lookback` is how many native observations of the
    inputs one value depends on (used to date when a value became known). `frequency` is the
    frequency of the output ("B" business days, "M" monthly, "E" event dates).
    """

    id: str
    inputs: tuple[str, ...]
    unit: str
    compute: Callable[[Mapping[str, Any], Mapping[str, Any]], pd.Series]
    doc: str
    family: str
    lookback: int = 1
    frequency: str = "B"
    optional_inputs: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.id

    def placeholders(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.id) if f]

    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for literal, name, _, _ in string.Formatter().parse(self.id):
            regex += re.escape(literal)
            if name:
                regex += f"(?P<{name}>[A-Za-z0-9_]+)"
        return re.compile("^" + regex + "$")

    def bind(self, **values: str) -> tuple[str, tuple[str, ...]]:
        """Concrete id and input ids for placeholder values."""
        return self.id.format(**values), tuple(i.format(**values) for i in self.inputs)


REGISTRY: dict[str, Indicator] = {}


def register(id: str, *, inputs: Iterable[str], unit: str, func: Callable[..., pd.Series],
             compute: Callable[[Mapping[str, Any], Mapping[str, Any]], pd.Series], family: str,
             lookback: int = 1, frequency: str = "B", optional_inputs: Iterable[str] = ()) -> Indicator:
    """Register an indicator; `func` is the pure function whose docstring documents it."""
    if id in REGISTRY:
        raise ValueError(f"indicator {id!r} is registered twice")
    ind = Indicator(id=id, inputs=tuple(inputs), unit=unit, compute=compute, doc=func.__doc__ or "",
                    family=family, lookback=lookback, frequency=frequency,
                    optional_inputs=tuple(optional_inputs))
    REGISTRY[id] = ind
    return ind


def load_all() -> dict[str, Indicator]:
    """Import every family module so that the registry is complete."""
    from stresswatch.indicators import emp, fx, markets, rates, trade  # noqa: F401

    return REGISTRY


def resolve(concrete_id: str) -> tuple[Indicator, dict[str, str]]:
    """The template and placeholder values of a concrete indicator id; KeyError if none fits."""
    load_all()
    if concrete_id in REGISTRY and not REGISTRY[concrete_id].placeholders():
        return REGISTRY[concrete_id], {}
    for ind in REGISTRY.values():
        match = ind.pattern().match(concrete_id)
        if match and ind.placeholders():
            return ind, match.groupdict()
    raise KeyError(concrete_id)


def expand(available: Iterable[str]) -> list[tuple[str, Indicator, dict[str, str]]]:
    """Concrete (id, indicator, placeholder values) whose required inputs are all available."""
    load_all()
    have = set(available)
    out = []
    for ind in REGISTRY.values():
        names = ind.placeholders()
        if not names:
            if all(_present(i, have) for i in ind.inputs):
                out.append((ind.id, ind, {}))
            continue
        # placeholders are filled from the first input template (e.g. cbr.fx.{code})
        first = Indicator(ind.inputs[0], (), "", ind.compute, "", "").pattern()
        for sid in sorted(have):
            match = first.match(sid)
            if not match:
                continue
            values = match.groupdict()
            cid, ins = ind.bind(**values)
            if all(_present(i, have) for i in ins):
                out.append((cid, ind, values))
    return out


def _present(input_id: str, have: set[str]) -> bool:
    if input_id.endswith("*"):
        return any(s.startswith(input_id[:-1]) for s in have)
    return input_id in have
