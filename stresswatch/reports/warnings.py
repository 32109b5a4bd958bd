"""The warnings at the top of a report, collected from the built context: an empty store (no data
stored yet, and which fetches failed — then nothing else), no model run, a fit that did not
converge or was rejected, no stress index, stale sources and failed fetches, sources without data,
currencies missing from the league table, and the statement alignment's notes."""

from __future__ import annotations

from typing import Any


def collect_warnings(ctx: dict[str, Any]) -> list[dict[str, str]]:
    """The warnings of a built context, in display order (level: error, warning or info)."""
    out: list[dict[str, str]] = []
    data = ctx.get("data") or {}
    if data.get("empty"):  # nothing stored: one error and the failed fetches, no advice to compute
        out.append({"level": "error", "topic": "data", "text": data["message"]})
        for f in data.get("failed") or []:
            out.append({"level": "warning", "topic": "freshness",
                        "text": f"source {f['source']}: fetch failed at {f['at']}: {f['error']}"})
        return out
    head = ctx["headline"]
    if not head.get("available"):
        out.append({"level": "error", "topic": "regimes", "text": head.get("message") or "no regime model run"})
    model = ctx.get("model") or {}
    if model.get("converged") is False:
        out.append({"level": "warning", "topic": "regimes",
                    "text": f"the fit of model {model.get('id')} did not converge; treat probabilities with care"})
    if model.get("fallback"):
        out.append({"level": "warning", "topic": "regimes",
                    "text": f"the latest fit of model {model.get('id')} was rejected "
                            f"({model.get('rejection') or 'degenerate'}); the last accepted parameters are used"})
    if not ctx["stress_index"].get("available"):
        out.append({"level": "warning", "topic": "index", "text": ctx["stress_index"]["message"]})
    for row in ctx["freshness"]["rows"]:
        if row["stale"]:
            out.append({"level": "warning", "topic": "freshness",
                        "text": f"source {row['source']} is stale: {row['stale_reason']}"})
        if row.get("last_error"):
            out.append({"level": "warning", "topic": "freshness",
                        "text": f"source {row['source']}: last fetch failed at {row['last_error_at']}: "
                                f"{row['last_error']}"})
    empty = [r["source"] for r in ctx["freshness"]["rows"] if r["status"] == "no data"]
    if empty:
        out.append({"level": "info", "topic": "freshness",
                    "text": "enabled sources with no data known on this date: " + ", ".join(empty)})
    league = ctx["em_league"]
    if league.get("missing"):
        out.append({"level": "info", "topic": "em_league",
                    "text": "currencies without Bank of Russia rates in the store: " + ", ".join(league["missing"])
                            + "; " + league["hint"]})
    if not ctx["statements"].get("available"):
        out.append({"level": "info", "topic": "statements", "text": ctx["statements"]["message"]})
    for text in ctx["statements"].get("warnings") or []:
        out.append({"level": "info", "topic": "statements", "text": text})
    return out
