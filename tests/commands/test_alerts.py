"""Command `alerts`: the CLI names its flags in error messages (the library names the problem)."""

from __future__ import annotations

from stresswatch import cli


def test_silence_ending_before_it_starts_names_the_flag(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n', encoding="utf-8")
    code = cli.main(["--config", str(cfg), "alerts", "silence", "stress-regime", "--until", "2022-01-01",
                     "--start", "2022-02-01"])
    assert code == 2
    assert "--until 2022-01-01 is before the silence starts (2022-02-01)" in capsys.readouterr().err
