"""Catalogue and confounder files: the shipped ones load, bad entries fail with a message naming them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from stresswatch.errors import ConfigError
from stresswatch.events import catalogue as cat
from stresswatch.events import confounders as conf

GOOD = """
[[statement]]
id = "first-entry-2023"
date = 2023-08-15
speaker = "A Speaker"
role = "Minister"
country = "RU"
venue = "Somewhere"
key_phrase = "a short phrase"
summary = "One line."
tags = ["alliance"]
source = { outlet = "Outlet", url = "https://example.org/a" }
"""


def write(tmp_path, text, name="cat.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entry(**changes):
    fields = {"id": '"second-entry-2024"', "date": "2024-05-16", "speaker": '"B"', "role": '"R"',
              "country": '"CN"', "venue": '"V"', "key_phrase": '"words"', "summary": '"One line."',
              "tags": '["partnership"]', "source": '{ outlet = "O", url = "https://example.org/b" }'}
    fields.update(changes)
    body = "\n".join(f"{k} = {v}" for k, v in fields.items() if v is not None)
    return GOOD + "\n[[statement]]\n" + body + "\n"


def test_shipped_catalogue_is_valid_and_covers_the_case():
    statements = cat.load_catalogue()
    ids = {s.id for s in statements}
    assert len(statements) >= 30
    assert {"shoigu-more-than-allied-2023", "li-shangfu-partnership-not-alliance-2023", "xi-putin-no-limits-2022",
            "xi-state-visit-moscow-2023", "putin-state-visit-beijing-2024", "power-of-siberia-contract-2014",
            "camp-david-trilateral-2023"} <= ids
    shoigu = next(s for s in statements if s.id == "shoigu-more-than-allied-2023")
    assert shoigu.date == dt.date(2023, 8, 15) and shoigu.tz == "Europe/Moscow"
    for s in statements:
        assert s.source.url.startswith(("http://", "https://")) and s.source.outlet
        assert len(s.key_phrase.split()) <= cat.MAX_PHRASE_WORDS
        assert dt.date(2014, 1, 1) <= s.date <= dt.date(2025, 12, 31)
    assert [s.date for s in statements] == sorted(s.date for s in statements)


def test_user_catalogue_and_tag_filter(tmp_path):
    statements = cat.load_catalogue(write(tmp_path, entry()))
    assert [s.id for s in statements] == ["first-entry-2023", "second-entry-2024"]
    assert [s.id for s in cat.filter_tag(statements, "Partnership")] == ["second-entry-2024"]
    assert cat.all_tags(statements) == ["alliance", "partnership"]


@pytest.mark.parametrize("changes, message", [
    ({"id": '"first-entry-2023"'}, "duplicate id 'first-entry-2023' (first used by statement #1)"),
    ({"date": '"2023-02-30"'}, "date: '2023-02-30' is not a date"),
    ({"date": '"15.08.2023"'}, "is not a date YYYY-MM-DD"),
    ({"source": None}, "missing source"),
    ({"source": '{ outlet = "O" }'}, "missing source.url"),
    ({"source": '{ outlet = "O", url = "ftp://x" }'}, "is not an http(s) URL"),
    ({"key_phrase": '"one two three four five six seven eight nine ten eleven twelve thirteen"'},
     "key_phrase has 13 words"),
    ({"tz": '"Mars/Olympus"'}, "is not an IANA time zone"),
    ({"time": '"25:00"'}, "is not a time HH:MM"),
    ({"quote": '"x"'}, "unknown field(s) quote"),
    ({"tags": "[]"}, "tags must be a non-empty list"),
    ({"id": '"Bad Id"'}, "lowercase letters, digits and hyphens"),
])
def test_bad_entries_name_the_entry(tmp_path, changes, message):
    path = write(tmp_path, entry(**changes))
    with pytest.raises(ConfigError) as err:
        cat.load_catalogue(path)
    text = str(err.value)
    assert message in text
    assert str(path) in text and "statement #2" in text


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        cat.load_catalogue(write(tmp_path, "[[statement]\nid = 1"))
    with pytest.raises(ConfigError, match="cannot read"):
        cat.load_catalogue(tmp_path / "nope.toml")


def test_shipped_confounders_valid():
    items = conf.load_confounders()
    by_id = {c.id: c for c in items}
    assert by_id["gazprombank-sanctions-2024-11-21"].start == dt.date(2024, 11, 21)
    closure = by_id["moex-equity-closure-2022"]
    assert (closure.start, closure.end) == (dt.date(2022, 2, 28), dt.date(2022, 3, 24))
    assert all(c.kind in conf.KINDS for c in items)


@pytest.mark.parametrize("body, message", [
    ('id = "x-one"\ndate = 2024-01-01\nkind = "weather"\nlabel = "L"', "kind 'weather' must be one of"),
    ('id = "x-one"\nstart = 2024-02-01\nend = 2024-01-01\nkind = "market"\nlabel = "L"', "is before start"),
    ('id = "x-one"\nkind = "market"\nlabel = "L"', "missing date"),
    ('id = "x-one"\ndate = 2024-01-01\nkind = "market"', "missing label"),
])
def test_bad_confounders(tmp_path, body, message):
    path = write(tmp_path, "[[confounder]]\n" + body + "\n", "conf.toml")
    with pytest.raises(ConfigError, match=message):
        conf.load_confounders(path)


def test_keyrate_decisions_become_confounders_with_the_extraordinary_flag():
    # key rate in force by effective day, around the Aug 2023 emergency hike and a scheduled one
    days = pd.to_datetime(["2023-07-21", "2023-07-22", "2023-07-25", "2023-08-12", "2023-08-15", "2023-08-16",
                           "2023-09-16", "2023-09-19"])
    rate = pd.Series([7.5, 7.5, 8.5, 8.5, 12.0, 12.0, 12.0, 13.0], index=days)
    items = conf.keyrate_confounders(rate)
    by_day = {c.start: c for c in items}
    assert set(by_day) == {dt.date(2023, 7, 25), dt.date(2023, 8, 15), dt.date(2023, 9, 19)}
    hike = by_day[dt.date(2023, 8, 15)]
    assert hike.extraordinary and hike.id == "keyrate-2023-08-15-extraordinary"
    assert "8.5% -> 12%" in hike.label
    assert not by_day[dt.date(2023, 9, 19)].extraordinary  # after the scheduled 15 Sep 2023 meeting


@pytest.mark.parametrize("changes, message", [
    ({"speaker": '"A\\rB"'}, "speaker contains the control character U+000D (CR) at position 2"),
    ({"speaker": '"' + "x" * 200_000 + '"'}, "speaker is 200000 characters long; at most 120 are allowed"),
    ({"venue": '"Hall\\tA"'}, "venue contains the control character U+0009 (TAB)"),
    ({"role": '"Minister\\u0000"'}, "role contains the control character U+0000 (NUL)"),
    ({"summary": '"Fine \\u202e txet desrever"'}, "summary contains the control character U+202E"),
    ({"key_phrase": '"more than\\nallies"'}, "key_phrase contains the control character U+000A (LF)"),
    ({"source": '{ outlet = "O\\rX", url = "https://example.org/b" }'}, "source.outlet contains the control"),
    ({"source": '{ outlet = "O", url = "https://example.org/b\\nX-Injected: 1" }'}, "source.url contains the control"),
    ({"source": '{ outlet = "O", url = "https://example.org/' + "a" * 3000 + '" }'},
     "source.url is 3020 characters long"),
    ({"id": '"second-entry-2024\\n"'}, "lowercase letters, digits and hyphens"),
    ({"tags": '["alliance\\n"]'}, "must be lowercase slugs"),
    ({"also": '["https://example.org/c\\n"]'}, "also must be a list of http(s) URLs"),
])
def test_text_fields_are_one_line_within_their_limits(tmp_path, changes, message):
    path = write(tmp_path, entry(**changes))
    with pytest.raises(ConfigError) as err:
        cat.load_catalogue(path)
    text = str(err.value)
    assert message in text and str(path) in text and "statement #2" in text
    assert "\r" not in text and "\n" not in text and len(text) < 500  # one line, whatever the value was


def test_confounder_label_and_note_are_one_line(tmp_path):
    for field, value in (("label", '"Sanctions\\r\\nBcc: x"'), ("note", '"' + "n" * 5000 + '"')):
        body = f'id = "x-one"\ndate = 2024-01-01\nkind = "market"\nlabel = "L"\n'.replace(
            'label = "L"', f"{field} = {value}" + ('\nlabel = "L"' if field == "note" else ""))
        path = write(tmp_path, "[[confounder]]\n" + body, "conf.toml")
        with pytest.raises(ConfigError, match=f"confounder #1 \\('x-one'\\): {field} "):
            conf.load_confounders(path)


def test_events_check_exits_2_on_a_bad_catalogue(tmp_path, capsys):
    from stresswatch.cli import main

    path = write(tmp_path, entry(speaker='"A\\rB"'))
    assert main(["events", "check", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "speaker contains the control character U+000D (CR)" in err and str(path) in err
