"""Writes for moderation: reports, cases, decisions, strikes, appeals, notices and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from . import events, notices, targets
from .conflicts import moderator_conflict
from .models import (
    Appeal,
    AuditEntry,
    Case,
    Decision,
    ModerationSettings,
    PolicyCategory,
    PromptRefusal,
    Report,
    Severity,
    Strike,
)

AUTOMATION = "automation"


class ModerationRefused(Exception):
    """A moderation request that can't be carried out, with the reason in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModerationConflict(ModerationRefused):
    """A moderator asked to decide a matter of their own (or one the admin gave to others).

    `hidden`: the case is about the moderator, so to them it doesn't exist (pages answer 404).
    """

    def __init__(self, message: str, *, hidden: bool = False) -> None:
        super().__init__(message)
        self.hidden = hidden


def audit_record(*, actor: User | None, action: str, target: str, **details: Any) -> AuditEntry:
    """Append one entry to the audit log; `actor` None means automation did it."""
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=f"@{actor.username}" if actor is not None else AUTOMATION,
        action=action,
        target=target,
        details=details,
    )


@transaction.atomic
def case_hold(*, post: Any, reason: str, **details: Any) -> Case:
    """Hold a post for review (automation): hidden from everyone but its owner until decided."""
    case = Case.objects.select_for_update().filter(post=post, status=Case.Status.OPEN).first()
    if case is None:
        case = Case.objects.create(post=post, source=Case.Source.HASH_BANK, severity=Severity.HIGH)
    events.post_held.emit(case=case, post=post)
    audit_record(actor=None, action="hold", target=f"post {post.pk}", reason=reason, **details)
    return case


# --- reports ---------------------------------------------------------------------------------


def _target_owner(
    *, post: Any = None, comment: Any = None, message: Any = None, account: User | None = None
) -> User:
    """Whose content or account a report or decision is about."""
    if post is not None:
        return post.owner
    if comment is not None:
        return comment.author
    if message is not None:
        return message.sender
    if account is None:
        raise ValueError("Name a post, comment, message or account.")
    return account


@transaction.atomic
def report_create(
    *,
    reporter: User,
    reason: str,
    note: str = "",
    post: Any = None,
    comment: Any = None,
    message: Any = None,
    account: User | None = None,
) -> Report:
    """Report a post, comment, message or account: it joins the open case on it, or opens
    one. A message's report keeps the conversation's last messages as they are now."""
    target = {"post": post, "comment": comment, "message": message, "account": account}
    if _target_owner(**target).pk == reporter.pk:
        raise ModerationRefused("You can't report your own post, comment, message or account.")
    case = (
        Case.objects.select_for_update()
        .filter(status=Case.Status.OPEN, **{k: v for k, v in target.items() if v is not None})
        .first()
    )
    if case is None:
        case = Case.objects.create(**target)
    if case.reports.filter(reporter=reporter).exists():
        raise ModerationRefused("You already reported this. A moderator will look at it.")
    kind, reported = next((k, v) for k, v in target.items() if v is not None)
    report = Report(
        case=case,
        reporter=reporter,
        reason=reason,
        note=note.strip(),
        context=targets.report_context(kind, reported),
    )
    report.full_clean()
    report.save()
    case.report_count += 1
    case.severity = max(case.severity, Report.SEVERITY.get(reason, Severity.LOW))
    case.save(update_fields=["report_count", "severity"])
    events.report_filed.emit(report=report)
    return report


# --- decisions -------------------------------------------------------------------------------

# Which actions fit which target: a label or a limit only means something on a post, and an
# account can only be left alone or suspended.
ACTIONS_FOR: dict[str, tuple[str, ...]] = {
    "post": tuple(Decision.Action.values),
    "comment": (Decision.Action.DISMISS, Decision.Action.REMOVE, Decision.Action.SUSPEND),
    "message": (Decision.Action.DISMISS, Decision.Action.REMOVE, Decision.Action.SUSPEND),
    "account": (Decision.Action.DISMISS, Decision.Action.SUSPEND),
}


def _already_decided(case: Case) -> ModerationRefused:
    decision = Decision.objects.select_related("moderator").filter(case=case).first()
    if decision is None:
        return ModerationRefused("This case is already closed.")
    who = f"@{decision.moderator.username}" if decision.moderator else "automation"
    return ModerationRefused(
        f"This case was already decided by {who} on {decision.created:%d %b %Y at %H:%M}: "
        f"{decision.get_action_display()}. Nothing was changed."
    )


def _apply(decision: Decision, case: Case) -> None:
    """Carry out a decision: a removed clip goes in the hash bank, a suspension suspends.

    What it does to the post, comment or message itself is the app's that owns it to carry
    out (decision_made).
    """
    action = decision.action
    events.decision_made.emit(decision=decision)
    if case.post_id and action in (Decision.Action.REMOVE, Decision.Action.SUSPEND):
        from .hashbank import bank_add

        bank_add(post=case.post, decision=decision)
    if action == Decision.Action.SUSPEND and decision.affected_id:
        User.objects.filter(pk=decision.affected_id, suspended_at__isnull=True).update(
            suspended_at=timezone.now()
        )


