"""Reads for moderation: the review queue, a case with its context, appeals, notices, figures."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts.export import export_rows
from accounts.models import User

from .conflicts import ConflictRules, own_cases_filter
from .models import Appeal, Case, Decision, Notice, PolicyCategory, PromptRefusal, Report
from .services import live_strikes


def is_moderator(user: Any) -> bool:
    """May this person review cases and appeals?"""
    return bool(user.is_authenticated and user.has_perm("moderation.review_case"))


def case_queryset() -> QuerySet[Case]:
    """Cases with their target and its owner joined in: the base of every case read."""
    return Case.objects.select_related(
        "post__owner",
        "post__remix_of__owner",
        "comment__author",
        "comment__post",
        "message__sender",
        "account",
    )


def review_queue(*, moderator: Any = None) -> QuerySet[Case]:
    """Open cases, the most severe and most reported first, then the oldest; a moderator's
    queue leaves out the cases about their own post, comment or account."""
    cases = case_queryset().filter(status=Case.Status.OPEN)
    if moderator is not None:
        cases = cases.exclude(own_cases_filter(moderator=moderator))
    return cases.order_by("-severity", "-report_count", "opened", "pk")


def case_for_moderator(*, moderator: Any, pk: int) -> Case | None:
    """A case as a moderator may open it: one about themselves doesn't exist for them (its
    reports name the people who reported them)."""
    return case_queryset().exclude(own_cases_filter(moderator=moderator)).filter(pk=pk).first()


@dataclass
class CaseRow:
    """A case in a moderator's queue, and why they may not decide it (None: they may)."""

    case: Case
    conflict: str | None


@dataclass
class ModeratorQueue:
    """A moderator's queue, and what is kept from them: the cases about themselves."""

    rows: list[CaseRow]
    own_waiting: int
    own_note: str


def moderator_queue(*, moderator: Any, limit: int = 100) -> ModeratorQueue:
    """The queue as one moderator sees it: the cases they may not decide marked, their own
    left out but counted, with who decides those (or that they wait)."""
    rules = ConflictRules.load()
    rows = []
    for case in review_queue(moderator=moderator)[:limit]:
        conflict = rules.conflict(moderator=moderator, subject=case)
        rows.append(CaseRow(case=case, conflict=conflict.reason if conflict else None))
    own = case_queryset().filter(own_cases_filter(moderator=moderator), status=Case.Status.OPEN)
    first = own.first()
    return ModeratorQueue(
        rows=rows,
        own_waiting=own.count() if first is not None else 0,
        own_note=rules.who_decides(first) if first is not None else "",
    )


@dataclass
class Standing:
    """Whether one moderator may decide one case or appeal, and who decides it otherwise."""

    conflict: str | None
    who_decides: str
    hidden: bool = False  # the case is about the moderator: it doesn't exist for them


def standing(*, moderator: Any, case: Case | None = None, appeal: Appeal | None = None) -> Standing:
    """May this moderator decide the case or appeal? If not, why, and who does."""
    subject = case if case is not None else appeal
    if subject is None:
        raise ValueError("Name a case or an appeal.")
    rules = ConflictRules.load()
    conflict = rules.conflict(moderator=moderator, subject=subject)
    return Standing(
        conflict=conflict.reason if conflict else None,
        who_decides=rules.who_decides(subject) if conflict else "",
        hidden=bool(conflict and conflict.hidden),
    )


@dataclass
class AccountHistory:
    """What a moderator should know about the person whose content is under review."""

    user: User
    joined: Any
    posts: int
    live_strikes: int
    decisions: list[Decision]
    reports_against: int


@dataclass
class CaseView:
    """A case with everything its review page shows."""

    case: Case
    reports: list[Report]
    reasons: list[tuple[str, int]]
    ancestors: list[Any] = field(default_factory=list)
    remixes: int = 0
    history: AccountHistory | None = None
    prompt: str = ""
    decision: Decision | None = None
    # A reported message's conversation as the latest report kept it, oldest first.
    conversation: list[dict[str, Any]] = field(default_factory=list)


