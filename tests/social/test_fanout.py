"""Who hears of what: each event the social app listens to, through its real services."""

from __future__ import annotations

from typing import Any

import pytest

from accounts import services as accounts_services
from accounts.models import User
from feed import services as feed_services
from feed.models import Post
from generation.models import GenerationJob
from generation.services import job_transition
from moderation.models import Decision
from social import selectors
from social.models import Notification
from social.services import notification_settings_set
from tests.factories import PostFactory, UserFactory
from tests.generation.factories import job_in_state
from tests.moderation.conftest import decide_on_report, make_moderator
from tests.moderation.conftest import violence as violence  # a fixture used below

pytestmark = pytest.mark.django_db
Kind = Notification.Kind
State = GenerationJob.State


def lines(user: User) -> list[tuple[str, str]]:
    return [(g.kind, g.sentence) for g in selectors.notification_groups(user=user)]


@pytest.fixture
def clip(aiko: User) -> Post:
    return PostFactory(owner=aiko, caption="a red ball")


def test_likes_of_one_clip_read_as_one_line_naming_the_newest(commits: Any, aiko, clip):
    likers = [UserFactory(username=f"fan{n}") for n in range(4)]
    with commits():
        feed_services.like_create(user=aiko, post=clip)  # your own like tells you nothing
        feed_services.like_create(user=likers[0], post=clip)
    assert lines(aiko) == [("like", "fan0 liked your clip")]
    with commits():
        feed_services.like_create(user=likers[1], post=clip)
    assert lines(aiko) == [("like", "fan1 and fan0 liked your clip")]
    with commits():
        for liker in likers[2:]:
            feed_services.like_create(user=liker, post=clip)
    assert lines(aiko) == [("like", "fan3 and 3 others liked your clip")]
    assert selectors.unread_count(user=aiko) == 4
    assert Notification.objects.filter(recipient=aiko).count() == 4


def test_a_comment_tells_the_owner_and_the_people_it_mentions(commits: Any, aiko, clip):
    bo, cy = UserFactory(username="bob"), UserFactory(username="cyd")
    with commits():
        feed_services.comment_create(author=bo, post=clip, body="@cyd look at this, @aiko too")
    assert lines(aiko) == [("comment", "bob commented on your clip")]  # not a mention as well
    (group,) = selectors.notification_groups(user=cy)
    assert (group.kind, group.sentence) == ("mention", "bob mentioned you in a comment")
    assert group.quote == "@cyd look at this, @aiko too"
    assert group.url == f"/p/{clip.pk}/#comment-{group.first.comment_id}"


def test_a_mention_reaches_only_those_who_may_see_the_clip(commits: Any, aiko):
    bo, cy, dee = (UserFactory(username=name) for name in ("bob", "cyd", "dee"))
    accounts_services.follow_create(follower=bo, followee=aiko)
    accounts_services.block_create(blocker=dee, blocked=aiko)
    hidden = PostFactory(owner=aiko, visibility=Post.Visibility.FOLLOWERS, caption="hi")
    with commits():
        feed_services.comment_create(author=aiko, post=hidden, body="@bob @cydd @dee @nobody_here")
    assert lines(bo) == [("mention", "Aiko Tanaka mentioned you in a comment")]
    assert lines(cy) == []  # does not follow aiko: can't see the clip
    assert lines(dee) == []  # blocked aiko


def test_new_followers_share_one_line(commits: Any, aiko):
    with commits():
        for name in ("bob", "cyd"):
            accounts_services.follow_create(follower=UserFactory(username=name), followee=aiko)
    (group,) = selectors.notification_groups(user=aiko)
    assert group.sentence == "cyd and bob started following you"
    assert group.url == "/@aiko/followers/"


def test_a_follow_taken_back_before_the_worker_ran_says_nothing(commits: Any, aiko):
    bo = UserFactory(username="bob")
    with commits() as callbacks:
        from django.db import transaction

        with transaction.atomic():
            accounts_services.follow_create(follower=bo, followee=aiko)
            accounts_services.follow_delete(follower=bo, followee=aiko)
    assert callbacks, "the follow asked for its notification"
    assert lines(aiko) == []


