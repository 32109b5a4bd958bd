"""Markov-switching stress regimes: what a model is, how it is fitted and updated, and what it says.

    spec.py       RegimeSpec, the configured models, the headline rule, the one labelling rule
    transform.py  the model input from a stored series (pure)
    matrices.py   transition matrix, relabelling, durations, forecasts, degeneracy checks (pure numpy)
    fit.py        fit_robust / evaluate: the only statsmodels user (imported on first use)
    episodes.py   stress episodes from a probability series (pure)
    runs.py       stored runs (RunRecord over store.model_runs): save, find, probabilities
    update.py     the update policy: cold fit, filter-only update, warm refit (update_model/update_all)
    state.py      the read model: RegimeState for (model, as-of date), read by every consumer

Regimes are ordered calm first, stress last (by variance, then mean) after every fit. The regime of
a period is the most likely one by filtered probability (spec.LABEL_BASIS), everywhere.
"""
