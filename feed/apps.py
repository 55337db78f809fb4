"""Feed app config."""

from django.apps import AppConfig


class FeedConfig(AppConfig):
    """Posts, likes, comments and the feed pages."""

    name = "feed"
    verbose_name = "Feed"
