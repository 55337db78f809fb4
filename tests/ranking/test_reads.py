"""Reads that do not write: a For You page and "why am I seeing this?" leave the learner and
the serving log as they were; serving a page is what logs it and moves the learner."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from feed.models import Post
from feed.selectors import live_posts
from ranking.event_log import events_record
from ranking.intake import EventIn
from ranking.learner import Event, ItemInfo, Learner, state_equal
from ranking.live import live
from ranking.models import ServedItem
from ranking.preview import Policy, policy_scores
from ranking.scoring import weigh
from ranking.selectors import for_you_page, why_shown
from ranking.services import for_you_serve
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def _base() -> object:
    return live_posts().filter(visibility=Post.Visibility.PUBLIC, standing=Post.Standing.OK)


@pytest.fixture
def known(user: User) -> list[Post]:
    """Six clips the live learner has learnt about from alice's impressions and a like."""
    posts = [PostFactory() for _ in range(6)]
    events_record(viewer=user, events=[EventIn(post_id=p.pk, kind="impression") for p in posts])
    events_record(viewer=user, events=[EventIn(post_id=posts[0].pk, kind="like")])
    live.sync()
    return posts


def test_a_page_read_writes_nothing_and_leaves_the_learner(user: User, known: list[Post]):
    new = PostFactory()  # posted since: the learner holds no row for it
    learner = live.sync()
    before, applied = copy.deepcopy(learner.state_dict()), live.applied

    page = for_you_page(
        viewer=user,
        base=_base(),
        cursor=None,
        size=10,
        learner=learner,
        rng=np.random.default_rng(1),
    )

    assert ServedItem.objects.count() == 0
    assert state_equal(before, learner.state_dict()) and live.applied == applied
    assert not learner.has_item(str(new.pk)) and str(new.pk) in page.item_infos
    assert new.pk in [post.pk for post in page.items]
    assert len(page.terms) == len(page.served) == len(page.items)
    assert all("features" in terms and "heads" in terms for terms in page.terms)


def test_serving_a_page_logs_it_and_tells_the_learner_of_new_clips(user: User, known: list[Post]):
    new = PostFactory()
    page = for_you_serve(viewer=user, base=_base(), cursor=None, size=10)

    rows = list(ServedItem.objects.order_by("position"))
    assert [row.post_id for row in rows] == [post.pk for post in page.items]
    assert [row.position for row in rows] == list(range(len(rows)))
    assert all(row.model_version == live.model_version for row in rows)
    assert rows[0].terms == page.terms[0]
    # Told of it, the updater records the new clip at its next tick (not the request).
    assert not live.learner.has_item(str(new.pk))
    live.sync_now()
    assert live.learner.has_item(str(new.pk))


def test_a_page_asks_nothing_more_of_a_clip_new_to_the_learner(user: User, known: list[Post]):
    """A clip the learner holds no row for is scored from its candidate row (creator, time):
    the page reads no infos of its own; told of it, the updater reads its prompt."""
    new = PostFactory()
    learner = live.sync()
    with CaptureQueriesContext(connection) as ctx:
        page = for_you_serve(viewer=user, base=_base(), cursor=None, size=10)
    assert not any("prompt_embedding" in query["sql"] for query in ctx.captured_queries)
    info = page.item_infos[str(new.pk)]
    assert info.author == str(new.owner_id) and info.embedding is None
    assert info.created == pytest.approx(new.created.timestamp())
    live.sync_now()
    assert learner.has_item(str(new.pk))
    embedding, has_embedding = learner.item_embeddings([str(new.pk)])
    assert has_embedding[0] and embedding[0].any()


def test_a_page_read_scores_new_clips_as_serving_will(user: User, known: list[Post]):
    """The scores a read gives clips from their rows equal those of a learner told of them."""
    PostFactory()
    learner = live.sync()
    rng = np.random.default_rng(7)
    read = for_you_page(viewer=user, base=_base(), cursor=None, size=10, learner=learner, rng=rng)
    told = copy.deepcopy(learner)
    for item, info in read.item_infos.items():
        told.set_item_info(item, info)
    items = [str(c.pk) for c in read.served]
    heads = learner.score(str(user.pk), items, 1e9, extra=read.item_infos)
    expected = told.score(str(user.pk), items, 1e9)
    assert all(np.array_equal(heads[head], expected[head]) for head in heads)
    assert learner.explain(str(user.pk), items, 1e9, extra=read.item_infos) == told.explain(
        str(user.pk), items, 1e9
    )


