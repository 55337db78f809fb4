"""Riff's URLs plus a view that reads the cache itself, for the outage middleware's tests."""

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as riff_urlpatterns


def cache_read(request: HttpRequest) -> JsonResponse:
    """What the cache holds under a key nobody writes."""
    return JsonResponse({"cached": cache.get("never-written")})


urlpatterns = [
    path("api/cache-read/", cache_read),
    path("cache-read/", cache_read),
    *riff_urlpatterns,
]
