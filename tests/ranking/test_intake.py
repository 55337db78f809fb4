"""Which engagement events count: signed-in viewers only, about clips Riff showed them and
they may see, with plausible watching, within per-viewer caps. What doesn't count changes
no score: the learner's whole state is compared bit for bit."""

from __future__ import annotations

import copy
import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.services import block_create, follow_create
from feed.models import Post
from feed.selectors import Feed
from feed.services import feed_serve
from ranking.event_log import clips_shown_record
from ranking.intake import CAPS, MAX_LOOPS, SLACK_S, WINDOW, _clips_counted, _clips_tallied
from ranking.learner import state_equal
from ranking.live import live
from ranking.models import ClipShown, EngagementEvent, ServedItem
from ranking.services import ranking_model_train
from ranking.tasks import served_items_prune
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


def learner_state() -> dict[str, Any]:
    """Everything the live learner knows once it has read the log: scores, popularity,
    counts of likes, shares and "not interested", the viewers' tastes."""
    return copy.deepcopy(live.sync().state_dict())


def send(viewer: User, *events: dict[str, Any]) -> dict[str, Any]:
    """POST the events as the viewer; the answer's body."""
    response = token_client(viewer).post(URL, {"events": list(events)}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def shown(viewer: User, post: Post, seconds_ago: float = 0.0) -> None:
    """Riff showed the post to the viewer `seconds_ago` (on its own page)."""
    clips_shown_record(viewer=viewer, post_ids=[post.pk], where=ClipShown.Where.POST)
    ClipShown.objects.filter(viewer=viewer, post=post).update(
        created=timezone.now() - timedelta(seconds=seconds_ago)
    )


def reasons(answer: dict[str, Any]) -> list[str]:
    return [refusal["reason"] for refusal in answer["refused"]]


@pytest.fixture
def post(other_user: User) -> Post:
    """A public post by bob (a real 0.5 s clip)."""
    return PostFactory(owner=other_user)


# --- what Riff showed whom ------------------------------------------------------------


def test_feed_pages_and_post_pages_note_the_clips_they_show(user, other_user):
    posts = [PostFactory(owner=other_user) for _ in range(3)]
    follow_create(follower=user, followee=other_user)

    def noted(where: str) -> set[int]:
        rows = ClipShown.objects.filter(viewer=user, where=where)
        return set(rows.values_list("post_id", flat=True))

    # For You logs its pages anyway (ServedItem): nothing more is noted.
    for_you = feed_serve(viewer=user, feed=Feed.FOR_YOU, cursor=None, size=10)
    served = ServedItem.objects.filter(viewer=user).values_list("post_id", flat=True)
    assert set(served) == {card.post.pk for card in for_you.cards} != set()
    assert not ClipShown.objects.exists()
    following = feed_serve(viewer=user, feed=Feed.FOLLOWING, cursor=None, size=2)
    assert noted("following") == {card.post.pk for card in following.cards}
    assert len(noted("following")) == 2

    web = Client()
    web.force_login(user)
    assert web.get(f"/p/{posts[0].pk}/").status_code == 200
    assert token_client(user).get(f"/api/v1/posts/{posts[1].pk}/").status_code == 200
    assert noted("post") == {posts[0].pk, posts[1].pk}

    # Signed out, or a post they may not see: nothing is noted.
    before = ClipShown.objects.count()
    hidden = PostFactory(owner=other_user, visibility="private")
    assert Client().get(f"/p/{posts[2].pk}/").status_code == 200
    feed_serve(viewer=None, feed=Feed.FOR_YOU, cursor=None, size=10)
    assert web.get(f"/p/{hidden.pk}/").status_code == 404
    assert ClipShown.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_the_post_page_notes_the_clip_under_the_asgi_server_too(user, post):
    """Under the ASGI server the middleware runs as a coroutine; it notes the same."""
    client = AsyncClient()
    client.force_login(user)
    response = async_to_sync(client.get)(f"/p/{post.pk}/")
    assert response.status_code == 200
    assert list(ClipShown.objects.values_list("viewer_id", "post_id", "where")) == [
        (user.pk, post.pk, "post")
    ]


# --- signed out -------------------------------------------------------------------------


def test_signed_out_events_change_no_score(api_client, user, post):
    shown(user, post)
    send(user, {"post": post.pk, "kind": "impression"})
    before = learner_state()

    events = [
        {"post": post.pk, "kind": kind}
        for kind in ("impression", "share", "share", "complete", "not_interested")
    ]
    response = api_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 401
    assert not EngagementEvent.objects.filter(viewer=None).exists()
    assert state_equal(before, learner_state())


def test_a_signed_out_row_an_older_version_logged_teaches_nothing(user, post):
    before = learner_state()
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    for kind in ("share", "not_interested", "report"):
        EngagementEvent.objects.create(viewer=None, post=post, kind=kind, created=a_minute_ago)
    assert state_equal(before, learner_state())
    assert ranking_model_train(activate=False).events == 0


# --- about a clip shown to them, that they may see --------------------------------------


def test_a_share_of_a_clip_never_shown_is_refused_and_changes_no_score(user, post):
    before = learner_state()
    answer = send(user, {"post": post.pk, "kind": "share"}, {"post": post.pk, "kind": "view"})
    assert answer == {
        "accepted": 0,
        "duplicate": 0,
        "refused": [
            {
                "index": 0,
                "reason": "not_shown",
                "detail": "Riff hasn't shown you that clip in the last day.",
            },
            {
                "index": 1,
                "reason": "not_shown",
                "detail": "Riff hasn't shown you that clip in the last day.",
            },
        ],
    }
    assert not EngagementEvent.objects.exists()
    assert state_equal(before, learner_state())

    # Once they opened it, their share counts, and moves the learner.
    web = Client()
    web.force_login(user)
    assert web.get(f"/p/{post.pk}/").status_code == 200
    assert send(user, {"post": post.pk, "kind": "share"})["accepted"] == 1
    assert not state_equal(before, learner_state())


def test_a_clip_shown_more_than_a_day_ago_no_longer_takes_events(user, post):
    shown(user, post, seconds_ago=25 * 3600)
    assert reasons(send(user, {"post": post.pk, "kind": "share"})) == ["not_shown"]


def test_events_about_a_clip_made_invisible_or_blocked_are_refused(user, other_user):
    blocked_me = PostFactory(owner=other_user)
    made_private = PostFactory(owner=UserFactory())
    for post in (blocked_me, made_private):
        shown(user, post)
    block_create(blocker=other_user, blocked=user)
    Post.objects.filter(pk=made_private.pk).update(visibility=Post.Visibility.PRIVATE)
    before = learner_state()

    events = [
        {"post": post.pk, "kind": kind}
        for post in (blocked_me, made_private)
        for kind in ("share", "complete", "not_interested")
    ]
    answer = send(user, *events)
    assert answer["accepted"] == 0 and reasons(answer) == ["not_visible"] * 6
    assert state_equal(before, learner_state())


# --- plausible watching -----------------------------------------------------------------


def test_watch_time_beyond_the_clip_or_the_time_since_it_was_shown_is_refused(user, post):
    assert post.duration_s == pytest.approx(0.5, abs=0.1)
    shown(user, post, seconds_ago=10)  # so 10 + SLACK_S seconds of watching at most
    before = learner_state()
    longest = post.duration_s * MAX_LOOPS
    implausible = [
        {"post": post.pk, "kind": "view", "value": 3000},  # far over the clip and the time
        {"post": post.pk, "kind": "skip", "value": 3000},
        {"post": post.pk, "kind": "view", "value": 10 + SLACK_S + 1},  # over the time since
    ]
    answer = send(user, *implausible)
    assert answer["accepted"] == 0 and reasons(answer) == ["implausible"] * 3
    assert state_equal(before, learner_state())

    # Views add up: no more seconds watched than the time since it was shown.
    views = [{"post": post.pk, "kind": "view", "value": 6} for _ in range(3)]
    answer = send(user, *views)
    assert answer["accepted"] == 2 and answer["refused"][0]["index"] == 2
    assert reasons(answer) == ["implausible"]

    # Shown an hour ago, one view still can't be longer than the clip looping MAX_LOOPS times.
    shown(user, post, seconds_ago=3600)
    answer = send(
        user,
        {"post": post.pk, "kind": "view", "value": longest + 1},
        {"post": post.pk, "kind": "view", "value": longest},
    )
    assert answer["accepted"] == 1 and reasons(answer) == ["implausible"]


def test_more_loops_than_the_time_since_it_was_shown_are_refused(user, other_user):
    long_clip = PostFactory(owner=other_user)
    Post.objects.filter(pk=long_clip.pk).update(duration_s=4.0)
    shown(user, long_clip, seconds_ago=10)  # 15 s: three loops of a 4 s clip
    answer = send(user, *[{"post": long_clip.pk, "kind": "complete"} for _ in range(4)])
    assert answer["accepted"] == 3 and reasons(answer) == ["implausible"]


# --- caps and duplicates ----------------------------------------------------------------


def test_every_kind_about_a_clip_has_a_cap():
    assert set(CAPS) == set(EngagementEvent.Kind) - {EngagementEvent.Kind.RESET}


def test_one_viewer_moves_a_clip_only_a_caps_worth(user, other_user, post):
    shown(user, post, seconds_ago=60)
    shares = [{"post": post.pk, "kind": "share", "client_id": f"s{n}"} for n in range(5)]
    answer = send(user, *shares)
    assert answer["accepted"] == CAPS["share"] == 3
    assert reasons(answer) == ["capped"] * 2

    # Later batches, and "not interested" past its one, change nothing more.
    more = [{"post": post.pk, "kind": "share", "client_id": f"t{n}"} for n in range(3)]
    more += [{"post": post.pk, "kind": "not_interested"} for _ in range(3)]
    answer = send(user, *more)
    assert answer["accepted"] == 1 and reasons(answer) == ["capped"] * 5
    assert EngagementEvent.objects.filter(kind="share").count() == 3
    assert EngagementEvent.objects.filter(kind="not_interested").count() == 1

    # Resent, the first batch adds nothing: three duplicates, and two still over the cap.
    answer = send(user, *shares)
    assert (answer["accepted"], answer["duplicate"], reasons(answer)) == (0, 3, ["capped"] * 2)
    assert EngagementEvent.objects.count() == 4

    # The caps are each viewer's own.
    carol = UserFactory(username="carol")
    shown(carol, post, seconds_ago=60)
    assert send(carol, {"post": post.pk, "kind": "share"})["accepted"] == 1


def test_capped_events_change_no_score(user, post):
    shown(user, post, seconds_ago=60)
    send(user, *[{"post": post.pk, "kind": "share"} for _ in range(CAPS["share"])])
    before = learner_state()
    answer = send(user, *[{"post": post.pk, "kind": "share"} for _ in range(10)])
    assert answer["accepted"] == 0 and reasons(answer) == ["capped"] * 10
    assert state_equal(before, learner_state())


@pytest.mark.django_db(transaction=True)
def test_racing_batches_stay_within_the_caps_and_count_each_event_once(user, post):
    """Several batches of one viewer at once are judged one at a time."""
    shown(user, post, seconds_ago=60)
    same = [{"post": post.pk, "kind": "share", "client_id": f"r{n}"} for n in range(3)]
    own = [
        [{"post": post.pk, "kind": "share", "client_id": f"o{t}{n}"} for n in range(3)]
        for t in range(4)
    ]
    batches = [same, same, *own]
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(len(batches))
    clients = [token_client(user) for _ in batches]

    def run(client: Any, batch: list[dict[str, Any]]) -> None:
        try:
            start.wait()
            answers.append(client.post(URL, {"events": batch}, format="json").json())
        finally:
            connection.close()

    pairs = zip(clients, batches, strict=True)
    threads = [threading.Thread(target=run, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = EngagementEvent.objects.filter(viewer=user, kind="share").count()
    assert stored == CAPS["share"] == sum(a["accepted"] for a in answers)
    sent = sum(len(b) for b in batches)
    assert sum(a["accepted"] + a["duplicate"] + len(a["refused"]) for a in answers) == sent


def test_a_for_you_page_shows_its_clips(user, post):
    assert [
        c.post for c in feed_serve(viewer=user, feed=Feed.FOR_YOU, cursor=None, size=4).cards
    ] == [post]
    assert send(user, {"post": post.pk, "kind": "share"})["accepted"] == 1


def test_a_batch_costs_the_same_queries_whatever_its_length(user, other_user):
    posts = [PostFactory(owner=other_user) for _ in range(6)]
    for post in posts:
        shown(user, post, seconds_ago=600)
    client = token_client(user)

    def queries(count: int) -> int:
        events = [
            {"post": posts[n % 6].pk, "kind": "view", "value": 1, "client_id": f"{count}-{n}"}
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(URL, {"events": events}, format="json")
        assert response.json()["accepted"] == count
        return len(ctx.captured_queries)

    assert queries(3) == queries(60)


def test_the_one_query_tally_knows_each_clip_as_counting_its_events_one_by_one(user, other_user):
    """The PostgreSQL query that tallies a batch's clips (`_clips_tallied`) against the
    portable count of every event (`_clips_counted`), on a log with showings on For You
    and elsewhere, events before and after each first showing and before the window,
    clips shown long ago, never shown, or shown without any event."""
    rng = random.Random(5)
    now = timezone.now()
    posts = [PostFactory(owner=other_user) for _ in range(8)]
    kinds = ["impression", "view", "skip", "complete", "replay", "share", "like", "comment"]
    for n, post in enumerate(posts[:6]):
        for _ in range(rng.randint(1, 3)):
            when = now - timedelta(seconds=rng.uniform(60, 80_000))
            if n % 2:
                ServedItem.objects.create(
                    viewer=user,
                    post=post,
                    session="s",
                    position=0,
                    source="fresh",
                    score=0.0,
                    propensity=1.0,
                    created=when,
                )
            else:
                ClipShown.objects.create(
                    viewer=user, post=post, where=ClipShown.Where.POST, created=when
                )
    shown(user, posts[6], seconds_ago=2 * 86400)  # out of the window: not shown now
    events = [
        EngagementEvent(
            viewer=user,
            post=post,
            kind=rng.choice(kinds),
            value=round(rng.uniform(0.5, 30), 1),
            created=now - timedelta(seconds=rng.uniform(1, 100_000)),
        )
        for post in posts[:5] + posts[6:]  # the sixth clip shown, but nothing done about it
        for _ in range(rng.randint(5, 40))
    ]
    EngagementEvent.objects.bulk_create(events)

    durations = {post.pk: float(post.duration_s) for post in posts}
    counted = _clips_counted(user.pk, durations, now)
    tallied = _clips_tallied(user.pk, durations, now)
    assert set(counted) == set(tallied) == set(durations)
    assert sum(clip.first_shown is not None for clip in counted.values()) == 6
    assert any(clip.watched and clip.loops for clip in counted.values())
    assert any(event.created < now - WINDOW for event in events), (
        "the log reaches back before the window"
    )
    for pk, clip in counted.items():
        other = tallied[pk]
        if clip.first_shown is None:
            assert other.first_shown is None
            continue  # never shown: refused whatever it counted
        assert other.first_shown == pytest.approx(clip.first_shown, abs=1e-5)
        assert dict(other.counts) == dict(clip.counts), pk
        assert other.watched == pytest.approx(clip.watched)
        assert other.loops == clip.loops


def test_old_shown_notes_are_pruned(user, post):
    shown(user, post, seconds_ago=2 * 86400)
    clips_shown_record(viewer=user, post_ids=[post.pk], where=ClipShown.Where.FOLLOWING)
    assert served_items_prune() == 1
    assert list(ClipShown.objects.values_list("where", flat=True)) == ["following"]


@pytest.mark.django_db(transaction=True)
def test_a_post_deleted_while_its_batch_is_written_refuses_its_events_and_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch,
):
    """The events are written by COPY; a post deleted between the judging and the commit
    fails the batch's foreign key, and the batch is judged again without it."""
    from ranking import event_log, intake
    from ranking.intake import EventIn

    viewer, keep, gone = UserFactory(), PostFactory(), PostFactory()
    shown(viewer, keep)
    shown(viewer, gone)
    real, judged = intake.judge, []

    def delete() -> None:
        try:
            Post.objects.filter(pk=gone.pk).delete()
        finally:
            connection.close()

    def judge_then_delete(**kwargs: Any) -> intake.Verdict:
        verdict = real(**kwargs)
        if not judged:  # deleted (and committed) by someone else after the first judging
            deleter = threading.Thread(target=delete)
            deleter.start()
            deleter.join(60)
        judged.append(len(verdict.accepted))
        return verdict

    monkeypatch.setattr(intake, "judge", judge_then_delete)
    verdict = event_log.events_intake(
        viewer=viewer,
        events=[EventIn(keep.pk, "view", 2.0, "a"), EventIn(gone.pk, "view", 2.0, "b")],
    )
    assert judged == [2, 1]
    assert [event.post_id for event in verdict.accepted] == [keep.pk]
    assert [r.reason for r in verdict.refused] == ["not_visible"]
    stored = EngagementEvent.objects.filter(viewer=viewer, kind="view")
    assert list(stored.values_list("post_id", "client_id")) == [(keep.pk, "a")]
