"""Writes for people: profiles, follows, blocks, invites."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F

from . import events, selectors
from .models import Block, Follow, InviteCode, Profile, User


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
    replaced = (profile.avatar.name or "") if avatar is not None else ""
    if avatar is not None:
        profile.avatar.save(avatar.name or "avatar.jpg", avatar, save=False)
        fields.append("avatar")
    try:
        profile.full_clean()
        if fields:
            profile.save(update_fields=fields)
    except Exception:
        if avatar is not None:  # nothing half-written: the new file goes with the change
            profile.avatar.storage.delete(profile.avatar.name or "")
        raise
    if replaced:  # the old picture must not stay reachable once replaced
        storage = profile.avatar.storage
        transaction.on_commit(lambda: storage.delete(replaced))
    return profile


def _lock_pair(a: User, b: User) -> None:
    """Lock both people's profiles, lowest id first, inside the caller's transaction.

    Following and blocking between the same two people then run one after the other, so a
    follow racing a block can't slip in after the block removed the follows.
    """
    list(
        Profile.objects.select_for_update()
        .filter(user_id__in=[a.pk, b.pk])
        .order_by("user_id")
        .values_list("pk", flat=True)
    )


def _follow_refusal(*, follower: User, followee: User) -> str | None:
    """Why `follower` may not follow `followee` because of a block, or None."""
    state = selectors.block_state(user=follower, other=followee)
    if state.blocking:
        return f"You blocked @{followee.username}; unblock them to follow them."
    if state.blocked_by:
        return f"You can't follow @{followee.username}: they blocked you."
    return None


def follow_create(*, follower: User, followee: User) -> bool:
    """Follow someone; returns False when already following.

    Raises ValidationError for yourself, PermissionDenied when either has blocked the other.
    """
    if follower.pk == followee.pk:
        raise ValidationError("You can't follow yourself.")
    try:
        with transaction.atomic():
            _lock_pair(follower, followee)
            refusal = _follow_refusal(follower=follower, followee=followee)
            if refusal:
                raise PermissionDenied(refusal)
            Follow.objects.create(follower=follower, followee=followee)
            Profile.objects.filter(user=follower).update(following_count=F("following_count") + 1)
            Profile.objects.filter(user=followee).update(follower_count=F("follower_count") + 1)
            events.followed.emit(follower=follower, followee=followee)
    except IntegrityError:
        return False
    return True


def follow_after_sign_in(user: User, *, handle: str) -> str | None:
    """The follow someone asked for signed out (core/pending.py); what to tell them."""
    followee = User.objects.filter(username=handle, is_active=True).first()
    if followee is None or followee.pk == user.pk:
        return None
    try:
        follow_create(follower=user, followee=followee)
    except PermissionDenied:
        return None
    return f"You follow @{followee.username} now."


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> bool:
    """Stop following someone; returns False when not following."""
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if not deleted:
        return False
    Profile.objects.filter(user=follower).update(following_count=F("following_count") - 1)
    Profile.objects.filter(user=followee).update(follower_count=F("follower_count") - 1)
    return True


@transaction.atomic
def block_create(*, blocker: User, blocked: User) -> bool:
    """Block someone and end follows both ways; returns False when already blocked."""
    if blocker.pk == blocked.pk:
        raise ValidationError("You can't block yourself.")
    _lock_pair(blocker, blocked)
    _, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    follow_delete(follower=blocker, followee=blocked)
    follow_delete(follower=blocked, followee=blocker)
    return created


@transaction.atomic
def block_delete(*, blocker: User, blocked: User) -> bool:
    """Unblock someone (follows are not restored); returns False when not blocked."""
    deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    return bool(deleted)


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


def user_roles(*, user: User) -> dict[str, Any]:
    """Who this person is allowed to be: staff, superuser, and their groups by name."""
    fresh = User.objects.get(pk=user.pk)
    return {
        "is_staff": fresh.is_staff,
        "is_superuser": fresh.is_superuser,
        "groups": sorted(fresh.groups.values_list("name", flat=True)),
    }


def user_roles_changed(*, user: User, by: User | None, before: dict[str, Any]) -> None:
    """Announce a change of roles made elsewhere (the admin's user form), if there was one."""
    after = user_roles(user=user)
    if after != before:
        events.roles_changed.emit(user=user, by=by, before=before, after=after)
