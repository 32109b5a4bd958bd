"""The fetcher registry (stresswatch.fetchers.base): every source module registers itself, and
loading the registry for the settings declarations does not pull in the HTTP stack."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import stresswatch.fetchers as pkg
from stresswatch.fetchers.base import PLUMBING, load_all


def test_every_module_that_is_not_plumbing_registers_a_source():
    modules = {m.name for m in pkgutil.iter_modules(pkg.__path__)} - PLUMBING
    registry = load_all()
    assert {cls.__module__.rsplit(".", 1)[1] for cls in registry.values()} == modules
    assert {"cbr", "bis", "fred", "moex"} <= set(registry)


def test_reading_the_settings_does_not_import_the_http_stack():
    # every command reads the settings, which declare a section per source; compute, report and
    # status never fetch, so they must not pay for importing requests and urllib3
    code = ("import sys; from stresswatch import settings; settings.defaults(); "
            "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
