"""The engagement log: appended in bulk, a client's retry counted once, signed-in viewers'
events only, within the caps."""

import pytest

from feed.services import like_create, like_delete
from ranking.event_log import events_record
from ranking.intake import CAPS, EventIn
from ranking.models import EngagementEvent
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_retried_batch_is_counted_once(user, other_user):
    post = PostFactory(owner=other_user)
    batch = [
        EventIn(post_id=post.pk, kind="impression", client_id="a1"),
        EventIn(post_id=post.pk, kind="view", value=3.5, client_id="a2"),
    ]
    events_record(viewer=user, events=batch)
    events_record(viewer=user, events=batch)
    assert EngagementEvent.objects.filter(viewer=user).count() == 2
    view = EngagementEvent.objects.get(kind="view")
    assert view.value == 3.5


def test_signed_out_viewers_events_are_not_recorded(other_user):
    post = PostFactory(owner=other_user)
    recorded = events_record(viewer=None, events=[EventIn(post_id=post.pk, kind="share")])
    assert recorded == 0
    assert not EngagementEvent.objects.exists()


def test_server_events_stay_within_the_caps_too(user, other_user):
    """Liking and unliking over and over teaches the learner a cap's worth of likes."""
    post = PostFactory(owner=other_user)
    for _ in range(CAPS["like"] + 2):
        like_create(user=user, post=post)
        like_delete(user=user, post=post)
    counted = EngagementEvent.objects.filter(viewer=user, post=post)
    assert counted.filter(kind="like").count() == CAPS["like"]
    assert counted.filter(kind="unlike").count() == CAPS["unlike"]
    # Another viewer's likes are theirs to count.
    like_create(user=other_user, post=post)
    assert EngagementEvent.objects.filter(viewer=other_user, kind="like").count() == 1


@pytest.mark.django_db(transaction=True)
def test_events_of_a_post_deleted_meanwhile_do_not_sink_the_batch(user, other_user):
    kept = PostFactory(owner=other_user)
    gone = PostFactory(owner=other_user)
    gone_id = gone.pk
    gone.delete()  # after the caller checked it, before the insert
    accepted = events_record(
        viewer=user,
        events=[EventIn(post_id=kept.pk, kind="view"), EventIn(post_id=gone_id, kind="view")],
    )
    assert accepted == 1
    assert list(EngagementEvent.objects.values_list("post_id", flat=True)) == [kept.pk]
