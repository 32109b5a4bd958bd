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


def _mail_config(tmp_path, mail: str) -> str:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n[mail]\n{mail}', encoding="utf-8")
    return str(cfg)


def test_alerts_test_with_mail_off_is_a_configuration_error(tmp_path, capsys):
    code = cli.main(["--config", _mail_config(tmp_path, ""), "alerts", "test"])
    assert code == 2
    assert "mail is off: set [mail] recipients" in capsys.readouterr().err


def test_alerts_test_with_a_login_but_no_password_is_a_configuration_error(tmp_path, capsys):
    cfg = _mail_config(tmp_path, 'recipients = ["a@example.org"]\nusername = "ops"\nstarttls = false\n')
    assert cli.main(["--config", cfg, "alerts", "test"]) == 2
    assert "needs a password: set STRESSWATCH_SMTP_PASSWORD" in capsys.readouterr().err


def test_alerts_test_exit_1_when_the_server_fails_and_0_when_it_delivers(tmp_path, capsys):
    from tests.fakes.smtp import SmtpServer, free_port

    down = _mail_config(tmp_path, f'recipients = ["a@example.org"]\nhost = "127.0.0.1"\nport = {free_port()}\n'
                                  'starttls = false\ntimeout = 5.0\n')
    assert cli.main(["--config", down, "alerts", "test"]) == 1
    assert "cannot reach SMTP server" in capsys.readouterr().err
    server = SmtpServer().start()
    try:
        up = _mail_config(tmp_path, f'recipients = ["a@example.org"]\nhost = "127.0.0.1"\nport = {server.port}\n'
                                    'starttls = false\ntimeout = 5.0\nsender = "sw@example.org"\n')
        assert cli.main(["--config", up, "alerts", "test"]) == 0
        assert [r for r, _s in server.box.deliveries()] == ["a@example.org"]
    finally:
        server.stop()
