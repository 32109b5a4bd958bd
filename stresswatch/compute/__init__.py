"""The compute step: indicators and the composite stress index as known on a date, written back to
the store as derived series, then the regime update.

    inputs.py   reading the inputs as of D (`Inputs`), evaluating indicators and dating their
                values (`evaluate`, `on_grid`), the index's raw measures (`build_measures`)
    state.py    the daily append: whether the stored state still applies and from which day the
                compute must recompute (`plan`), the state's arrays
    step.py     one compute (`compute`, the pure `compute_block` / `compute_all`), the derived
                series it writes, the call into `stresswatch.regimes.update.update_all`
    show.py     `indicators show`: one indicator or stress.* series on the fly (`show`)

A compute as of D for a new day after D−1 was computed appends to the stored state: it reads
only the inputs its recomputed days depend on (`read_windows`), recomputes the last `CHECK_BDAYS`
stored days to prove nothing changed (or writes the revisions) and ranks the new day against the
stored history. The index itself is `stresswatch.indicators.composite`; docs/indicators.md says why.
"""

from stresswatch.compute.inputs import (
    CARRY_BDAYS, INPUT_PREFIXES, STORED, Inputs, build_measures, evaluate, measure_ids, needed_series, on_grid)
from stresswatch.compute.show import COMPOSITE_IDS, show
from stresswatch.compute.state import CHECK_BDAYS, Plan, plan
from stresswatch.compute.step import NEW_RUN_STATUSES, SOURCE, ComputeResult, compute, compute_all, compute_block

__all__ = ["CHECK_BDAYS", "COMPOSITE_IDS", "CARRY_BDAYS", "INPUT_PREFIXES", "NEW_RUN_STATUSES", "SOURCE", "STORED",
           "ComputeResult", "Inputs", "Plan", "build_measures", "compute", "compute_all", "compute_block",
           "evaluate", "measure_ids", "needed_series", "on_grid", "plan", "show"]
