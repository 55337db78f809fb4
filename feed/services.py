"""Writes for the feed: posts, likes and comments."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import Block, Profile, User
from core.embedding import embed_bytes
from core.text import has_control_characters
from generation import services as generation
from generation.models import GenerationJob
from generation.video import probe
from moderation.hashbank import fingerprint_rematch
from moderation.provenance import ClipInspection, stored_clip_read
from moderation.services import case_hold

from . import events, feeds, selectors
from .models import Comment, CommentLike, Like, Post
from .selectors import ClipOrigin, clip_origin
from .tags import post_tags_sync


def feed_serve(
    *, viewer: User | None, feed: str, cursor: str | None, size: int
) -> selectors.FeedPage:
    """A page of a feed for this viewer, with what its cards show.

    A write, not a read: the feed that makes the page may log what it served (For You keeps
    every served clip for its learner and its evaluation).
    """
    live = selectors.live_posts()
    if viewer is not None and viewer.is_authenticated:
        # As subqueries (no query of their own): people the viewer blocked, and who blocked them.
        live = live.exclude(
            owner_id__in=Block.objects.filter(blocker=viewer).values("blocked_id")
        ).exclude(owner_id__in=Block.objects.filter(blocked=viewer).values("blocker_id"))
    page = feeds.feed_maker(feed)(viewer=viewer, live=live, cursor=cursor, size=size)
    posts = list(page.items)
    return selectors.FeedPage(
        cards=selectors.cards_for(viewer=viewer, posts=posts), next_cursor=page.next_cursor
    )


@transaction.atomic
def post_create(
    *,
    owner: User,
    video: File,
    poster: File | None,
    prompt: str,
    model_name: str,
    caption: str = "",
    visibility: str = Post.Visibility.PUBLIC,
    remix_of: Post | None = None,
    allow_remix: bool = True,
    allow_download: bool = False,
) -> Post:
    """Publish a clip: store its video and poster and record what the video is."""
    video.seek(0)
    info = probe(video)
    post = Post(
        owner=owner,
        prompt=prompt,
        model_name=model_name,
        caption=caption.strip(),
        visibility=visibility,
        remix_of=remix_of,
        allow_remix=allow_remix,
        allow_download=allow_download,
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        has_audio=info.audio,
        prompt_embedding=embed_bytes(prompt),
    )
    video.seek(0)
    post.video.save("clip.mp4", video, save=False)
    if poster is not None:
        post.poster.save("poster.jpg", poster, save=False)
    post.full_clean()
    post.save()
    post_tags_sync(post=post)
    Profile.objects.filter(user=owner).update(post_count=F("post_count") + 1)
    events.post_published.emit(post=post)
    return post


@transaction.atomic
def post_publish(
    *,
    job: GenerationJob,
    actor: User,
    caption: str = "",
    visibility: str = Post.Visibility.PUBLIC,
    allow_remix: bool = True,
    allow_download: bool = False,
) -> Post:
    """Post a finished draft: the post takes over the clip's files and records its lineage.

    A clip that resembles one in the hash bank (clips moderators removed) is posted held:
    only its owner sees it until a moderator has reviewed it.
    """
    job = generation.draft_lock(job=job, actor=actor)
    remix_of = Post.objects.filter(pk=job.source_post_id).first() if job.source_post_id else None
    post = Post(
        owner=actor,
        prompt=job.prompt,
        model_name=job.model_key,
        caption=caption.strip(),
        visibility=visibility,
        remix_of=remix_of,
        allow_remix=allow_remix,
        allow_download=allow_download,
        duration_s=job.video_duration_s,
        width=job.width,
        height=job.height,
        prompt_embedding=embed_bytes(job.prompt),
        clip_reading=job.clip_reading,
    )
    post.video.name, post.poster.name = job.video.name, job.poster.name
    post.full_clean()
    post.save()
    post_tags_sync(post=post)
    generation.draft_mark_published(job=job, post_id=post.pk)
    Profile.objects.filter(user=actor).update(post_count=F("post_count") + 1)
    events.post_published.emit(post=post)
    match = fingerprint_rematch(job_id=job.pk)
    if match is not None:
        entry, share = match
        case_hold(post=post, reason="hash bank", entry=entry.pk, share=round(share, 3))
    return post


def post_clip_reading(*, post: Post) -> ClipInspection | None:
    """What the post's clip carries, as read when it was signed; None if it can't be read.

    A post made before readings were kept has its clip read once, here, and the reading
    stored: every later view shows the stored one and never decodes the clip.
    """
    if post.clip_reading:
        return ClipInspection.from_json(post.clip_reading)
    inspection = stored_clip_read(post.video.name or "")
    if inspection is not None:
        post.clip_reading = inspection.as_json()
        Post.objects.filter(pk=post.pk, clip_reading__isnull=True).update(
            clip_reading=post.clip_reading
        )
    return inspection


def verified_origin(*, viewer: User | None, inspection: ClipInspection) -> ClipOrigin:
    """What an uploaded video is (selectors.clip_origin) and, when it was found by its
    watermark or its look rather than its own credentials, the credentials its post was
    signed with: a copy stripped of its manifest leads back to it."""
    origin = clip_origin(viewer=viewer, inspection=inspection)
    if origin.post is not None and origin.found_by in ("watermark", "perceptual"):
        stored = post_clip_reading(post=origin.post)
        origin.stored = stored.credentials if stored is not None else None
    return origin


def remix_source(*, post: Post) -> generation.RemixSource:
    """What a remix of this post starts from; refused when its owner doesn't allow remixes."""
    if not post.allow_remix:
        raise PermissionDenied("The owner of this clip doesn't allow remixes.")
    seed = (
        GenerationJob.objects.filter(published_post_id=post.pk)
        .values_list("seed", flat=True)
        .first()
    )
    return generation.RemixSource(post_id=post.pk, video=post.video.name or "", seed=seed)


