"""Notification pages and API."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
]

api_urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/unread/", api.UnreadApi.as_view(), name="notification-unread"),
    path("notifications/read/", api.MarkReadApi.as_view(), name="notification-read"),
    path("notifications/settings/", api.SettingsApi.as_view(), name="notification-settings"),
]
