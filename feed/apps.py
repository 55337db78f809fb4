"""Feed app config."""

from django.apps import AppConfig


class FeedConfig(AppConfig):
    """Posts, likes, comments and the feed pages."""

    name = "feed"
    verbose_name = "Feed"

    def ready(self) -> None:
        """Fill in what the apps below ask of the feed, and hear what moderation decides."""
        from accounts.profile import profile_posts_register
        from moderation.targets import report_kind_register

        from . import feeds, receivers, selectors

        feeds.feed_register(selectors.Feed.FOLLOWING, selectors.following_page)
        profile_posts_register(selectors.profile_posts)
        report_kind_register("post", selectors.post_visible)
        report_kind_register("comment", selectors.comment_visible)
        receivers.connect()
