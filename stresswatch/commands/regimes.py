"""Commands of the regimes concern: `regimes show|episodes|summary|runs|fit|backtest|scorecard`.

Every read command reads the latest stored run with asof <= --asof (default: today); it never
fits unless asked (`regimes show --fit`, `regimes fit`), so what it prints is what reports and
alerts saw (they all read the same regime state: `stresswatch.regimes.state`). Runs are written by
`stresswatch compute --asof D` (which calls `regimes.update.update_all`). `backtest` replays a
model's deployment day by day with only the data known each day and stores its rows;
`scorecard` holds the backtest against the dated episode catalogue (config/episodes.toml).
"""

from __future__ import annotations

import argparse
import sys

from stresswatch import output
from stresswatch.commands import add_format, iso_date
from stresswatch.errors import UsageError

# the regimes package (pandas, numpy, statsmodels) is imported by the handlers, so that the
# parser stays light for --help and --version (see stresswatch.commands)

SHOW_COLUMNS = ["date", "regime", "p_stress_filtered", "p_stress_smoothed", "basis", "fit_asof"]
EPISODE_COLUMNS = ["start", "end", "peak", "peak_p", "mean_p", "length"]
RUN_COLUMNS = ["asof", "kind", "fit_asof", "n", "data_last", "llf", "converged", "fallback", "seconds"]
#: `regimes backtest --format csv` prints exactly these columns
BACKTEST_COLUMNS = ["asof", "date", "regime", "p_stress_filtered"]
BACKTEST_TABLE_COLUMNS = [*BACKTEST_COLUMNS, "action", "fit_asof"]
SCORE_COLUMNS = ["episode", "kind", "required", "start", "end", "days", "answered", "flagged", "share", "lag",
                 "criterion", "status"]


def _model(args, app) -> str:
    from stresswatch.regimes.spec import get_spec, headline

    model_id = args.model or headline(app.store(), app.settings, getattr(args, "asof", None))
    get_spec(app.settings, model_id)  # ConfigError naming the configured models
    return model_id


def _no_run(model_id: str, day) -> int:
    print(f"stresswatch: error: no run of regime model {model_id!r} as of {day}; run "
          f"`stresswatch compute --asof {day}` (or `stresswatch regimes show --fit --asof {day}`)", file=sys.stderr)
    return 1


def _fit(app, model_id: str, day, force: str | None = None):
    from stresswatch.regimes.spec import get_spec
    from stresswatch.regimes.update import update_model

    spec = get_spec(app.settings, model_id)
    with app.lock("regimes fit"):
        result = update_model(app.store(), app.settings, spec, day, force=force)
    if result.status in ("skipped", "failed"):
        print(f"stresswatch: error: {model_id}: {result.status}: {result.message}", file=sys.stderr)
    elif result.fallback:
        print(f"stresswatch: warning: {model_id}: {result.message}", file=sys.stderr)
    return result


def cmd_show(args, app) -> int:
    import pandas as pd

    from stresswatch.regimes.state import regime_state

    model_id = _model(args, app)
    day = args.asof or app.today()
    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    store = app.store()
    state = regime_state(store, app.settings, day, model_id)
    if state.run is None:
        if not args.fit:
            return _no_run(model_id, day)
        if _fit(app, model_id, day).status in ("skipped", "failed"):
            return 1
        state = regime_state(store, app.settings, day, model_id)
    frame = state.frame()
    if args.start:
        frame = frame[frame["date"] >= str(args.start)]
    if args.end:
        frame = frame[frame["date"] <= str(args.end)]
    rows = [{"date": d.date(), "regime": r, "p_stress_filtered": round(float(f), 6),
             "p_stress_smoothed": None if pd.isna(s) else round(float(s), 6), "basis": b, "fit_asof": a.date()}
            for d, r, f, s, b, a in zip(frame["date"], frame["regime"], frame["p_stress_filtered"],
                                        frame["p_stress_smoothed"], frame["basis"], frame["fit_asof"])]
    output.emit(rows, SHOW_COLUMNS, args.format, app.out)
    run = state.run
    assert run is not None and state.fit is not None
    hindsight = frame[frame["basis"] != "real-time"]
    # which fit produced the numbers: said on stderr too, so a reader of the table alone is told
    fit = state.fit
    print(f"stresswatch: {model_id} as of {run.asof}: parameters of the {fit.kind} fit of {fit.asof} (run {fit.id}); "
          f"p_stress_filtered is what the model said in real time on {len(frame) - len(hindsight)} of the "
          f"{len(frame)} rows shown"
          + (f", and on the other {len(hindsight)} (basis hindsight) the fit of {fit.asof} filtered over data "
             f"up to {run.asof} (run `stresswatch regimes backtest` for real-time rows)" if len(hindsight) else "")
          + "; p_stress_smoothed is always hindsight", file=sys.stderr)
    if run.fallback or not run.converged:
        print(f"stresswatch: warning: run of {model_id} as of {run.asof}: "
              f"{'refit rejected, earlier parameters kept' if run.fallback else 'not converged'}", file=sys.stderr)
    return 0


