"""Accounts app config."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: users, profiles, follows and invites."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        """Connect the signals (a profile for every user, what was asked signed out), say
        who may see avatars and how to follow someone after signing in."""
        from core.media import media_owner_register
        from core.pending import pending_action_register

        from . import signals  # noqa: F401
        from .models import Profile
        from .services import follow_after_sign_in

        pending_action_register("follow", follow_after_sign_in)

        # Avatars show wherever a person's name does, signed in or not.
        media_owner_register(
            model=Profile,
            fields=("avatar",),
            public=lambda profile: True,
            may_open=lambda profile, viewer: True,
        )
