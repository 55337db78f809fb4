"""Small text helpers the apps share."""

from __future__ import annotations

import re


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