def cmd_episodes(args, app) -> int:
    from stresswatch.regimes.state import regime_state

    model_id = _model(args, app)
    day = args.asof or app.today()
    state = regime_state(app.store(), app.settings, day, model_id)
    if state.run is None:
        return _no_run(model_id, day)
    eps = state.episodes(args.basis, min_length=args.min_length, merge_gap=args.merge_gap, threshold=args.threshold)
    rows = [e.as_dict() for e in eps]
    if args.basis == "real-time" and state.real_time_share < 1:
        real = state.stress_probability("real-time")
        print(f"stresswatch: {model_id}: episodes from the {len(real)} periods the model answered in real time "
              f"(from {real.index[0].date() if len(real) else '-'}); run `stresswatch regimes backtest` to replay "
              f"the earlier days, or use --basis filtered (hindsight parameters) or smoothed", file=sys.stderr)
    if args.format == "table":  # for people: the length with its unit (csv/json keep the number of periods)
        unit = "week" if state.weekly else "business day"
        rows = [dict(r, length=f"{r['length']} {unit}{'' if r['length'] == 1 else 's'}") for r in rows]
    output.emit(rows, EPISODE_COLUMNS, args.format, app.out)
    return 0


def cmd_summary(args, app) -> int:
    from stresswatch.regimes.state import regime_state

    model_id = _model(args, app)
    day = args.asof or app.today()
    horizons = tuple(int(h) for h in args.horizons.split(",") if h.strip())
    info = regime_state(app.store(), app.settings, day, model_id).summary(horizons)
    if info is None:
        return _no_run(model_id, day)
    if args.format == "json":
        app.out.write(output.to_json(output.clean(info)) + "\n")
        return 0
    names = info["regimes"]
    rows = [{"item": key, "value": info[key]} for key in
            ("model_id", "series", "asof", "kind", "fit_asof", "n", "data_first", "data_last", "data_vintage",
             "llf", "aic", "bic", "converged", "accepted", "fallback")]
    if info["reasons"]:
        rows.append({"item": "rejected fits", "value": " | ".join(info["reasons"])})
    for name, value in info["params"].items():
        rows.append({"item": f"param {name}", "value": value})
    for i, name in enumerate(names):
        rows.append({"item": f"expected duration {name} (periods)", "value": info["expected_durations"][name]})
    for name in names:
        rows.append({"item": f"P({name}) at {info['data_last']} (filtered)", "value": info["pi_last"][name]})
    for h, probs in info["forecast"].items():
        for name in names:
            rows.append({"item": f"forecast h={h}: P({name})", "value": probs[name]})
    output.emit(rows, ["item", "value"], args.format, app.out)
    return 0


def cmd_runs(args, app) -> int:
    from stresswatch.regimes.runs import get_run, list_runs

    model_id = _model(args, app)
    store = app.store()
    rows = []
    for run in list_runs(store, model_id):
        fit = get_run(store, run.fit_run_id) or run
        rows.append({"asof": run.asof, "kind": run.kind, "fit_asof": fit.asof, "n": run.n, "data_last": run.data_last,
                     "llf": round(run.llf, 4), "converged": run.converged, "fallback": run.fallback,
                     "seconds": round(run.seconds, 3)})
    output.emit(rows, RUN_COLUMNS, args.format, app.out)
    return 0


def cmd_fit(args, app) -> int:
    model_id = _model(args, app)
    day = args.asof or app.today()
    result = _fit(app, model_id, day, force=args.refit)
    rows = [{"item": k, "value": getattr(result, k)} for k in
            ("model_id", "asof", "status", "run_id", "n", "last_date", "llf", "converged", "fallback", "regime",
             "p_stress_filtered", "p_stress_smoothed", "seconds", "message")]
    output.emit(rows, ["item", "value"], args.format, app.out)
    return 1 if result.status in ("skipped", "failed") else 0


