"""Settings: load order, validation errors naming file and key, exit code 2 from the CLI."""

import datetime as dt
import io
import tomllib
from importlib import resources

import pytest

from stresswatch import settings as S
from stresswatch.cli import main
from stresswatch.errors import ConfigError


def write(tmp_path, text, name="sw.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_declared_for_every_source():
    d = S.defaults()
    assert d["store"]["path"] == ""
    assert d.source("cbr")["enabled"] is True
    assert d.source("cbr")["currencies"] == ["USD", "EUR", "CNY"]
    assert d["daemon"]["timezone"] == "Europe/Moscow"


def test_load_order_defaults_file_env_flags(tmp_path):
    cfg = write(tmp_path, '[store]\npath = "/from/file.db"\n[sources.cbr]\ntimeout = 5\nmin_interval = 2.5\n')
    s = S.load(cfg, environ={})
    assert s["store"]["path"] == "/from/file.db" and s.source("cbr")["timeout"] == 5.0
    s = S.load(cfg, environ={"STRESSWATCH_SOURCES__CBR__TIMEOUT": "7"})
    assert s.source("cbr")["timeout"] == 7.0 and s.source("cbr")["min_interval"] == 2.5
    s = S.load(cfg, environ={"STRESSWATCH_STORE__PATH": "/from/env.db"}, overrides={"store.path": "/from/flag.db"})
    assert s["store"]["path"] == "/from/flag.db"


def test_config_file_from_environment_variable(tmp_path):
    cfg = write(tmp_path, "[report]\nstale_days = 9\n")
    assert S.load(None, environ={"STRESSWATCH_CONFIG": str(cfg)})["report"]["stale_days"] == 9
    with pytest.raises(ConfigError, match="does not exist"):
        S.load(None, environ={"STRESSWATCH_CONFIG": str(tmp_path / "missing.toml")})


def test_user_config_folder_is_used_when_present(tmp_path, monkeypatch):
    folder = tmp_path / "xdg" / "stresswatch"
    folder.mkdir(parents=True)
    (folder / "stresswatch.toml").write_text("[events]\nk = 3\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert S.load(None, environ={})["events"]["k"] == 3


@pytest.mark.parametrize("text, words", [
    ("[store]\npathh = 'x'\n", ["store.pathh", "allowed keys", "path"]),
    ("[nosuch]\na = 1\n", ["nosuch", "allowed"]),
    ("[sources.nope]\nenabled = true\n", ["sources.nope"]),
    ("[sources.cbr]\ntimeout = 'slow'\n", ["sources.cbr.timeout", "a number"]),
    ("[sources.cbr]\nenabled = 1\n", ["sources.cbr.enabled", "true or false"]),
    ("[sources.cbr]\ncurrencies = ['USD', 'XXX']\n", ["sources.cbr.currencies"]),
    ("[log]\nlevel = 'LOUD'\n", ["log.level", "one of"]),
    ("[events]\nk = 0\n", ["events.k", "between 1"]),
    ("[daemon]\nschedule = '* *'\n", ["daemon.schedule", "cron"]),
    ("[compute]\nstart = 'yesterday'\n", ["compute.start", "date"]),
    ("[store\npath = 1\n", ["not valid TOML"]),
])
def test_bad_settings_name_the_file_and_key(tmp_path, text, words):
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        S.load(cfg, environ={})
    message = str(err.value)
    assert str(cfg) in message
    for word in words:
        assert word in message


def test_bad_environment_variable_is_named():
    with pytest.raises(ConfigError, match="STRESSWATCH_STORE__NOPE"):
        S.load(None, environ={"STRESSWATCH_STORE__NOPE": "1"})


def test_cli_exits_2_on_config_error(tmp_path, capsys):
    cfg = write(tmp_path, "[sources.cbr]\ntimeout = -1\n")
    assert main(["--config", str(cfg), "series", "list"]) == 2
    err = capsys.readouterr().err
    assert "sources.cbr.timeout" in err and str(cfg) in err


def test_shipped_config_equals_the_defaults():
    text = resources.files("stresswatch.config").joinpath("stresswatch.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data  # the shipped file is not empty
    shipped = S.load(str(resources.files("stresswatch.config").joinpath("stresswatch.toml")), environ={})
    assert shipped.values == S.defaults().values


def test_config_show_defaults_round_trips(tmp_path):
    out = io.StringIO()
    assert main(["config", "show", "--defaults"], out=out) == 0
    cfg = write(tmp_path, out.getvalue())
    assert S.load(cfg, environ={}).values == S.defaults().values


def test_dates_and_lists_from_environment():
    s = S.load(None, environ={"STRESSWATCH_COMPUTE__START": "2005-01-03",
                              "STRESSWATCH_SOURCES__CBR__CURRENCIES": "USD, TRY"})
    assert s["compute"]["start"] == dt.date(2005, 1, 3)
    assert s.source("cbr")["currencies"] == ["USD", "TRY"]


RULE = '[[alerts.rules]]\nid = {id}\nkind = "regime"\n'


@pytest.mark.parametrize("text, key, words", [
    (RULE.format(id='"stress\\r\\nregime"'), "alerts.rules[0].id", "U+000D (CR) at position 7"),
    (RULE.format(id='"stress regime"'), "alerts.rules[0].id", "contains U+0020 (SPACE); an id is letters, digits"),
    (RULE.format(id='""'), "alerts.rules[0].id", "is empty"),
    (RULE.format(id='"r1"') + 'source = "cbr\\n"\n', "alerts.rules[0].source", "U+000A (LF)"),
    ('[[regimes.models]]\nid = "m/1"\nseries = "cbr.fx.USD"\n', "regimes.models[0].id", "contains '/'"),
    ('[regimes]\nheadline = "ruble3\\t"\n', "regimes.headline", "U+0009 (TAB)"),
    ('[mail]\nsender = "a@example.org\\r\\nBcc: b@example.org"\n', "mail.sender", "U+000D (CR)"),
    ('[mail]\nrecipients = ["a@example.org", "b@example.org\\n"]\n', "mail.recipients", "U+000A (LF)"),
    ('[http]\nuser_agent = "sw\\r\\nX-Evil: 1"\n', "http.user_agent", "U+000D (CR)"),
    ('[store]\npath = "/tmp/x\\u0000.db"\n', "store.path", "U+0000 (NUL)"),
    ('[mail]\nreport_url = "https://x.org/\\u202egnp.exe"\n', "mail.report_url", "U+202E"),
    ('[mail]\nreport_url = "' + "u" * 200_000 + '"\n', "mail.report_url", "is 200000 characters long; at most 1000"),
    ('[compute]\nweights = { "fx\\n" = 1.0 }\n', "compute.weights", "U+000A (LF)"),
])
def test_ids_and_text_are_checked_when_the_file_is_loaded(tmp_path, text, key, words):
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        S.load(cfg, environ={})
    message = str(err.value)
    assert str(cfg) in message and key in message and words in message
    assert "\r" not in message and "\n" not in message and len(message) < 500  # one short line


def test_good_ids_and_an_unset_optional_id_pass(tmp_path):
    cfg = write(tmp_path, RULE.format(id='"stress-regime.v2_b"') + 'model = ""\nseries = "cbr.fx.USD"\n'
                '[[regimes.models]]\nid = "ruble3"\nseries = "imf.imts.CHN_RUS.MG_CIF_USD"\n')
    s = S.load(cfg, environ={})
    assert s["alerts"]["rules"][0]["id"] == "stress-regime.v2_b" and s["alerts"]["rules"][0]["model"] == ""


def test_a_control_character_from_the_environment_is_named():
    with pytest.raises(ConfigError, match=r"environment \(STRESSWATCH_MAIL__SENDER\): mail.sender .*U\+000D"):
        S.load(None, environ={"STRESSWATCH_MAIL__SENDER": "a@example.org\r\nBcc: b@example.org"})


def test_a_bad_rule_id_stops_every_command_at_load_with_exit_2(tmp_path, capsys):
    """Before: accepted, then the alerts step failed with ValueError on every run (no alert mail at all)."""
    cfg = write(tmp_path, RULE.format(id='"stress\\r\\nregime"'))
    for argv in (["alerts", "list"], ["run", "--date", "2023-08-16"]):
        assert main(["--config", str(cfg), *argv]) == 2
        err = capsys.readouterr().err
        assert "alerts.rules[0].id" in err and str(cfg) in err and "Traceback" not in err
    assert not (tmp_path / "sw.db").exists()
