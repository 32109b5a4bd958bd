"""The episode catalogue (config/episodes.toml) and the scoring of business-day rows against it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stresswatch.errors import ConfigError
from stresswatch.regimes.catalogue import load_episodes
from stresswatch.regimes.scorecard import score_episodes

ISSUE_11_REQUIRED = {"devaluation-2008-09", "crash-2014-12", "sanctions-2022", "hike-2023-08", "calm-2010",
                     "calm-2011", "calm-2012", "calm-2013", "calm-2017", "calm-2019", "appreciation-2025-02"}


def test_the_shipped_catalogue_holds_the_issue_11_criteria():
    episodes = {e.id: e for e in load_episodes()}
    assert {e.id for e in episodes.values() if e.required} == ISSUE_11_REQUIRED
    dev = episodes["devaluation-2008-09"]
    assert (dev.start, dev.end, dev.kind, dev.min_share, dev.max_lag) == (
        dt.date(2008, 12, 1), dt.date(2009, 2, 27), "stress", 0.6, 3)
    assert episodes["calm-2011"].max_share == 0.05 and episodes["appreciation-2025-02"].max_share == 0.0
    assert all(e.source.outlet for e in episodes.values())


@pytest.mark.parametrize("body,message", [
    ('[[episode]]\nid = "x"\nname = "n"\nkind = "panic"\nstart = 2020-01-01\nend = 2020-01-31\n'
     'source = { outlet = "o" }\n', "kind must be one of"),
    ('[[episode]]\nid = "x"\nname = "n"\nkind = "stress"\nstart = 2020-02-01\nend = 2020-01-31\n'
     'source = { outlet = "o" }\n', "is before start"),
    ('[[episode]]\nid = "x"\nname = "n"\nkind = "calm"\nstart = 2020-01-01\nend = 2020-01-31\nmax_lag = 2\n'
     'source = { outlet = "o" }\n', "are for stress episodes"),
    ('[[episode]]\nid = "x"\nname = "n"\nkind = "stress"\nstart = 2020-01-01\nend = 2020-01-31\n', "source must be"),
    ('title = "x"\n', "unknown top-level key"),
])
def test_a_bad_catalogue_is_a_config_error_naming_the_episode(tmp_path, body, message):
    path = tmp_path / "episodes.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_episodes(path)


def test_share_lag_and_unanswered_days(tmp_path):
    path = tmp_path / "episodes.toml"
    path.write_text(
        '[[episode]]\nid = "s"\nname = "n"\nkind = "stress"\nstart = 2024-01-08\nend = 2024-01-19\nrequired = true\n'
        'source = { outlet = "o" }\n'
        '[[episode]]\nid = "c"\nname = "n"\nkind = "calm"\nstart = 2024-02-05\nend = 2024-02-16\nrequired = true\n'
        'source = { outlet = "o" }\n'
        '[[episode]]\nid = "early"\nname = "n"\nkind = "calm"\nstart = 2023-01-02\nend = 2023-01-13\n'
        'required = true\nsource = { outlet = "o" }\n', encoding="utf-8")
    days = pd.bdate_range("2024-01-01", "2024-02-29")
    p = np.full(len(days), 0.1)
    p[(days >= "2024-01-11") & (days <= "2024-01-19")] = 0.9  # first flag 3 business days after the start
    p[days == "2024-02-07"] = 0.8  # one false day of ten
    p[days == "2024-01-15"] = np.nan  # no answer that day: not flagged
    rows = pd.DataFrame({"asof": days, "p_stress_filtered": p})
    scores = {s.episode.id: s for s in score_episodes(rows, load_episodes(path), 0.5)}
    s, c, early = scores["s"], scores["c"], scores["early"]
    assert (s.days, s.answered, s.flagged, s.lag, s.status) == (10, 9, 6, 3, "met")
    assert s.share == pytest.approx(0.6)
    assert (c.days, c.flagged, c.status) == (10, 1, "missed") and c.share == pytest.approx(0.1)
    assert early.status == "n/a" and early.answered == 0
