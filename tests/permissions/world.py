"""The world the permission table asks about: seven people and their content."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from feed import services as feed_services
from feed.models import Comment, Post
from generation.models import GenerationJob
from moderation import services as moderation_services
from moderation.apps import MODERATORS_GROUP
from moderation.models import Appeal, Case, Decision, PolicyCategory, PromptRefusal, Report
from social import messaging
from social.models import Conversation
from tests.factories import UserFactory, tiny_clip
from tests.generation.factories import job_in_state

ROLES = ("anon", "stranger", "blocked", "owner", "suspended", "mod", "mod_own")


@dataclass
class Owned:
    """One owner's content."""

    owner: User
    post: Post
    followers_post: Post
    private_post: Post
    comment: Comment
    draft: GenerationJob
    case: Case
    appeal: Appeal
    decision: Decision
    refusal: PromptRefusal
    conversation: Conversation  # with rita, who wrote first


@dataclass
class World:
    """The people, and what each role asks about."""

    people: dict[str, User | None]
    owned: dict[str, Owned]  # by role

    def of(self, role: str) -> Owned:
        """The content the role asks about."""
        return self.owned[role]


def _post(owner: User, visibility: str = Post.Visibility.PUBLIC, seed: int = 0) -> Post:
    video, poster = tiny_clip(seed)
    return feed_services.post_create(
        owner=owner,
        video=ContentFile(video, name="clip.mp4"),
        poster=ContentFile(poster, name="poster.jpg"),
        prompt=f"a kite over the dunes, {visibility} {seed}",
        model_name="riff-demo",
        visibility=visibility,
    )


def _owned(owner: User, *, judge: User, rita: User, category: PolicyCategory) -> Owned:
    post = _post(owner)
    comment = feed_services.comment_create(author=owner, post=post, body="my own clip")
    removed = _post(owner, seed=1)
    moderation_services.report_create(reporter=rita, reason=Report.Reason.VIOLENCE, post=removed)
    decision = moderation_services.decision_make(
        case=Case.objects.get(post=removed, status=Case.Status.OPEN),
        moderator=judge,
        action=Decision.Action.REMOVE,
        category=category,
        facts="Graphic injury.",
    )
    appeal = moderation_services.appeal_create(appellant=owner, text="Wrong.", decision=decision)
    moderation_services.report_create(reporter=rita, reason=Report.Reason.SPAM, post=post)
    return Owned(
        owner=owner,
        post=post,
        followers_post=_post(owner, Post.Visibility.FOLLOWERS, seed=2),
        private_post=_post(owner, Post.Visibility.PRIVATE, seed=3),
        comment=comment,
        draft=job_in_state(owner, GenerationJob.State.SUCCEEDED),
        case=Case.objects.get(post=post, status=Case.Status.OPEN),
        appeal=appeal,
        decision=decision,
        refusal=PromptRefusal.objects.create(
            user=owner, prompt="a famous person dancing", rule="a protected name"
        ),
        conversation=messaging.message_send(sender=rita, recipient=owner, body="hi").conversation,
    )


def _moderator(handle: str) -> User:
    person = UserFactory(username=handle)
    person.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return User.objects.get(pk=person.pk)


def build_world() -> World:
    """Everyone and everything the table asks about."""
    category, _ = PolicyCategory.objects.get_or_create(
        slug="violence-matrix", defaults={"name": "Violence", "description": "Graphic harm."}
    )
    alice, bob, carl = (UserFactory(username=h) for h in ("alice", "bob", "carl"))
    sue, rita = UserFactory(username="sue"), UserFactory(username="rita")
    maya, otto, judge = _moderator("maya"), _moderator("otto"), _moderator("judge")
    accounts_services.block_create(blocker=alice, blocked=carl)
    for person in (alice, sue, otto):
        accounts_services.profile_update(
            user=person, avatar=ContentFile(tiny_clip()[1], name="me.jpg")
        )
    of_alice = _owned(alice, judge=judge, rita=rita, category=category)
    owned = dict.fromkeys(("anon", "stranger", "blocked", "owner", "mod"), of_alice)
    owned["suspended"] = _owned(sue, judge=judge, rita=rita, category=category)
    owned["mod_own"] = _owned(otto, judge=judge, rita=rita, category=category)
    User.objects.filter(pk=sue.pk).update(suspended_at=timezone.now())
    people: dict[str, User | None] = {
        "anon": None,
        "stranger": bob,
        "blocked": carl,
        "owner": alice,
        "suspended": User.objects.get(pk=sue.pk),
        "mod": maya,
        "mod_own": otto,
    }
    for owned_by in owned.values():
        owned_by.owner.refresh_from_db()
    return World(people=people, owned=owned)