@transaction.atomic
def post_update(
    *,
    post: Post,
    actor: User,
    caption: str | None = None,
    visibility: str | None = None,
    allow_remix: bool | None = None,
    allow_download: bool | None = None,
) -> Post:
    """Change a post's caption or settings; only its owner may."""
    if post.owner_id != actor.pk:
        raise PermissionDenied("Only the owner can edit this post.")
    changes = {
        "caption": caption.strip() if caption is not None else None,
        "visibility": visibility,
        "allow_remix": allow_remix,
        "allow_download": allow_download,
    }
    fields = [name for name, value in changes.items() if value is not None]
    for name in fields:
        setattr(post, name, changes[name])
    post.full_clean()
    if fields:
        post.save(update_fields=fields)
    if "caption" in fields:
        post_tags_sync(post=post)
    return post


@transaction.atomic
def post_delete(*, post: Post, actor: User) -> None:
    """Delete a post and its files; only its owner may."""
    if post.owner_id != actor.pk:
        raise PermissionDenied("Only the owner can delete this post.")
    video, poster = post.video, post.poster
    owner_id = post.owner_id
    post.delete()
    Profile.objects.filter(user_id=owner_id).update(post_count=F("post_count") - 1)

    def remove_files() -> None:
        # Files go only once the rows are gone for good, never before a rollback.
        for field in (video, poster):
            if field and field.name:
                field.storage.delete(field.name)

    transaction.on_commit(remove_files)


def like_create(*, user: User, post: Post) -> bool:
    """Like a post; returns False when it was already liked."""
    try:
        with transaction.atomic():
            Like.objects.create(user=user, post=post)
            Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
            events.post_liked.emit(user=user, post=post)
    except IntegrityError:
        return False
    return True


def like_after_sign_in(user: User, *, pk: int) -> str | None:
    """The like someone asked for signed out (core/pending.py); what to tell them."""
    post = selectors.post_visible(viewer=user, pk=pk)
    if post is None or user.is_suspended:
        return None
    like_create(user=user, post=post)
    return f"You liked @{post.owner.username}'s clip."