# How far up a remix chain the review page shows.
CASE_LINEAGE_DEPTH = 10


def case_view(*, case: Case) -> CaseView:
    """The case, its reports and reporters' notes, the clip's lineage and the owner's history.

    The post and its remix chain are read through the case's relations: the feed, which
    owns posts, sits above moderation.
    """
    reports = list(case.reports.select_related("reporter").order_by("created"))
    reasons: dict[str, int] = {}
    for report in reports:
        label = report.get_reason_display()
        reasons[label] = reasons.get(label, 0) + 1
    view = CaseView(
        case=case,
        reports=reports,
        reasons=sorted(reasons.items(), key=lambda r: -r[1]),
        conversation=next((r.context for r in reversed(reports) if r.context), []),
    )
    post = case.post or (case.comment.post if case.comment is not None else None)
    if post is not None:
        view.prompt = post.prompt
        parent = post.remix_of
        while parent is not None and len(view.ancestors) < CASE_LINEAGE_DEPTH:
            view.ancestors.append(parent)
            parent = parent.remix_of
        prefetch_related_objects(view.ancestors, "owner")
        view.remixes = post.remixes.count()
    owner = case.target_owner
    view.history = AccountHistory(
        user=owner,
        joined=owner.date_joined,
        posts=owner.posts.count(),
        live_strikes=live_strikes(user=owner),
        decisions=list(
            Decision.objects.filter(affected=owner)
            .exclude(case=case)
            .select_related("category", "moderator", "case")
            .order_by("-created")[:10]
        ),
        reports_against=Report.objects.filter(
            Q(case__post__owner=owner)
            | Q(case__comment__author=owner)
            | Q(case__message__sender=owner)
            | Q(case__account=owner)
        ).count(),
    )
    view.decision = Decision.objects.filter(case=case).select_related("moderator").first()
    return view


def appeals_queue() -> QuerySet[Appeal]:
    """Appeals waiting for a moderator, oldest first."""
    return (
        Appeal.objects.filter(status=Appeal.Status.PENDING)
        .select_related(
            "appellant",
            "decision__moderator",
            "decision__category",
            "decision__case__post",
            "decision__case__comment",
            "refusal__category",
        )
        .order_by("created", "pk")
    )


@dataclass
class AppealRow:
    """An appeal in a moderator's list, and why they may not decide it (None: they may)."""

    appeal: Appeal
    conflict: str | None


def moderator_appeals(*, moderator: Any, limit: int = 100) -> list[AppealRow]:
    """Waiting appeals as one moderator sees them: their own and the ones they may not
    decide are marked, so that they know to leave them to someone else."""
    rules = ConflictRules.load()
    rows = []
    for appeal in appeals_queue()[:limit]:
        conflict = rules.conflict(moderator=moderator, subject=appeal)
        rows.append(AppealRow(appeal=appeal, conflict=conflict.reason if conflict else None))
    return rows


def notices_for(*, user: User) -> QuerySet[Notice]:
    """A person's notices, newest first, with the decision or appeal they are about."""
    return (
        Notice.objects.filter(recipient=user)
        .select_related("decision__appeal", "decision__case", "appeal")
        .order_by("-created", "-pk")
    )


def appeals_of(*, user: User) -> QuerySet[Appeal]:
    """A person's own appeals, newest first, with what each is about."""
    return (
        Appeal.objects.filter(appellant=user)
        .select_related(
            "decision__case__post",
            "decision__case__comment",
            "decision__case__message",
            "decision__category",
            "refusal__category",
        )
        .order_by("-created", "-pk")
    )


def unread_notices(*, user: Any) -> int:
    """How many notices this person hasn't opened."""
    if not user.is_authenticated:
        return 0
    return Notice.objects.filter(recipient=user, read__isnull=True).count()


def refusal_for(*, user: User, pk: int) -> PromptRefusal | None:
    """One of this person's prompt refusals."""
    return PromptRefusal.objects.select_related("category").filter(user=user, pk=pk).first()


