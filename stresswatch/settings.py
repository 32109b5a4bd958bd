"""Every setting, declared once (name, type, default, help), and the one loader.

Load order, later wins: built-in defaults < config file (`--config PATH`, else
`$STRESSWATCH_CONFIG`, else `<user config dir>/stresswatch.toml` when it exists) < environment
(`STRESSWATCH_<SECTION>__<KEY>`, e.g. `STRESSWATCH_STORE__PATH`,
`STRESSWATCH_SOURCES__CBR__BASE_URL`) < command-line flags. Unknown keys, wrong types and bad values
raise `ConfigError` (exit 2) naming the file, the key and what is allowed.

Per-source settings: every `[sources.<id>]` table has the common keys below (`enabled`, `base_url`,
`timeout`, `min_interval`, ...) plus the keys the fetcher class declares in `extra_settings`.
Secrets (SMTP password, API keys) are never settings: they come from the environment only.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import platformdirs

from stresswatch.errors import ConfigError
from stresswatch.regime_fields import MODEL_INPUT_FIELDS
from stresswatch.textcheck import id_problem, shown, text_problem

APP = "stresswatch"
#: the store file name of the default store (its reports folder is reports/ beside it)
DEFAULT_STORE_NAME = "stresswatch.db"


def shipped_text(name: str) -> str:
    """Text of a file shipped in `stresswatch.config` (the top-level config/ folder, packaged)."""
    from importlib import resources

    try:
        return resources.files("stresswatch.config").joinpath(name).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"the shipped {name} cannot be read: {exc}") from None


def user_data_dir() -> Path:
    return Path(os.environ.get("STRESSWATCH_HOME") or platformdirs.user_data_dir(APP))


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def user_state_dir() -> Path:
    return Path(os.environ.get("STRESSWATCH_HOME") or platformdirs.user_state_dir(APP))


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One setting. `kind`: str, id, int, float, bool, path, date, time, list[str], list[float],
    list[int], dict[float] (table of name -> number), table (free-form), list[table] (array of tables
    each checked against `fields`).

    Text (str, path, id and list[str] items) is one line: no control character (CR, LF, TAB, NUL
    ...) and at most `max_length` characters (default MAX_TEXT, MAX_PATH for paths). An `id` is
    `[A-Za-z0-9_.-]+` (stresswatch.textcheck); an id whose default is "" may be left empty (unset)."""

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: extra check: value -> error text or None
    check: Callable[[Any], str | None] | None = None
    #: for list[table]: the fields of each table (required when their default is REQUIRED)
    fields: tuple["Setting", ...] = ()
    #: longest text accepted (None = MAX_TEXT, or MAX_PATH for a path)
    max_length: int | None = None

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        text = {"str": "a string", "id": "an id (letters, digits, '_', '.', '-')", "int": "an integer",
                "float": "a number", "bool": "true or false",
                "path": "a file path", "date": "a date YYYY-MM-DD", "time": "a time HH:MM",
                "list[str]": "a list of strings", "list[float]": "a list of numbers",
                "list[int]": "a list of integers", "dict[float]": "a table of numbers",
                "table": "a table", "list[table]": "an array of tables"}.get(self.kind, self.kind)
        if self.minimum is not None and self.maximum is not None:
            text += f" between {self.minimum} and {self.maximum}"
        elif self.minimum is not None:
            text += f" >= {self.minimum}"
        elif self.maximum is not None:
            text += f" <= {self.maximum}"
        return text


REQUIRED = object()
#: default length limits of one-line text settings and of paths
MAX_TEXT = 1000
MAX_PATH = 4096


@dataclass(frozen=True)
class Section:
    name: str
    help: str
    settings: tuple[Setting, ...]

    def by_name(self) -> dict[str, Setting]:
        return {s.name: s for s in self.settings}


def _cron_check(value: str) -> str | None:
    fields = value.split()
    if len(fields) not in (5, 6):
        return "a cron expression of 5 fields (minute hour day month weekday) or 6 (seconds first)"
    return None


