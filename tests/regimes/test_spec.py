"""Model specs from settings and the headline rule."""

from __future__ import annotations

import datetime as dt

import pytest

from stresswatch.errors import ConfigError
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.regimes.spec import (
    AUTO_HEADLINE,
    RegimeSpec,
    get_spec,
    headline,
    specs_from_settings,
)
from tests.conftest import settings_for


def test_specs_from_settings_defaults_custom_and_errors(tmp_path):
    specs = specs_from_settings(settings_for(tmp_path))
    ids = [s.id for s in specs]
    assert {"ruble3", "ruble3d", "stress"} <= set(ids)
    by_id = {s.id: s for s in specs}
    assert by_id["stress"].series == "stress.index" and by_id["stress"].k_regimes == 2
    assert by_id["ruble3"].k_regimes == 3 and by_id["ruble3"].series == "cbr.fx.USD"
    assert settings_for(tmp_path)["regimes"]["headline"] == "auto" and set(AUTO_HEADLINE) <= set(ids)
    custom = settings_for(tmp_path, **{"regimes.models": [{"id": "x", "series": "s.x", "k_regimes": 3}]})
    assert [s.id for s in specs_from_settings(custom)] == ["x"]
    dup = settings_for(tmp_path, **{"regimes.models": [{"id": "x", "series": "a"}, {"id": "x", "series": "b"}]})
    with pytest.raises(ConfigError, match="appears twice"):
        specs_from_settings(dup)
    with pytest.raises(ConfigError, match="unknown regime model 'nope'"):
        get_spec(custom, "nope")
    with pytest.raises(ValueError, match="at least one of switching_mean"):
        RegimeSpec(id="x", series="s", switching_mean=False, switching_variance=False)


def test_auto_headline_follows_the_exchange_rate_eras_in_the_store(tmp_path, store):
    """ruble3 needs the managed era to spend its calm regime on; a store backfilled only from 2013
    gets the floating-era ruble2f. A named headline is used as it is."""
    settings = settings_for(tmp_path)
    assert headline(store, settings) == "ruble3"  # no data yet: the full-history model
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB per 1 USD", "D")])
    fetched = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2013, 1, 10), 30.5)], fetched_at=fetched)
    assert headline(store, settings) == "ruble2f"
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2005, 1, 11), 28.0)], fetched_at=fetched)
    assert headline(store, settings) == "ruble3"
    assert headline(store, settings, asof=dt.date(2004, 12, 31)) == "ruble3"  # nothing known yet
    named = settings_for(tmp_path, **{"regimes.headline": "stress"})
    assert headline(store, named) == "stress"
    custom = settings_for(tmp_path, **{"regimes.models": [{"id": "eur", "series": "cbr.fx.EUR"}]})
    assert headline(store, custom) == "eur"
