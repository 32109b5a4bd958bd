"""The SMTP session (mail.smtp): where the password comes from; a loopback relay without STARTTLS."""

from __future__ import annotations

import smtplib

from stresswatch.mail.smtp import connect, smtp_password
from tests.conftest import settings_for


def test_password_sources(tmp_path):
    assert smtp_password({"STRESSWATCH_SMTP_PASSWORD": "x"}) == "x"
    f = tmp_path / "pw"
    f.write_text("from-file\n")
    assert smtp_password({"STRESSWATCH_SMTP_PASSWORD_FILE": str(f)}) == "from-file"
    (tmp_path / "smtp_password").write_text("cred")
    assert smtp_password({"CREDENTIALS_DIRECTORY": str(tmp_path)}) == "cred"
    assert smtp_password({}) is None


def test_loopback_relay_without_starttls_is_allowed(tmp_path, store, smtp):
    """A relay on this machine may lack STARTTLS (elsewhere that is a DeliveryError)."""
    s = settings_for(tmp_path, **{"mail.host": "localhost", "mail.port": smtp.port, "mail.starttls": True,
                                  "mail.recipients": ["x@example.org"], "mail.timeout": 5.0})
    smtp_conn = connect(s)  # localhost: allowed without STARTTLS
    smtp_conn.quit()
    assert isinstance(smtp_conn, smtplib.SMTP)
