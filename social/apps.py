"""Social app config."""

from django.apps import AppConfig


class SocialConfig(AppConfig):
    """Notifications: what brings a person back. It sits at the top and listens."""

    name = "social"
    verbose_name = "Notifications"

    def ready(self) -> None:
        """Hear what the apps below did (social/receivers.py), and let messages be reported."""
        from moderation.targets import report_kind_register

        from . import messaging, receivers

        receivers.connect()
        report_kind_register(
            "message",
            messaging.message_reportable,
            context=messaging.report_context,
            back=messaging.report_back,
        )
