"""Moderation app config."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

MODERATORS_GROUP = "Moderators"

# What the Moderators group may do: review cases and appeals in Riff, edit the prompt policy
# in the admin, and read (never edit) the records of past decisions and the audit log.
MODERATOR_PERMISSIONS = (
    "review_case",
    *(
        f"{verb}_{model}"
        for model in ("policycategory", "policyrule", "policyexample", "protectedname")
        for verb in ("add", "change", "delete", "view")
    ),
    *(
        f"view_{model}"
        for model in (
            "case",
            "report",
            "decision",
            "appeal",
            "strike",
            "auditentry",
            "hashbankentry",
            "promptrefusal",
            "moderationsettings",
        )
    ),
)


def moderators_group_ensure(**kwargs: Any) -> None:
    """Create the Moderators group with its permissions (after every migrate; idempotent)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label="moderation", codename__in=MODERATOR_PERMISSIONS
    )
    group.permissions.add(*perms)


class ModerationConfig(AppConfig):
    """Provenance, policy, reports and review."""

    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        """Keep the Moderators group in step with the app's permissions; audit role changes."""
        from accounts.export import export_section_register

        from . import receivers, selectors

        post_migrate.connect(moderators_group_ensure, sender=self)
        export_section_register("moderation", selectors.export_of)
        receivers.connect()
