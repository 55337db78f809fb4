"""Types hold across the API: a text field takes only text, a number field only numbers, a
page limit only a whole number, and a PATCH must change something (core/api.py)."""

from __future__ import annotations

import pytest

from moderation.models import Case
from moderation.services import report_create
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(other_user):
    return PostFactory(owner=other_user, caption="a paper boat")


@pytest.mark.parametrize(
    ("value", "kind"), [(5, "a number"), (True, "a boolean"), ({}, "an object"), ([], "a list")]
)
def test_a_comment_body_must_be_text(user, post, value, kind):
    response = token_client(user).post(
        f"/api/v1/posts/{post.pk}/comments/", {"body": value}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"body": [f"Send text here (a JSON string), not {kind}."]}
    assert post.comments.count() == 0


def test_text_fields_everywhere_refuse_numbers(user, other_user):
    client = token_client(user)
    mine = PostFactory(owner=user, caption="keep me")
    refusals = [
        client.patch(f"/api/v1/posts/{mine.pk}/", {"caption": 5}, format="json"),
        client.patch("/api/v1/me/", {"bio": 7}, format="json"),
        client.put("/api/v1/feed/preference/", {"text": 0}, format="json"),
        client.post("/api/v1/generations/", {"prompt": 42}, format="json"),
        client.post(
            "/api/v1/events/",
            {"events": [{"post": mine.pk, "kind": "impression", "client_id": 0}]},
            format="json",
        ),
        client.post("/api/v1/auth/token/", {"login": 1, "password": 2}, format="json"),
    ]
    assert [r.status_code for r in refusals] == [400] * len(refusals)
    mine.refresh_from_db()
    assert mine.caption == "keep me"


def test_text_sent_as_a_form_still_counts(user, post):
    response = token_client(user).post(f"/api/v1/posts/{post.pk}/comments/", {"body": "5"})
    assert response.status_code == 201 and response.json()["body"] == "5"


def test_number_fields_refuse_booleans(user, post):
    client = token_client(user)
    event = {"post": post.pk, "kind": "view", "value": False}
    response = client.post("/api/v1/events/", {"events": [event]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": {"0": {"value": ["Send a number here, not a boolean."]}}}
    job = client.post(
        "/api/v1/generations/", {"prompt": "a heron", "guidance": True}, format="json"
    )
    assert job.status_code == 400 and "guidance" in job.json()


@pytest.mark.parametrize("query", ["limit=", "limit=abc", "limit=0", "limit=51"])
def test_a_page_limit_must_be_a_whole_number_in_range(api_client, query):
    response = api_client.get(f"/api/v1/posts/?{query}")
    assert response.status_code == 400
    assert response.json() == {"limit": ["limit must be a whole number from 1 to 50."]}


def test_an_empty_cursor_is_the_first_page(api_client, post):
    response = api_client.get("/api/v1/posts/?cursor=")
    assert response.status_code == 200 and len(response.json()["results"]) == 1


def test_a_patch_must_change_something(user):
    client = token_client(user)
    mine = PostFactory(owner=user)
    for url in (f"/api/v1/posts/{mine.pk}/", "/api/v1/me/"):
        response = client.patch(url, {}, format="json")
        assert response.status_code == 400, url
        assert response.json()["detail"].startswith("Send at least one of: ")


def test_an_empty_form_category_is_refused_not_read_as_none(user, other_user):
    moderator = UserFactory(username="mod_mo", is_superuser=True)
    report_create(reporter=other_user, reason="spam", post=PostFactory(owner=user))
    case = Case.objects.get()
    url = f"/api/v1/moderation/cases/{case.pk}/decision/"
    form = {"action": "dismiss", "facts": "Not spam.", "category": ""}
    response = token_client(moderator).post(url, form)
    assert response.status_code == 400
    assert response.json() == {"category": ["Name a category, or leave the field out."]}
    del form["category"]
    assert token_client(moderator).post(url, form).status_code == 201
