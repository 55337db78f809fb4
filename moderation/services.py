"""Moderation's answers to the rest of Riff; the prompt policy is asked before any job queues."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from accounts.models import User


@dataclass(frozen=True)
class PromptVerdict:
    """Whether a prompt may run, and if not, which rule refused it and why, in plain words."""

    allowed: bool
    rule: str = ""
    category: str = ""
    message: str = ""


ALLOWED = PromptVerdict(allowed=True)


def prompt_verdict(*, user: User, prompt: str, negative_prompt: str = "") -> PromptVerdict:
    """Check a prompt against the instance's blocked terms (MODERATION_BLOCKED_TERMS).

    Only whole words match, case-insensitively, so "class" is not refused for "ass".
    """
    for term in settings.MODERATION_BLOCKED_TERMS:
        if re.search(rf"\b{re.escape(term)}\b", prompt, flags=re.IGNORECASE):
            return PromptVerdict(
                allowed=False,
                rule=f"blocked term “{term}”",
                category="blocked terms",
                message=(
                    f"This prompt can't be generated here: it contains “{term}”, which this "
                    "instance does not allow. Change the prompt and try again."
                ),
            )
    return ALLOWED
