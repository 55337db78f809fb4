"""Making clips: the create form (a remix starts from a post) and posting a finished draft."""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from core.web import HtmxHttpRequest, login_required_htmx
from generation import selectors as generation_selectors
from generation import services as generation_services
from generation.models import GenerationJob

from .. import selectors, services
from ..models import Post
from .common import error_text, visible_post_or_404


class CreateForm(forms.Form):
    """What to generate: a prompt, its shape and length, and the sampler's settings."""

    ASPECTS = [
        (GenerationJob.Aspect.PORTRAIT.value, "Portrait"),
        (GenerationJob.Aspect.LANDSCAPE.value, "Landscape"),
        (GenerationJob.Aspect.SQUARE.value, "Square"),
    ]

    prompt = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "maxlength": 2000,
                "placeholder": "Describe the clip: who or what, where, what happens, the look…",
            }
        ),
        error_messages={"required": "Describe the clip you want first."},
    )
    negative_prompt = forms.CharField(
        label="Leave out",
        max_length=1000,
        required=False,
        strip=True,
        widget=forms.Textarea(
            attrs={"rows": 2, "maxlength": 1000, "placeholder": "blurry, text, watermark"}
        ),
        help_text="Things you don't want to see in the clip.",
    )
    model_key = forms.ChoiceField(label="Model")
    aspect = forms.ChoiceField(
        label="Shape", choices=ASPECTS, initial="9:16", widget=forms.RadioSelect
    )
    duration_s = forms.FloatField(label="Length", min_value=0.5, max_value=10.0, initial=2.0)
    steps = forms.IntegerField(
        label="Steps",
        min_value=1,
        max_value=100,
        initial=20,
        help_text="More steps: more detail, but slower.",
    )
    guidance = forms.FloatField(label="Guidance", min_value=0.0, max_value=20.0, initial=5.0)
    seed = forms.IntegerField(
        label="Seed",
        min_value=0,
        max_value=2**63 - 1,
        required=False,
        widget=forms.NumberInput(attrs={"placeholder": "Random", "inputmode": "numeric"}),
        help_text="The same prompt and seed make the same clip. Leave empty for a new one.",
    )
    strength = forms.FloatField(
        label="Change", min_value=0.05, max_value=1.0, initial=0.6, required=False
    )
    remix = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        """Offer the models installed here that this person may use."""
        super().__init__(*args, **kwargs)
        field: Any = self.fields["model_key"]
        field.choices = generation_selectors.model_choices(user=user)
        field.error_messages["invalid_choice"] = (
            "That model isn't available on this Riff; choose one of the list."
        )
        offered = [key for key, _label in field.choices]
        self.default_model = (
            settings.RIFF_DEFAULT_MODEL
            if settings.RIFF_DEFAULT_MODEL in offered or not offered
            else offered[0]
        )
        field.initial = self.default_model
        # The Length slider follows the chosen model's longest clip (static/js/job.js).
        field.widget.attrs["data-longest"] = json.dumps(
            {
                key: longest
                for key, _label in field.choices
                if (longest := generation_selectors.model_longest(key)) is not None
            }
        )

    def chosen_model(self) -> str:
        """The model the form shows as chosen (the default until one is picked)."""
        return str(self["model_key"].value() or self.default_model)

    def placeholders(self) -> str:
        """Each offered model's prompt placeholder, as JSON for the page's script."""
        generic = self.fields["prompt"].widget.attrs["placeholder"]
        return json.dumps(
            {
                key: guide.placeholder if guide else generic
                for key, _label in self.fields["model_key"].choices  # type: ignore[attr-defined]
                for guide in [generation_selectors.model_guide(key)]
            }
        )

    def placeholder(self) -> str:
        """The prompt's placeholder for the chosen model."""
        guide = generation_selectors.model_guide(self.chosen_model())
        generic = str(self.fields["prompt"].widget.attrs["placeholder"])
        return guide.placeholder if guide else generic

    def guides(self) -> list[dict[str, Any]]:
        """The offered models with a small vocabulary, each with its guide, the words of
        the current prompt it doesn't know, and the offered models that take any prompt."""
        choices = self.fields["model_key"].choices  # type: ignore[attr-defined]
        open_models = [
            label
            for key, label in choices
            if generation_selectors.model_guide(key) is None
            and not generation_selectors.model_is_test(key)
        ]
        prompt = str(self["prompt"].value() or "")
        return [
            {
                "key": key,
                "guide": guide,
                "known": json.dumps(sorted(guide.known)),
                "unknown": guide.unknown(prompt),
                "instead": open_models,
            }
            for key, _label in choices
            if (guide := generation_selectors.model_guide(key)) is not None
        ]

    def longest(self) -> float:
        """The Length slider's end: the chosen (else default) model's longest clip."""
        longest = generation_selectors.model_longest(self.chosen_model())
        limit = float(self.fields["duration_s"].max_value)  # type: ignore[attr-defined]
        return limit if longest is None else min(longest, limit)

    def clean(self) -> dict[str, Any]:
        """A length the chosen model can make, or the reason on the Length field."""
        data = super().clean() or {}
        if data.get("model_key") and data.get("duration_s") is not None:
            refusal = generation_selectors.duration_refusal(
                model_key=data["model_key"], duration_s=data["duration_s"]
            )
            if refusal is not None:
                self.add_error("duration_s", refusal)
        return data

    def params(self) -> dict[str, Any]:
        """The generation parameters, as generation_job_create takes them."""
        data = self.cleaned_data
        params: dict[str, Any] = {
            key: data[key] for key in ("model_key", "aspect", "duration_s", "steps", "guidance")
        }
        if data.get("seed") is not None:
            params["seed"] = data["seed"]
        if data.get("remix") and data.get("strength") is not None:
            params["strength"] = data["strength"]
        return params