def test_a_remix_tells_its_source_and_a_new_clip_its_followers(commits: Any, aiko, clip):
    bo = UserFactory(username="bob")
    followers = [UserFactory(username=f"fol{n}") for n in range(3)]
    for person in [*followers, aiko]:
        accounts_services.follow_create(follower=person, followee=bo)
    with commits():
        remix = PostFactory(owner=bo, remix_of=clip, caption="my take, @fol0")
    # aiko follows bo too, but hears of the remix once, as a remix.
    assert lines(aiko) == [("remix", "bob remixed your clip")]
    assert lines(followers[1]) == [("new_post", "bob posted a new clip")]
    assert lines(followers[0]) == [
        ("mention", "bob mentioned you in a caption"),
        ("new_post", "bob posted a new clip"),
    ]
    with commits():
        PostFactory(owner=bo)
        PostFactory(owner=bo, visibility=Post.Visibility.PRIVATE)  # only bo sees it
    assert lines(followers[2]) == [("new_post", "bob posted 2 new clips")]
    assert selectors.notification_groups(user=followers[2])[0].first.post_id != remix.pk


def test_a_finished_clip_tells_its_owner_and_a_cancel_does_not(commits: Any, aiko):
    ready = job_in_state(aiko, State.ENCODING)
    failed = job_in_state(aiko, State.RUNNING)
    cancelled = job_in_state(aiko, State.QUEUED)
    with commits():
        job_transition(job=ready, to=State.SUCCEEDED)
        job_transition(job=failed, to=State.FAILED, failure="error", message="Out of memory.")
        job_transition(job=cancelled, to=State.CANCELLED, failure="cancelled", message="")
    groups = selectors.notification_groups(user=aiko)
    assert [(g.sentence, g.quote) for g in groups] == [
        ("Your clip couldn't be made", "Out of memory."),
        ("Your clip is ready to post", ""),
    ]
    assert groups[1].url == f"/create/jobs/{ready.pk}/"


def test_a_moderation_notice_is_a_notification(commits: Any, aiko, clip, violence: Any):
    moderator = make_moderator("mod_maya")
    with commits():
        decide_on_report(clip, moderator, violence, action=Decision.Action.REMOVE)
    (group,) = [g for g in selectors.notification_groups(user=aiko) if g.kind == Kind.MODERATION]
    assert group.sentence == "Your post was removed"
    assert group.url == "/notices/"


def test_a_kind_turned_off_is_not_sent(commits: Any, aiko, clip):
    notification_settings_set(user=aiko, off=[Kind.LIKE])
    with commits():
        feed_services.like_create(user=UserFactory(), post=clip)
        feed_services.comment_create(author=UserFactory(username="bob"), post=clip, body="nice")
    assert lines(aiko) == [("comment", "bob commented on your clip")]


def test_a_block_hides_what_the_blocked_person_did(commits: Any, aiko, clip):
    bo = UserFactory(username="bob")
    with commits():
        feed_services.like_create(user=bo, post=clip)
    assert selectors.unread_count(user=aiko) == 1
    accounts_services.block_create(blocker=aiko, blocked=bo)
    assert lines(aiko) == [] and selectors.unread_count(user=aiko) == 0


def test_a_clip_taken_down_takes_its_notifications_along(commits: Any, aiko, clip):
    with commits():
        feed_services.like_create(user=UserFactory(username="bob"), post=clip)
    feed_services.post_standing_set(post_id=clip.pk, standing=Post.Standing.REMOVED)
    assert lines(aiko) == []


def test_a_reply_tells_the_comments_author_once(commits: Any, aiko, clip):
    bob, cyd = UserFactory(username="bob"), UserFactory(username="cyd")
    with commits():
        top = feed_services.comment_create(author=bob, post=clip, body="nice")
        feed_services.comment_create(author=cyd, post=clip, body="@bob agreed", parent=top)
        feed_services.comment_create(author=aiko, post=clip, body="thank you!", parent=top)
    (group,) = selectors.notification_groups(user=bob)
    assert group.sentence == "Aiko Tanaka and cyd replied to your comment"  # not a mention as well
    assert group.url.endswith(f"#comment-{group.first.comment_id}")
    # aiko owns the clip: she hears of bob's comment and cyd's reply, not of her own.
    assert lines(aiko) == [("comment", "cyd and bob commented on your clip")]
