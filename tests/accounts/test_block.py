"""Blocking: the service and its constraint, follows refused across a block, API and page."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts import selectors, services
from accounts.models import Block, Follow, Profile, User
from tests.clients import session_client, token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def counts(user: User) -> tuple[int, int]:
    profile = Profile.objects.get(user=user)
    return profile.follower_count, profile.following_count


def api_url(handle: str, name: str = "user-block") -> str:
    return reverse(f"api:{name}", kwargs={"handle": handle})


# --- The service and the constraint.


def test_block_ends_follows_both_ways_and_keeps_counters_true(user, other_user):
    services.follow_create(follower=user, followee=other_user)
    services.follow_create(follower=other_user, followee=user)
    assert counts(user) == (1, 1)

    assert services.block_create(blocker=user, blocked=other_user) is True
    assert services.block_create(blocker=user, blocked=other_user) is False
    assert Block.objects.filter(blocker=user, blocked=other_user).count() == 1
    assert not Follow.objects.exists()
    assert counts(user) == (0, 0)
    assert counts(other_user) == (0, 0)


def test_unblock_does_not_restore_follows(user, other_user):
    services.follow_create(follower=user, followee=other_user)
    services.block_create(blocker=user, blocked=other_user)
    assert services.block_delete(blocker=user, blocked=other_user) is True
    assert services.block_delete(blocker=user, blocked=other_user) is False
    assert not Block.objects.exists()
    assert not Follow.objects.exists()
    assert services.follow_create(follower=user, followee=other_user) is True


def test_blocking_only_removes_the_pairs_follows(user, other_user):
    carol = UserFactory(username="carol")
    services.follow_create(follower=user, followee=carol)
    services.follow_create(follower=other_user, followee=carol)
    services.block_create(blocker=user, blocked=other_user)
    assert Follow.objects.count() == 2
    assert counts(carol) == (2, 0)


def test_cannot_block_yourself(user):
    with pytest.raises(ValidationError, match="can't block yourself"):
        services.block_create(blocker=user, blocked=user)
    assert not Block.objects.exists()


def test_database_refuses_a_self_block(user):
    with pytest.raises(IntegrityError, match="block_not_self"), transaction.atomic():
        Block.objects.create(blocker=user, blocked=user)


def test_database_refuses_a_second_block_of_the_same_pair(user, other_user):
    Block.objects.create(blocker=user, blocked=other_user)
    with pytest.raises(IntegrityError, match="block_unique"), transaction.atomic():
        Block.objects.create(blocker=user, blocked=other_user)
    # The other direction is a different block.
    Block.objects.create(blocker=other_user, blocked=user)


def test_deleting_a_user_deletes_their_blocks(user, other_user):
    services.block_create(blocker=user, blocked=other_user)
    other_user.delete()
    assert not Block.objects.exists()


# --- Follows refused across a block.


def test_follow_refused_when_you_blocked_them(user, other_user):
    services.block_create(blocker=user, blocked=other_user)
    with pytest.raises(PermissionDenied, match="You blocked @bob; unblock them to follow"):
        services.follow_create(follower=user, followee=other_user)
    assert not Follow.objects.exists()
    assert counts(other_user) == (0, 0)


def test_follow_refused_when_they_blocked_you(user, other_user):
    services.block_create(blocker=other_user, blocked=user)
    with pytest.raises(PermissionDenied, match="You can't follow @bob: they blocked you"):
        services.follow_create(follower=user, followee=other_user)
    assert not Follow.objects.exists()


# --- Selectors.


def test_block_state(user, other_user):
    assert not selectors.block_state(user=user, other=other_user).any
    services.block_create(blocker=user, blocked=other_user)
    assert selectors.block_state(user=user, other=other_user) == (True, False)
    assert selectors.block_state(user=other_user, other=user) == (False, True)
    assert selectors.block_state(user=None, other=user) == (False, False)


# --- The API.


def test_api_block_and_unblock(user, other_user):
    services.follow_create(follower=other_user, followee=user)
    client = token_client(user)
    first = client.post(api_url("bob"))
    assert first.status_code == 201
    assert first.json() == {"blocking": True}
    again = client.post(api_url("BOB"))
    assert again.status_code == 200
    assert again.json() == {"blocking": True}
    assert not Follow.objects.exists()

    detail = client.get(api_url("bob", "user-detail")).json()
    assert (detail["is_blocking"], detail["blocked_by"], detail["follower_count"]) == (
        True,
        False,
        0,
    )
    theirs = token_client(other_user).get(api_url("alice", "user-detail")).json()
    assert (theirs["is_blocking"], theirs["blocked_by"]) == (False, True)

    gone = client.delete(api_url("bob"))
    assert gone.status_code == 200
    assert gone.json() == {"blocking": False}
    assert client.delete(api_url("bob")).json() == {"blocking": False}
    assert not Block.objects.exists()


def test_api_cannot_block_yourself(user):
    response = token_client(user).post(api_url("alice"))
    assert response.status_code == 400
    assert response.json() == {"detail": "You can't block yourself."}


def test_api_unknown_handle_is_404(user):
    client = token_client(user)
    for method in (client.post, client.delete):
        response = method(api_url("nobody"))
        assert response.status_code == 404
        assert response.json() == {"detail": "No one on Riff has the handle @nobody."}


def test_api_block_needs_sign_in(api_client, other_user):
    assert api_client.post(api_url("bob")).status_code in (401, 403)
    assert not Block.objects.exists()


def test_api_block_with_a_session_needs_csrf(user, other_user):
    assert session_client(user, csrf=False).post(api_url("bob")).status_code == 403
    assert session_client(user, csrf=True).post(api_url("bob")).status_code == 201


@pytest.mark.parametrize(
    ("blocker", "message"),
    [
        ("alice", "You blocked @bob; unblock them to follow them."),
        ("bob", "You can't follow @bob: they blocked you."),
    ],
)
def test_api_follow_refused_across_a_block(user, other_user, blocker, message):
    people = {"alice": user, "bob": other_user}
    services.block_create(
        blocker=people[blocker], blocked=people[{"alice": "bob", "bob": "alice"}[blocker]]
    )
    response = token_client(user).post(api_url("bob", "user-follow"))
    assert response.status_code == 403
    assert response.json() == {"detail": message}
    assert not Follow.objects.exists()


def test_api_posts_hidden_across_a_block(user, other_user):
    PostFactory(owner=other_user)
    client = token_client(user)
    assert len(client.get(api_url("bob", "user-posts")).json()["results"]) == 1
    services.block_create(blocker=other_user, blocked=user)
    assert client.get(api_url("bob", "user-posts")).json()["results"] == []


# --- The profile page.


def csrf_client(user: User) -> tuple[Client, str]:
    """A browser-like client that checks CSRF, and the token its profile visit gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    html = client.get(reverse("accounts:profile", kwargs={"handle": "bob"})).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    return client, token.group(1)


