"""Top-level URL map: pages, the API, accounts, admin, health and media."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import urls as accounts_urls
from core import health, media
from core.web import refusal
from feed import urls as feed_urls
from generation import urls as generation_urls
from moderation import urls as moderation_urls
from ranking import urls as ranking_urls
from social import urls as social_urls

api_v1 = [
    *accounts_urls.api_urlpatterns,
    # Before feed's: its feed/<feed>/ would otherwise take feed/preference/ and feed/reset/.
    *ranking_urls.api_urlpatterns,
    *feed_urls.api_urlpatterns,
    *generation_urls.api_urlpatterns,
    *moderation_urls.api_urlpatterns,
    *social_urls.api_urlpatterns,
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", include((accounts_urls.urlpatterns, "accounts"), namespace="accounts")),
    path("", include((feed_urls.urlpatterns, "feed"), namespace="feed")),
    path("", include((moderation_urls.urlpatterns, "moderation"), namespace="moderation")),
    path("", include((ranking_urls.urlpatterns, "ranking"), namespace="ranking")),
    path("", include((social_urls.urlpatterns, "social"), namespace="social")),
    path("create/", include((generation_urls.urlpatterns, "generation"), namespace="generation")),
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(re_path(rf"^{media_prefix}(?P<path>.+)$", media.serve_media, name="media"))


def handler429(request: HttpRequest) -> HttpResponse:
    """allauth's answer when a sign-in, sign-up or password reset limit is reached."""
    message = "Too many attempts from here in a short time. Wait a minute and try again."
    return refusal(request, message, status=429, retry_after=60)
