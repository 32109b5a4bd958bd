"""store.alignments: a date's event-study alignment, replaced as a whole when the date is saved
again; packed against keyframes (migration 0012), reading back exactly what the tables held, and
a store from before 0012 reading its alignments as before."""

import datetime as dt
import json
import math

import numpy as np
import pytest

from stresswatch.clock import FixedClock
from stresswatch.errors import StoreError
from stresswatch.store import Store
from stresswatch.store.alignments import AGGREGATE_FIELDS, KEYFRAME_SPAN, STATEMENT_FIELDS
from tests.store.peek import peek
from tests.store.schema_before import store_before

D = dt.date(2023, 8, 16)


def _statement(sid: str, t0: dt.date | None, p: float) -> dict:
    return {"id": sid, "date": dt.date(2023, 8, 15), "t0": t0, "t0_fx": t0, "speaker": "S", "key_phrase": "k",
            "tags": "alliance,military", "regime": "stress" if t0 else None, "p_stress_filtered": np.float64(0.9),
            "p_stress_smoothed": 0.95, "index": 0.4, "index_percentile": 0.99, "d_index": 0.02, "abnormal": 0.01,
            "pre_trend": -0.001, "car_rub": 1.5, "statistic": 0.01, "p_value": p, "q_value": p,
            "confounded": np.bool_(True), "confounders": "keyrate-2023-08-15", "match": "regime+weekday",
            "pool": np.int64(120), "d_index_1": 0.3}  # fields not stored are ignored


AGG = {"group": "all", "n": 2, "n_used": 1, "mean_abnormal": 0.01, "mean_d_index": float("nan"), "mean_car_rub": 1.5,
       "confounded": 1, "p_value": 0.2}


def test_save_and_get_round_trip(tmp_path):
    with Store.open(tmp_path / "sw.db", clock=FixedClock("2023-08-16T18:00:00Z")) as store:
        assert store.alignments.get(D) is None
        n = store.alignments.save(D, model_id="t2", statistic="abnormal", warnings=["a warning"], inputs="abc",
                                  statements=[_statement("one", dt.date(2023, 8, 15), 0.25),
                                              _statement("two", None, float("nan"))],
                                  aggregates=[AGG])
        got = store.alignments.get(D)
    assert n == 2
    assert (got.asof, got.model_id, got.statistic, got.warnings, got.inputs, got.created_at) == (
        D, "t2", "abnormal", ("a warning",), "abc", "2023-08-16T18:00:00Z")
    one, two = got.statements
    assert one["id"] == "one" and one["date"] == "2023-08-15" and one["t0"] == "2023-08-15"
    assert one["p_stress_filtered"] == 0.9 and one["confounded"] == 1 and one["pool"] == 120
    assert one["tags"] == "alliance,military" and "d_index_1" not in one
    assert two["t0"] is None and two["regime"] is None and two["p_value"] is None  # NaN is stored as NULL
    (agg,) = got.aggregates
    assert agg["group"] == "all" and agg["mean_d_index"] is None and math.isclose(agg["p_value"], 0.2)


def test_saving_a_date_again_replaces_its_rows_and_leaves_other_dates(store):
    store.alignments.save(D, model_id="t2", statistic="abnormal", warnings=[], inputs="x",
                          statements=[_statement("one", D, 0.1), _statement("two", D, 0.2)], aggregates=[AGG])
    store.alignments.save(D - dt.timedelta(days=1), model_id="t2", statistic="abnormal", warnings=[], inputs="x",
                          statements=[_statement("one", D, 0.3)], aggregates=[])
    store.alignments.save(D, model_id="t3", statistic="car_rub", warnings=["w"], inputs="y",
                          statements=[_statement("three", None, 0.5)], aggregates=[])
    got = store.alignments.get(D)
    assert got.model_id == "t3" and [s["id"] for s in got.statements] == ["three"] and got.aggregates == ()
    assert store.alignments.dates() == [D - dt.timedelta(days=1), D]
    assert store.alignments.delete(D) == 1 and store.alignments.get(D) is None
    assert store.alignments.delete(D) == 0
    assert [s["id"] for s in store.alignments.get(D - dt.timedelta(days=1)).statements] == ["one"]


