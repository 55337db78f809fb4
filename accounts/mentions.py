"""@handles in text: who a caption or comment mentions, and where each one links.

A mention is "@" then a handle (3 to 30 lowercase letters, digits and underscores, as
accounts.models.handle_validator allows), not preceded by a letter, digit, underscore or
another "@" (so an email address mentions nobody). Case is ignored: handles are lowercase.
"""

from __future__ import annotations

import re

from core.text import distinct_matches

from .models import User

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})(?![\w@])")
# At most this many people are notified from one text; the rest stay plain text.
MENTIONS_MAX = 10


def mentioned_handles(text: str) -> list[str]:
    """The distinct handles a text mentions, lowercased, in order, at most MENTIONS_MAX."""
    return distinct_matches(MENTION, text, MENTIONS_MAX)


def mentioned_users(text: str) -> list[User]:
    """The active people a text mentions (handles nobody has are left out)."""
    handles = mentioned_handles(text)
    if not handles:
        return []
    return list(User.objects.filter(username__in=handles, is_active=True).order_by("pk"))
