"""Plumbing shared by the apps' pages: htmx-aware log-in, readable 400s, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from core.pending import pending_action_remember

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


def signup_remembering(name: str, **args_of: str) -> Callable[[View], View]:
    """For a signed-out person, remember the view's action (`name`, with each of `args_of`
    taken from the URL's keyword of that name) and send them to sign up, coming back to the
    page they were on; it is carried out once they sign in (core/pending.py). Signed in,
    the view runs."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated:
                return view(request, *args, **kwargs)
            pending_action_remember(
                request, name, **{arg: kwargs[key] for arg, key in args_of.items()}
            )
            back = (request.htmx.current_url_abs_path if request.htmx else None) or _referer_path(
                request
            )
            signup = f"{reverse('account_signup')}?{urlencode({'next': back or '/'})}"
            if request.htmx:
                return HttpResponseClientRedirect(signup)
            return HttpResponseRedirect(signup)

        return wrapped

    return decorate


def _referer_path(request: HttpRequest) -> str | None:
    """The path of the referring page when it is ours."""
    referer = request.headers.get("Referer")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return None


def bad_request(request: HtmxHttpRequest, message: str) -> HttpResponse:
    """A 400 that says what was wrong: a bare message for htmx, the 400 page otherwise."""
    return refusal(request, message)


def refusal(
    request: HttpRequest, message: str, *, status: int = 400, retry_after: int | None = None
) -> HttpResponse:
    """A refusal that says why, in the language of what was asked for: JSON on the API, a
    bare message for htmx (the page shows it as a toast), else the site's page for `status`
    (templates/<status>.html). With `retry_after`, a Retry-After header says when to retry."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=status)
    elif getattr(request, "htmx", False):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    else:
        response = render(request, f"{status}.html", {"message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def redirect_back(request: HtmxHttpRequest, fallback: str) -> HttpResponseRedirect:
    """Redirect to ?next= or the referring page when it is ours, else to `fallback`."""
    for candidate in (request.POST.get("next"), request.headers.get("Referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(candidate)
    return HttpResponseRedirect(fallback)


def client_address(request: HttpRequest) -> str:
    """The client's address, as every limit by address reads it: REMOTE_ADDR.

    Behind TRUSTED_PROXY_COUNT proxies of ours, core.proxy.TrustedProxyMiddleware has already
    put the address they vouch for there (the N-th from the right of X-Forwarded-For); the
    header is read nowhere else, so a forged one can't move a caller out of its limits, and
    DRF (NUM_PROXIES = 0), allauth (ALLAUTH_TRUSTED_PROXY_COUNT = 0) and the sign-in lockout
    (which calls this) all key on the same address.
    """
    return str(request.META.get("REMOTE_ADDR") or "")


def site_url(path: str) -> str:
    """A path of this instance as a full address (SITE_URL), for emails and notices."""
    return settings.SITE_URL.rstrip("/") + path
