"""The viewer's controls over For You (pages) and the ranking API."""

from django.urls import path

from ranking import api, views

urlpatterns = [
    path("p/<int:pk>/not-interested/", views.not_interested, name="not_interested"),
    path("p/<int:pk>/why/", views.why, name="why"),
    path("settings/feed/", views.feed_settings, name="feed_settings"),
    path("settings/feed/reset/", views.feed_reset, name="feed_reset"),
]

api_urlpatterns = [
    path("events/", api.EventBatchApi.as_view(), name="events"),
    path("posts/<int:pk>/why/", api.PostWhyApi.as_view(), name="post-why"),
    path("feed/preference/", api.FeedPreferenceApi.as_view(), name="feed-preference"),
    path("feed/reset/", api.FeedResetApi.as_view(), name="feed-reset"),
]
