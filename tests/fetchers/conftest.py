"""What every fetcher test builds: a fetcher and an HTTP client made from real Settings the way the
pipeline makes them, tuned for local servers (no backoff, Retry-After capped at 0.05 s, no pacing).

    fetcher = make_fetcher("bis", areas=["RU"], base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("bis", retries=2), start, end)
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

from stresswatch import pipeline
from stresswatch import settings as settings_mod
from stresswatch.fetchers.base import Fetcher, load_all
from stresswatch.fetchers.http import MB, HttpClient

#: [http] values for local servers; a test may override any of them
FAST_HTTP = {"backoff_factor": 0.0, "retry_after_max": 0.05}


def make_fetcher(source_id: str, *, environ: Mapping[str, str] | None = None, **overrides: Any) -> Fetcher:
    """The fetcher `pipeline.make_fetcher` builds from Settings with `[sources.<source_id>]` keys
    overridden (validated like a config file: a bad value raises ConfigError).

    `environ` is for the FRED API key: the fetcher gets that mapping instead of reading the process
    environment (where the autouse fixture has removed every STRESSWATCH_* variable anyway)."""
    settings = settings_mod.load(environ={}, overrides={f"sources.{source_id}.{k}": v for k, v in overrides.items()})
    if environ is None:
        return pipeline.make_fetcher(settings, source_id)
    return load_all()[source_id](settings.source(source_id), environ=environ)


def http_client(source_id: str, retries: int = 3, *, timeout: float = 5.0, min_interval: float = 0.0,
                max_body_mb: float | None = None, redirect_hosts: list[str] | None = None,
                stop: threading.Event | None = None, **http: Any) -> HttpClient:
    """The source's HttpClient as the pipeline builds it (deadline, pacing, size cap and redirect
    hosts from `[sources.<source_id>]`, the session from `[http]`), with `retries`, FAST_HTTP and
    any other `[http]` key given here (`retry_after_max=1.0`, `connect_timeout=2.0`, ...)."""
    values: dict[str, Any] = {f"http.{k}": v for k, v in {"retries": retries, **FAST_HTTP, **http}.items()}
    values[f"sources.{source_id}.timeout"] = timeout
    values[f"sources.{source_id}.min_interval"] = min_interval
    values[f"sources.{source_id}.max_body_mb"] = max_body_mb
    values[f"sources.{source_id}.redirect_hosts"] = redirect_hosts
    settings = settings_mod.load(environ={}, overrides=values)
    source = settings.source(source_id)
    return HttpClient(source_id, timeout=source["timeout"], min_interval=source["min_interval"],
                      http_settings=settings["http"], max_body_bytes=int(source["max_body_mb"] * MB),
                      redirect_hosts=tuple(source["redirect_hosts"]), stop=stop)