def test_explaining_leaves_the_learner(user: User, known: list[Post]):
    new = PostFactory()
    events_record(viewer=user, events=[EventIn(post_id=known[1].pk, kind="like")])
    learner = live.learner
    before, applied = copy.deepcopy(learner.state_dict()), live.applied

    why = why_shown(viewer=user, post_id=new.pk)

    assert why.position is None and why.terms["sources"] == ["opened"]
    assert why.terms["features"] and why.terms["heads"]
    assert live.learner is learner and live.applied == applied  # no sync: the like waits
    assert state_equal(before, learner.state_dict())
    assert not learner.has_item(str(new.pk))


def test_overlay_matches_set_item_info_even_for_a_learner_without_embeddings():
    learner = Learner()
    learner.update(Event("ann", "a", "impression", ts=10.0))
    extra = {"b": ItemInfo(author="x", created=5.0, embedding=np.array([3.0, 4.0]))}
    embeddings, has = learner.item_embeddings(["a", "b", "c"], extra=extra)
    assert has.tolist() == [False, True, False]
    assert np.allclose(embeddings[1], [0.6, 0.8], atol=1e-3)  # kept in float16
    told = copy.deepcopy(learner)
    told.set_item_info("b", extra["b"])
    scores = learner.score("ann", ["a", "b"], 20.0, extra=extra)
    assert all(np.array_equal(v, told.score("ann", ["a", "b"], 20.0)[h]) for h, v in scores.items())
    assert learner.items == ["a"]


def test_the_preview_scores_as_for_you_does():
    """One scoring path: a disliked old clip sinks further, in the preview as in the feed."""
    policy = Policy(
        name="p",
        weights={"like": 1.0, "negative": -5.0},
        half_life_hours=1.0,
        exploration_share=0.0,
        max_per_author=2,
        remix_gap=0,
    )
    predictions = np.zeros((2, 6))
    predictions[:, 0] = [0.5, 0.1]
    predictions[:, 5] = [0.0, 0.1]
    ages = np.array([3600.0, 3600.0])
    scores = policy_scores(policy, predictions, ages)
    heads = {"like": predictions[:, 0], "negative": predictions[:, 5]}
    heads.update({h: np.zeros(2) for h in ("complete", "share", "comment", "skip")})
    live_scores = weigh(heads, ages, weights=policy.weights, half_life_hours=1.0).scores
    assert np.array_equal(scores, live_scores)
    assert scores[0] == pytest.approx(0.25) and scores[1] == pytest.approx(-0.8)


def test_trending_answers_as_worked_out_afresh_whenever_popularity_changes():
    """The answer is kept between changes of popularity (all of it decays alike, so the
    order holds), and never outlives one."""
    learner = Learner()
    t = 1_700_000_000.0
    for n in range(30):
        learner.update(Event("ann", f"c{n}", "impression", ts=t + n))
        for _ in range(n % 5):
            learner.update(Event(f"v{n}", f"c{n}", "share", ts=t + n))

    def afresh(now: float) -> list[str]:
        copy_ = Learner.from_bytes(learner.to_bytes())  # no answer kept
        return copy_.trending_items(10, now)

    first = learner.trending_items(10, t + 60)
    assert first == afresh(t + 60)
    assert learner.trending_items(10, t + 86_400) == first == afresh(t + 86_400)
    # A like of a clip outside the top lifts it in.
    outside = next(f"c{n}" for n in range(30) if f"c{n}" not in first)
    for k in range(6):
        learner.update(Event(f"w{k}", outside, "like", ts=t + 100 + k))
    again = learner.trending_items(10, t + 120)
    assert outside in again and again == afresh(t + 120)
    # So does starting the counters afresh (a retrain's next pass).
    learner._reset_stats()
    assert learner.trending_items(10, t + 120) == afresh(t + 120) == []