def _percentile(values: list[float], share: float) -> float:
    """The value below which `share` of values fall (nearest rank); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def wait_text(hours: float) -> str:
    """A wait in the unit a person reads best: minutes, hours or days."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


@dataclass
class Transparency:
    """The public figures: what moderation did, and how long people waited."""

    since: Any
    days: int
    action_names: list[str]
    actions: list[dict[str, Any]]
    by_month: list[dict[str, Any]]
    total: int
    automated: int
    reports: int
    median_hours: float
    p90_hours: float
    appeals: int
    overturned: int
    prompt_refusals: list[dict[str, Any]]

    @property
    def median_text(self) -> str:
        """The median wait, readable."""
        return wait_text(self.median_hours)

    @property
    def p90_text(self) -> str:
        """The 90th percentile wait, readable."""
        return wait_text(self.p90_hours)


def transparency(*, days: int = 365) -> Transparency:
    """Actions by category and month, and time from first report to decision (median, p90)."""
    since = timezone.now() - timedelta(days=days)
    decisions = Decision.objects.filter(created__gte=since)
    by_category = (
        decisions.values("category__name", "action")
        .annotate(count=Count("pk"))
        .order_by("category__name", "action")
    )
    labels = dict(Decision.Action.choices)
    actions = [
        {
            "category": row["category__name"] or "No rule broken",
            "action": labels[row["action"]].split(":")[0],
            "count": row["count"],
        }
        for row in by_category
    ]
    months: dict[str, dict[str, Any]] = {}
    for created, action in decisions.values_list("created", "action"):
        month = months.setdefault(f"{created:%Y-%m}", {"month": f"{created:%B %Y}", "total": 0})
        month["total"] += 1
        month[action] = month.get(action, 0) + 1
    names = [label.split(":")[0].removesuffix(" the account") for label in Decision.Action.labels]
    for month in months.values():
        # (action's short name, count): a phone shows each count beside its name.
        month["counts"] = [
            (name, month.get(action, 0))
            for name, action in zip(names, Decision.Action.values, strict=True)
        ]
    waits = [
        (decided - opened).total_seconds() / 3600
        for opened, decided in decisions.filter(case__source=Case.Source.REPORTS, automated=False)
        .annotate(opened=F("case__opened"))
        .values_list("opened", "created")
    ]
    appeals = Appeal.objects.filter(created__gte=since)
    refusals = (
        PromptRefusal.objects.filter(created__gte=since)
        .values("category__name")
        .annotate(count=Count("pk"))
        .order_by("-count")
    )
    return Transparency(
        since=since,
        days=days,
        action_names=names,
        actions=actions,
        by_month=[months[key] for key in sorted(months, reverse=True)],
        total=decisions.count(),
        automated=decisions.filter(automated=True).count(),
        reports=Report.objects.filter(created__gte=since).count(),
        median_hours=statistics.median(waits) if waits else 0.0,
        p90_hours=_percentile(waits, 0.9),
        appeals=appeals.count(),
        overturned=appeals.filter(status=Appeal.Status.OVERTURNED).count(),
        prompt_refusals=[
            {"category": r["category__name"] or "Other", "count": r["count"]} for r in refusals
        ],
    )


def categories() -> QuerySet[PolicyCategory]:
    """Active policy categories, most severe first: what a decision can cite."""
    return PolicyCategory.objects.filter(active=True).order_by("-severity", "name")


def export_of(user: Any) -> dict[str, Any]:
    """A person's reports, the decisions about them, their appeals and refused prompts, for
    their data download."""
    return {
        "reports": export_rows(
            Report.objects.filter(reporter=user), "case_id", "reason", "note", "created"
        ),
        "decisions_about_you": export_rows(
            Decision.objects.filter(affected=user), "action", "facts", "created"
        ),
        "appeals": export_rows(
            Appeal.objects.filter(appellant=user), "text", "status", "reply", "created"
        ),
        "refused_prompts": export_rows(
            PromptRefusal.objects.filter(user=user), "prompt", "rule", "created"
        ),
    }
