"""The text rules shared by the settings and the statement catalogue (stresswatch.textcheck)."""

from stresswatch.textcheck import control_character, id_problem, shown, text_problem


def test_control_characters_line_separators_and_bidi_overrides_are_named():
    assert control_character("plain text, ünïcode and emoji 🙂") is None
    assert control_character("a\rb") == "U+000D (CR) at position 2"
    assert control_character("\x1b[31mred") == "U+001B (ESC) at position 1"
    assert control_character("x\u2028y").startswith("U+2028 (LINE SEPARATOR)")
    assert control_character("abc\u202e").startswith("U+202E (RIGHT-TO-LEFT OVERRIDE) at position 4")
    assert control_character("\x85").startswith("U+0085")  # C1 NEXT LINE


def test_text_and_id_problems():
    assert text_problem("ok", 2) is None
    assert text_problem("long", 3) == "is 4 characters long; at most 3 are allowed"
    assert "TAB" in text_problem("a\tb", 10)
    for good in ("stress-regime", "cbr.fx.USD", "A_1", "auto"):
        assert id_problem(good) is None
    assert "is empty" in id_problem("")
    assert "U+000A (LF)" in id_problem("rule\n")
    assert "'/'" in id_problem("a/b")
    assert "at most 100" in id_problem("x" * 101)


def test_shown_cuts_long_values():
    assert shown("abc") == "'abc'"
    out = shown("x" * 200_000)
    assert len(out) < 100 and out.endswith("(200000 characters)")
