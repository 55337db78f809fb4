"""Generation pages: watching a clip being made, cancelling it, and the drafts list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from core.web import HtmxHttpRequest, bad_request, login_required_htmx

from . import selectors, services
from .models import GenerationJob

# The drafts page shows this many of a person's most recent jobs.
DRAFTS_SHOWN = 60


def own_job_or_404(request: HtmxHttpRequest, job_id: UUID | str) -> GenerationJob:
    """One of the signed-in person's jobs; 404 for anyone else's, so ids don't leak."""
    job = selectors.job_of(user=_user(request), job_id=str(job_id))
    if job is None:
        raise Http404("No such clip.")
    return job


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def job_context(job: GenerationJob, **extra: Any) -> dict[str, Any]:
    """The job page's context, with anything a view adds."""
    return {**selectors.job_page(job=job), **extra}


@require_GET
@login_required_htmx
def job_detail(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The page a person watches while their clip is made, then posts it from."""
    job = own_job_or_404(request, job_id)
    return render(request, "generation/job_detail.html", job_context(job))


@require_GET
@login_required_htmx
def job_status_fragment(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The status fragment for polling; it keeps its hx-trigger only while the job is active.

    `?view=card` answers with the job's card on the drafts page instead; `?poll=1` marks a
    request from a polling element, whose answer keeps polling until the job is final.
    """
    job = own_job_or_404(request, job_id)
    polling = request.GET.get("poll") == "1"
    if request.GET.get("view") == "card":
        return render(request, "generation/_job_card.html", {"job": job, "polling": polling})
    return render(request, "generation/_job_status.html", job_context(job, polling=polling))


@require_POST
@login_required_htmx
def job_cancel(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """Cancel one of your own jobs; htmx gets the updated status fragment back."""
    job = own_job_or_404(request, job_id)
    try:
        job = services.job_cancel(job=job, actor=_user(request))
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if request.htmx:
            job.refresh_from_db()
            return render(
                request,
                "generation/_job_status.html",
                job_context(job, notice=message),
                status=200,
            )
        messages.info(request, message)
        return redirect("generation:job_detail", job_id=job.pk)
    if request.htmx:
        return render(request, "generation/_job_status.html", job_context(job))
    messages.success(
        request, "Cancelled." if not job.is_active else "Stopping it after the current step."
    )
    return redirect("generation:job_detail", job_id=job.pk)


@require_POST
@login_required_htmx
def draft_delete(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """Throw away one of your finished drafts, files and all."""
    job = own_job_or_404(request, job_id)
    try:
        services.draft_discard(job=job, actor=_user(request))
    except ValidationError as exc:
        return bad_request(request, " ".join(exc.messages))
    messages.success(request, "Draft deleted.")
    return redirect("generation:drafts")


@require_GET
@login_required_htmx
def drafts(request: HtmxHttpRequest) -> HttpResponse:
    """Your recent jobs, newest first: in progress, ready to post, and failed."""
    jobs = list(selectors.jobs_of(user=_user(request))[:DRAFTS_SHOWN])
    daily, _concurrent = selectors.quota_limits(user=_user(request))
    used, _active = selectors.quota_usage(user=_user(request))
    context = {"jobs": jobs, "left_today": max(0, daily - used), "daily_limit": daily}
    return render(request, "generation/drafts.html", context)
