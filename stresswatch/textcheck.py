"""Rules for text that comes from configuration files (settings, the statement catalogue): ids,
control characters, lengths. Pure functions returning a problem description (or None), so each
loader can raise its own ConfigError naming the file and the key.

- An id (alert rule, model, source, series, catalogue entry) is `[A-Za-z0-9_.-]+` (`ID_PATTERN`):
  it ends up in mail subjects, file names, CSV and log lines, where anything else can break them.
- Free text (a speaker, a venue, a URL, a mail address, a path) is one line: no control
  character (CR, LF, TAB, NUL, ESC ... - Unicode category Cc), no line or paragraph separator,
  no bidirectional override (which can make a report show text other than what is stored).
"""

from __future__ import annotations

import re
import unicodedata

#: what an id may contain
ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
#: the longest id accepted
MAX_ID_LENGTH = 100
#: invisible characters that reorder how text is displayed (Trojan Source)
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def describe_char(ch: str) -> str:
    """`U+000D (CR)`-style name of a character for messages."""
    names = {"\r": "CR", "\n": "LF", "\t": "TAB", "\x00": "NUL", "\x1b": "ESC"}
    label = names.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({label})" if label else "")


def control_character(text: str) -> str | None:
    """The first character that must not be in one-line text (described), or None."""
    for pos, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS:
            return f"{describe_char(ch)} at position {pos + 1}"
    return None


def text_problem(text: str, max_length: int) -> str | None:
    """Why `text` is not acceptable one-line text of at most `max_length` characters, or None."""
    if len(text) > max_length:
        return f"is {len(text)} characters long; at most {max_length} are allowed"
    found = control_character(text)
    if found:
        return f"contains the control character {found}; it must be one line of plain text"
    return None


def id_problem(text: str, max_length: int = MAX_ID_LENGTH) -> str | None:
    """Why `text` is not an id (`ID_PATTERN`, 1..max_length characters), or None."""
    if not text:
        return "is empty; an id is letters, digits, '_', '.' and '-'"
    if len(text) > max_length:
        return f"is {len(text)} characters long; an id has at most {max_length}"
    if not ID_PATTERN.fullmatch(text):
        bad = next(ch for ch in text if not ID_PATTERN.fullmatch(ch))
        return f"contains {describe_char(bad) if not bad.isprintable() or bad == ' ' else repr(bad)}; " \
               "an id is letters, digits, '_', '.' and '-'"
    return None


def shown(value: object, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters, for error messages (a 200,000-character value must
    not become a 200,000-character message)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(str(value))} characters)"
