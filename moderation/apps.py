"""Moderation app config."""

from django.apps import AppConfig


class ModerationConfig(AppConfig):
    """Provenance, policy, reports and review."""

    name = "moderation"
    verbose_name = "Moderation"