SECTIONS: list[Section] = [
    Section("store", "Where the data lives.", (
        Setting("path", "path", "", "SQLite database file; empty = stresswatch.db in the user's data folder"),
        Setting("busy_timeout", "float", 30.0, "seconds a writer waits for the database lock", minimum=0),
    )),
    Section("log", "Logging.", (
        Setting("level", "str", "INFO", "log level", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    )),
    Section("http", "Defaults shared by every source's HTTP session.", (
        Setting("user_agent", "str", "stresswatch/{version} (+https://github.com/stresswatch/stresswatch)",
                "User-Agent header; {version} is replaced"),
        Setting("retries", "int", 4, "retries for 429/500/502/503/504 and connection errors", minimum=0, maximum=20),
        Setting("backoff_factor", "float", 1.0, "urllib3 Retry backoff factor (seconds)", minimum=0),
        Setting("retry_after_max", "float", 120.0, "cap, in seconds, on a server's Retry-After", minimum=0),
        Setting("connect_timeout", "float", 10.0, "seconds to establish a connection", minimum=0.1),
        Setting("unreachable_cooldown", "float", 30.0,
                "minutes `fetch` (and the daily run) leaves a source alone after its host could not be "
                "reached at all; 0 = ask every time (or pass --ignore-cooldown)", minimum=0),
        Setting("max_pages", "int", 200,
                "pages a paged answer may follow on from one request before the partition fails "
                "(a cursor that never ends)", minimum=1),
    )),
    Section("plausibility", "Checks every fetched value passes before it is stored (docs/data.md).", (
        Setting("rules", "path", "", "plausibility rules TOML; empty = the shipped plausibility.toml"),
    )),
    Section("backfill", "Partitioned history loads.", (
        Setting("min_interval_factor", "float", 1.0,
                "multiplier on each source's min_interval during backfills (politeness)", minimum=0),
    )),
    Section("compute", "Indicators and the composite stress index.", (
        Setting("burn_in", "int", 500, "observations before the recursive ECDF starts ranking (the index is "
                                       "published once every segment with data is ranked)", minimum=10),
        Setting("ewma_lambda", "float", 0.93, "EWMA decay of the segment correlations in stress.corr (a "
                                              "diagnostic; not a weight of the index)", minimum=0.5, maximum=0.999),
        Setting("weights", "dict[float]", {}, "segment weights (fx, policy, equity, external); empty = equal"),
        Setting("start", "date", dt.date(1999, 1, 1), "first date of the computed history"),
        Setting("meetings", "path", "", "Bank of Russia board meeting schedule TOML; empty = the shipped "
                                        "cbr_meetings.toml"),
    )),
    Section("regimes", "Markov-switching regime models.", (
        Setting("headline", "id", "", "model reports, alerts and events use; empty or auto = the first model"),
        Setting("models", "list[table]", [], "model specs ([[regimes.models]]); empty = built-in specs", fields=(
            Setting("id", "id", REQUIRED, "model id"),
            Setting("series", "id", REQUIRED, "input series id (e.g. stress.index or cbr.fx.USD)"),
            *(Setting(name, kind, default, text, **limits) for name, kind, default, text, limits in MODEL_INPUT_FIELDS),
            Setting("k_regimes", "int", 2, "number of regimes", minimum=2, maximum=4),
            Setting("switching_mean", "bool", True, "regime-dependent mean (trend c)"),
            Setting("switching_variance", "bool", True, "regime-dependent variance"),
            Setting("frequency", "str", "D", "resample input to this frequency", choices=("D", "W")),
            Setting("start", "date", dt.date(1999, 1, 1), "first date used in the fit"),
            Setting("order", "int", 0, "autoregressive order (0 = Markov-switching regression; > 0 = "
                                       "Markov-switching autoregression with common AR terms)", minimum=0, maximum=4),
        )),
        Setting("search_reps", "int", 20, "random starts per seed", minimum=0),
        Setting("seeds", "list[int]", [1, 2, 3], "rng seeds for the random starts"),
        Setting("min_fit_obs", "int", 250, "estimation rows before the first fit (weekly models: a fifth)", minimum=10),
        Setting("refit_every", "int", 63, "business days between warm refits", minimum=1),
        Setting("degrade_nats", "float", 1.0, "refit when the new rows' mean loglik falls this far below", minimum=0),
        Setting("episode_min_length", "int", 3, "shortest stress episode (periods)", minimum=1),
        Setting("episode_merge_gap", "int", 5, "episodes this close are merged (periods)", minimum=0),
        Setting("episode_threshold", "float", 0.5, "P(stress) above which a period is stress", minimum=0, maximum=1),
        Setting("episodes", "path", "", "episode catalogue the scorecard checks; empty = the shipped episodes.toml"),
    )),
    Section("events", "Statement catalogue and event study.", (
        Setting("catalogue", "path", "", "statement catalogue TOML; empty = the shipped catalogue"),
        Setting("confounders", "path", "", "confounder TOML; empty = the shipped file"),
        Setting("k", "int", 5, "event window half-width (business days)", minimum=1, maximum=30),
        Setting("placebos", "int", 5000, "placebo days per statement", minimum=100),
        Setting("seed", "int", 20230815, "seed for the placebo draws"),
        Setting("estimation_window", "int", 250, "business days in the AR(1) estimation window", minimum=30),
    )),
    Section("report", "The daily report.", (
        Setting("out", "path", "", "reports folder; empty = beside the store (reports/, or <store name>-reports/ "
                                   "when the store file is not stresswatch.db)"),
        Setting("formats", "list[str]", ["html", "md", "json"], "formats written"),
        Setting("em_currencies", "list[str]",
                ["TRY", "INR", "BRL", "ZAR", "KZT", "CNY", "IDR", "HUF", "PLN"],
                "currencies in the emerging-market league table (ISO codes the Bank of Russia quotes; it has no MXN)"),
        Setting("stale_days", "int", 5, "business days without new data before a source is stale", minimum=1),
    )),
    Section("alerts", "Alert rules and delivery.", (
        Setting("rules", "list[table]", [], "alert rules ([[alerts.rules]]); empty = built-in rules", fields=(
            Setting("id", "id", REQUIRED, "rule id"),
            Setting("kind", "str", REQUIRED, "rule kind",
                    choices=("regime", "index_percentile", "extraordinary_keyrate", "ruble_move", "source_stale")),
            Setting("enter", "float", 0.5, "regime: P(stress) to enter", minimum=0, maximum=1),
            Setting("exit", "float", 0.3, "regime: P(stress) to leave", minimum=0, maximum=1),
            Setting("for_runs", "int", 2, "consecutive runs before firing", minimum=1),
            Setting("clear_runs", "int", 2, "consecutive runs before resolving", minimum=1),
            Setting("percentile", "float", 0.9, "index_percentile threshold", minimum=0, maximum=1),
            Setting("pct", "float", 5.0, "ruble_move threshold in percent", minimum=0),
            Setting("days", "int", 1, "ruble_move horizon / source_stale days", minimum=1),
            Setting("series", "id", "", "series the rule reads"),
            Setting("source", "id", "", "source_stale: source id"),
            Setting("model", "id", "", "regime: model id; empty = [regimes] headline"),
            Setting("min_change", "float", 2.0,
                    "extraordinary_keyrate: a change of at least this many percentage points counts", minimum=0),
        )),
        Setting("repeat_interval_days", "int", 0,
                "re-send a still-firing alert after this many run days; 0 = never (one mail per episode)",
                minimum=0),
        Setting("send_resolved", "bool", True, "mail when an alert resolves"),
    )),
    Section("mail", "Alert e-mail (off while recipients is empty; password from STRESSWATCH_SMTP_PASSWORD).", (
        Setting("host", "str", "localhost", "SMTP host"),
        Setting("port", "int", 587, "SMTP port", minimum=1, maximum=65535),
        Setting("starttls", "bool", True, "upgrade with STARTTLS (certificate verified)"),
        Setting("ssl", "bool", False, "implicit TLS (port 465)"),
        Setting("username", "str", "", "SMTP login; empty = no login"),
        Setting("sender", "str", "stresswatch@localhost", "From address"),
        Setting("recipients", "list[str]", [], "To addresses; empty = mail off"),
        Setting("timeout", "float", 30.0, "socket timeout in seconds", minimum=1),
        Setting("max_attempts", "int", 10, "delivery attempts before a message is given up", minimum=1),
        Setting("report_url", "str", "", "base URL where reports are served; empty = file path"),
    )),
    Section("daemon", "The scheduled daily run.", (
        Setting("schedule", "str", "0 30 16 * * mon-fri",
                "cron expression; 6 fields = seconds first (APScheduler 3 weekday names)", check=_cron_check),
        Setting("timezone", "str", "Europe/Moscow", "time zone of the schedule"),
        Setting("misfire_grace_hours", "float", 6.0, "how late a missed run may still start", minimum=0),
        Setting("catch_up_days", "int", 10, "business days caught up at start-up", minimum=0, maximum=365),
        Setting("lock_wait", "float", 0.0, "seconds a writing command waits for the lock before failing", minimum=0),
        Setting("steps", "list[str]", ["fetch", "compute", "events", "report", "alerts", "mail"],
                "steps of the daily cycle, in this order",
                choices=("fetch", "compute", "events", "report", "alerts", "mail")),
        Setting("outbox_retry_minutes", "float", 15.0,
                "how often the daemon retries undelivered mail between daily runs (0 = only at runs)", minimum=0),
    )),
]

#: keys every [sources.<id>] table has
SOURCE_COMMON: tuple[Setting, ...] = (
    Setting("enabled", "bool", True, "fetch this source"),
    Setting("base_url", "str", "", "base URL; empty = the real host"),
    Setting("timeout", "float", 60.0, "seconds one request attempt may take as a whole: connecting, the "
                                      "headers and the complete body", minimum=0.1),
    Setting("max_body_mb", "float", 16.0, "largest answer in MB; reading stops past it and the request fails",
            minimum=0.001),
    Setting("redirect_hosts", "list[str]", [], "other hosts a GET may be redirected to (the source's own host "
                                               "is always allowed; a POST never goes to another host)"),
    Setting("min_interval", "float", 1.0, "minimum seconds between requests to this host", minimum=0),
    Setting("history_start", "date", dt.date(2013, 1, 1), "first date `fetch` asks for when the store is empty"),
    Setting("history_days", "int", 0, "if > 0, a first `fetch` goes back at most this many days", minimum=0),
    Setting("stale_days", "int", 5, "days without a successful fetch before the source counts as stale", minimum=1),
)


def _source_sections() -> list[Section]:
    from stresswatch.fetchers.base import load_all

    sections = []
    for source_id, cls in sorted(load_all().items()):
        extra = tuple(getattr(cls, "extra_settings", ()))
        common = tuple(
            dataclasses.replace(s, default=cls.default_overrides[s.name])
            if s.name in getattr(cls, "default_overrides", {}) else s
            for s in SOURCE_COMMON
        )
        sections.append(Section(f"sources.{source_id}", (cls.__doc__ or source_id).strip().splitlines()[0],
                                common + extra))
    return sections


def declared(section: str, name: str) -> Setting:
    """The declaration of `[section] name`, for code that takes its defaults and choices from the
    one place settings are declared (e.g. the regime spec, the alert rule)."""
    for sec in SECTIONS:
        if sec.name == section:
            return sec.by_name()[name]
    raise KeyError(f"no setting [{section}] {name}")


def all_sections() -> list[Section]:
    return SECTIONS + _source_sections()


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------
@dataclass
class Settings:
    """Validated settings: `settings["store"]["path"]`, `settings.source("cbr")`."""

    values: dict[str, dict[str, Any]]
    origin: str = "defaults"
    config_file: Path | None = None
    sections: list[Section] = field(default_factory=list, repr=False)

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    def source(self, source_id: str) -> dict[str, Any]:
        return self.values[f"sources.{source_id}"]

    @property
    def source_ids(self) -> list[str]:
        return [name.split(".", 1)[1] for name in self.values if name.startswith("sources.")]

    def enabled_sources(self) -> list[str]:
        return [s for s in self.source_ids if self.source(s)["enabled"]]

    @property
    def store_path(self) -> Path:
        raw = self.values["store"]["path"]
        return Path(raw).expanduser() if raw else user_data_dir() / DEFAULT_STORE_NAME

    @property
    def reports_dir(self) -> Path:
        """The store's reports folder: `[report] out`, else beside the store — `reports/` for a
        store file named stresswatch.db, `<name>-reports/` for any other, so two stores in one
        folder never share one (`stresswatch.reports.folder` refuses a folder another store owns)."""
        raw = self.values["report"]["out"]
        if raw:
            return Path(raw).expanduser()
        store = self.store_path
        return store.parent / ("reports" if store.name == DEFAULT_STORE_NAME else f"{store.stem}-reports")

    def redacted(self) -> dict[str, dict[str, Any]]:
        """Values for `config show`; settings hold no secrets, so this is a deep copy."""
        return copy.deepcopy(self.values)


def defaults() -> Settings:
    sections = all_sections()
    values = {sec.name: {s.name: copy.deepcopy(s.default) for s in sec.settings} for sec in sections}
    return Settings(values=values, sections=sections)


def find_config_file(explicit: str | os.PathLike | None, environ: Mapping[str, str]) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    env_path = environ.get("STRESSWATCH_CONFIG")
    if env_path:
        path = Path(env_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"STRESSWATCH_CONFIG names {path}, which does not exist")
        return path
    path = user_config_dir() / "stresswatch.toml"
    return path if path.is_file() else None


def load(config: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults < file < environment < `overrides` ({"store.path": ..., "sources.cbr.base_url": ...})."""
    environ = os.environ if environ is None else environ
    settings = defaults()
    by_section = {sec.name: sec for sec in settings.sections}
    path = find_config_file(config, environ)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        _apply_file(settings, by_section, data, str(path))
        settings.config_file = path
        settings.origin = str(path)
    _apply_env(settings, by_section, environ)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section_name, key = dotted.rsplit(".", 1)
        setting = by_section[section_name].by_name()[key]
        settings.values[section_name][key] = _coerce(setting, value, f"command line ({dotted})", dotted)
    return settings


def _apply_file(settings: Settings, by_section: dict[str, Section], data: dict, where: str) -> None:
    def walk(prefix: str, table: dict) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if name in by_section:
                if not isinstance(value, dict):
                    raise ConfigError(f"{where}: [{name}] must be a table")
                section = by_section[name]
                known = section.by_name()
                for k, v in value.items():
                    if k not in known:
                        raise ConfigError(
                            f"{where}: unknown key {name}.{k}; allowed keys in [{name}]: {', '.join(sorted(known))}")
                    settings.values[name][k] = _coerce(known[k], v, where, f"{name}.{k}")
            elif isinstance(value, dict) and any(s.startswith(name + ".") for s in by_section):
                walk(name, value)
            else:
                allowed = sorted({s.split(".")[0] for s in by_section} if not prefix else
                                 {s[len(prefix) + 1:].split(".")[0] for s in by_section if s.startswith(prefix + ".")})
                raise ConfigError(f"{where}: unknown section or key {name}; allowed here: {', '.join(allowed)}")

    walk("", data)


def _apply_env(settings: Settings, by_section: dict[str, Section], environ: Mapping[str, str]) -> None:
    for var, raw in environ.items():
        if not var.startswith("STRESSWATCH_") or "__" not in var:
            continue
        parts = var[len("STRESSWATCH_"):].lower().split("__")
        section_name, key = ".".join(parts[:-1]), parts[-1]
        if section_name not in by_section or key not in by_section[section_name].by_name():
            raise ConfigError(f"environment variable {var}: no setting {section_name}.{key}")
        setting = by_section[section_name].by_name()[key]
        settings.values[section_name][key] = _coerce(setting, _parse_env(setting, raw), f"environment ({var})",
                                                     f"{section_name}.{key}")


def _parse_env(setting: Setting, raw: str) -> Any:
    if setting.kind.startswith("list[") and setting.kind != "list[table]":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if setting.kind in ("table", "list[table]", "dict[float]"):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    return raw


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(setting: Setting, value: Any, where: str, name: str) -> Any:
    def bad(detail: str = "") -> ConfigError:
        extra = f" ({detail})" if detail else ""
        return ConfigError(f"{where}: {name} = {shown(value)} is not allowed{extra}; expected {setting.allowed()}")

    kind = setting.kind
    out: Any
    try:
        if kind in ("str", "path", "id"):
            if not isinstance(value, str):
                raise bad()
            limit = setting.max_length or (MAX_PATH if kind == "path" else MAX_TEXT)
            problem = text_problem(value, limit)
            if problem is None and kind == "id" and (value or setting.default != ""):
                problem = id_problem(value)
            if problem:
                raise ConfigError(f"{where}: {name} = {shown(value)} {problem}")
            out = value
        elif kind == "int":
            if isinstance(value, bool):
                raise bad()
            if isinstance(value, str):
                value = value.strip()
                if not value.lstrip("-").isdigit():
                    raise bad()
                out = int(value)
            elif isinstance(value, int):
                out = value
            else:
                raise bad()
        elif kind == "float":
            if isinstance(value, bool):
                raise bad()
            if isinstance(value, (int, float)):
                out = float(value)
            elif isinstance(value, str):
                out = float(value)
            else:
                raise bad()
        elif kind == "bool":
            if isinstance(value, bool):
                out = value
            elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                out = value.strip().lower() in _TRUE
            else:
                raise bad()
        elif kind == "date":
            if isinstance(value, dt.datetime):
                out = value.date()
            elif isinstance(value, dt.date):
                out = value
            elif isinstance(value, str):
                out = dt.date.fromisoformat(value.strip())
            else:
                raise bad()
        elif kind == "time":
            out = dt.time.fromisoformat(str(value))
        elif kind in ("list[str]", "list[float]", "list[int]"):
            if not isinstance(value, list):
                raise bad()
            elem = Setting(name, kind[5:-1], None, "")
            out = [_coerce(elem, v, where, name) for v in value]
        elif kind == "dict[float]":
            if not isinstance(value, dict):
                raise bad()
            elem = Setting(name, "float", None, "", minimum=0)
            for key in value:
                problem = id_problem(str(key))
                if problem:
                    raise ConfigError(f"{where}: {name}: the key {shown(key)} {problem}")
            out = {str(k): _coerce(elem, v, where, f"{name}.{k}") for k, v in value.items()}
        elif kind == "table":
            if not isinstance(value, dict):
                raise bad()
            out = value
        elif kind == "list[table]":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise bad()
            out = [_coerce_table(setting, item, where, f"{name}[{i}]") for i, item in enumerate(value)]
        else:  # pragma: no cover - a declaration bug
            raise ConfigError(f"setting {name} has unknown kind {kind}")
    except (ValueError, TypeError) as exc:
        raise bad(str(exc)) from None
    if setting.choices is not None and kind != "list[table]":
        items = out if isinstance(out, list) else [out]
        for item in items:
            if item not in setting.choices:
                raise bad()
    if setting.minimum is not None and isinstance(out, (int, float)) and out < setting.minimum:
        raise bad()
    if setting.maximum is not None and isinstance(out, (int, float)) and out > setting.maximum:
        raise bad()
    if setting.check is not None:
        problem = setting.check(out)
        if problem:
            raise ConfigError(f"{where}: {name} = {shown(value)} is not allowed; expected {problem}")
    return out


def _coerce_table(setting: Setting, item: dict, where: str, name: str) -> dict:
    known = {f.name: f for f in setting.fields}
    for key in item:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {name}.{key}; allowed: {', '.join(sorted(known))}")
    out = {}
    for field_name, field_setting in known.items():
        if field_name in item:
            out[field_name] = _coerce(field_setting, item[field_name], where, f"{name}.{field_name}")
        elif field_setting.default is REQUIRED:
            raise ConfigError(f"{where}: {name} is missing the required key {field_name!r}")
        else:
            out[field_name] = copy.deepcopy(field_setting.default)
    return out


def render_defaults_toml(settings: Settings | None = None) -> str:
    """The shipped config file's text: every setting with its default and help as a comment.
    With `settings`, the same file with their values (`config show`); a list of tables that is
    set is written out inline."""
    lines = ["# stresswatch settings: every key with its default. Copy, then change what you need.",
             "# Order: defaults < this file < STRESSWATCH_<SECTION>__<KEY> environment < command-line flags.", ""]
    if settings is not None:
        lines[0] = "# stresswatch settings in force: every key with its value."
    for section in (settings.sections if settings is not None else all_sections()):
        lines.append(f"# {section.help}")
        lines.append(f"[{section.name}]")
        for s in section.settings:
            lines.append(f"# {s.help}" + (f" ({s.allowed()})" if s.choices else ""))
            value = settings[section.name][s.name] if settings is not None else s.default
            if s.kind == "list[table]" and (settings is None or not value):
                lines.append(f"# add [[{section.name}.{s.name}]] tables to replace the built-in list; fields:")
                for f in s.fields:
                    default = "required" if f.default is REQUIRED else f"default {_toml_value(f.default)}"
                    lines.append(f"#   {f.name}: {f.help} ({f.allowed()}; {default})")
                continue
            lines.append(f"{s.name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
