"""`regimes` tables read by people: rounded numbers, episode lengths with their unit; csv and json
keep the numbers as they are (a real store, a real statsmodels fit of a simulated series)."""

from __future__ import annotations

import json
import re

from tests.regimes.simulated import sim2, sim_cli, write_sim  # noqa: F401 - sim2 is a fixture

LONG_DECIMALS = re.compile(r"\.\d{8,}")


def _cli(tmp_path, *args):
    return sim_cli(tmp_path, *args)


def test_episode_table_rounds_and_gives_lengths_a_unit(tmp_path, store, sim2):
    y = sim2[0].iloc[:1200]
    write_sim(store, y)
    asof = y.index[-1].date().isoformat()
    store.close()
    assert _cli(tmp_path, "regimes", "show", "--fit", "--asof", asof, "--format", "csv")[0] == 0

    # one fit and no backtest: the real-time basis (the default since issue 11) has one answer, so
    # the episodes whose table this checks are asked for on the smoothed basis
    rc, table = _cli(tmp_path, "regimes", "episodes", "--asof", asof, "--basis", "smoothed")
    assert rc == 0
    rows = [ln.split("  ") for ln in table.splitlines()[2:]]
    assert rows and not LONG_DECIMALS.search(table)
    lengths = [re.search(r"(\d+) business days?\s*$", ln) for ln in table.splitlines()[2:]]
    assert all(lengths), table

    rc, text = _cli(tmp_path, "regimes", "episodes", "--asof", asof, "--basis", "smoothed", "--format", "json")
    episodes = json.loads(text)
    assert [int(m.group(1)) for m in lengths] == [e["length"] for e in episodes]  # json: the number of periods
    assert any(LONG_DECIMALS.search(repr(e["mean_p"])) for e in episodes)  # full precision kept
    rc, csv = _cli(tmp_path, "regimes", "episodes", "--asof", asof, "--basis", "smoothed", "--format", "csv")
    assert csv.splitlines()[1].split(",")[-1] == str(episodes[0]["length"])

    rc, summary = _cli(tmp_path, "regimes", "summary", "--asof", asof)
    assert rc == 0 and not LONG_DECIMALS.search(summary)
