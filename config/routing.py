"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from django.urls import URLPattern

# Apps add their consumers here (generation progress streams over a socket).
websocket_urlpatterns: list[URLPattern] = []
