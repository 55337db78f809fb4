"""Accounts app config."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: users, profiles, follows and invites."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        """Connect the signal that gives every user a profile."""
        from . import signals  # noqa: F401
