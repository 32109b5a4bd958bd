"""Model specs from settings and the headline rule."""

from __future__ import annotations

import datetime as dt

import pytest

from stresswatch.errors import ConfigError
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.regimes.spec import (
    RETIRED_HEADLINE,
    RegimeSpec,
    get_spec,
    headline,
    specs_from_settings,
)
from tests.conftest import settings_for


def test_specs_from_settings_defaults_custom_and_errors(tmp_path):
    specs = specs_from_settings(settings_for(tmp_path))
    ids = [s.id for s in specs]
    assert ids == ["ruble_rt", "stress"]
    by_id = {s.id: s for s in specs}
    assert by_id["stress"].series == "stress.index" and by_id["stress"].k_regimes == 2
    rt = by_id["ruble_rt"]
    assert rt.k_regimes == 2 and rt.inputs == ("cbr.fx.USD", "cbr.fx.EUR") and rt.transform == "policy_logret"
    assert rt.trend == "n" and not rt.switching_mean and rt.gate == 63 and rt.horizon == 3
    assert rt.states == ("calm", "stress", "strengthening")
    assert settings_for(tmp_path)["regimes"]["headline"] == ""
    custom = settings_for(tmp_path, **{"regimes.models": [{"id": "x", "series": "s.x", "k_regimes": 3}]})
    assert [s.id for s in specs_from_settings(custom)] == ["x"]
    dup = settings_for(tmp_path, **{"regimes.models": [{"id": "x", "series": "a"}, {"id": "x", "series": "b"}]})
    with pytest.raises(ConfigError, match="appears twice"):
        specs_from_settings(dup)
    with pytest.raises(ConfigError, match="unknown regime model 'nope'"):
        get_spec(custom, "nope")
    with pytest.raises(ValueError, match="at least one of switching_mean"):
        RegimeSpec(id="x", series="s", switching_mean=False, switching_variance=False)


def test_headline_is_one_rule_whatever_history_the_store_holds(tmp_path, store):
    """Issue 11: no era switch the user must understand. The headline is the configured one, or
    the first model (the built-in ruble_rt) whether the store starts in 1999, in 2013 or is empty;
    the retired "auto" reads as empty."""
    settings = settings_for(tmp_path)
    assert headline(store, settings) == "ruble_rt"  # no data yet
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB per 1 USD", "D")])
    fetched = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2013, 1, 10), 30.5)], fetched_at=fetched)
    assert headline(store, settings) == "ruble_rt"
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2005, 1, 11), 28.0)], fetched_at=fetched)
    assert headline(store, settings) == "ruble_rt"
    assert headline(store, settings_for(tmp_path, **{"regimes.headline": RETIRED_HEADLINE})) == "ruble_rt"
    named = settings_for(tmp_path, **{"regimes.headline": "stress"})
    assert headline(store, named) == "stress"
    custom = settings_for(tmp_path, **{"regimes.models": [{"id": "eur", "series": "cbr.fx.EUR"}]})
    assert headline(store, custom) == "eur"
