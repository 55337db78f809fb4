"""Plumbing shared by the apps' pages: htmx-aware log-in, readable 400s, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


def login_required_htmx(view: View) -> View:
    """Like login_required, but htmx requests get an HX-Redirect to the login page."""

    @wraps(view)
    def wrapped(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            # After signing in, come back to the page the fragment was on, not the fragment.
            back = request.htmx.current_url_abs_path or "/"
            login = reverse(settings.LOGIN_URL)
            return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
        return redirect_to_login(request.get_full_path())

    return wrapped


def bad_request(request: HtmxHttpRequest, message: str) -> HttpResponse:
    """A 400 that says what was wrong: a bare message for htmx, the 400 page otherwise."""
    if request.htmx:
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    return render(request, "400.html", {"message": message}, status=400)


def redirect_back(request: HtmxHttpRequest, fallback: str) -> HttpResponseRedirect:
    """Redirect to ?next= or the referring page when it is ours, else to `fallback`."""
    for candidate in (request.POST.get("next"), request.headers.get("Referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(candidate)
    return HttpResponseRedirect(fallback)


def client_address(request: HttpRequest) -> str:
    """The client's address: the connection's own, or behind TRUSTED_PROXY_COUNT proxies of
    ours, the address the outermost of them saw (counted from the right of X-Forwarded-For).

    What a client writes into X-Forwarded-For itself sits further left and is never read, so a
    forged header can't move a caller out of its limits. DRF's NUM_PROXIES and allauth's
    ALLAUTH_TRUSTED_PROXY_COUNT are set from the same setting and read the header the same way.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            return forwarded[-min(count, len(forwarded))]
    return str(request.META.get("REMOTE_ADDR") or "")
