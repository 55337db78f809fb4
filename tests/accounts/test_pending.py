"""A like, follow or comment tapped signed out leads to sign-up, and is done after it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import Follow, User
from accounts.services import block_create
from feed.models import Like
from tests.factories import PostFactory, UserFactory

from .test_signup import SIGNUP, form

pytestmark = pytest.mark.django_db


def test_a_like_signed_out_leads_to_sign_up_and_is_done_after_it(client: Client):
    aiko = UserFactory(username="aiko")
    clip = PostFactory(owner=aiko)
    page = clip.get_absolute_url()
    asked = client.post(f"/p/{clip.pk}/like/", HTTP_REFERER=f"http://testserver{page}")
    assert asked.status_code == 302
    assert asked.url == f"/accounts/signup/?next={page.replace('/', '%2F')}"
    assert not Like.objects.exists()
    signed_up = client.post(f"{SIGNUP}?next={page}", {**form(), "next": page})
    assert signed_up.status_code == 302 and signed_up.url == page
    assert Like.objects.filter(user__username="dana", post=clip).exists()
    told = [str(m) for m in get_messages(signed_up.wsgi_request)]
    assert "You liked @aiko's clip." in told


def test_a_follow_signed_out_over_htmx_is_done_at_the_next_log_in(client: Client):
    aiko = UserFactory(username="aiko")
    UserFactory(username="bob")
    asked = client.post(
        "/@aiko/follow/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/@aiko/"},
    )
    assert asked.status_code == 200 and asked.headers["HX-Redirect"].startswith(
        "/accounts/signup/?next=%2F%40aiko%2F"
    )
    client.post("/accounts/login/", {"login": "bob", "password": "pass-word-123"})
    assert Follow.objects.filter(follower__username="bob", followee=aiko).exists()
    # Done once: the session forgets it.
    client.logout()
    Follow.objects.all().delete()
    client.post("/accounts/login/", {"login": "bob", "password": "pass-word-123"})
    assert not Follow.objects.exists()


def test_what_the_person_can_no_longer_do_is_not_done(client: Client):
    aiko = UserFactory(username="aiko")
    bob = UserFactory(username="bob")
    block_create(blocker=aiko, blocked=bob)
    client.post("/@aiko/follow/")
    client.post("/accounts/login/", {"login": "bob", "password": "pass-word-123"})
    assert not Follow.objects.exists()
    assert User.objects.get(username="bob").is_authenticated
