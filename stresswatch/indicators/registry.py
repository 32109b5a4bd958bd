"""The indicator registry: the `Indicator` record, `REGISTRY` (template id -> Indicator) and
`register(...)`, which each family module (fx, rates, trade, markets, emp) calls at import time.

This module imports no family module and not the `stresswatch.indicators` package, so the
families can import it without a cycle. Loading every family (`load_all`) and looking ids up
(`resolve`, `expand`) live in the package `__init__`, which imports the families.
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
    resolved input id and returns a Series; `ctx["end"]` is the day its business-day grid runs
    to (the as-of date of the computation minus the first input's publication lag). `lookback` is how many native observations of the inputs one value depends
    on (used to date when a value became known). `frequency` is the frequency of the output ("B"
    business days, "M" monthly, "E" event dates). `fallbacks` pairs (fallback input, primary
    input): the fallback's rows are used only for dates before the primary's first row (the BIS
    policy rate for Russia before the key rate exists), so its publication dates do not date the
    values computed from the primary; the fallback alone makes the indicator computable.
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
    fallbacks: tuple[tuple[str, str], ...] = field(default=())

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
             lookback: int = 1, frequency: str = "B", optional_inputs: Iterable[str] = (),
             fallbacks: Iterable[tuple[str, str]] = ()) -> Indicator:
    """Register an indicator; `func` is the pure function whose docstring documents it."""
    if id in REGISTRY:
        raise ValueError(f"indicator {id!r} is registered twice")
    ind = Indicator(id=id, inputs=tuple(inputs), unit=unit, compute=compute, doc=func.__doc__ or "",
                    family=family, lookback=lookback, frequency=frequency,
                    optional_inputs=tuple(optional_inputs), fallbacks=tuple(fallbacks))
    REGISTRY[id] = ind
    return ind
