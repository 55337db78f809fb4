"""Moderation fixtures: moderators (through the Moderators group), categories, reported posts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.models import User
from feed.models import Post
from moderation import services
from moderation.apps import MODERATORS_GROUP
from moderation.models import Case, Decision, PolicyCategory, Report
from tests.factories import PostFactory, UserFactory


def make_moderator(username: str) -> User:
    """A person in the Moderators group, as an admin would set one up."""
    moderator = UserFactory(username=username)
    moderator.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return User.objects.get(pk=moderator.pk)  # fresh: permission caches start empty


@pytest.fixture
def moderator(db: None) -> User:
    """A moderator."""
    return make_moderator("mod_maya")


@pytest.fixture
def second_moderator(db: None) -> User:
    """Another moderator, for appeals."""
    return make_moderator("mod_omar")


@pytest.fixture
def violence(db: None) -> PolicyCategory:
    """A policy category to cite in decisions."""
    return PolicyCategory.objects.update_or_create(
        slug="test-violence",
        defaults={
            "name": "Graphic violence",
            "description": "Riff doesn't show gore or graphic injury.",
            "severity": 3,
        },
    )[0]


@pytest.fixture
def post(user: User) -> Post:
    """A public post by alice."""
    return PostFactory(owner=user, caption="a fox in the snow")


def decide_on_report(
    post: Post,
    moderator: User,
    category: PolicyCategory,
    *,
    action: str = Decision.Action.REMOVE,
    report: bool = True,
) -> Decision:
    """Someone reports the post for violence (unless already reported); the moderator decides."""
    if report:
        services.report_create(reporter=UserFactory(), reason=Report.Reason.VIOLENCE, post=post)
    return services.decision_make(
        case=Case.objects.get(post=post, status=Case.Status.OPEN),
        moderator=moderator,
        action=action,
        category=category,
        facts="Graphic injury.",
    )