def conflict_refuse(
    *, moderator: User, attempted: str, case: Case | None = None, appeal: Appeal | None = None
) -> None:
    """Refuse a decision the moderator may not make (conflicts.py), and log the attempt.

    Raises ModerationConflict; returns when they may decide. Called before any transaction
    the decision opens, so that the refusal stays in the audit log.
    """
    conflict = moderator_conflict(moderator=moderator, case=case, appeal=appeal)
    if conflict is None:
        return
    if case is not None:
        target = case.target_label
    elif appeal is not None:
        target = f"appeal {appeal.pk}"
    audit_record(
        actor=moderator,
        action="conflict:refuse",
        target=target,
        attempted=attempted[:40],
        reason=conflict.reason,
    )
    raise ModerationConflict(conflict.reason, hidden=conflict.hidden)


def decision_make(
    *,
    case: Case,
    moderator: User | None,
    action: str,
    facts: str,
    category: PolicyCategory | None = None,
    label: str = "",
    category_note: str = "",
) -> Decision:
    """Decide an open case, carry it out, count a strike and send the statement of reasons.

    A moderator's decision on reports cites a category that answers one of their reasons
    (PolicyCategory.report_reasons), or says in `category_note` why another rule fits.

    `moderator` None is automation (a strike threshold reached). A moderator may not decide
    a case about their own post, comment, message or account (ModerationConflict, audited).
    """
    if moderator is not None:
        conflict_refuse(moderator=moderator, case=case, attempted=f"decide:{action}")
    return _decision_make(
        case=case,
        moderator=moderator,
        action=action,
        facts=facts,
        category=category,
        label=label,
        category_note=category_note,
    )


@transaction.atomic
def _decision_make(
    *,
    case: Case,
    moderator: User | None,
    action: str,
    facts: str,
    category: PolicyCategory | None,
    label: str,
    category_note: str = "",
) -> Decision:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != Case.Status.OPEN:
        raise _already_decided(case)
    if action not in ACTIONS_FOR[case.kind]:
        raise ModerationRefused(
            f"“{Decision.Action(action).label}” doesn't apply to a {case.kind}."
        )
    if action == Decision.Action.LABEL and not label.strip():
        raise ModerationRefused("Say what the label should read.")
    if action != Decision.Action.DISMISS and category is None:
        raise ModerationRefused("Say which rule was broken.")
    if action == Decision.Action.DISMISS:
        category, category_note = None, ""
    elif moderator is not None and not category_note.strip():
        _category_refuse(case, category)
    target = _target(case)
    decision = Decision(
        case=case,
        moderator=moderator,
        automated=moderator is None,
        action=action,
        category=category,
        category_note=category_note.strip(),
        label=label.strip(),
        facts=facts.strip(),
        affected=_target_owner(**{case.kind: target}),
    )
    decision.full_clean()
    decision.save()
    case.status, case.decided = Case.Status.DECIDED, decision.created
    case.save(update_fields=["status", "decided"])
    _apply(decision, case)
    audit_record(
        actor=moderator,
        action=f"decide:{action}",
        target=case.target_label,
        case=case.pk,
        decision=decision.pk,
        category=category.slug if category else "",
    )
    # A suspension that strikes triggered is their consequence, not another strike.
    affected = decision.affected if action in Decision.STRIKING and moderator else None
    if affected is not None:
        Strike.objects.create(user=affected, decision=decision)
    if action != Decision.Action.DISMISS or case.source != Case.Source.REPORTS:
        notices.decision_notice_send(
            decision,
            strikes=live_strikes(user=decision.affected) if decision.affected else 0,
        )
    if affected is not None:
        _suspend_on_strikes(affected, category=category)
    return decision


def report_reasons(case: Case) -> list[str]:
    """The reasons the case's reports give, the most given first."""
    counted: dict[str, int] = {}
    for reason in case.reports.values_list("reason", flat=True):
        counted[reason] = counted.get(reason, 0) + 1
    return sorted(counted, key=lambda reason: -counted[reason])


def category_suggested(case: Case) -> PolicyCategory | None:
    """The active category that answers the most given reason of the case's reports."""
    categories = list(PolicyCategory.objects.filter(active=True))
    for reason in report_reasons(case):
        fitting = [c for c in categories if reason in c.report_reasons]
        if fitting:
            return max(fitting, key=lambda c: c.severity)
    return None


def _category_refuse(case: Case, category: PolicyCategory | None) -> None:
    """Refuse a category that answers none of the reports' reasons. Reports of "something
    else", cases without reports, and categories that name no reasons fit any."""
    reasons = report_reasons(case)
    if category is None or not category.report_reasons:
        return
    if not reasons or Report.Reason.OTHER in reasons:
        return
    if set(reasons) & set(category.report_reasons):
        return
    said = ", ".join(f"“{Report.Reason(reason).label}”" for reason in reasons)
    raise ModerationRefused(
        f"The reports say {said}, which “{category.name}” doesn't cover. Cite the rule that "
        "fits them, or say why this one does."
    )