class DraftPostForm(forms.Form):
    """How a finished draft is posted."""

    caption = forms.CharField(max_length=500, required=False, strip=True)
    visibility = forms.ChoiceField(choices=Post.Visibility.choices, initial=Post.Visibility.PUBLIC)
    allow_remix = forms.BooleanField(required=False)
    allow_download = forms.BooleanField(required=False)


def _remixable_post(request: HtmxHttpRequest, raw: object) -> Post:
    """The post a remix starts from: 404 when invisible, 403 when it doesn't allow remixes."""
    try:
        pk = int(str(raw))
    except ValueError:
        raise Http404("No such post.") from None
    post = visible_post_or_404(request, pk)
    services.remix_source(post=post)  # raises PermissionDenied when remixes are off
    return post


def _create_page(
    request: HtmxHttpRequest,
    form: CreateForm,
    remix_post: Post | None,
    *,
    status: int = 200,
    error: str = "",
    rule: str = "",
    appeal_url: str = "",
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    daily, concurrent = generation_selectors.quota_limits(user=user)
    used, active = generation_selectors.quota_usage(user=user)
    more_errors = any(
        form[name].errors for name in ("negative_prompt", "steps", "guidance", "seed")
    )
    context = {
        "form": form,
        "remix_post": remix_post,
        "left_today": max(0, daily - used),
        "daily_limit": daily,
        "active": active,
        "concurrent_limit": concurrent,
        "error": error,
        "rule": rule,
        "appeal_url": appeal_url,
        "more_open": more_errors,
    }
    return render(request, "feed/create.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required_htmx
def create(request: HtmxHttpRequest) -> HttpResponse:
    """The prompt form (?prompt= prefills it, ?remix=<post> starts from a clip); POST queues."""
    if request.method == "GET":
        initial: dict[str, Any] = {
            "idempotency_key": uuid.uuid4().hex,
            "prompt": request.GET.get("prompt", "")[:2000],
        }
        remix_post = None
        if request.GET.get("remix"):
            remix_post = _remixable_post(request, request.GET["remix"])
            initial["remix"] = remix_post.pk
            initial["prompt"] = initial["prompt"] or remix_post.prompt
        return _create_page(request, CreateForm(initial=initial, user=request.user), remix_post)

    form = CreateForm(request.POST, user=request.user)
    if not form.is_valid():
        raw = form.data.get("remix")
        remix_post = (
            selectors.post_visible(viewer=request.user, pk=int(raw))  # type: ignore[arg-type]
            if raw and str(raw).isdigit()
            else None
        )
        return _create_page(request, form, remix_post, status=400)
    remix_post = source = None
    if form.cleaned_data["remix"]:
        remix_post = _remixable_post(request, form.cleaned_data["remix"])
        source = services.remix_source(post=remix_post)
    try:
        job = generation_services.generation_job_create(
            owner=request.user,  # type: ignore[arg-type]
            prompt=form.cleaned_data["prompt"],
            negative_prompt=form.cleaned_data["negative_prompt"],
            params=form.params(),
            source=source,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except generation_services.GenerationRefused as exc:
        return _create_page(
            request,
            form,
            remix_post,
            status=400,
            error=error_text(exc),
            rule=exc.rule,
            appeal_url=exc.appeal_url,
        )
    except generation_services.QuotaExceeded as exc:
        return _create_page(request, form, remix_post, status=429, error=error_text(exc))
    except ValidationError as exc:
        return _create_page(request, form, remix_post, status=400, error=error_text(exc))
    # Generated anyway: the job page says again what the model won't draw (without a script
    # the person never saw the live note).
    guide = generation_selectors.model_guide(job.model_key)
    note = guide.note(job.model_key, job.prompt) if guide else ""
    if note:
        messages.info(request, f"{note} Generating it anyway.")
    return redirect("generation:job_detail", job_id=job.pk)


@require_POST
@login_required_htmx
def draft_post(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """Post a finished draft, then show the new post; a refusal re-renders the job page."""
    job = generation_selectors.job_of(user=request.user, job_id=str(job_id))  # type: ignore[arg-type]
    if job is None:
        raise Http404("No such clip.")
    form = DraftPostForm(request.POST)
    if form.is_valid():
        try:
            post = services.post_publish(job=job, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            error = error_text(exc)
        except PermissionDenied as exc:
            error = str(exc)
        else:
            if post.standing == Post.Standing.HELD:
                messages.info(request, "Posted, and held for review: only you can see it for now.")
            else:
                messages.success(request, "Posted. Your clip is live.")
            return redirect(post)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    job.refresh_from_db()
    context = {**generation_selectors.job_page(job=job), "post_form": form, "post_error": error}
    return render(request, "generation/job_detail.html", context, status=400)
