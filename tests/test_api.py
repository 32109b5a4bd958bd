"""The Python API (`stresswatch.open`, `stresswatch.api.Monitor`; issue 13, "A Python API for
notebooks"): a test per method on a real store (the demo store, built from the shipped Bank of
Russia sample with real statsmodels fits), answers equal to the store's and the CLI's own read
models as of the date asked, reading never writes (the file's bytes and mtime are unchanged after
every read method), `import stresswatch` stays light, and the worked example in docs/api.md runs
and prints what the page shows (`python -m tests.test_api` rewrites its output blocks)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import stresswatch as sw
from stresswatch.api import Monitor
from stresswatch.errors import AnalysisMissing, LockError, StoreError, UsageError
from stresswatch.events import align as ev_align
from stresswatch.lock import single_instance
from stresswatch.regimes.state import regime_state

REPO = Path(__file__).resolve().parents[1]
API_DOC = REPO / "docs" / "api.md"
D = dt.date(2023, 8, 16)
SHOIGU = "shoigu-more-than-allied-2023"


def build_demo(home: Path) -> Path:
    """The demo store under `home` (as `stresswatch demo` builds it); returns its settings file."""
    from stresswatch.demo import build

    result = build.build(home / "demo", day=D)
    return result.config


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("apihome")
    config = build_demo(home)
    return {"home": home, "config": config, "store": home / "demo" / "stresswatch.db"}


@pytest.fixture
def db(demo):
    monitor = sw.open(demo["store"], config=demo["config"])
    yield monitor
    monitor.close()


def fingerprint(path: Path) -> tuple[str, int, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), path.stat().st_mtime_ns, len(data)


def test_import_stresswatch_stays_light():
    code = ("import sys, stresswatch; heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'numpy', 'statsmodels', 'matplotlib')); print(heavy); "
            "print(callable(stresswatch.open), 'stresswatch.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "True False"]


def test_open_is_read_only_and_never_creates_a_store(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "sw.db"
    with pytest.raises(StoreError, match=f"there is no store at {re.escape(str(missing))}"):
        sw.open(missing)
    assert not missing.parent.exists()
    monkeypatch.setenv("STRESSWATCH_HOME", str(tmp_path / "home"))
    with pytest.raises(StoreError, match="there is no store at"):
        sw.open()  # the configured default store does not exist yet: not created either
    assert not (tmp_path / "home" / "stresswatch.db").exists()


def test_open_defaults_to_the_configured_store(demo, monkeypatch):
    monkeypatch.setenv("STRESSWATCH_CONFIG", str(demo["config"]))
    with sw.open() as db:
        assert isinstance(db, Monitor) and db.path == demo["store"] and db.store.read_only == "opened read-only"
        assert repr(db) == f"<stresswatch.Monitor {demo['store']} (read-only)>"


def test_reading_never_writes(demo):
    """Every read method, on every kind of question; the store file is byte-for-byte the same and
    its mtime unchanged, and a write through the read-only handle is refused."""
    before = fingerprint(demo["store"])
    with sw.open(demo["store"], config=demo["config"]) as db:
        db.list_series()
        db.series("cbr.fx.USD", asof=D)
        db.vintages("cbr.keyrate")
        db.indicators()
        db.indicator("fx.dep.rub_per_unit.ytd.USD", asof=D)
        db.stress_index(asof=D)
        db.stress_components(asof=D)
        db.regimes(asof=D)
        db.regime_probabilities(asof=D, full=True)
        db.episodes(asof=D)
        db.statements(asof=D)
        db.statements(asof=dt.date(2023, 9, 1))  # no stored alignment: aligned in memory, not saved
        db.today()
        with pytest.raises(StoreError, match="opened read-only"):
            db.store.reports.record(D, "x", "x", None, None, ["json"], 0)
    assert fingerprint(demo["store"]) == before


def test_list_series(db):
    frame = db.list_series()
    assert list(frame.columns) == ["id", "source", "name", "unit", "frequency", "first", "last", "count"]
    usd = frame.set_index("id").loc["cbr.fx.USD"]
    assert (usd["source"], usd["unit"], usd["first"], usd["last"], usd["count"]) == (
        "cbr", "RUB per 1 USD", "2013-01-10", "2024-05-31", 2810)
    assert {"stress.index", "cbr.keyrate", "cbr.fx.CNY"} <= set(frame["id"])


def test_series_as_of_a_date(db):
    usd = db.series("cbr.fx.USD", asof="2023-08-15", start="2023-08-10")
    assert isinstance(usd, pd.Series) and usd.index.name == "date"
    assert usd.to_dict() == {pd.Timestamp("2023-08-10"): 97.3999, pd.Timestamp("2023-08-11"): 97.2794,
                             pd.Timestamp("2023-08-12"): 98.2066, pd.Timestamp("2023-08-15"): 101.0399}
    # nothing after asof, even when end asks for it
    assert db.series("cbr.fx.USD", asof=pd.Timestamp("2023-08-15"), end="2023-12-31").index[-1] == pd.Timestamp(
        "2023-08-15")
    assert db.series("cbr.keyrate", asof=dt.date(2023, 8, 14)).iloc[-1] == 8.5
    with pytest.raises(UsageError, match="no series 'cbr.fx.XXX'"):
        db.series("cbr.fx.XXX")
    with pytest.raises(UsageError, match="not a date"):
        db.series("cbr.fx.USD", asof="16/08/2023")


def test_vintages(db):
    frame = db.vintages("cbr.fx.USD")
    assert list(frame.columns) == ["date", "known_at", "value"] and len(frame) == 2810
    assert (frame["known_at"] >= frame["date"]).all()


def test_indicators_and_one_indicator(db):
    reg = db.indicators()
    row = reg.set_index("id").loc["fx.dep.rub_per_unit.ytd.{code}"]
    assert "fx.dep.rub_per_unit.ytd.USD" in row["available"]
    ytd = db.indicator("fx.dep.rub_per_unit.ytd.USD", asof=D, start="2023-08-14")
    usd = db.series("cbr.fx.USD", asof=D)
    base = float(usd.loc[:"2022-12-31"].iloc[-1])
    assert ytd.index[0] >= pd.Timestamp("2023-08-14") and ytd.index[-1] <= pd.Timestamp(D)
    assert ytd.loc["2023-08-15"] == pytest.approx(100 * (101.0399 / base - 1))
    with pytest.raises(UsageError, match="unknown indicator"):
        db.indicator("fx.nonsense", asof=D)


def test_stress_index_and_components(db, demo):
    idx = db.stress_index(asof=D)
    from stresswatch.store import Store

    with Store.open_readonly(demo["store"]) as store:
        stored = store.observations.read_series("stress.index", asof=D)
    pd.testing.assert_series_equal(idx, stored)
    assert idx.index[-1] == pd.Timestamp(D) and 0 <= idx.min() and idx.max() <= 1
    parts = db.stress_components(asof=D)
    contrib = parts[[c for c in parts.columns if c.startswith("stress.contrib.")]]
    assert contrib.loc[pd.Timestamp(D)].sum() == pytest.approx(idx.iloc[-1], abs=1e-9)
    with pytest.raises(AnalysisMissing, match=r"call compute\('2013-02-01'\)"):
        db.stress_index(asof="2013-02-01")


def test_regimes_probabilities_and_episodes(db, demo):
    state = db.regimes(asof=D)
    from stresswatch.store import Store

    with Store.open_readonly(demo["store"]) as store:
        same = regime_state(store, db.settings, D)
    assert state.available and (state.model_id, state.run.id, state.regime) == (same.model_id, same.run.id, same.regime)
    probs = db.regime_probabilities(asof=D)
    # issue 11: every row says whether it is what the model said that day and which fit produced it
    assert list(probs.columns) == ["regime", "p_stress_filtered", "p_stress_smoothed", "basis", "fit_asof"]
    assert probs.index[-1] == pd.Timestamp(state.last_observation)
    assert probs["p_stress_filtered"].iloc[-1] == pytest.approx(state.p_stress_filtered)
    assert "p_filtered_0" in db.regime_probabilities(asof=D, full=True).columns
    episodes = db.episodes(asof=D)
    assert list(episodes.columns) == ["start", "end", "peak", "peak_p", "mean_p", "length", "ongoing"]
    assert [e.start for e in state.episodes("smoothed")] == list(episodes["start"])  # the API default basis
    assert len(db.episodes(asof=D, basis="filtered")) >= 1
    with pytest.raises(AnalysisMissing, match="no run of model"):
        db.regime_probabilities(asof="2013-06-03")
    assert db.regimes(asof="2013-06-03").available is False


def test_statements(db, demo):
    table = db.statements(asof=D)
    from stresswatch.store import Store

    with Store.open_readonly(demo["store"]) as store:
        cli = {r["id"]: r for r in ev_align.stored_or_align(store, db.settings, D).rows()}
    assert set(table.index) == set(cli) and table.index.name == "id"
    shoigu = table.loc[SHOIGU]
    assert shoigu["t0"] == dt.date(2023, 8, 15) and shoigu["confounded"]
    assert "keyrate-2023-08-15-extraordinary" in shoigu["confounders"]
    assert shoigu["regime"] == db.regimes(asof=D).label_on(dt.date(2023, 8, 15))
    assert pd.isna(shoigu["d_index"])  # the window is still open on D
    assert all(d <= D for d in table["date"])
    assert SHOIGU not in db.statements(asof="2023-08-14").index  # not said yet


def run_example(blocks: list[str]) -> list[str]:
    """Run the worked example's code blocks in one namespace; the output of each."""
    namespace: dict = {}
    outputs = []
    for code in blocks:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, str(API_DOC), "exec"), namespace)  # noqa: S102 - our own documentation
        outputs.append(buffer.getvalue())
    return outputs


