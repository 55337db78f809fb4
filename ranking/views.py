"""The viewer's own controls over For You: "not interested", "why am I seeing this?", and
the feed settings page (a preference in their own words, a reset)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.models import User
from core.web import HtmxHttpRequest, login_required_htmx, redirect_back
from feed.models import Post
from feed.selectors import post_visible

from . import event_log, selectors, services
from .controls import NOT_INTERESTED_DONE, RESET_DONE, explain
from .models import EngagementEvent
from .services import PREFERENCE_MAX


class PreferenceForm(forms.Form):
    """A feed preference in the viewer's own words; the service judges what it says."""

    text = forms.CharField(
        label="What do you want more or less of?",
        required=False,
        strip=True,
        help_text=f'For example "more nature, less memes". Up to {PREFERENCE_MAX} characters; '
        "leave it empty to clear it.",
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "maxlength": PREFERENCE_MAX,
                "placeholder": "more nature, less memes",
            }
        ),
    )


def _visible_post_or_404(request: HtmxHttpRequest, pk: int) -> Post:
    viewer = request.user if request.user.is_authenticated else None
    post = post_visible(viewer=viewer, pk=pk)
    if post is None:
        raise Http404("No such post.")
    return post


@require_POST
@login_required_htmx
def not_interested(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Turn a clip down: For You never serves it again and learns from it."""
    post = _visible_post_or_404(request, pk)
    event_log.event_record(
        viewer=request.user,  # type: ignore[arg-type]
        post_id=post.pk,
        kind=EngagementEvent.Kind.NOT_INTERESTED,
    )
    if request.htmx:
        return render(request, "ranking/_not_interested.html", {"post": post})
    messages.success(request, NOT_INTERESTED_DONE)
    return redirect_back(request, reverse("feed:for_you"))


@require_GET
def why(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Why this clip is in the viewer's For You: the score terms, in plain words."""
    post = _visible_post_or_404(request, pk)
    viewer = request.user if request.user.is_authenticated else None
    shown = selectors.why_shown(viewer=viewer, post_id=post.pk)
    context = {
        "post": post,
        "why": explain(shown, post_id=post.pk, author=post.owner.username),
        # A card in Following asks too; that feed is simply newest first.
        "from_following": request.GET.get("from") == "following",
    }
    template = "ranking/_why.html" if request.htmx else "ranking/why.html"
    return render(request, template, context)


def _settings_context(viewer: User, form: PreferenceForm, saved: str = "") -> dict[str, object]:
    return {
        "form": form,
        "preference": selectors.feed_preference(viewer=viewer),
        "saved": saved,
        "preference_max": PREFERENCE_MAX,
    }


@require_http_methods(["GET", "POST"])
@login_required_htmx
def feed_settings(request: HtmxHttpRequest) -> HttpResponse:
    """The viewer's For You settings: a preference in their own words, and a reset."""
    viewer: User = request.user  # type: ignore[assignment]
    if request.method == "GET":
        preference = selectors.feed_preference(viewer=viewer)
        form = PreferenceForm(initial={"text": preference.text if preference else ""})
        return render(request, "ranking/feed_settings.html", _settings_context(viewer, form))

    data = request.POST.copy()
    if data.get("action") == "clear":
        data["text"] = ""
    form = PreferenceForm(data)
    saved = ""
    if form.is_valid():
        try:
            preference = services.feed_preference_set(viewer=viewer, text=form.cleaned_data["text"])
        except ValidationError as exc:
            form.add_error("text", exc)
        else:
            saved = (
                "Saved." if preference is not None else "Cleared: For You goes by what you watch."
            )
            form = PreferenceForm(initial={"text": preference.text if preference else ""})
    context = _settings_context(viewer, form, saved)
    if form.errors:
        if request.htmx:
            response = render(request, "ranking/_preference.html", context, status=400)
            return reswap(retarget(response, "#feed-preference"), "outerHTML")
        return render(request, "ranking/feed_settings.html", context, status=400)
    if request.htmx:
        return render(request, "ranking/_preference.html", context)
    messages.success(request, saved)
    return redirect("ranking:feed_settings")


@require_POST
@login_required_htmx
def feed_reset(request: HtmxHttpRequest) -> HttpResponse:
    """Start the viewer's For You afresh (see services.recommendations_reset)."""
    services.recommendations_reset(viewer=request.user)  # type: ignore[arg-type]
    messages.success(request, RESET_DONE)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("ranking:feed_settings"))
    return redirect("ranking:feed_settings")
