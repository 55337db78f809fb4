"""Notification pages (the list, which marks them read, which kinds a person gets, the
email digest's unsubscribe link), search, Discover and a clip's look-alikes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from core.web import HtmxHttpRequest, login_required_htmx, refusal
from feed.views.common import visible_post_or_404

from . import digest, selectors, services
from . import search as finding
from .models import Notification, NotificationSettings

Digest = NotificationSettings.Digest


@require_GET
@login_required_htmx
def notifications(request: HtmxHttpRequest) -> HttpResponse:
    """A person's notifications, grouped, newest first; opening the page reads them."""
    user: User = request.user  # type: ignore[assignment]
    groups = selectors.notification_groups(user=user)
    services.notifications_mark_read(user=user)
    return render(
        request,
        "social/notifications.html",
        {
            "groups": groups,
            "unread_notifications": 0,
            "count": sum(len(group.ids) for group in groups),
            "limit": selectors.LIST_LIMIT,
            "keep_days": settings.NOTIFICATIONS_KEEP_DAYS,
        },
    )


class SettingsForm(forms.Form):
    """One checkbox per kind: ticked, the person gets it; and how often the email digest
    comes (left out: unchanged), which needs a confirmed address to turn on."""

    kinds = forms.MultipleChoiceField(
        choices=Notification.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Tell me about",
    )
    digest = forms.ChoiceField(
        choices=Digest.choices,
        required=False,
        widget=forms.RadioSelect,
        label="Email digest",
    )

    def __init__(self, *args: Any, email_confirmed: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email_confirmed = email_confirmed

    def clean_digest(self) -> str:
        """Refuse turning the digest on without a confirmed address."""
        wanted = self.cleaned_data.get("digest") or ""
        if wanted not in ("", Digest.OFF) and not self.email_confirmed:
            raise forms.ValidationError(digest.NOT_CONFIRMED)
        return wanted


@require_http_methods(["GET", "POST"])
@login_required_htmx
def notification_settings(request: HtmxHttpRequest) -> HttpResponse:
    """Turn kinds of notification on or off, and choose how often the email digest comes."""
    user: User = request.user  # type: ignore[assignment]
    every = [kind.value for kind in Notification.Kind]
    confirmed = digest.email_confirmed(user=user)
    if request.method == "POST":
        form = SettingsForm(request.POST, email_confirmed=confirmed)
        if not form.is_valid():
            context = {"form": form, "email_confirmed": confirmed}
            return render(request, "social/settings.html", context, status=400)
        wanted = set(form.cleaned_data["kinds"])
        services.notification_settings_set(
            user=user,
            off=[k for k in every if k not in wanted],
            digest=form.cleaned_data["digest"] or None,
        )
        messages.success(request, "Notification settings saved.")
        return redirect("social:notification_settings")
    off = set(selectors.kinds_off(user=user))
    initial = {"kinds": [k for k in every if k not in off], "digest": digest.digest_of(user=user)}
    form = SettingsForm(initial=initial, email_confirmed=confirmed)
    return render(request, "social/settings.html", {"form": form, "email_confirmed": confirmed})


BAD_UNSUBSCRIBE = (
    "This unsubscribe link doesn't work: it may have been cut short or changed. Open the "
    "whole link from the email, or turn the digest off in your notification settings."
)


@csrf_exempt  # the signed token is the proof, and mail clients post without a CSRF token
@require_http_methods(["GET", "POST"])
def digest_unsubscribe(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The link in every digest, no sign-in needed: opening it (GET) or a mail client's
    one-click POST (RFC 8058) turns the digest off; POST `resubscribe=1` turns it back on."""
    person = digest.unsubscribe_user(token=token)
    if person is None:
        return refusal(request, BAD_UNSUBSCRIBE)
    if request.method == "POST" and request.POST.get("resubscribe"):
        if not digest.email_confirmed(user=person):
            return refusal(request, digest.NOT_CONFIRMED)
        how_often = request.POST.get("digest")
        how_often = how_often if how_often in (Digest.DAILY, Digest.WEEKLY) else Digest.DAILY
        digest.digest_set(user_id=person.pk, digest=how_often)
        context = {"token": token, "on": Digest(how_often).label}
        return render(request, "social/digest_unsubscribe.html", context)
    before = digest.digest_set(user_id=person.pk, digest=Digest.OFF)
    if request.method == "POST":
        return HttpResponse(
            "You won't get the Riff digest any more.\n", content_type="text/plain; charset=utf-8"
        )
    again = before if before != Digest.OFF else Digest.DAILY
    context = {"token": token, "again": again, "again_label": Digest(again).label}
    return render(request, "social/digest_unsubscribe.html", context)


@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    """Search people, clips and tags (?q=)."""
    viewer = request.user if request.user.is_authenticated else None
    results = finding.search(viewer=viewer, query=request.GET.get("q", ""))
    return render(request, "social/search.html", {"results": results, "max": finding.QUERY_MAX})


@require_GET
def discover(request: HtmxHttpRequest) -> HttpResponse:
    """Lively tags and clips, with the search box on top."""
    viewer = request.user if request.user.is_authenticated else None
    page = finding.discover(viewer=viewer)
    return render(request, "social/discover.html", {"discover": page, "max": finding.QUERY_MAX})


@require_GET
def clips_like(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Clips whose prompts are near this clip's."""
    viewer = request.user if request.user.is_authenticated else None
    post = visible_post_or_404(request, pk)
    clips = finding.clips_like(viewer=viewer, post=post)
    return render(request, "social/clips_like.html", {"post": post, "clips": clips})
