"""Small text helpers the apps share: @handles and #tags, and what is not text."""

from __future__ import annotations

import re
import unicodedata


def distinct_matches(pattern: re.Pattern[str], text: str, limit: int) -> list[str]:
    """The distinct first groups of `pattern` in `text`, lowercased, in order, at most
    `limit` (the @handles or #tags a caption carries, say)."""
    found: list[str] = []
    for match in pattern.finditer(text):
        value = match.group(1).lower()
        if value not in found:
            found.append(value)
            if len(found) == limit:
                break
    return found


def has_control_characters(text: str) -> bool:
    """Whether text holds control characters (tab and new line aside) or lone surrogates:
    what binary pasted into a text box looks like."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in text)


# Text with something in it and no control characters (tab and new line aside), nor lone
# surrogates, as a regular expression: what the API's schema says such a field holds.
_TEXT = "[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ud800-\\udfff]"
TEXT_PATTERN = f"^(?=[\\s\\S]*\\S){_TEXT}*$"
