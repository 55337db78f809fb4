"""Notification, search and Discover pages and API."""

from django.urls import path

from . import api, message_views, push_api, push_views, settings_api, views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("sw.js", push_views.service_worker, name="service_worker"),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.digest_unsubscribe,
        name="digest_unsubscribe",
    ),
    path("search/", views.search, name="search"),
    path("discover/", views.discover, name="discover"),
    path("p/<int:pk>/like-this/", views.clips_like, name="clips_like"),
    path("p/<int:pk>/send/", message_views.share, name="share"),
    path("messages/", message_views.inbox, name="messages"),
    path("messages/requests/", message_views.requests, name="message_requests"),
    path("messages/@<str:handle>/", message_views.conversation, name="conversation"),
    path(
        "messages/@<str:handle>/since/",
        message_views.conversation_since,
        name="conversation_since",
    ),
    path(
        "messages/@<str:handle>/<str:answer>/",
        message_views.conversation_answer,
        name="conversation_answer",
    ),
]

api_urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/unread/", api.UnreadApi.as_view(), name="notification-unread"),
    path("notifications/read/", api.MarkReadApi.as_view(), name="notification-read"),
    path(
        "notifications/settings/",
        settings_api.SettingsApi.as_view(),
        name="notification-settings",
    ),
    path("push/key/", push_api.PushKeyApi.as_view(), name="push-key"),
    path(
        "push/subscriptions/",
        push_api.PushSubscriptionsApi.as_view(),
        name="push-subscriptions",
    ),
    path("search/", api.SearchApi.as_view(), name="search"),
    path("discover/", api.DiscoverApi.as_view(), name="discover"),
    path("posts/<int:pk>/like-this/", api.ClipsLikeApi.as_view(), name="post-like-this"),
    path("conversations/", api.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/<str:handle>/messages/",
        api.ConversationMessagesApi.as_view(),
        name="conversation-messages",
    ),
    path(
        "conversations/<str:handle>/answer/",
        api.ConversationAnswerApi.as_view(),
        name="conversation-answer",
    ),
]