EXAMPLE = re.compile(r"```python\n(.*?)```\n\n```text\n(.*?)```", re.S)


def example_blocks(text: str) -> list[tuple[str, str]]:
    section = text.split("## Worked example", 1)[1]
    return EXAMPLE.findall(section)



@pytest.mark.slow
def test_compute_is_the_one_writer_and_takes_the_writer_lock(demo, tmp_path):
    """compute() stores the analysis as of a new date (then read back through the same read-only
    handle); while another writer holds the store's lock it refuses, naming the holder, and
    nothing is written."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(demo["store"], copy)
    day = dt.date(2023, 8, 31)
    with sw.open(copy, config=demo["config"]) as db:
        assert db.regimes(asof=day).run.asof == D  # the demo's run of 2023-08-16 is the latest
        before = fingerprint(copy)
        with single_instance(copy, holder="stresswatch backfill"):
            with pytest.raises(LockError, match="stresswatch backfill"):
                db.compute(day)
        assert fingerprint(copy) == before
        result = db.compute(day)
        assert result.asof == day and result.rows > 0 and result.regimes_error is None
        assert db.regimes(asof=day).run.asof == day
        assert db.stress_index(asof=day).index[-1] == pd.Timestamp(day)


@pytest.mark.slow
def test_the_worked_example_runs_and_prints_what_the_page_shows(tmp_path, monkeypatch):
    """The Shoigu example of docs/api.md, run on a demo store of its own (it computes as of
    2023-08-31, the one call that writes)."""
    monkeypatch.setenv("STRESSWATCH_HOME", str(tmp_path / "home"))
    build_demo(tmp_path / "home")
    pairs = example_blocks(API_DOC.read_text(encoding="utf-8"))
    assert len(pairs) == 4
    outputs = run_example([code for code, _ in pairs])
    for (code, expected), got in zip(pairs, outputs):
        assert got == expected, f"docs/api.md block\n{code}\nprinted\n{got}\ninstead of\n{expected}"
    assert "keyrate-2023-08-15-extraordinary" in outputs[0] and "101.0399" in outputs[1]


def regenerate() -> None:  # pragma: no cover - `python -m tests.test_api`
    """Rewrite the output blocks of docs/api.md's worked example with what the code prints now."""
    text = API_DOC.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STRESSWATCH_HOME"] = str(Path(tmp) / "home")
        build_demo(Path(tmp) / "home")
        pairs = example_blocks(text)
        outputs = iter(run_example([code for code, _ in pairs]))
    head, section = text.split("## Worked example", 1)
    section = EXAMPLE.sub(lambda m: f"```python\n{m.group(1)}```\n\n```text\n{next(outputs)}```", section)
    API_DOC.write_text(head + "## Worked example" + section, encoding="utf-8")
    print(f"wrote {API_DOC}")


if __name__ == "__main__":  # pragma: no cover
    regenerate()
