"""Hiding secrets (API keys, tokens, passwords) wherever text leaves the program.

Two nets, both applied by `redact`:

- by value: every secret stresswatch knows -- the environment's `STRESSWATCH_FRED_API_KEY` and
  `STRESSWATCH_SMTP_PASSWORD` (read at each call, so a key set after start-up is covered) and any
  value handed to `register_secret` -- is replaced wherever it appears, in its plain and its
  URL-encoded form. A server that echoes the key back in an error page cannot leak it;
- by form: the value of a secret query parameter (`api_key=...`, `token=...`) is replaced even
  when the value is not a known secret.

Secrets shorter than `MIN_SECRET_LENGTH` characters are not masked by value (they would mask
ordinary words); the URL form still catches them. `redact_bytes` does the same for a response body
before it is archived, and `RedactingFilter` for every log record.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from urllib.parse import quote, quote_plus

SECRET_PARAMS = ("api_key", "apikey", "subscription-key", "token", "password")
#: environment variables whose values are secrets
SECRET_ENV = ("STRESSWATCH_FRED_API_KEY", "STRESSWATCH_SMTP_PASSWORD")
MIN_SECRET_LENGTH = 4
MASK = "REDACTED"

_PATTERNS = [re.compile(rf"({re.escape(name)}=)[^&\s\"']+", re.IGNORECASE) for name in SECRET_PARAMS]
_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask `value` from now on wherever `redact` runs (e.g. a key handed over other than through
    the environment)."""
    value = (value or "").strip()
    if len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _registered.add(value)


def secrets() -> list[str]:
    """Every known secret value and its URL-encoded forms, longest first."""
    values = set(_registered)
    for var in SECRET_ENV:
        value = (os.environ.get(var) or "").strip()
        if len(value) >= MIN_SECRET_LENGTH:
            values.add(value)
    forms = set()
    for value in values:
        forms.update({value, quote(value, safe=""), quote_plus(value)})
    return sorted(forms, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every known secret value and every secret query parameter value masked."""
    for value in secrets():
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\1{MASK}", text)
    return text


def redact_bytes(body: bytes) -> bytes:
    """`body` with every known secret value masked (a response that echoes a key), byte for byte
    otherwise unchanged."""
    for value in secrets():
        raw = value.encode("utf-8")
        if raw in body:
            body = body.replace(raw, MASK.encode("ascii"))
    return body


class RedactingFilter(logging.Filter):
    """A log filter that renders each record's message (arguments included, whatever their type)
    and its traceback text, and masks secrets in them before any handler writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format: keep what there is
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