def _target(case: Case) -> Any:
    return getattr(case, case.kind)


def live_strikes(*, user: User) -> int:
    """Strikes against the account that still count (not voided, not expired)."""
    days = ModerationSettings.current().strike_days
    return Strike.objects.filter(
        user=user, voided__isnull=True, created__gte=timezone.now() - timedelta(days=days)
    ).count()


def _suspend_on_strikes(user: User, *, category: PolicyCategory | None) -> None:
    """Suspend an account automatically once its live strikes reach the admin's threshold."""
    user.refresh_from_db(fields=["suspended_at"])
    rules = ModerationSettings.current()
    strikes = live_strikes(user=user)
    if user.is_suspended or strikes < rules.suspend_after_strikes:
        return
    case = Case.objects.filter(account=user, status=Case.Status.OPEN).first()
    if case is None:
        case = Case.objects.create(account=user, source=Case.Source.REPORTS)
    decision_make(
        case=case,
        moderator=None,
        action=Decision.Action.SUSPEND,
        category=category,
        facts=(
            f"The account reached {strikes} strikes in {rules.strike_days} days; "
            f"this instance suspends accounts at {rules.suspend_after_strikes}."
        ),
    )


# --- appeals ---------------------------------------------------------------------------------


@transaction.atomic
def appeal_create(
    *,
    appellant: User,
    text: str,
    decision: Decision | None = None,
    refusal: PromptRefusal | None = None,
) -> Appeal:
    """Ask for a decision or a prompt refusal to be reviewed again (once each)."""
    if decision is not None:
        if decision.affected_id != appellant.pk:
            raise ModerationRefused("Only the person a decision is about can appeal it.")
        if decision.action == Decision.Action.DISMISS or decision.reversed:
            raise ModerationRefused("There is nothing to appeal: nothing is restricted.")
    elif refusal is not None and refusal.user_id != appellant.pk:
        raise ModerationRefused("Only the person whose prompt was refused can appeal it.")
    if Appeal.objects.filter(decision=decision, refusal=refusal).exists():
        raise ModerationRefused("You already appealed this. You'll get a notice when it's decided.")
    appeal = Appeal(appellant=appellant, decision=decision, refusal=refusal, text=text.strip())
    appeal.full_clean()
    appeal.save()
    return appeal


def appeal_decide(*, appeal: Appeal, moderator: User, overturn: bool, reply: str) -> Appeal:
    """Uphold or overturn an appeal. Never by its appellant, the person it is about, or the
    moderator who made the decision (ModerationConflict, audited)."""
    conflict_refuse(
        moderator=moderator,
        appeal=appeal,
        attempted="appeal:overturn" if overturn else "appeal:uphold",
    )
    return _appeal_decide(appeal=appeal, moderator=moderator, overturn=overturn, reply=reply)


@transaction.atomic
def _appeal_decide(*, appeal: Appeal, moderator: User, overturn: bool, reply: str) -> Appeal:
    appeal = (
        Appeal.objects.select_for_update(of=("self",)).select_related("decision").get(pk=appeal.pk)
    )
    if appeal.status != Appeal.Status.PENDING:
        who = f"@{appeal.decided_by.username}" if appeal.decided_by else "someone"
        raise ModerationRefused(
            f"This appeal was already decided by {who}: {appeal.get_status_display()}."
        )
    appeal.status = Appeal.Status.OVERTURNED if overturn else Appeal.Status.UPHELD
    appeal.decided_by, appeal.reply, appeal.decided = moderator, reply.strip(), timezone.now()
    appeal.full_clean()
    appeal.save(update_fields=["status", "decided_by", "reply", "decided"])
    if overturn:
        if appeal.decision is not None:
            _reverse(appeal.decision)
        if appeal.refusal_id is not None:
            PromptRefusal.objects.filter(pk=appeal.refusal_id).update(allowed_at=appeal.decided)
    audit_record(
        actor=moderator,
        action="appeal:overturn" if overturn else "appeal:uphold",
        target=f"appeal {appeal.pk}",
        decision=appeal.decision_id,
        refusal=appeal.refusal_id,
    )
    notices.appeal_notice_send(appeal)
    return appeal


def _reverse(decision: Decision) -> None:
    """Undo an overturned decision: the content back as it was, the strike voided."""
    from .hashbank import bank_deactivate

    now = timezone.now()
    case = decision.case
    Decision.objects.filter(pk=decision.pk).update(reversed=now)
    decision.reversed = now
    events.decision_reversed.emit(decision=decision)
    if case.post_id:
        bank_deactivate(decision=decision)
    if decision.action == Decision.Action.SUSPEND and decision.affected_id:
        User.objects.filter(pk=decision.affected_id).update(suspended_at=None)
    Strike.objects.filter(decision=decision).update(voided=now)