def comment_after_sign_in(user: User, *, pk: int) -> str | None:
    """A comment asked for signed out: the person is back on the clip, to write it."""
    return "You're signed in: write your comment below." if not user.is_suspended else None


@transaction.atomic
def like_delete(*, user: User, post: Post) -> bool:
    """Take a like back; returns False when there was none."""
    deleted, _ = Like.objects.filter(user=user, post=post).delete()
    if not deleted:
        return False
    Post.objects.filter(pk=post.pk).update(like_count=F("like_count") - 1)
    events.post_unliked.emit(user=user, post=post)
    return True


# What a comment full of control characters (binary, most likely) is told.
NOT_TEXT = "A comment is text: it can't hold control characters."


@transaction.atomic
def comment_create(
    *, author: User, post: Post, body: str, parent: Comment | None = None
) -> Comment:
    """Add a comment under a post, or a reply under one of its comments.

    Replies go one level deep: a reply to a reply joins its thread (under the same comment).
    Raises ValidationError for an empty body or a parent that isn't a shown comment of
    this post.
    """
    body = body.strip()
    if not body:
        raise ValidationError({"body": "A comment can't be empty."})
    if has_control_characters(body):
        raise ValidationError({"body": NOT_TEXT})
    if parent is not None:
        if parent.parent_id is not None:
            parent = Comment.objects.get(pk=parent.parent_id)
        if parent.post_id != post.pk or parent.removed:
            raise ValidationError({"parent": "That comment is gone; reply to another."})
    comment = Comment(author=author, post=post, body=body, parent=parent)
    comment.full_clean()
    comment.save()
    Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
    if parent is not None:
        Comment.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1)
    events.comment_created.emit(comment=comment)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, actor: User) -> None:
    """Delete a comment (and its replies); its author or the post's owner may."""
    if actor.pk not in (comment.author_id, comment.post.owner_id):
        raise PermissionDenied("Only the comment's author or the post's owner can delete it.")
    post_id, parent_id = comment.post_id, comment.parent_id
    gone = 1 + Comment.objects.filter(parent=comment, removed=False).count()
    comment.delete()
    Post.objects.filter(pk=post_id).update(comment_count=F("comment_count") - gone)
    if parent_id is not None:
        Comment.objects.filter(pk=parent_id).update(reply_count=F("reply_count") - 1)


@transaction.atomic
def comment_like_create(*, user: User, comment: Comment) -> bool:
    """Like a comment; False when already liked."""
    _, created = CommentLike.objects.get_or_create(user=user, comment=comment)
    if created:
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
    return created


@transaction.atomic
def comment_like_delete(*, user: User, comment: Comment) -> bool:
    """Take back a like of a comment; False when there was none."""
    deleted, _ = CommentLike.objects.filter(user=user, comment=comment).delete()
    if deleted:
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") - 1)
    return bool(deleted)


# --- what moderation decided (feed/receivers.py hears it) -------------------------------------


def post_standing_set(
    *, post_id: int, standing: str, label: str | None = None, rule: str = ""
) -> None:
    """Show, limit, hold or remove a post as moderation decided; `label` None keeps its label
    (and the rule it was given under), "" takes it off."""
    changes: dict[str, str] = {"standing": standing}
    if label is not None:
        changes["content_label"] = label
        changes["content_label_rule"] = rule if label else ""
    Post.objects.filter(pk=post_id).update(**changes)


def comment_shown_set(*, comment_id: int, shown: bool) -> None:
    """Hide or show a comment again, keeping its post's comment count right."""
    changed = Comment.objects.filter(pk=comment_id, removed=shown).update(removed=not shown)
    if changed:
        post_id = Comment.objects.values_list("post_id", flat=True).get(pk=comment_id)
        step = 1 if shown else -1
        Post.objects.filter(pk=post_id).update(comment_count=F("comment_count") + step)