def _progress(args) -> bool:
    """The backtest's progress bar: on stderr when it is a terminal, off with --no-progress or -q
    (--log-level warning or error)."""
    quiet = (getattr(args, "log_level", None) or "INFO") in ("WARNING", "ERROR")
    return not (args.no_progress or quiet) and sys.stderr.isatty()


def _range(args, app, spec):
    from stresswatch.regimes.scorecard import default_range

    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    first, last = default_range(app.store(), spec)
    return args.start or first, args.end or last


def cmd_backtest(args, app) -> int:
    import pandas as pd

    from stresswatch.regimes.backtest import backtest
    from stresswatch.regimes.spec import get_spec

    model_id = _model(args, app)
    if args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    get_spec(app.settings, model_id)
    with app.lock("regimes backtest"):
        result = backtest(app.store(), app.settings, args.start, args.end, model_id, progress=_progress(args))
    rows = result.csv_rows()
    if args.format == "csv":
        output.emit(rows, BACKTEST_COLUMNS, "csv", app.out)
    else:
        extra = result.rows
        for row, action, fit_day in zip(rows, extra["action"], extra["fit_asof"]):
            row["action"] = action
            row["fit_asof"] = None if pd.isna(fit_day) else fit_day.date()
        output.emit(rows, BACKTEST_TABLE_COLUMNS, args.format, app.out)
    answered = sum(r["date"] is not None for r in rows)
    note = f"; {result.replayed_because}" if result.replayed_because else ""
    print(f"stresswatch: backtest of {result.model_id} from {result.first_asof}: {len(rows)} business days "
          f"{result.start}..{result.end}, {answered} answered; {result.computed} computed now, {result.reused} read "
          f"from the store ({result.seconds:.1f} s){note}", file=sys.stderr)
    return 0


def cmd_scorecard(args, app) -> int:
    from stresswatch.regimes.scorecard import hindsight_scorecard, scorecard, scorecard_chart
    from stresswatch.regimes.spec import get_spec

    model_id = _model(args, app)
    spec = get_spec(app.settings, model_id)
    start, end = _range(args, app, spec)
    with app.lock("regimes scorecard"):
        card = scorecard(app.store(), app.settings, model_id, start, end, progress=_progress(args))
    hindsight = None
    note = ""
    if args.hindsight or args.chart:
        hind_card, hindsight, note = hindsight_scorecard(app.store(), app.settings, model_id, end)
    shown = hind_card if args.hindsight else card
    rows = shown.rows()
    if args.format == "table":  # for people: shares as percentages, lags with their unit
        rows = [dict(r, share=f"{r['share']:.0%}", lag="-" if r["lag"] is None else f"{r['lag']} bd") for r in rows]
    if args.format == "json":
        app.out.write(output.to_json(output.clean({
            "model_id": shown.model_id, "basis": shown.basis, "start": shown.start, "end": shown.end,
            "threshold": shown.threshold, "met": shown.met, "verdict": shown.verdict(), "episodes": shown.rows()}))
            + "\n")
    else:
        output.emit(rows, SCORE_COLUMNS, args.format, app.out)
    if args.chart:
        path = scorecard_chart(card, hindsight, args.chart, note)
        print(f"stresswatch: chart written to {path}", file=sys.stderr)
    print(f"stresswatch: {shown.verdict()}", file=sys.stderr)
    return 0


