"""Ranking app config."""

from django.apps import AppConfig


class RankingConfig(AppConfig):
    """Engagement events and the feed ranking."""

    name = "ranking"
    verbose_name = "Ranking"

    def ready(self) -> None:
        """Serve For You and learn from the feed's and moderation's events (ranking/hooks.py)."""
        from . import hooks

        hooks.connect()
