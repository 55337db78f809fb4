"""Reads for people: profiles, follow lists and blocks."""

from __future__ import annotations

from typing import NamedTuple, cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from rest_framework.request import Request

from .models import Block, Follow, User


def viewer_of(request: Request | HttpRequest) -> User | None:
    """The signed-in user of a request, or None for an anonymous one."""
    return cast(User, request.user) if request.user.is_authenticated else None


def email_unconfirmed(*, user: User) -> bool:
    """Whether this instance requires a confirmed email and the person has none confirmed yet."""
    from allauth.account import app_settings
    from allauth.account.models import EmailAddress

    if app_settings.EMAIL_VERIFICATION != app_settings.EmailVerificationMethod.MANDATORY:
        return False
    return not EmailAddress.objects.filter(user=user, verified=True).exists()


def user_queryset() -> QuerySet[User]:
    """Users with their profile joined in, the base of every people read."""
    return User.objects.filter(is_active=True).select_related("profile")


def user_by_handle(*, handle: str) -> User | None:
    """The active user with this handle (case-insensitive), or None."""
    return user_queryset().filter(username__iexact=handle.lstrip("@")).first()


def is_following(*, follower: User | None, followee: User) -> bool:
    """Whether `follower` follows `followee`."""
    if follower is None or not follower.is_authenticated:
        return False
    return Follow.objects.filter(follower=follower, followee=followee).exists()


def following_ids(*, user: User | None, among: list[int]) -> set[int]:
    """Which of the user ids in `among` the user follows, in one query."""
    if user is None or not user.is_authenticated or not among:
        return set()
    return set(
        Follow.objects.filter(follower=user, followee_id__in=among).values_list(
            "followee_id", flat=True
        )
    )


def followers_of(*, user: User) -> QuerySet[User]:
    """People who follow `user`, newest first."""
    return user_queryset().filter(following_set__followee=user).order_by("-following_set__created")


def followed_by(*, user: User) -> QuerySet[User]:
    """People `user` follows, newest first."""
    return user_queryset().filter(follower_set__follower=user).order_by("-follower_set__created")


class BlockState(NamedTuple):
    """Blocks between a user and someone else, each way."""

    blocking: bool  # the user blocked the other
    blocked_by: bool  # the other blocked the user

    @property
    def any(self) -> bool:
        """Either has blocked the other."""
        return self.blocking or self.blocked_by


def block_state(*, user: User | AnonymousUser | None, other: User) -> BlockState:
    """Whether `user` blocked `other` and whether `other` blocked `user`, in one query."""
    if user is None or not user.is_authenticated or user.pk == other.pk:
        return BlockState(blocking=False, blocked_by=False)
    blockers = set(
        Block.objects.filter(
            Q(blocker_id=user.pk, blocked=other) | Q(blocker=other, blocked_id=user.pk)
        ).values_list("blocker_id", flat=True)
    )
    return BlockState(blocking=user.pk in blockers, blocked_by=other.pk in blockers)
