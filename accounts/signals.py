"""Every user has a profile, however the user was made (sign-up, admin, createsuperuser)."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile, User


@receiver(post_save, sender=User, dispatch_uid="accounts.profile_for_new_user")
def profile_for_new_user(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    """Create the profile row alongside a new user."""
    if created and not kwargs.get("raw"):
        Profile.objects.get_or_create(user=instance)
