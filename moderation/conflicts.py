"""Conflicts of interest: which cases and appeals a moderator may not decide, and who does.

A moderator never decides a case about their own post, comment or account, their own appeal
(of a decision about them or of the refusal of their own prompt), nor an appeal of a decision
they made. A matter about a moderator goes to the conflict reviewers the admin names in the
moderation settings, or, when none other than its subject is named, to any other moderator.
Services call `moderator_conflict` before every decision; pages and the API read it to leave
out or mark what a moderator may not decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User

from .models import Appeal, Case, ModerationSettings


@dataclass(frozen=True)
class Conflict:
    """Why a moderator may not decide a matter; `hidden`: it is about them, so they don't see it."""

    reason: str
    hidden: bool = False


def moderators() -> QuerySet[User]:
    """Active accounts that hold moderation.review_case (superusers hold every permission)."""
    perm = Q(is_superuser=True)
    for via in ("groups__permissions", "user_permissions"):
        perm |= Q(
            **{f"{via}__codename": "review_case", f"{via}__content_type__app_label": "moderation"}
        )
    return User.objects.filter(perm, is_active=True).distinct()


@dataclass(frozen=True)
class ConflictRules:
    """Who moderates and whom the admin named for moderators' own matters: read once, then
    asked about any number of cases and appeals without further queries."""

    moderators: frozenset[int]
    # Moderators who can act now (a suspended account decides nothing).
    available: dict[int, str]
    reviewers: dict[int, str]

    @classmethod
    def load(cls) -> ConflictRules:
        """The rules as they stand (two queries)."""
        rows = list(moderators().values_list("pk", "username", "suspended_at"))
        available = {pk: name for pk, name, suspended in rows if suspended is None}
        # Read without ModerationSettings.current(), which creates the row: reads never write.
        named = ModerationSettings.conflict_reviewers.through.objects.filter(
            moderationsettings_id=ModerationSettings.ROW_PK
        ).values_list("user_id", flat=True)
        return cls(
            moderators=frozenset(pk for pk, _, _ in rows),
            available=available,
            # A reviewer who stopped moderating, or is suspended, takes nothing.
            reviewers={pk: available[pk] for pk in named if pk in available},
        )

    def conflict(self, *, moderator: Any, subject: Case | Appeal) -> Conflict | None:
        """Why `moderator` may not decide the case or appeal, or None when they may."""
        own = _own(moderator_id=moderator.pk, subject=subject)
        if own is not None:
            return own
        if (
            isinstance(subject, Appeal)
            and subject.decision is not None
            and subject.decision.moderator_id == moderator.pk
        ):
            return Conflict(
                "You made the decision under appeal; a different moderator must decide the appeal."
            )
        reviewers = self._reviewers_for(subject)
        if reviewers and moderator.pk not in reviewers:
            what = "case" if isinstance(subject, Case) else "appeal"
            return Conflict(
                f"This {what} is about a moderator, so a conflict reviewer named in the "
                f"moderation settings decides it: {_handles(reviewers)}."
            )
        return None

    def deciders(self, subject: Case | Appeal) -> dict[int, str]:
        """Everyone who may decide the matter now: never its subject, nor the decider appealed."""
        excluded = _excluded(subject)
        pool = self._reviewers_for(subject) or self.available
        return {pk: name for pk, name in pool.items() if pk not in excluded}

    def who_decides(self, subject: Case | Appeal) -> str:
        """Who decides it, in a sentence, or that it waits because nobody else can."""
        deciders = self.deciders(subject)
        if not deciders:
            return (
                "It waits: no other moderator can decide it. An admin can make someone else a "
                "moderator, or name a conflict reviewer in the moderation settings."
            )
        if self._reviewers_for(subject):
            return f"A conflict reviewer decides it: {_handles(deciders)}."
        return f"Another moderator decides it ({len(deciders)} can)."

    def _reviewers_for(self, subject: Case | Appeal) -> dict[int, str]:
        """The named reviewers who may take a moderator's own matter; empty when it isn't one,
        or when the only ones named may not take it (then any other moderator does)."""
        if not _parties(subject) & self.moderators:
            return {}
        excluded = _excluded(subject)
        return {pk: name for pk, name in self.reviewers.items() if pk not in excluded}


def _parties(subject: Case | Appeal) -> set[int]:
    """Whose matter it is: the owner of what a case is about; an appeal's appellant."""
    if isinstance(subject, Case):
        owner = _case_owner_id(subject)
        return {owner} if owner is not None else set()
    parties = {subject.appellant_id}
    if subject.decision is not None and subject.decision.affected_id is not None:
        parties.add(subject.decision.affected_id)
    if subject.refusal is not None:
        parties.add(subject.refusal.user_id)
    return parties


def _excluded(subject: Case | Appeal) -> set[int]:
    """Who may never decide it: its subjects, and for an appeal, who made the decision."""
    excluded = _parties(subject)
    decision = subject.decision if isinstance(subject, Appeal) else None
    if decision is not None and decision.moderator_id is not None:
        excluded.add(decision.moderator_id)
    return excluded


def _case_owner_id(case: Case) -> int | None:
    if case.post is not None:
        return case.post.owner_id
    if case.comment is not None:
        return case.comment.author_id
    if case.message is not None:
        return case.message.sender_id
    return case.account_id


def _own(*, moderator_id: int, subject: Case | Appeal) -> Conflict | None:
    """The moderator's own matter: a case about them, their appeal, their refused prompt."""
    if isinstance(subject, Case):
        if _case_owner_id(subject) != moderator_id:
            return None
        return Conflict(
            f"This case is about your own {subject.kind}: another moderator decides it.",
            hidden=True,
        )
    if moderator_id not in _parties(subject):
        return None
    if subject.refusal_id is not None:
        return Conflict(
            "This appeal is about your own refused prompt: another moderator decides it."
        )
    return Conflict("This is your own appeal: another moderator decides it.")


def _handles(people: dict[int, str]) -> str:
    return ", ".join(f"@{name}" for name in sorted(people.values()))


def moderator_conflict(
    *, moderator: Any, case: Case | None = None, appeal: Appeal | None = None
) -> Conflict | None:
    """Why `moderator` may not decide this case or appeal (name one), or None when they may."""
    subject = case if case is not None else appeal
    if subject is None:
        raise ValueError("Name a case or an appeal.")
    own = _own(moderator_id=moderator.pk, subject=subject)
    if own is not None:
        return own  # no query needed for the commonest conflict
    return ConflictRules.load().conflict(moderator=moderator, subject=subject)


def own_cases_filter(*, moderator: Any) -> Q:
    """Cases about the moderator's own post, comment, message or account (kept out of their
    sight)."""
    return (
        Q(post__owner=moderator)
        | Q(comment__author=moderator)
        | Q(message__sender=moderator)
        | Q(account=moderator)
    )
