"""Which commands may create a store, and where (issue 13, "a mistyped --store path"): read
commands on a store that does not exist exit 2 naming the path and create nothing; only commands
that bring data in create one, and only in an existing folder or the default data folder. Real CLI,
real files."""

from __future__ import annotations

import threading

import pytest

from stresswatch import settings as settings_mod
from stresswatch.errors import StoreNotFound
from stresswatch.store import Store
from tests.conftest import run_cli

READ_COMMANDS = (("series", "list"), ("series", "show", "cbr.fx.USD"), ("status",), ("alerts", "list"),
                 ("alerts", "outbox"), ("regimes", "show"), ("indicators", "show", "stress.index"),
                 ("events", "align", "--no-compute"), ("compute",), ("reparse",), ("report", "--no-compute"))
DRY_BACKFILL = ("backfill", "--start", "2024-01-01", "--end", "2024-01-31", "--source", "cbr", "--dry-run")


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("stresswatch: error:")]
    return line


def test_a_mistyped_folder_is_exit_2_and_nothing_is_created(tmp_path, monkeypatch, capsys):
    db = tmp_path / "nonexistent" / "dir" / "x.db"
    code, out = run_cli(monkeypatch, {}, "--store", str(db), "series", "list")
    assert code == 2 and out == ""
    line = _error_line(capsys)
    assert str(db) in line and "does not exist" in line
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("argv", READ_COMMANDS, ids=" ".join)
def test_commands_that_do_not_bring_data_in_never_create_a_store(tmp_path, monkeypatch, capsys, argv):
    db = tmp_path / "typo.db"
    code, _out = run_cli(monkeypatch, {}, "--store", str(db), *argv)
    assert code == 2
    line = _error_line(capsys)
    assert f"no store at {db}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no file, no lock, no -wal


def test_a_writing_command_creates_a_store_only_in_an_existing_folder(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "missing" / "sw.db"
    code, _out = run_cli(monkeypatch, {}, "--store", str(missing), *DRY_BACKFILL)
    assert code == 2 and "does not exist" in _error_line(capsys)
    assert not missing.parent.exists()
    db = tmp_path / "sw.db"
    code, _out = run_cli(monkeypatch, {}, "--store", str(db), *DRY_BACKFILL)
    assert code == 0
    with Store.open(db, create=False) as store:  # a complete store: migrated, checked
        assert store.migrate() == [] and store.integrity_check() == "ok"
    # now that it exists, read commands work on it
    code, _out = run_cli(monkeypatch, {}, "--store", str(db), "series", "list")
    assert code == 0


def test_the_default_data_folder_is_made_when_missing(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home" / "nested"
    env = {"STRESSWATCH_HOME": str(home)}
    monkeypatch.setenv("STRESSWATCH_HOME", str(home))
    default = settings_mod.load(environ={}).store_path
    assert default == home / "stresswatch.db"
    code, _out = run_cli(monkeypatch, env, "series", "list")
    assert code == 2 and str(default) in _error_line(capsys)
    assert not home.exists()
    code, _out = run_cli(monkeypatch, env, *DRY_BACKFILL)
    assert code == 0 and default.is_file()


def test_store_open_modes(tmp_path):
    with pytest.raises(StoreNotFound, match="no store at"):
        Store.open(tmp_path / "a.db", create=False)
    with pytest.raises(StoreNotFound, match="folder .* does not exist"):
        Store.open(tmp_path / "x" / "a.db")
    with pytest.raises(StoreNotFound, match="is a folder"):
        Store.open(tmp_path)
    Store.open(tmp_path / "x" / "a.db", create_folder=True).close()
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["a.db"]  # no temporary left behind


def test_a_store_created_by_several_processes_at_once_is_one_complete_store(tmp_path):
    path = tmp_path / "sw.db"
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            with Store.open(path) as s:
                s.ledger.start("fetch:cbr", f"p{threading.get_ident()}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(path, create=False) as s:
        assert len(s.ledger.rows()) == 6  # every writer wrote into the same store
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sw.db"]
