"""Hiding secrets (API keys, tokens, passwords) in URLs, messages and logs."""

from __future__ import annotations

import re

SECRET_PARAMS = ("api_key", "apikey", "subscription-key", "token", "password")
_PATTERNS = [re.compile(rf"({re.escape(name)}=)[^&\s\"']+", re.IGNORECASE) for name in SECRET_PARAMS]


def redact(text: str) -> str:
    """Replace the value of every secret query parameter (api_key=...) with REDACTED."""
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1REDACTED", text)
    return text
