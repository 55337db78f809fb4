"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from django.urls import URLPattern, path

from generation.consumers import JobStatusConsumer
from social.consumers import ConversationConsumer, UnreadConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/generations/<uuid:job_id>/", JobStatusConsumer.as_asgi()),
    path("ws/notifications/", UnreadConsumer.as_asgi()),
    path("ws/messages/<int:conversation_id>/", ConversationConsumer.as_asgi()),
]
