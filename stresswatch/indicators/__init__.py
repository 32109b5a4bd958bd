"""Indicators: every indicator has an id (a template such as `fx.rv20.{code}`), the store
series it reads, a unit, and a pure function of pandas Series whose docstring states the formula.

The registry (`Indicator`, `REGISTRY`, `register`) lives in registry.py, which imports neither a
family nor this package. Families live in their own modules (fx, rates, trade, markets, emp);
each calls `registry.register(...)` at import time, and importing this package imports them all.
This package owns the look-ups: `resolve("fx.rv20.USD")` finds the template and the placeholder
values; `expand(available_series)` lists the concrete ids whose inputs (or their fallbacks) exist
in a store. The composite index lives in `composite.py`; the orchestration that reads the store is
`stresswatch.compute`.
"""

from __future__ import annotations

from typing import Iterable

# the family modules register into indicators.registry when imported; they never import this
# package back, so importing them here is not a cycle
from stresswatch.indicators import emp, fx, markets, rates, trade  # noqa: F401
from stresswatch.indicators.registry import REGISTRY, Indicator, register

__all__ = ["REGISTRY", "Indicator", "register", "load_all", "resolve", "expand"]


def load_all() -> dict[str, Indicator]:
    """The complete registry (every family module is imported with this package)."""
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
            if all(_present(i, have, ind) for i in ind.inputs):
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
            if all(_present(i, have, ind) for i in ins):
                out.append((cid, ind, values))
    return out


def _present(input_id: str, have: set[str], ind: Indicator | None = None) -> bool:
    """The input is stored, or (for `ind`) one of its fallbacks is: a policy indicator is
    computable from the BIS rate for Russia before the key rate exists, so whether it exists does
    not depend on the date it is computed as of."""
    if input_id.endswith("*"):
        return any(s.startswith(input_id[:-1]) for s in have)
    fallbacks = [f for f, primary in (ind.fallbacks if ind is not None else ()) if primary == input_id]
    return input_id in have or any(f in have for f in fallbacks)
