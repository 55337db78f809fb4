"""Reads for people: profiles and follow lists."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Follow, User


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
