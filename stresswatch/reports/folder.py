"""The reports folder of one store: who owns it, and its index (index.json, index.html).

A reports folder belongs to exactly one store. The folder names it in `.stresswatch-store` (one
line: the store file's resolved path; index.json repeats it as `"store"`), and a render into a
folder that another store owns is refused with a `ConfigError` naming both — before anything is
written — so the index never lists two stores' reports side by side. The default folder sits
beside the store (`Settings.reports_dir`), so stores never meet by default.

A folder written before owners were recorded (no `.stresswatch-store`) is adopted by the first
store that renders into it; its older entries stay listed only when that store's own report index
(`store.reports`, written with every render) records them in this folder.

The index itself: `index_entry` is one report's line (date, formats, headline state); `update_index`
merges new entries into index.json (rebuilt from DIR/*/report.json when lost) and rewrites
index.html. Files are written atomically (temp file + rename).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from stresswatch.errors import ConfigError
from stresswatch.output import clean
from stresswatch.store import Store

MANIFEST = "index.json"
PAGE = "index.html"
#: the file naming the store that owns the folder
OWNER_FILE = ".stresswatch-store"

#: (index entries newest first, the owning store) -> the HTML of index.html (`reports.render`)
HtmlIndex = Callable[[list[dict[str, Any]], str], str]


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file + rename), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def store_identity(store: Store) -> str:
    """How a reports folder names its store: the store file's resolved path."""
    return str(Path(store.path).expanduser().resolve())


def _manifest(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owner(out_dir: str | Path) -> str | None:
    """The store that owns the reports folder (None: nobody recorded yet)."""
    try:
        text = (Path(out_dir) / OWNER_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    if not text:
        data = _manifest(Path(out_dir))
        value = data.get("store") if data else None
        text = value if isinstance(value, str) else ""
    return text or None


def check_owner(out_dir: str | Path, store: Store) -> None:
    """ConfigError when another store owns `out_dir` (called before anything is written there)."""
    mine, theirs = store_identity(store), owner(out_dir)
    if theirs is not None and theirs != mine:
        raise ConfigError(
            f"the reports folder {out_dir} holds the reports of another store ({theirs}); reports of "
            f"{mine} go to their own folder: leave [report] out empty (the default, beside the store) "
            f"or choose another one with --out DIR or [report] out")


def index_entry(ctx: dict[str, Any], formats: Sequence[str]) -> dict[str, Any]:
    """One report's line in the archive index: its date, formats and headline state."""
    head = ctx["headline"]
    idx = ctx.get("stress_index") or {}
    return {
        "date": ctx["date"], "generated_at": ctx["generated_at"], "formats": list(formats),
        "available": bool(head.get("available")), "no_data": bool((ctx.get("data") or {}).get("empty")),
        "model_id": head.get("model_id"),
        "regime": head.get("regime"), "p_stress_filtered": head.get("p_stress_filtered"),
        "p_stress_change": head.get("p_stress_change"), "days_in_regime": head.get("days_in_regime"),
        "index": idx.get("value"), "index_percentile": idx.get("percentile"),
        "warnings": sum(1 for w in ctx.get("warnings", []) if w["level"] in ("warning", "error")),
    }


def _scan(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Index entries rebuilt from DIR/*/report.json."""
    entries = {}
    for path in sorted(out_dir.glob("*/report.json")):
        try:
            ctx = json.loads(path.read_text(encoding="utf-8"))
            formats = [f for f, name in (("html", "report.html"), ("md", "report.md"), ("json", "report.json"))
                       if (path.parent / name).exists()]
            entries[ctx["date"]] = index_entry(ctx, formats)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return entries


def update_index(out_dir: Path, new_entries: Iterable[dict[str, Any]], store: Store,
                 render_page: HtmlIndex) -> Path:
    """Merge entries into DIR/index.json (rebuilt from DIR/*/report.json when missing or unreadable),
    record `store` as the folder's owner and rewrite DIR/index.html with `render_page(entries,
    store identity)`. Entries of an adopted folder that `store` never rendered there are dropped."""
    check_owner(out_dir, store)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _manifest(out_dir)
    try:
        entries = {e["date"]: e for e in data["reports"]} if data else _scan(out_dir)
    except (KeyError, TypeError):
        entries = _scan(out_dir)
    identity = store_identity(store)
    if owner(out_dir) is None:  # adopted: keep only what this store recorded rendering here
        here = str(out_dir.resolve())
        mine = {row["date"] for row in store.reports.index(here)}
        entries = {d: e for d, e in entries.items() if d in mine}
    for e in new_entries:
        entries[e["date"]] = e
    entries = {d: e for d, e in entries.items() if (out_dir / d).is_dir()}  # drop deleted folders
    ordered = [entries[d] for d in sorted(entries, reverse=True)]
    write_text(out_dir / OWNER_FILE, identity + "\n")
    write_text(out_dir / MANIFEST,
               json.dumps(clean({"store": identity, "reports": ordered}), ensure_ascii=False, indent=1) + "\n")
    write_text(out_dir / PAGE, render_page(ordered, identity))
    return out_dir / PAGE
