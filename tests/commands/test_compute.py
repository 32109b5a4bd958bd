"""`stresswatch compute` says what it did in words and prints names `indicators show` accepts
(a real store with synthetic Bank of Russia history, a real regime fit)."""

from __future__ import annotations

import io
import re

import pytest

from stresswatch import cli
from stresswatch.commands.compute import indicator_id, regimes_in_words
from stresswatch.store import Store
from tests.test_compute import synthetic_cbr

JARGON = re.compile(r"\b(cold|warm|filter)\b")


@pytest.fixture
def cfg(tmp_path):
    with Store.open(tmp_path / "sw.db") as store:
        synthetic_cbr(store)
    path = tmp_path / "c.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n[compute]\nburn_in = 60\nstart = 2019-01-01\n'
                    '[regimes]\nmodels = [{id = "fx2", series = "cbr.fx.USD", transform = "weekly_logret", '
                    'k_regimes = 2}]\nsearch_reps = 2\nseeds = [1]\n', encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


def _printed_names(text: str) -> list[str]:
    """Series and index parts named in the table output of `compute`."""
    names = []
    for line in text.splitlines():
        first = line.split("  ")[0].strip()
        if first.startswith(("ind.", "stress.")):
            names.append(first)
    return names


@pytest.mark.slow
def test_compute_says_what_it_did_in_words_and_every_name_it_prints_is_accepted(cfg):
    code, text = run("--config", str(cfg), "compute", "--asof", "2021-06-30")
    assert code == 0, text
    assert not JARGON.search(text), text
    assert re.search(r"regime model\s+fx2: fitted from scratch", text)
    assert re.search(r"written\s+\d+ new or revised values in \d+ series; 0 series unchanged", text)
    names = _printed_names(text)
    assert "stress.index" in names and "stress.segment.fx" in names and "stress.contrib.policy" in names
    assert "ind.fx.rv20.USD" in names and "ind.policy.keyrate" in names
    for name in names:
        code, shown = run("--config", str(cfg), "indicators", "show", name, "--asof", "2021-06-30",
                          "--start", "2021-06-29", "--format", "csv")
        assert code == 0, name  # accepted (an unknown name is exit 2)
        assert shown.splitlines()[0] == "date,value,known", name
        if not name.endswith("extraordinary"):  # a sparse series: no decision in those two days
            assert len(shown.splitlines()) > 1, name
    # the same date again: nothing new, said so
    code, again = run("--config", str(cfg), "compute", "--asof", "2021-06-30")
    assert code == 0 and "fx2: already up to date for this date" in again
    assert re.search(r"written\s+0 new or revised values in 0 series; \d+ series unchanged", again)
    assert "series written" not in again


def test_indicator_names_with_or_without_the_stored_prefix():
    assert indicator_id("ind.fx.rv20.USD") == indicator_id("fx.rv20.USD") == "fx.rv20.USD"
    assert indicator_id("stress.segment.fx") == "stress.segment.fx"


def test_regime_updates_in_words():
    assert regimes_in_words("ruble3: filter; stress: warm; ruble2f: cold; x: skipped") == [
        "ruble3: updated with its stored parameters (no refit due)", "stress: refitted, starting from its last "
        "parameters", "ruble2f: fitted from scratch", "x: skipped: too little data"]
    assert regimes_in_words("no models") == ["no models configured"]
