"""The viewer's own controls over For You: not interested, why am I seeing this, the feed
settings page (a preference, a reset), and their JSON twins."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.contrib.messages import get_messages
from django.template.defaultfilters import floatformat
from django.test import Client
from django.urls import reverse
from django.utils.text import capfirst

from accounts.models import User
from feed.models import Post
from feed.selectors import Feed
from feed.services import feed_serve
from ranking.controls import NOT_INTERESTED_DONE, RESET_DONE
from ranking.event_log import events_record
from ranking.intake import EventIn
from ranking.models import EngagementEvent, FeedPreference, ServedItem
from ranking.recommend import SOURCE_LABELS
from ranking.services import ranking_config_activate, ranking_config_create
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}
SETTINGS_URL = "/settings/feed/"
PREFERENCE_API = "/api/v1/feed/preference/"
RESET_API = "/api/v1/feed/reset/"


@pytest.fixture
def posts() -> list[Post]:
    """Six public clips, each by its own author (so diversity limits never bite)."""
    return [PostFactory() for _ in range(6)]


@pytest.fixture
def web(user: User) -> Client:
    """A browser session signed in as alice."""
    client = Client()
    client.force_login(user)
    return client


def _serve(viewer: User | None, size: int = 4) -> list[Post]:
    page = feed_serve(viewer=viewer, feed=Feed.FOR_YOU, cursor=None, size=size)
    return [card.post for card in page.cards]


def _explore_everything() -> None:
    config = ranking_config_create(
        values={"exploration_share": 0.5}, note="test", based_on=None, created_by=None
    )
    ranking_config_activate(config=config, by=None)


# --- routes ---------------------------------------------------------------------------


def test_routes():
    assert reverse("ranking:not_interested", args=[3]) == "/p/3/not-interested/"
    assert reverse("ranking:why", args=[3]) == "/p/3/why/"
    assert reverse("ranking:feed_settings") == SETTINGS_URL
    assert reverse("ranking:feed_reset") == "/settings/feed/reset/"
    assert reverse("api:post-why", args=[3]) == "/api/v1/posts/3/why/"
    assert reverse("api:feed-preference") == PREFERENCE_API
    assert reverse("api:feed-reset") == RESET_API
    # The feed API's feed/<name>/ still answers for the real feeds.
    assert reverse("api:feed", args=["for-you"]) == "/api/v1/feed/for-you/"


# --- the card menu --------------------------------------------------------------------


def test_every_for_you_card_has_the_menu(web, posts):
    html = web.get("/").content.decode()
    served = ServedItem.objects.filter(viewer__username="alice").values_list("post_id", flat=True)
    for pk in served:
        assert f'hx-get="/p/{pk}/why/"' in html
        assert f'hx-post="/p/{pk}/not-interested/"' in html
    assert "Not interested" in html and "Why am I seeing this?" in html


def test_signed_out_card_sends_not_interested_to_log_in(client, posts):
    html = client.get("/").content.decode()
    assert "/accounts/login/?next=/" in html
    assert "not-interested" not in html
    assert "Why am I seeing this?" in html


def test_following_cards_say_where_the_why_comes_from(web, user, posts):
    from accounts.services import follow_create

    follow_create(follower=user, followee=posts[0].owner)
    html = web.get("/following/").content.decode()
    assert f'hx-get="/p/{posts[0].pk}/why/?from=following"' in html
    panel = web.get(f"/p/{posts[0].pk}/why/?from=following", **HTMX).content.decode()
    assert "in Following because you follow" in panel


# --- not interested -------------------------------------------------------------------


def test_not_interested_htmx_records_and_confirms(web, user, posts):
    post = posts[0]
    response = web.post(f"/p/{post.pk}/not-interested/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Got it — fewer clips like this" in html
    assert f'id="clip-{post.pk}"' in html  # replaces the card in place
    assert "<video" not in html  # the clip is gone from the page
    event = EngagementEvent.objects.get()
    assert (event.viewer_id, event.post_id, event.kind) == (user.pk, post.pk, "not_interested")


def test_not_interested_without_htmx_redirects_back_with_a_message(web, posts):
    response = web.post(f"/p/{posts[0].pk}/not-interested/", HTTP_REFERER="http://testserver/")
    assert response.status_code == 302 and response["Location"] == "http://testserver/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [NOT_INTERESTED_DONE]
    assert EngagementEvent.objects.filter(kind="not_interested").count() == 1


def test_not_interested_signed_out_is_sent_to_log_in(client, posts):
    response = client.post(f"/p/{posts[0].pk}/not-interested/", **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    response = client.post(f"/p/{posts[0].pk}/not-interested/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not EngagementEvent.objects.exists()


def test_not_interested_4xx(web, other_user):
    hidden = PostFactory(owner=other_user, visibility=Post.Visibility.FOLLOWERS)
    assert web.post(f"/p/{hidden.pk}/not-interested/", **HTMX).status_code == 404
    assert web.post("/p/999999/not-interested/").status_code == 404
    assert web.get(f"/p/{hidden.pk}/not-interested/").status_code == 405
    assert not EngagementEvent.objects.exists()


def test_not_interested_removes_the_clip_from_the_next_page(web, user, posts):
    first = _serve(user)
    turned_down = first[2]
    web.post(f"/p/{turned_down.pk}/not-interested/", **HTMX)
    for _ in range(3):
        assert turned_down.pk not in {p.pk for p in _serve(user, size=6)}


def test_not_interested_through_the_events_api(user, posts):
    turned_down = _serve(user, size=6)[0]  # shown first: the API takes events about it
    response = token_client(user).post(
        "/api/v1/events/",
        {"events": [{"post": turned_down.pk, "kind": "not_interested"}]},
        format="json",
    )
    assert response.status_code == 202 and response.json()["accepted"] == 1
    assert turned_down.pk not in {p.pk for p in _serve(user, size=6)}


# --- why am I seeing this -------------------------------------------------------------


def _why_json(viewer: User, pk: int) -> dict:
    response = token_client(viewer).get(f"/api/v1/posts/{pk}/why/")
    assert response.status_code == 200
    return response.json()


def test_why_shows_the_terms_of_a_served_clip(web, user, posts):
    served_posts = _serve(user)
    post = served_posts[3]
    served = ServedItem.objects.get(viewer=user, post=post)
    terms = served.terms

    data = _why_json(user, post.pk)
    assert data["post"] == post.pk
    assert data["reasons"] and all(r.endswith(".") for r in data["reasons"])
    assert data["scored_now"] is False
    assert data["position"] == served.position + 1
    assert [s["key"] for s in data["sources"]] == terms["sources"]
    assert all(s["description"] for s in data["sources"])
    heads = {e["head"]: e for e in data["engagements"]}
    assert set(heads) == set(terms["heads"])
    for head, term in terms["heads"].items():
        assert heads[head]["probability"] == term["p"]
        assert heads[head]["weight"] == term["weight"]
        assert heads[head]["contribution"] == term["contribution"]
    for name in ("value", "age_hours", "freshness", "preference_factor", "score"):
        assert data[name] == terms[name], name
    assert data["preference_match"] == terms["preference_match"]
    features = {f["name"]: f["value"] for f in data["features"]}
    assert features and all(features[n] == terms["features"][n] for n in features)
    assert data["explored"] == served.explored
    assert data["config_version"] == served.config_version
    assert data["model_version"] == served.model_version
    assert data["computed"].startswith(served.created.isoformat()[:19])

    # The panel shows the same numbers in words.
    html = web.get(f"/p/{post.pk}/why/", **HTMX).content.decode()
    assert "<html" not in html and 'data-testid="why-panel"' in html
    assert f"at #{served.position + 1} in your feed" in html and "just now" in html
    for head, term in terms["heads"].items():
        assert f'data-head="{head}"' in html
        assert floatformat(term["contribution"], 4) in html
    assert floatformat(terms["score"], 4) in html
    assert floatformat(terms["freshness"], 3) in html
    for key in terms["sources"]:
        assert capfirst(SOURCE_LABELS[key]) in html
    assert (
        "Default ranking settings" in html or f"Ranking settings v{served.config_version}" in html
    )
    assert "Your affinity to @" in html and "How well it matches your taste" in html


def test_why_shows_an_exploration_pick_and_its_probability(web, user, posts):
    _explore_everything()
    _serve(user)
    explored = ServedItem.objects.filter(viewer=user, explored=True).first()
    assert explored is not None
    data = _why_json(user, explored.post_id)
    assert data["explored"] is True
    assert data["propensity"] == explored.propensity
    assert data["exploration"] == explored.terms["exploration"]
    html = web.get(f"/p/{explored.post_id}/why/", **HTMX).content.decode()
    assert "exploration slot" in html and "Exploration pick" in html
    assert data["reasons"][0].startswith("It is a new clip few people have seen yet")


def test_why_full_page_without_htmx(web, user, posts):
    post = _serve(user)[0]
    response = web.get(f"/p/{post.pk}/why/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Why you're seeing this" in html
    assert post.get_absolute_url() in html


def test_why_of_a_clip_opened_directly_is_scored_now(web, user, client, api_client, posts):
    post = posts[0]
    data = _why_json(user, post.pk)
    assert data["scored_now"] is True and data["position"] is None
    assert [s["key"] for s in data["sources"]] == ["opened"]
    assert data["score"] is not None and len(data["engagements"]) == 6
    html = web.get(f"/p/{post.pk}/why/", **HTMX).content.decode()
    assert "hasn't shown you this clip" in html and "scored just now" in html
    # Signed out too: nothing was served to them, so it is scored now.
    assert client.get(f"/p/{post.pk}/why/").status_code == 200
    anonymous = api_client.get(f"/api/v1/posts/{post.pk}/why/")
    assert anonymous.status_code == 200 and anonymous.json()["scored_now"] is True


def test_why_404_for_posts_the_viewer_cannot_see(web, user, other_user, api_client):
    hidden = PostFactory(owner=other_user, visibility=Post.Visibility.FOLLOWERS)
    assert web.get(f"/p/{hidden.pk}/why/", **HTMX).status_code == 404
    assert web.get("/p/999999/why/").status_code == 404
    assert token_client(user).get(f"/api/v1/posts/{hidden.pk}/why/").status_code == 404
    response = api_client.get("/api/v1/posts/999999/why/")
    assert response.status_code == 404
    assert response.json()["detail"] == "That post doesn't exist or isn't visible to you."


# --- the feed settings page -----------------------------------------------------------


def test_settings_needs_a_signed_in_viewer(client):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(SETTINGS_URL, {"text": "more cats"}, **HTMX)["HX-Redirect"].startswith(
        "/accounts/login/"
    )
    assert client.post("/settings/feed/reset/").status_code == 302
    assert not EngagementEvent.objects.exists()


def test_settings_page_and_the_menu_link(web):
    response = web.get(SETTINGS_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your feed" in html and 'name="text"' in html and "Reset my For You" in html
    assert 'href="/settings/feed/"' in web.get("/").content.decode()  # the account menu


def test_setting_a_preference_shows_what_was_understood(web, user):
    response = web.post(SETTINGS_URL, {"text": "more nature, less memes"})
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    preference = FeedPreference.objects.get(viewer=user)
    assert (preference.more, preference.less) == (["nature"], ["memes"])
    html = web.get(SETTINGS_URL).content.decode()
    assert "What we understood" in html
    assert '<span class="chip chip-more">nature</span>' in html
    assert '<span class="chip chip-less">memes</span>' in html
    assert "more nature, less memes</textarea>" in html


def test_setting_a_preference_with_htmx_returns_the_section(web, user):
    response = web.post(SETTINGS_URL, {"text": "show me space, no cars"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="feed-pref" id="feed-preference"')
    assert "Saved." in html and 'chip-more">space<' in html and 'chip-less">cars<' in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("more " + "x" * 200, "Keep it under 200 characters (this is 205)."),
        ("!!! ...", "Say what you want more or less of"),
    ],
)
def test_preference_validation_messages(web, user, text, message):
    response = web.post(SETTINGS_URL, {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("&quot;", '"')
    assert "<html" in html
    response = web.post(SETTINGS_URL, {"text": text}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#feed-preference" and response["HX-Reswap"] == "outerHTML"
    assert message in response.content.decode().replace("&quot;", '"')
    assert not FeedPreference.objects.exists()


def test_clearing_the_preference(web, user):
    web.post(SETTINGS_URL, {"text": "more nature"})
    response = web.post(SETTINGS_URL, {"text": "more nature", "action": "clear"}, **HTMX)
    assert response.status_code == 200 and "Cleared" in response.content.decode()
    assert not FeedPreference.objects.exists()
    web.post(SETTINGS_URL, {"text": "more nature"})
    assert web.post(SETTINGS_URL, {"text": "   "}).status_code == 302  # empty text clears too
    assert not FeedPreference.objects.exists()


def test_reset_records_an_event_and_says_what_it_did(web, user):
    assert web.get("/settings/feed/reset/").status_code == 405
    response = web.post("/settings/feed/reset/", follow=True)
    assert response.status_code == 200
    assert RESET_DONE in [str(m) for m in response.context["messages"]]
    event = EngagementEvent.objects.get()
    assert (event.viewer_id, event.post_id, event.kind) == (user.pk, None, "reset")


def test_after_a_reset_a_seen_clip_can_be_served_again(web, user, posts):
    seen = posts[:4]
    events_record(viewer=user, events=[EventIn(post_id=p.pk, kind="impression") for p in seen])
    _serve(user)
    before = ServedItem.objects.filter(viewer=user, post__in=seen)
    assert before.exists() and all(item.terms["sources"] == ["again"] for item in before)
    ServedItem.objects.all().delete()

    web.post("/settings/feed/reset/")
    page = {p.pk for p in _serve(user)}
    assert page & {p.pk for p in seen}, "seen clips may come back after a reset"
    again = ServedItem.objects.filter(viewer=user, post__in=seen)
    assert again.exists() and all(item.terms["sources"] != ["again"] for item in again)


def test_a_reset_keeps_not_interested(web, user, posts):
    web.post(f"/p/{posts[0].pk}/not-interested/", **HTMX)
    web.post("/settings/feed/reset/")
    assert posts[0].pk not in {p.pk for p in _serve(user, size=6)}


# --- the JSON API ---------------------------------------------------------------------


def test_preference_api(user):
    api = token_client(user)
    assert api.get(PREFERENCE_API).json() == {"text": "", "more": [], "less": [], "updated": None}
    response = api.put(PREFERENCE_API, {"text": "more nature,  less memes"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["text"], data["more"], data["less"]) == (
        "more nature, less memes",
        ["nature"],
        ["memes"],
    )
    assert api.get(PREFERENCE_API).json()["more"] == ["nature"]
    assert api.delete(PREFERENCE_API).status_code == 204
    assert not FeedPreference.objects.exists()
    api.put(PREFERENCE_API, {"text": "more nature"}, format="json")
    assert api.put(PREFERENCE_API, {"text": ""}, format="json").json()["text"] == ""
    assert not FeedPreference.objects.exists()


def test_preference_api_validation(user):
    api = token_client(user)
    response = api.put(PREFERENCE_API, {"text": "x" * 201}, format="json")
    assert response.status_code == 400
    assert response.json() == {"text": ["Keep it under 200 characters (this is 201)."]}
    response = api.put(PREFERENCE_API, {"text": "???"}, format="json")
    assert response.status_code == 400 and "Say what you want" in response.json()["text"][0]
    assert api.put(PREFERENCE_API, {}, format="json").status_code == 400
    assert not FeedPreference.objects.exists()


def test_reset_api(user):
    response = token_client(user).post(RESET_API)
    assert response.status_code == 200 and response.json() == {"detail": RESET_DONE}
    assert EngagementEvent.objects.get().kind == "reset"


def test_controls_api_needs_auth(api_client):
    assert api_client.get(PREFERENCE_API).status_code == 401
    assert api_client.put(PREFERENCE_API, {"text": "more cats"}, format="json").status_code == 401
    assert api_client.delete(PREFERENCE_API).status_code == 401
    assert api_client.post(RESET_API).status_code == 401
    assert not EngagementEvent.objects.exists()


def test_preference_api_is_per_viewer(user):
    bob = UserFactory(username="bobby")
    token_client(user).put(PREFERENCE_API, {"text": "more nature"}, format="json")
    assert token_client(bob).get(PREFERENCE_API).json()["text"] == ""


def test_why_speaks_in_sentences_before_numbers():
    from datetime import datetime

    from ranking.controls import explain
    from ranking.selectors import Why

    why = Why(
        shown=datetime.now(UTC),
        position=0,
        explored=False,
        propensity=None,
        config_version=None,
        model_version=None,
        terms={
            "sources": ["following", "trending"],
            "heads": {
                "like": {"p": 0.4, "weight": 1.0, "contribution": 0.4},
                "skip": {"p": 0.5, "weight": -0.5, "contribution": -0.25},
            },
            "features": {"affinity": 0.9, "popularity": 0.01},
            "age_hours": 3.0,
            "preference_match": -0.5,
        },
    )

    reasons = explain(why, post_id=1, author="aiko").reasons

    assert reasons == [
        "We think you will like it.",
        "You often like, watch or follow @aiko's clips.",
        "You follow @aiko.",
        "It is popular right now.",
        "It is fresh: posted 3 hours before it was shown.",
        "It goes against the feed preference you wrote, so it moved down.",
    ]
