"""The engagement intake API."""

from django.urls import path

from ranking import api

api_urlpatterns = [
    path("events/", api.EventBatchApi.as_view(), name="events"),
]
