"""Every model has a working admin: list, search, filters and the add or change page."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    boss = User.objects.create_superuser(
        username="boss", email="boss@example.com", password="pass-word-123"
    )
    client.force_login(boss)
    return client


def test_every_app_model_is_registered():
    registered = {model._meta.label for model in admin.site._registry}
    ours = {
        "accounts.User",
        "accounts.Profile",
        "accounts.Follow",
        "accounts.InviteCode",
        "feed.Post",
        "feed.Like",
        "feed.Comment",
        "feed.CommentLike",
        "feed.PostTag",
        "ranking.EngagementEvent",
        "social.Notification",
        "social.NotificationSettings",
        "social.Conversation",
        "social.Message",
    }
    assert ours <= registered


def test_changelists_search_and_filter(admin_client, user):
    post = PostFactory(owner=user)
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        url = reverse("admin:{}_{}_changelist".format(*info))
        assert admin_client.get(url).status_code == 200, url
        if model_admin.search_fields:
            assert admin_client.get(url, {"q": "alice"}).status_code == 200, url
    page = admin_client.get(reverse("admin:feed_post_change", args=[post.pk]))
    assert page.status_code == 200
    assert post.prompt in page.content.decode()


def test_engagement_log_is_read_only(admin_client, user):
    from ranking.models import EngagementEvent

    post = PostFactory(owner=user)
    event = EngagementEvent.objects.create(viewer=user, post=post, kind="view", value=2)
    assert admin_client.get(reverse("admin:ranking_engagementevent_add")).status_code == 403
    url = reverse("admin:ranking_engagementevent_change", args=[event.pk])
    admin_client.post(url, {"kind": "like", "value": 9})
    event.refresh_from_db()
    assert (event.kind, event.value) == ("view", 2)


def test_admin_makes_invite_codes_owned_by_the_admin(admin_client):
    from accounts.models import InviteCode

    url = reverse("admin:accounts_invitecode_add")
    response = admin_client.post(url, {"code": "spring", "note": "friends", "max_uses": 5})
    assert response.status_code == 302
    assert InviteCode.objects.get(code="spring").created_by.username == "boss"
