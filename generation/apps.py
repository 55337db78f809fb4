"""Generation app config."""

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    """Generation jobs and video encoding."""

    name = "generation"
    verbose_name = "Generation"