def test_profile_shows_block_button_and_follow(user, other_user):
    client = Client()
    client.force_login(user)
    html = client.get(reverse("accounts:profile", kwargs={"handle": "bob"})).content.decode()
    assert reverse("accounts:block", kwargs={"handle": "bob"}) in html
    assert 'name="action" value="block"' in html
    assert "follow-btn" in html
    assert "You blocked" not in html


def test_anonymous_profile_has_no_block_button(client, other_user):
    html = client.get(reverse("accounts:profile", kwargs={"handle": "bob"})).content.decode()
    assert reverse("accounts:block", kwargs={"handle": "bob"}) not in html


def test_profile_block_with_htmx_redraws_actions(user, other_user):
    PostFactory(owner=other_user, caption="a clip by bob")
    services.follow_create(follower=user, followee=other_user)
    client, token = csrf_client(user)
    url = reverse("accounts:block", kwargs={"handle": "bob"})
    response = client.post(
        url, {"action": "block", "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "You blocked @bob" in html
    assert 'name="action" value="unblock"' in html
    assert "Unblock" in html
    assert "follow-btn" not in html  # no follow button while blocked
    assert f'id="follower-count-{other_user.pk}" class="stat-num" hx-swap-oob="true">0<' in html
    assert "a clip by bob" not in html
    assert Block.objects.filter(blocker=user, blocked=other_user).exists()
    assert not Follow.objects.exists()

    page = client.get(reverse("accounts:profile", kwargs={"handle": "bob"})).content.decode()
    assert "You blocked @bob" in page
    assert "follow-btn" not in page
    assert "a clip by bob" not in page

    response = client.post(
        url, {"action": "unblock", "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "You blocked" not in html
    assert "follow-btn" in html
    assert "a clip by bob" in html
    assert not Block.objects.exists()


def test_profile_block_without_htmx_redirects_back(user, other_user):
    client, token = csrf_client(user)
    url = reverse("accounts:block", kwargs={"handle": "bob"})
    response = client.post(url, {"csrfmiddlewaretoken": token})  # no action: toggles
    assert response.status_code == 302
    assert response["Location"] == other_user.get_absolute_url()
    assert Block.objects.filter(blocker=user, blocked=other_user).exists()
    client.post(url, {"csrfmiddlewaretoken": token})
    assert not Block.objects.exists()


def test_profile_block_needs_csrf(user, other_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("accounts:block", kwargs={"handle": "bob"}), {"action": "block"})
    assert response.status_code == 403
    assert not Block.objects.exists()


def test_profile_block_yourself_is_400(user):
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("accounts:block", kwargs={"handle": "alice"}),
        {"action": "block"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response.content.decode() == "You can't block yourself."


def test_profile_block_signed_out_goes_to_login(client, other_user):
    response = client.post(reverse("accounts:block", kwargs={"handle": "bob"}))
    assert response.status_code == 302
    assert "login" in response["Location"]
    assert not Block.objects.exists()


def test_blocked_by_them_hides_follow_and_clips(user, other_user):
    PostFactory(owner=other_user, caption="a clip by bob")
    services.block_create(blocker=other_user, blocked=user)
    client = Client()
    client.force_login(user)
    html = client.get(reverse("accounts:profile", kwargs={"handle": "bob"})).content.decode()
    assert "@bob blocked you" in html
    assert "follow-btn" not in html
    assert "a clip by bob" not in html
    assert 'name="action" value="block"' in html  # they may still block back


def test_follow_view_refused_across_a_block(user, other_user):
    services.block_create(blocker=other_user, blocked=user)
    client = Client()
    client.force_login(user)
    url = reverse("accounts:follow", kwargs={"handle": "bob"})
    response = client.post(url, {"action": "follow"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response.content.decode() == "You can't follow @bob: they blocked you."
    page = client.post(url, {"action": "follow"})
    assert page.status_code == 403
    assert "they blocked you" in page.content.decode()
    assert not Follow.objects.exists()