def register(sub) -> None:
    top = sub.add_parser(
        "regimes", help="Markov-switching stress regimes: probabilities, episodes, fitted models",
        description="Read the stored regime-model runs (written by `stresswatch compute`). Without --model "
                    "the headline model ([regimes] headline) is used.",
        epilog="examples:\n"
               "  stresswatch regimes show --asof 2022-03-31 --start 2022-02-01 --format csv\n"
               "  stresswatch regimes episodes --model stress --format json\n"
               "  stresswatch regimes scorecard --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    rsub = top.add_subparsers(dest="regimes_command", metavar="SUBCOMMAND", required=True)

    def parser(name: str, help: str, example: str, handler) -> argparse.ArgumentParser:
        p = rsub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(handler=handler)
        p.add_argument("--model", help="model id (default: [regimes] headline)")
        return p

    p = parser("show", "P(stress) per date of the latest run as of a date: filtered = what the model said in real "
                       "time (basis real-time) or, where it never answered, its fit's parameters over later data "
                       "(basis hindsight); smoothed = hindsight; fit_asof = the fit that produced the row. CSV "
                       "columns date,regime,p_stress_filtered,p_stress_smoothed,basis,fit_asof",
               "stresswatch regimes show --model ruble_rt --asof 2023-08-18 --start 2023-08-01 --format csv", cmd_show)
    p.add_argument("--asof", type=iso_date, help="latest run with asof <= this date (default: today)")
    p.add_argument("--start", type=iso_date, help="first date shown")
    p.add_argument("--end", type=iso_date, help="last date shown")
    p.add_argument("--fit", action="store_true",
                   help="when no run exists as of the date, run the regime update for it first (uses only data "
                        "known by then; takes the writer lock)")
    add_format(p)

    p = parser("episodes", "Stress episodes (start, end, peak, length) of the latest run as of a date",
               "stresswatch regimes episodes --model ruble_rt --format json", cmd_episodes)
    p.add_argument("--asof", type=iso_date, help="latest run with asof <= this date (default: today)")
    p.add_argument("--basis", choices=("real-time", "filtered", "smoothed"), default="real-time",
                   help="probabilities the episodes are cut from: real-time = what the model said each day "
                        "(default), filtered = the same with hindsight-parameter rows where it never answered, "
                        "smoothed = hindsight")
    p.add_argument("--threshold", type=float, help="P(stress) threshold (default [regimes] episode_threshold)")
    p.add_argument("--min-length", type=int, help="shortest episode in periods (default [regimes] "
                                                  "episode_min_length)")
    p.add_argument("--merge-gap", type=int, help="merge episodes this close (default [regimes] episode_merge_gap)")
    add_format(p)

    p = parser("summary", "Parameters, expected durations, convergence, data vintage and regime forecast",
               "stresswatch regimes summary --model ruble_rt --asof 2024-11-29", cmd_summary)
    p.add_argument("--asof", type=iso_date, help="latest run with asof <= this date (default: today)")
    p.add_argument("--horizons", default="1,5,20", help="forecast horizons in periods (default 1,5,20)")
    add_format(p, choices=("table", "json"))

    p = parser("runs", "Stored runs of a model (fits and filter-only updates)",
               "stresswatch regimes runs --model ruble_rt --format csv", cmd_runs)
    add_format(p)

    p = parser("fit", "Update one model as of a date now (filter with stored parameters, or refit when due)",
               "stresswatch regimes fit --model stress --asof 2024-05-31 --refit cold", cmd_fit)
    p.add_argument("--asof", type=iso_date, help="use only data known by this date (default: today)")
    p.add_argument("--refit", choices=("cold", "warm", "filter"),
                   help="force a cold fit, a warm refit or a filter-only update")
    add_format(p)

    p = parser("backtest", "Replay the model's deployment one business day at a time from --start (empty state) "
                           "to --end with only the data known each day and the policy compute uses; store and "
                           "print each day's real-time answer. CSV columns asof,date,regime,p_stress_filtered",
               "stresswatch regimes backtest --start 1999-01-01 --end 2026-08-20 --format csv", cmd_backtest)
    p.add_argument("--start", type=iso_date, required=True, help="first business day of the replayed deployment")
    p.add_argument("--end", type=iso_date, required=True, help="last business day")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is shown on stderr only when that is a terminal, and not with -q)")
    add_format(p)

    p = parser("scorecard", "Score the model's backtest against the dated episode catalogue (config/episodes.toml): "
                            "per stress episode the share of business days flagged and the lag to the first flag, "
                            "per calm stretch the share of false days, and whether issue 11's criteria are met",
               "stresswatch regimes scorecard --format json --chart scorecard.png", cmd_scorecard)
    p.add_argument("--start", type=iso_date, help="first day of the replayed deployment (default: the first "
                                                  "observation of the model's input)")
    p.add_argument("--end", type=iso_date, help="last business day (default: the last observation)")
    p.add_argument("--hindsight", action="store_true",
                   help="score one full-sample fit filtered over the whole history instead (hindsight: later data "
                        "set the parameters used for earlier dates)")
    p.add_argument("--chart", metavar="PNG", help="also draw real-time vs full-sample P(stress), stress episodes "
                                                  "shaded, into this file")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is shown on stderr only when that is a terminal, and not with -q)")
    add_format(p)
