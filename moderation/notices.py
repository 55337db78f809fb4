"""Notices: the statement of reasons a decision sends, an appeal's outcome, and reading them.

A statement names what was restricted, the facts, the rule (and why that rule, when the
reports pointed at another), whether automation decided, and how to appeal, with the
appeal's address in full so that it is a link in the email as on the notices page.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.web import site_url

from . import events
from .models import Appeal, Decision, Notice


def statement_of_reasons(decision: Decision, *, strikes: int) -> tuple[str, str]:
    """The subject and text of a decision's statement of reasons (what, facts, rule, redress)."""
    case = decision.case
    subject = {
        Decision.Action.DISMISS: f"Your {case.kind} was reviewed and is shown again",
        Decision.Action.LABEL: f"A warning label was added to your {case.kind}",
        Decision.Action.LIMIT: f"Your {case.kind} is kept off For You",
        Decision.Action.REMOVE: f"Your {case.kind} was removed",
        Decision.Action.SUSPEND: "Your account was suspended",
    }[Decision.Action(decision.action)]
    body = render_to_string(
        "moderation/statement.txt",
        {
            "decision": decision,
            "case": case,
            "strikes": strikes,
            "appeal_url": site_url(
                reverse("moderation:decision_appeal", kwargs={"pk": decision.pk})
            ),
        },
    ).strip()
    return subject, body


def decision_notice_send(decision: Decision, *, strikes: int) -> Notice | None:
    """Send the affected person the statement of reasons, on Riff and by email."""
    if decision.affected is None:
        return None
    subject, body = statement_of_reasons(decision, strikes=strikes)
    notice = Notice.objects.create(
        recipient=decision.affected, decision=decision, subject=subject, body=body
    )
    events.notice_sent.emit(notice=notice)
    if decision.affected.email:
        send_mail(subject, body, None, [decision.affected.email], fail_silently=True)
    return notice


def appeal_notice_send(appeal: Appeal) -> Notice:
    """Tell the appellant how their appeal ended (the decision's own notice then shows that
    it no longer applies, when it was overturned)."""
    subject_of = (
        f"the decision on your {appeal.decision.case.kind}"
        if appeal.decision
        else "the refusal of your prompt"
    )
    body = render_to_string(
        "moderation/appeal_outcome.txt",
        {"appeal": appeal, "appeals_url": site_url(reverse("moderation:my_appeals"))},
    ).strip()
    notice = Notice.objects.create(
        recipient=appeal.appellant,
        appeal=appeal,
        subject=f"Your appeal of {subject_of}: {appeal.get_status_display().lower()}",
        body=body,
    )
    events.notice_sent.emit(notice=notice)
    if appeal.appellant.email:
        send_mail(notice.subject, body, None, [appeal.appellant.email], fail_silently=True)
    return notice


def notices_mark_read(*, user: User) -> int:
    """Mark all of a person's notices read."""
    return Notice.objects.filter(recipient=user, read__isnull=True).update(read=timezone.now())
