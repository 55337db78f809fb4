"""Feed app config."""

from django.apps import AppConfig


class FeedConfig(AppConfig):
    """Posts, likes, comments and the feed pages."""

    name = "feed"
    verbose_name = "Feed"

    def ready(self) -> None:
        """Fill in what the apps below ask of the feed, and hear what moderation decides."""
        from accounts.export import export_section_register
        from accounts.profile import profile_posts_register
        from core.media import media_owner_register
        from core.pending import pending_action_register
        from moderation.targets import report_kind_register

        from . import feeds, receivers, selectors, services
        from .models import Post

        feeds.feed_register(selectors.Feed.FOLLOWING, selectors.following_page)
        profile_posts_register(selectors.profile_posts)
        report_kind_register("post", selectors.post_visible)
        report_kind_register(
            "comment",
            selectors.comment_visible,
            back=lambda comment, viewer: comment.post.get_absolute_url(),
        )
        media_owner_register(
            model=Post,
            fields=("video", "poster"),
            public=selectors.anyone_may_see,
            may_open=selectors.post_media_may_open,
        )
        export_section_register("feed", selectors.export_of)
        pending_action_register("like", services.like_after_sign_in)
        pending_action_register("comment", services.comment_after_sign_in)
        receivers.connect()
