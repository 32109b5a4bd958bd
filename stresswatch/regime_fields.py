"""How a `[[regimes.models]]` table builds its model input, as plain data: the transform and the
real-time knobs of issue 11 (the policy-rate basket, the capped slow baseline, the horizon of the
summed move, the direction gate, the peg filter), and the zero-mean / distinct-stress options of
the fit.

settings.py turns each row into a `Setting` of the `[[regimes.models]]` table (this module imports
nothing from the project, so settings can import it without a cycle); regimes/spec.py reads them
back through `settings.declared` like every other field. What each knob means and why the headline
uses its value: docs/regimes.md ("The headline model").
"""

from __future__ import annotations

from typing import Any

#: (name, type, default, help, limits) in the order docs/settings.md lists them
MODEL_INPUT_FIELDS: tuple[tuple[str, str, Any, str, dict[str, Any]], ...] = (
    ("transform", "str", "level", "input transform; policy_logret = returns of the rate the Bank of Russia "
                                  "steered (series; with basket_series the basket of 2005-02..2014-11)",
     {"choices": ("level", "logret", "weekly_logret", "abs_logret", "policy_logret")}),
    ("basket_series", "id", "", "policy_logret: the basket's second currency (e.g. cbr.fx.EUR); empty = none", {}),
    ("scale_window", "int", 0, "divide returns by 1.4826 x median |return| of this many previous observations "
                               "(at least 60); 0 = no scaling", {"minimum": 0}),
    ("scale_floor", "float", 0.0, "lower bound of the scale (input units)", {"minimum": 0}),
    ("scale_cap", "float", 0.0, "upper bound of the scale; 0 = none", {"minimum": 0}),
    ("horizon", "int", 1, "model input = sum of the last `horizon` (scaled) values / sqrt(horizon)",
     {"minimum": 1, "maximum": 20}),
    ("gate", "int", 0, "direction gate: stress only while the last `gate` returns sum > 0 (ruble weaker), else "
                       "the state is strengthening; 0 = no gate", {"minimum": 0}),
    ("peg_level", "float", 0.0, "rows whose previous 60-observation median |return| is below this are left out "
                                "of fits (still filtered); 0 = keep all", {"minimum": 0}),
    ("trend", "str", "c", "c = regression on a constant, n = zero mean", {"choices": ("c", "n")}),
    ("min_var_ratio", "float", 0.0, "reject a fit whose stress variance is below this multiple of the calm "
                                    "variance; 0 = no check", {"minimum": 0}),
)
