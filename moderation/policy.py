"""The prompt policy: asked before any job queues.

The rules live in the database (edited by moderators in the admin): protected names, blocked
terms and patterns per category, and example prompts that a prompt may not closely resemble.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import numpy as np
from django.urls import reverse

from accounts.models import User
from core import embedding

from .models import PolicyCategory, PolicyExample, PolicyRule, PromptRefusal, ProtectedName
from .services import audit_record

logger = logging.getLogger(__name__)

PUBLIC_FIGURES = "public-figures"
APPEAL_SENTENCE = "If you think this is a mistake, you can appeal this decision."
# Said about a protected name when the public-figures category has been deleted.
NO_LIKENESS = "Riff doesn't generate images of real public figures."


@dataclass(frozen=True)
class PromptVerdict:
    """Whether a prompt may run, and if not, which rule refused it and why, in plain words."""

    allowed: bool
    rule: str = ""
    category: str = ""  # the category's slug
    message: str = ""
    refusal_id: int | None = None
    appeal_url: str = ""


ALLOWED = PromptVerdict(allowed=True)


@dataclass(frozen=True)
class _Match:
    """What refused a prompt: the category, the rule as shown, and the sentence saying why."""

    category: PolicyCategory | None
    rule: str
    why: str
    # For the audit log only: how close the prompt came to the category's examples. It is
    # never shown to the person, so a refusal doesn't teach how far to rephrase.
    scores: dict[str, float] | None = None


def prompt_verdict(*, user: User, prompt: str, negative_prompt: str = "") -> PromptVerdict:
    """Check a prompt against the policy; a refusal is recorded so that it can be appealed.

    Only the prompt is checked, not the negative prompt: the negative prompt lists what the
    clip should leave out, so "gore, nudity" there is what a careful person writes, and
    refusing it would punish exactly them. It is kept with the refusal for whoever reviews
    an appeal, and reports and the hash bank deal with finished clips.
    """
    if PromptRefusal.objects.filter(user=user, prompt=prompt, allowed_at__isnull=False).exists():
        return ALLOWED  # a moderator overturned the refusal of this exact prompt
    match = _protected_name(prompt) or _rule(prompt) or _semantic(prompt)
    if match is None:
        return ALLOWED
    refusal = PromptRefusal.objects.create(
        user=user,
        prompt=prompt,
        negative_prompt=negative_prompt,
        category=match.category,
        rule=match.rule[:300],
    )
    audit_record(
        actor=None,
        action="prompt:refuse",
        target=f"refusal {refusal.pk}",
        user=user.pk,
        category=match.category.slug if match.category else "",
        rule=refusal.rule,
        **(match.scores or {}),
    )
    description = match.category.description if match.category else NO_LIKENESS
    message = f"This prompt can't be generated here: {match.why}. {description} {APPEAL_SENTENCE}"
    return PromptVerdict(
        allowed=False,
        rule=refusal.rule,
        category=match.category.slug if match.category else "",
        message=" ".join(message.split()),
        refusal_id=refusal.pk,
        appeal_url=reverse("moderation:refusal_appeal", kwargs={"pk": refusal.pk}),
    )


def _words(text: str) -> re.Pattern[str]:
    """Whole words, any case, any spacing between them: "ass" does not match "class"."""
    body = r"\s+".join(re.escape(word) for word in text.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _protected_name(prompt: str) -> _Match | None:
    category = PolicyCategory.objects.filter(slug=PUBLIC_FIGURES).first()
    if category is not None and not category.active:
        return None  # moderators switched the category off
    for person in ProtectedName.objects.all():
        for name in person.names():
            if _words(name).search(prompt):
                return _Match(
                    category=category,
                    rule=f"protected name “{person.name}”",
                    why=f"it names “{name}”, a real person",
                )
    return None


def _rule(prompt: str) -> _Match | None:
    rules = (
        PolicyRule.objects.filter(active=True, category__active=True)
        .select_related("category")
        .order_by("-category__severity", "category__name", "kind", "value")
    )
    for rule in rules:
        if rule.kind == PolicyRule.Kind.TERM:
            if _words(rule.value).search(prompt):
                return _Match(
                    category=rule.category,
                    rule=f"term “{rule.value}”",
                    why=f"it contains “{rule.value}”, which falls under {rule.category.name}",
                )
            continue
        try:
            found = re.search(rule.value, prompt, flags=re.IGNORECASE)
        except re.error:
            # clean() refuses a broken pattern in the admin; one saved some other way is
            # skipped rather than refusing every prompt.
            logger.warning("Policy rule %s has a pattern that doesn't compile.", rule.pk)
            continue
        if found:
            matched = " ".join(found.group(0).split())[:80]
            note = rule.note.strip().rstrip(".")
            return _Match(
                category=rule.category,
                # What matched, not the expression: the person reads this.
                rule=f"pattern match “{matched}”" + (f" ({note})" if note else ""),
                why=f"“{matched}” falls under {rule.category.name}",
            )
    return None


def _semantic(prompt: str) -> _Match | None:
    rows = list(
        PolicyExample.objects.filter(category__active=True)
        .order_by("pk")
        .values_list("pk", "prompt", "category_id")
    )
    if not rows:
        return None  # nothing to compare with: don't load the model at all
    vectors = _example_vectors([(pk, text) for pk, text, _ in rows])
    similarity = vectors @ embedding.embed([prompt])[0]
    best: dict[int, int] = {}  # category id -> index of its closest example
    for index, (_, _, category_id) in enumerate(rows):
        if category_id not in best or similarity[index] > similarity[best[category_id]]:
            best[category_id] = index
    categories = PolicyCategory.objects.in_bulk(list(best))
    over = [
        (float(similarity[index]), categories[category_id], rows[index][1])
        for category_id, index in best.items()
        if similarity[index] >= categories[category_id].semantic_threshold
    ]
    if not over:
        return None
    score, category, example = max(over, key=lambda item: item[0])
    logger.info("Prompt refused as close to policy example %r (%.2f)", example, score)
    # The example itself is not repeated back: some are things nobody should be shown.
    return _Match(
        category=category,
        rule=f"close in meaning to {category.name} examples",
        why=f"it reads like {category.name}",
        scores={"similarity": round(score, 3), "threshold": category.semantic_threshold},
    )


def policy_warm() -> None:
    """Load the encoder and embed the examples now, so the first prompt doesn't wait ~7 s.

    Run by the web server in a background thread at start; a failure here only means the
    first prompt loads the model itself.
    """
    from django.db import connection

    try:
        keys = list(
            PolicyExample.objects.filter(category__active=True)
            .order_by("pk")
            .values_list("pk", "prompt")
        )
        if keys:
            _example_vectors(keys)
    except Exception:
        logger.exception("Warming the prompt policy's encoder failed; the first prompt will.")
    finally:
        connection.close()  # this thread's own connection


# Example embeddings, keyed by (example id, its text) so an edited example is embedded again.
_vectors: dict[tuple[int, str], np.ndarray] = {}
_vectors_lock = threading.Lock()


def _example_vectors(keys: list[tuple[int, str]]) -> np.ndarray:
    """One row per example, in the order given; the model only sees examples new to it."""
    with _vectors_lock:
        missing = [key for key in keys if key not in _vectors]
        if missing:
            for key, vector in zip(
                missing, embedding.embed([text for _, text in missing]), strict=True
            ):
                _vectors[key] = vector
        if len(_vectors) > len(keys):  # examples were edited, deleted or switched off
            wanted = set(keys)
            for key in [key for key in _vectors if key not in wanted]:
                del _vectors[key]
        return np.stack([_vectors[key] for key in keys])
