"""Every user has a profile, however the user was made (sign-up, admin, createsuperuser);
what a person asked to do while signed out is done when they sign in."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from core.pending import pending_action_run

from .models import Profile, User


@receiver(post_save, sender=User, dispatch_uid="accounts.profile_for_new_user")
def profile_for_new_user(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    """Create the profile row alongside a new user."""
    if created and not kwargs.get("raw"):
        Profile.objects.get_or_create(user=instance)


@receiver(user_logged_in, dispatch_uid="accounts.pending_action_on_sign_in")
def pending_action_on_sign_in(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Carry out the like, follow or comment this session asked for while signed out."""
    if request is not None and hasattr(request, "session"):
        pending_action_run(request, user)
