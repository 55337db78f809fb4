"""Notification pages (the list, which marks them read, and which kinds a person gets),
search, Discover and a clip's look-alikes."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from core.web import HtmxHttpRequest, login_required_htmx
from feed.views.common import visible_post_or_404

from . import search as finding
from . import selectors, services
from .models import Notification


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
    """One checkbox per kind: ticked, the person gets it."""

    kinds = forms.MultipleChoiceField(
        choices=Notification.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Tell me about",
    )


@require_http_methods(["GET", "POST"])
@login_required_htmx
def notification_settings(request: HtmxHttpRequest) -> HttpResponse:
    """Turn kinds of notification on or off."""
    user: User = request.user  # type: ignore[assignment]
    every = [kind.value for kind in Notification.Kind]
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if not form.is_valid():
            return render(request, "social/settings.html", {"form": form}, status=400)
        wanted = set(form.cleaned_data["kinds"])
        services.notification_settings_set(user=user, off=[k for k in every if k not in wanted])
        messages.success(request, "Notification settings saved.")
        return redirect("social:notification_settings")
    off = set(selectors.kinds_off(user=user))
    form = SettingsForm(initial={"kinds": [k for k in every if k not in off]})
    return render(request, "social/settings.html", {"form": form})


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
