"""Follows keep their counters true; invites are checked and used up under a lock."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Follow, InviteCode, Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def counts(user):
    profile = Profile.objects.get(user=user)
    return profile.follower_count, profile.following_count


def test_every_user_gets_a_profile():
    person = UserFactory(username="carol")
    assert Profile.objects.filter(user=person).exists()


def test_follow_and_unfollow_keep_counters_true(user, other_user):
    assert services.follow_create(follower=user, followee=other_user) is True
    assert services.follow_create(follower=user, followee=other_user) is False
    assert counts(user) == (0, 1)
    assert counts(other_user) == (1, 0)
    assert Follow.objects.count() == 1

    assert services.follow_delete(follower=user, followee=other_user) is True
    assert services.follow_delete(follower=user, followee=other_user) is False
    assert counts(user) == (0, 0)
    assert counts(other_user) == (0, 0)


def test_cannot_follow_yourself(user):
    with pytest.raises(ValidationError, match="can't follow yourself"):
        services.follow_create(follower=user, followee=user)
    assert Follow.objects.count() == 0


def test_profile_update_strips_and_validates(user):
    profile = services.profile_update(user=user, display_name="  Alice A.  ", bio=" hi ")
    assert (profile.display_name, profile.bio) == ("Alice A.", "hi")
    with pytest.raises(ValidationError):
        services.profile_update(user=user, display_name="x" * 51)
    assert Profile.objects.get(user=user).display_name == "Alice A."


def test_invite_is_used_up(user, other_user):
    invite = InviteCode.objects.create(code="hello-riff", max_uses=1)
    services.invite_redeem(code="hello-riff", user=user)
    invite.refresh_from_db()
    assert invite.uses == 1
    user.refresh_from_db()
    assert user.invite == invite
    with pytest.raises(ValidationError, match="used up"):
        services.invite_redeem(code="hello-riff", user=other_user)


def test_expired_and_unknown_invites_are_refused():
    InviteCode.objects.create(code="old", expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ValidationError, match="expired"):
        services.invite_check(code="old")
    with pytest.raises(ValidationError, match="doesn't exist"):
        services.invite_check(code="nope")
