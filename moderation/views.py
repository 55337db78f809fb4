"""Moderation pages: reporting, the review queue, cases, appeals, notices and transparency."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from core.web import HtmxHttpRequest, login_required_htmx

from . import selectors, services, targets
from .models import Appeal, Case, Decision, PolicyCategory, Report
from .notices import notices_mark_read


def moderator_required(view: Any) -> Any:
    """Only moderators (the review_case permission) get in; everyone else gets 403."""

    @login_required_htmx
    def wrapped(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.is_moderator(request.user):
            raise PermissionDenied("Only moderators can open this page.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- reporting -------------------------------------------------------------------------------


class ReportForm(forms.Form):
    """Why something should be reviewed."""

    reason = forms.ChoiceField(
        choices=Report.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what's wrong."},
    )
    note = forms.CharField(
        required=False,
        max_length=1000,
        label="Anything a moderator should know (optional)",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
    )


@require_http_methods(["GET", "POST"])
@login_required_htmx
def report(request: HtmxHttpRequest, kind: str, ref: str) -> HttpResponse:
    """Report a post, comment, message or account with a reason and a note."""
    target = targets.report_target(viewer=request.user, kind=kind, ref=ref)  # type: ignore[arg-type]
    if target is None:
        raise Http404("There's nothing like that to report.")
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(
                reporter=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                **target,
            )
        except services.ModerationRefused as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, "Thanks. A moderator will review your report.")
            obj = next(iter(target.values()))
            return redirect(targets.report_back(kind, obj, request.user))  # type: ignore[arg-type]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "moderation/report.html",
        {"form": form, "kind": kind, "target": next(iter(target.values()))},
        status=status,
    )


# --- review ----------------------------------------------------------------------------------


@require_GET
@moderator_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    """Open cases, worst first; those this moderator may not decide are marked, and those
    about themselves are left out (only counted)."""
    queue = selectors.moderator_queue(moderator=request.user)
    return render(
        request,
        "moderation/queue.html",
        {"queue": queue, "appeals": selectors.appeals_queue().count()},
    )


class DecisionForm(forms.Form):
    """A moderator's decision on a case."""

    action = forms.ChoiceField(choices=Decision.Action.choices, widget=forms.RadioSelect)
    category = forms.ModelChoiceField(
        queryset=PolicyCategory.objects.none(),
        required=False,
        label="Rule broken",
        empty_label="(none: dismissing)",
    )
    category_note = forms.CharField(
        max_length=500,
        required=False,
        label="Why this rule (only when the reports point at another; sent to the person)",
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
    )
    label = forms.CharField(max_length=80, required=False, label="Label text (for Label)")
    facts = forms.CharField(
        max_length=2000,
        label="Facts: what you saw (sent to the person)",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        error_messages={"required": "Say what you saw: the person is told."},
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = services.ACTIONS_FOR[case.kind]
        self.fields["action"].choices = [c for c in Decision.Action.choices if c[0] in allowed]  # type: ignore[attr-defined]
        self.fields["category"].queryset = selectors.categories()  # type: ignore[attr-defined]
        self.fields["category"].initial = services.category_suggested(case)


@require_http_methods(["GET", "POST"])
@moderator_required
def case_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A case: the clip, prompt, lineage, reports and the account's history; decide it.

    A case about the moderator's own post, comment or account is not found (404); one the
    admin gave to the conflict reviewers is shown, but deciding it is refused (403).
    """
    case = selectors.case_queryset().filter(pk=pk).first()
    if case is None:
        raise Http404("No such case.")
    standing = selectors.standing(moderator=request.user, case=case)
    if standing.hidden and request.method != "POST":
        raise Http404("No such case.")  # a POST is refused below, and the attempt logged
    form = DecisionForm(request.POST or None, case=case)
    status = 200
    if request.method == "POST":
        try:
            if _case_decide(request, case=case, form=form):
                messages.success(request, f"Decided: case #{case.pk}.")
                return redirect("moderation:queue")
        except services.ModerationConflict as exc:
            if exc.hidden:
                raise Http404("No such case.") from exc
            form.add_error(None, exc.message)
            status = 403
        except services.ModerationRefused as exc:
            form.add_error(None, exc.message)
        if status != 403:
            status = 409 if case.status == Case.Status.DECIDED else 400
    context = {
        "view": selectors.case_view(case=case),
        "case": case,
        "form": form,
        "standing": standing,
    }
    return render(request, "moderation/case.html", context, status=status)


def _case_decide(request: HtmxHttpRequest, *, case: Case, form: DecisionForm) -> bool:
    """Decide the case as the form says; False when the form has errors.

    The conflict check comes before the form is read: an attempt on a case the moderator may
    not decide is refused and logged whatever it contains.
    """
    moderator: User = request.user  # type: ignore[assignment]
    attempted = f"decide:{request.POST.get('action', '')}"
    services.conflict_refuse(moderator=moderator, case=case, attempted=attempted)
    if not form.is_valid():
        return False
    services.decision_make(
        case=case,
        moderator=moderator,
        action=form.cleaned_data["action"],
        category=form.cleaned_data["category"],
        label=form.cleaned_data["label"],
        facts=form.cleaned_data["facts"],
        category_note=form.cleaned_data["category_note"],
    )
    return True


class AppealDecisionForm(forms.Form):
    """Uphold or overturn, with a note to the person."""

    outcome = forms.ChoiceField(
        choices=[("uphold", "Uphold the decision"), ("overturn", "Overturn it")],
        widget=forms.RadioSelect,
    )
    reply = forms.CharField(
        max_length=2000,
        required=False,
        label="Note to the person",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )


@require_GET
@moderator_required
def appeals(request: HtmxHttpRequest) -> HttpResponse:
    """Appeals waiting for a moderator; those this moderator may not decide are marked."""
    return render(
        request,
        "moderation/appeals.html",
        {"rows": selectors.moderator_appeals(moderator=request.user)},
    )


@require_http_methods(["GET", "POST"])
@moderator_required
def appeal_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One appeal with the decision or refusal it is about; decide it, unless it is the
    moderator's own or they may not for another reason (then 403, and who decides instead)."""
    appeal = get_object_or_404(
        Appeal.objects.select_related(
            "decision__case", "decision__category", "refusal__category", "appellant"
        ),
        pk=pk,
    )
    form = AppealDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.appeal_decide(
                    appeal=appeal,
                    moderator=request.user,  # type: ignore[arg-type]
                    overturn=form.cleaned_data["outcome"] == "overturn",
                    reply=form.cleaned_data["reply"],
                )
            except services.ModerationConflict as exc:
                form.add_error(None, exc.message)
                status = 403
            except services.ModerationRefused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Appeal #{appeal.pk} decided.")
                return redirect("moderation:appeals")
        if status != 403:
            status = 409 if appeal.status != Appeal.Status.PENDING else 400
    return render(
        request,
        "moderation/appeal_detail.html",
        {
            "appeal": appeal,
            "form": form,
            "standing": selectors.standing(moderator=request.user, appeal=appeal),
        },
        status=status,
    )


# --- the affected person ---------------------------------------------------------------------


@require_GET
@login_required_htmx
def notices(request: HtmxHttpRequest) -> HttpResponse:
    """A person's notices: statements of reasons and appeal outcomes."""
    user: User = request.user  # type: ignore[assignment]
    items = list(selectors.notices_for(user=user)[:50])
    notices_mark_read(user=user)
    return render(request, "moderation/notices.html", {"notices": items})


@require_GET
@login_required_htmx
def my_appeals(request: HtmxHttpRequest) -> HttpResponse:
    """A person's appeals and where each stands."""
    appeals = list(selectors.appeals_of(user=request.user)[:50])  # type: ignore[arg-type]
    return render(request, "moderation/my_appeals.html", {"appeals": appeals})


class AppealForm(forms.Form):
    """Why a decision should be looked at again."""

    text = forms.CharField(
        max_length=2000,
        label="Why should this be looked at again?",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        error_messages={"required": "Say why you disagree."},
    )


def _appeal_page(
    request: HtmxHttpRequest, *, decision: Decision | None = None, refusal: Any = None
) -> HttpResponse:
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.appeal_create(
                appellant=request.user,  # type: ignore[arg-type]
                text=form.cleaned_data["text"],
                decision=decision,
                refusal=refusal,
            )
        except services.ModerationRefused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, "Appeal sent. A moderator will decide it and you'll get a notice."
            )
            return redirect("moderation:my_appeals")
    status = 400 if request.method == "POST" else 200
    existing = (decision.appeal if decision and hasattr(decision, "appeal") else None) or (
        refusal.appeal if refusal is not None and hasattr(refusal, "appeal") else None
    )
    context = {"form": form, "decision": decision, "refusal": refusal, "existing": existing}
    return render(request, "moderation/appeal_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required_htmx
def decision_appeal(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Appeal a decision about your post, comment or account."""
    decision = get_object_or_404(
        Decision.objects.select_related("case__post", "case__comment", "category"),
        pk=pk,
        affected=request.user,
    )
    return _appeal_page(request, decision=decision)


@require_http_methods(["GET", "POST"])
@login_required_htmx
def refusal_appeal(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Appeal the refusal of one of your prompts."""
    refusal = selectors.refusal_for(user=request.user, pk=pk)  # type: ignore[arg-type]
    if refusal is None:
        raise Http404("No such refusal.")
    return _appeal_page(request, refusal=refusal)


@require_GET
def transparency(request: HtmxHttpRequest) -> HttpResponse:
    """Public figures: actions by category and month, time from report to decision."""
    return render(request, "moderation/transparency.html", {"t": selectors.transparency()})
