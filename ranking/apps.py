"""Ranking app config."""

from django.apps import AppConfig


class RankingConfig(AppConfig):
    """Engagement events and the feed ranking."""

    name = "ranking"
    verbose_name = "Ranking"
