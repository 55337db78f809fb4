"""Make someone a moderator (or stop them being one)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from moderation.apps import MODERATORS_GROUP
from moderation.services import audit_record


class Command(BaseCommand):
    """Add a person to the Moderators group with admin access to the policy, or take it away."""

    help = (
        "Make @handle a moderator: the Moderators group (review queue, appeals) and staff "
        "status so they can edit the prompt policy in the admin. --remove undoes both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """The handle, and --remove."""
        parser.add_argument("handle")
        parser.add_argument("--remove", action="store_true", help="stop being a moderator")

    def handle(self, *args: Any, **options: Any) -> None:
        """Change the group membership and staff flag, and log it."""
        handle = options["handle"].lstrip("@")
        user = User.objects.filter(username__iexact=handle).first()
        if user is None:
            raise CommandError(f"There is no account @{handle}.")
        group = Group.objects.get(name=MODERATORS_GROUP)
        if options["remove"]:
            user.groups.remove(group)
            if not user.is_superuser:
                user.is_staff = False
                user.save(update_fields=["is_staff"])
            action = "moderator:remove"
        else:
            user.groups.add(group)
            user.is_staff = True
            user.save(update_fields=["is_staff"])
            action = "moderator:add"
        audit_record(actor=None, action=action, target=f"account {user.pk}", via="manage.py")
        verb = "is no longer" if options["remove"] else "is now"
        self.stdout.write(f"@{user.username} {verb} a moderator.")
