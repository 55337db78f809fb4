"""The engagement log: appended in bulk, a client's retry counted once."""

import pytest

from ranking.models import EngagementEvent
from ranking.services import EventIn, events_record
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


def test_anonymous_events_are_kept(other_user):
    post = PostFactory(owner=other_user)
    events_record(viewer=None, events=[EventIn(post_id=post.pk, kind="impression", client_id="x")])
    events_record(viewer=None, events=[EventIn(post_id=post.pk, kind="impression", client_id="x")])
    assert EngagementEvent.objects.filter(viewer=None).count() == 2


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
