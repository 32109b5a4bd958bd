"""The SMTP session: connecting with TLS and certificate verification, logging in, the password.

`connect(settings)` opens an authenticated session per `[mail]`: implicit TLS (`ssl = true`) or
STARTTLS, both with `ssl.create_default_context()` (certificates verified), a socket timeout, and
a refusal to talk in clear to a remote server that offers no STARTTLS (a relay on this machine is
allowed). It raises `Transient` for what is worth retrying later (server down, timeout, 4xx) and
DeliveryError for what is not (TLS or login refused, 5xx).

The SMTP password comes only from `STRESSWATCH_SMTP_PASSWORD` (or a file named by
`STRESSWATCH_SMTP_PASSWORD_FILE`, or systemd's `$CREDENTIALS_DIRECTORY/smtp_password`); it is
never logged or stored, and `scrub` removes it from error texts.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from pathlib import Path
from typing import Any, Mapping

from stresswatch.errors import ConfigError, DeliveryError
from stresswatch.settings import Settings

LOOPBACK = ("localhost", "127.0.0.1", "::1")


class Transient(DeliveryError):
    """Worth retrying later (server down, timeout, 4xx)."""


def smtp_password(environ: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password from the environment or a credential file; None when not set."""
    env = os.environ if environ is None else environ
    if env.get("STRESSWATCH_SMTP_PASSWORD"):
        return env["STRESSWATCH_SMTP_PASSWORD"]
    candidates = []
    if env.get("STRESSWATCH_SMTP_PASSWORD_FILE"):
        candidates.append(Path(env["STRESSWATCH_SMTP_PASSWORD_FILE"]))
    if env.get("CREDENTIALS_DIRECTORY"):
        candidates.append(Path(env["CREDENTIALS_DIRECTORY"]) / "smtp_password")
    for path in candidates:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the SMTP password file {path}: {exc.strerror}") from None
    return None


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Remove the password from an error text (servers sometimes echo what they were sent)."""
    try:
        secret = smtp_password(environ)
    except ConfigError:
        secret = None
    if secret:
        text = text.replace(secret, "[REDACTED]")
    return text


def reply_text(raw: Any) -> str:
    """A server reply (bytes or text) as text."""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def connect(settings: Settings, environ: Mapping[str, str] | None = None) -> smtplib.SMTP:
    """An authenticated SMTP session per `[mail]`; raises Transient or DeliveryError."""
    mail = settings["mail"]
    host, port, timeout = mail["host"], mail["port"], mail["timeout"]
    context = ssl.create_default_context()
    password = smtp_password(environ)
    try:
        if mail["ssl"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            smtp.ehlo()
            if mail["starttls"] and not mail["ssl"]:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif host not in LOOPBACK:
                    raise DeliveryError(f"{host}:{port} does not offer STARTTLS; set [mail] starttls = false "
                                        "only for a trusted relay")
                # a relay on this machine without STARTTLS: the mail never leaves the host in clear
            if mail["username"]:
                if password is None:
                    raise DeliveryError("[mail] username is set but STRESSWATCH_SMTP_PASSWORD is not")
                smtp.login(mail["username"], password)
        except BaseException:  # close the socket whatever went wrong, then let it propagate
            smtp.close()
            raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login to {host}:{port} as {mail['username']!r} refused ({exc.smtp_code})") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with {host}:{port} failed: {exc.reason or exc}") from None
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise Transient(f"{host}:{port} answered {exc.smtp_code}") from None
        raise DeliveryError(f"{host}:{port} answered {exc.smtp_code}: {reply_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise Transient(f"cannot reach SMTP server {host}:{port}: {exc.__class__.__name__}: {exc}") from None
    return smtp


def close(smtp: smtplib.SMTP) -> None:
    """End the session politely (QUIT), or just drop the socket when the server is gone."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
