"""Alert rules (alerts.rules): the built-in rules, config errors, and fields declared once."""

from __future__ import annotations

import dataclasses

import pytest

from stresswatch.alerts import rules as rules_mod
from stresswatch.alerts.evaluators import EVALUATORS
from stresswatch.alerts.rules import Rule
from stresswatch.errors import ConfigError
from stresswatch.settings import REQUIRED, declared
from tests.conftest import settings_for


def test_rules_config_defaults_and_errors(tmp_path):
    s = settings_for(tmp_path)
    rules = rules_mod.load_rules(s)
    assert {r.kind for r in rules} == {"regime", "source_stale"}
    assert next(r for r in rules if r.kind == "regime").model == ""  # the headline, resolved per run date
    bad = settings_for(tmp_path, **{"alerts.rules": [{"id": "x", "kind": "regime", "enter": 0.2, "exit": 0.5}]})
    with pytest.raises(ConfigError, match="exit"):
        rules_mod.load_rules(bad)
    dup = settings_for(tmp_path, **{"alerts.rules": [{"id": "x", "kind": "ruble_move"},
                                                     {"id": "x", "kind": "ruble_move"}]})
    with pytest.raises(ConfigError, match="duplicate"):
        rules_mod.load_rules(dup)
    with pytest.raises(ConfigError, match="source"):
        rules_mod.load_rules(settings_for(tmp_path, **{"alerts.rules": [{"id": "s", "kind": "source_stale"}]}))


def test_rule_fields_defaults_and_kinds_come_from_the_settings_declaration():
    declared_fields = {f.name: f for f in declared("alerts", "rules").fields}
    fields = {f.name: f for f in dataclasses.fields(Rule)}
    assert list(fields) == list(declared_fields)
    for name, setting in declared_fields.items():
        if setting.default is not REQUIRED:
            assert fields[name].default == setting.default, name
    assert rules_mod.KINDS == declared_fields["kind"].choices
    assert set(EVALUATORS) == set(rules_mod.KINDS)


def test_built_in_regime_rule_uses_the_declared_thresholds(tmp_path):
    rule = next(r for r in rules_mod.default_rules(settings_for(tmp_path)) if r.kind == "regime")
    assert (rule.enter, rule.exit, rule.for_runs) == (0.5, 0.3, 2)
    assert rule.clear_runs == 6  # [regimes] episode_merge_gap (5) + 1
