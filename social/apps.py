"""Social app config."""

from django.apps import AppConfig


class SocialConfig(AppConfig):
    """Notifications: what brings a person back. It sits at the top and listens."""

    name = "social"
    verbose_name = "Notifications"

    def ready(self) -> None:
        """Hear what the apps below did (social/receivers.py)."""
        from . import receivers

        receivers.connect()