# ---------------------------------------------------------------------------------------------
# Packing (migration 0012): each date's rows in one compressed value, against a keyframe
# ---------------------------------------------------------------------------------------------
def _day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def _daily(n: int) -> dict:
    """The alignment of day n of a slowly changing catalogue: one statement more every ten days,
    numbers that move a little every day."""
    statements = [_statement(f"s{i:02d}", D, 0.1 + 0.001 * i + 1e-13 * n) for i in range(8 + n // 10)]
    for i, row in enumerate(statements):
        row["abnormal"] = 0.01 * i + 1e-14 * n
        row["speaker"] = f"Speaker {i} — «quoted»"
    return dict(model_id="ruble_rt", statistic="abnormal", warnings=[f"w{n % 3}"], inputs="f" * 32,
                statements=statements, aggregates=[AGG, {**AGG, "group": "clean", "n": 1 + n}])


def _cell_0007(column: str, value):
    """A study value as Alignments.save handed it to SQLite before 0012 (SQLite's column affinity did the rest)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if column in ("date", "t0", "t0_fx"):
        return value.isoformat()[:10] if isinstance(value, (dt.date, dt.datetime)) else str(value)[:10]
    if column in ("confounded", "pool", "n", "n_used"):
        return int(value)
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _legacy_save(conn, asof: dt.date, *, model_id, statistic, warnings, inputs, statements, aggregates) -> None:
    """An alignment as Alignments.save wrote it before migration 0012: one table row per statement."""
    day = asof.isoformat()
    conn.execute("INSERT INTO alignments (asof, model_id, statistic, warnings, inputs, created_at) "
                 "VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00Z')", (day, model_id, statistic, json.dumps(warnings), inputs))
    for table, fields, rows in (("alignment_statements", STATEMENT_FIELDS, statements),
                                ("alignment_aggregates", AGGREGATE_FIELDS, aggregates)):
        cols = ", ".join(c for _, c in fields)
        conn.executemany(f"INSERT INTO {table} (asof, position, {cols}) VALUES ({', '.join('?' * (len(fields) + 2))})",
                         [(day, n, *(_cell_0007(c, r.get(k)) for k, c in fields)) for n, r in enumerate(rows)])


def _typed_rows(stored) -> list:
    """Every value of a stored alignment with its type (1 == 1.0 == True would hide a change)."""
    return [[(k, type(v).__name__, repr(v)) for k, v in row.items()] for row in stored.statements + stored.aggregates]


ODD = {"index": 5, "d_index": True, "p_value": np.float32(0.5), "car_rub": float("inf"), "pre_trend": -float("inf"),
       "speaker": 7, "key_phrase": 2.0, "regime": 1e20, "tags": "", "match": np.str_("regime"), "pool": 3.0,
       "confounded": False, "q_value": np.int64(2), "statistic": float("nan")}


def test_a_store_from_before_0012_reads_its_alignments_as_before_and_new_ones_read_the_same(tmp_path):
    """The old rows stay where they were and read as before; a packed alignment of the same input
    reads exactly like the rows the tables held (types included: SQLite's column affinities)."""
    odd_statements = [{**_statement("odd", D, 0.3), **ODD}, _statement("plain", None, float("nan"))]
    path = tmp_path / "old.db"
    conn = store_before(path, "0012")
    _legacy_save(conn, D, **_daily(0))
    _legacy_save(conn, _day(1), **{**_daily(1), "statements": odd_statements})
    conn.close()
    with Store.open(path, clock=FixedClock("2026-01-01T00:00:00Z")) as store:
        assert "0012_alignments_packed.sql" in {r[0] for r in peek(store, "SELECT name FROM schema_migrations")}
        legacy = [store.alignments.get(D), store.alignments.get(_day(1))]
        assert [len(a.statements) for a in legacy] == [8, 2] and legacy[0].warnings == ("w0",)
        store.alignments.save(_day(2), **_daily(0))
        store.alignments.save(_day(3), **{**_daily(1), "statements": odd_statements})
        packed = [store.alignments.get(_day(2)), store.alignments.get(_day(3))]
        assert [_typed_rows(a) for a in packed] == [_typed_rows(a) for a in legacy]
        assert [(a.model_id, a.statistic, a.warnings, a.inputs) for a in packed] == \
            [(a.model_id, a.statistic, a.warnings, a.inputs) for a in legacy]
        assert store.alignments.dates() == [D, _day(1), _day(2), _day(3)]
        # saving an old date again packs it and drops its rows from the old tables
        store.alignments.save(D, **_daily(0))
        assert _typed_rows(store.alignments.get(D)) == _typed_rows(legacy[0])
        assert peek(store, "SELECT count(*) AS n FROM alignment_statements WHERE asof = ?", D.isoformat())[0]["n"] == 0
        assert peek(store, "SELECT count(*) AS n FROM alignment_statements")[0]["n"] == 2  # day 1's, untouched


def test_daily_alignments_pack_against_keyframes_and_read_back_exactly(store):
    days = 2 * KEYFRAME_SPAN + 5
    for n in range(days):
        store.alignments.save(_day(n), **_daily(n))
    for n in range(days):
        got = store.alignments.get(_day(n))
        want = _daily(n)
        assert [s["id"] for s in got.statements] == [s["id"] for s in want["statements"]]
        assert [s["p_value"] for s in got.statements] == [s["p_value"] for s in want["statements"]]
        assert [s["abnormal"] for s in got.statements] == [s["abnormal"] for s in want["statements"]]
        assert got.warnings == (f"w{n % 3}",) and got.aggregates[1]["n"] == 1 + n
    rows = {r["asof"]: r for r in peek(store, "SELECT asof, base, length(packed) AS size FROM alignments")}
    keyframes = sorted(d for d, r in rows.items() if r["base"] is None)
    assert keyframes == [_day(0).isoformat(), _day(KEYFRAME_SPAN + 1).isoformat(), _day(2 * KEYFRAME_SPAN + 2).isoformat()]
    assert all(r["base"] in keyframes and r["base"] < d for d, r in rows.items() if r["base"] is not None)
    # the last date packed against a keyframe takes much less than the next date, stored whole
    assert rows[_day(KEYFRAME_SPAN).isoformat()]["size"] * 1.5 < rows[_day(KEYFRAME_SPAN + 1).isoformat()]["size"]
    assert peek(store, "SELECT count(*) AS n FROM alignment_statements")[0]["n"] == 0


def test_replacing_or_deleting_a_keyframe_repacks_the_dates_that_lean_on_it(store):
    for n in range(12):
        store.alignments.save(_day(n), **_daily(n))
    before = {n: _typed_rows(store.alignments.get(_day(n))) for n in range(12)}
    store.alignments.save(D, **_daily(40))  # day 0, the keyframe of days 1..11, replaced
    assert _typed_rows(store.alignments.get(D)) == _typed_rows(_saved(store, _daily(40)))
    assert {n: _typed_rows(store.alignments.get(_day(n))) for n in range(1, 12)} == {n: before[n] for n in range(1, 12)}
    bases = {r["asof"]: r["base"] for r in peek(store, "SELECT asof, base FROM alignments")}
    assert bases[_day(1).isoformat()] is None and bases[D.isoformat()] is None
    assert {bases[_day(n).isoformat()] for n in range(2, 12)} == {_day(1).isoformat()}
    assert store.alignments.delete(_day(1)) == 1  # now the keyframe of days 2..11
    assert {n: _typed_rows(store.alignments.get(_day(n))) for n in range(2, 12)} == {n: before[n] for n in range(2, 12)}
    assert peek(store, "PRAGMA foreign_key_check") == []


def _saved(store, alignment: dict):
    """`alignment` as a store reads it back after saving it on a date of its own."""
    far = dt.date(2030, 1, 1)
    store.alignments.save(far, **alignment)
    got = store.alignments.get(far)
    store.alignments.delete(far)
    return got


def test_what_the_tables_refused_is_refused_packed_too(store):
    twice = [_statement("one", D, 0.1), _statement("one", D, 0.2)]
    with pytest.raises(StoreError, match="statement_id one more than once"):
        store.alignments.save(D, model_id="t", statistic="abnormal", warnings=[], inputs="x", statements=twice,
                              aggregates=[])
    with pytest.raises(StoreError, match="without confounded"):
        store.alignments.save(D, model_id="t", statistic="abnormal", warnings=[], inputs="x",
                              statements=[{**_statement("one", D, 0.1), "confounded": None}], aggregates=[])
    assert store.alignments.get(D) is None
