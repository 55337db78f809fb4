"""Who sees what, and feed pages that never repeat or skip a post."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import follow_create
from core.pagination import InvalidCursor
from feed.models import Post
from feed.selectors import Feed, visible_posts
from feed.services import feed_serve
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def posts_by_visibility(other_user):
    return {vis: PostFactory(owner=other_user, visibility=vis) for vis in Post.Visibility.values}


def ids(qs):
    return set(qs.values_list("pk", flat=True))


def test_visibility(user, other_user, posts_by_visibility):
    public = posts_by_visibility["public"].pk
    followers = posts_by_visibility["followers"].pk
    private = posts_by_visibility["private"].pk

    assert ids(visible_posts(viewer=None)) == {public}
    assert ids(visible_posts(viewer=user)) == {public}
    follow_create(follower=user, followee=other_user)
    assert ids(visible_posts(viewer=user)) == {public, followers}
    assert ids(visible_posts(viewer=other_user)) == {public, followers, private}


def test_following_feed_shows_only_followed_people(user, other_user):
    stranger = UserFactory(username="stranger")
    mine = PostFactory(owner=other_user, visibility="followers")
    PostFactory(owner=stranger)
    assert feed_serve(viewer=user, feed=Feed.FOLLOWING, cursor=None, size=10).cards == []
    follow_create(follower=user, followee=other_user)
    page = feed_serve(viewer=user, feed=Feed.FOLLOWING, cursor=None, size=10)
    assert [card.post.pk for card in page.cards] == [mine.pk]
    assert page.cards[0].following_owner is True
    # Followers-only posts stay out of For You, even for followers.
    for_you = feed_serve(viewer=user, feed=Feed.FOR_YOU, cursor=None, size=10)
    assert mine.pk not in [card.post.pk for card in for_you.cards]


def test_pages_walk_the_whole_feed_without_repeats(user, other_user):
    now = timezone.now()
    # Two posts share a timestamp: the id breaks the tie so neither is lost.
    made = [
        PostFactory(owner=other_user, created=now - timedelta(minutes=n // 2)) for n in range(7)
    ]
    seen, cursor = [], None
    while True:
        page = feed_serve(viewer=user, feed=Feed.FOR_YOU, cursor=cursor, size=3)
        seen += [card.post.pk for card in page.cards]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(p.pk for p in made)
    assert len(seen) == len(set(seen))


def test_bad_cursor_is_refused():
    with pytest.raises(InvalidCursor):
        feed_serve(viewer=None, feed=Feed.FOR_YOU, cursor="not-a-cursor", size=3)
