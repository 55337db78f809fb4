"""Writes for people: profiles, follows, invites."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F

from .models import Follow, InviteCode, Profile, User


def profile_ensure(*, user: User) -> Profile:
    """Return the user's profile, creating it if the user has none yet."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    avatar: File | None = None,
) -> Profile:
    """Change what a person shows about themselves."""
    profile = Profile.objects.select_for_update().get(user=user)
    fields: list[str] = []
    if display_name is not None:
        profile.display_name = display_name.strip()
        fields.append("display_name")
    if bio is not None:
        profile.bio = bio.strip()
        fields.append("bio")
    if avatar is not None:
        profile.avatar.save(avatar.name or "avatar.jpg", avatar, save=False)
        fields.append("avatar")
    profile.full_clean()
    if fields:
        profile.save(update_fields=fields)
    return profile


def follow_create(*, follower: User, followee: User) -> bool:
    """Follow someone; returns False when already following."""
    if follower.pk == followee.pk:
        raise ValidationError("You can't follow yourself.")
    try:
        with transaction.atomic():
            Follow.objects.create(follower=follower, followee=followee)
            Profile.objects.filter(user=follower).update(following_count=F("following_count") + 1)
            Profile.objects.filter(user=followee).update(follower_count=F("follower_count") + 1)
    except IntegrityError:
        return False
    return True


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> bool:
    """Stop following someone; returns False when not following."""
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if not deleted:
        return False
    Profile.objects.filter(user=follower).update(following_count=F("following_count") - 1)
    Profile.objects.filter(user=followee).update(follower_count=F("follower_count") - 1)
    return True


def invite_check(*, code: str) -> InviteCode:
    """The usable invite with this code, or a ValidationError saying why not."""
    invite = InviteCode.objects.filter(code=code.strip()).first()
    if invite is None:
        raise ValidationError("That invite code doesn't exist.")
    problem = invite.problem()
    if problem:
        raise ValidationError(problem)
    return invite


@transaction.atomic
def invite_redeem(*, code: str, user: User) -> InviteCode:
    """Use up one use of an invite for this new user."""
    invite = invite_check(code=code)
    invite = InviteCode.objects.select_for_update().get(pk=invite.pk)
    problem = invite.problem()  # re-checked under the lock: two sign-ups may race
    if problem:
        raise ValidationError(problem)
    invite.uses += 1
    invite.save(update_fields=["uses"])
    user.invite = invite
    user.save(update_fields=["invite"])
    return invite
