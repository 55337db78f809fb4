"""Accounts app config."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: users, profiles, follows and invites."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        """Connect the signal that gives every user a profile; say who may see avatars."""
        from core.media import media_owner_register

        from . import signals  # noqa: F401
        from .models import Profile

        # Avatars show wherever a person's name does, signed in or not.
        media_owner_register(
            model=Profile,
            fields=("avatar",),
            public=lambda profile: True,
            may_open=lambda profile, viewer: True,
        )
