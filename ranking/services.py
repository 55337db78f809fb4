"""Writes for ranking: the engagement log, For You pages served, the ranking settings and
trained models, and what a viewer tells their feed (a preference, a reset)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import User
from core.embedding import embed_or_none
from feed.models import Post
from moderation.services import audit_record

from . import intake
from .intake import EventIn
from .learner import Learner, LearnerConfig
from .live import GRACE_S, event_of, item_infos, live
from .models import (
    TUNABLE_FIELDS,
    Activatable,
    ClipShown,
    EngagementEvent,
    FeedPreference,
    RankingConfig,
    RankingModel,
    ServedItem,
)
from .recommend import RankedPage
from .selectors import for_you_page


def events_record(*, viewer: User | None, events: Iterable[EventIn]) -> int:
    """Append events the server vouches for (a like, a comment, a reset); how many counted.

    Nothing for a signed-out viewer: only signed-in viewers teach the learner. Events past
    the viewer's caps (intake.CAPS) are left out; a client id seen before is skipped.
    """
    if viewer is None or not viewer.is_authenticated:
        return 0
    now = timezone.now()
    events = list(events)
    kept = intake.within_caps(viewer_id=viewer.pk, events=events, now=now)
    rows = [
        EngagementEvent(
            viewer_id=viewer.pk,
            post_id=event.post_id,
            kind=event.kind,
            value=event.value,
            client_id=event.client_id,
            created=now,
        )
        for event, keep in zip(events, kept, strict=True)
        if keep
    ]
    if not rows:
        return 0
    try:
        with transaction.atomic():
            EngagementEvent.objects.bulk_create(rows, ignore_conflicts=True)
    except IntegrityError:
        # A post was deleted since the caller checked it: keep the events of the rest.
        live = set(
            Post.objects.filter(pk__in={r.post_id for r in rows}).values_list("pk", flat=True)
        )
        rows = [row for row in rows if row.post_id is None or row.post_id in live]
        EngagementEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def event_record(
    *, viewer: User | None, post_id: int | None, kind: str, value: float = 1.0
) -> None:
    """Append one server-side event (a like, a comment, a follow from a post)."""
    events_record(viewer=viewer, events=[EventIn(post_id=post_id, kind=kind, value=value)])


# Namespace of the advisory lock that takes one viewer's batches one at a time.
_EVENTS_LOCK = 0x52494646  # "RIFF"


def _viewer_events_lock(viewer_id: int) -> None:
    """Hold this viewer's event lock until the transaction ends (PostgreSQL; SQLite already
    takes one write at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_EVENTS_LOCK, viewer_id % 2**31]
            )


def events_intake(*, viewer: User, events: Sequence[EventIn]) -> intake.Verdict:
    """Judge a client's batch (ranking/intake.py) and append the events that count.

    The viewer's batches are judged one at a time, so a batch sent twice at once, or many
    batches racing, still count each client_id once and stay within the caps.
    """
    try:
        return _events_intake_once(viewer, events)
    except IntegrityError:
        # A post was deleted after it was judged (its foreign key fails at commit): judged
        # again, its events are refused as gone and the rest still count.
        return _events_intake_once(viewer, events)


def _events_intake_once(viewer: User, events: Sequence[EventIn]) -> intake.Verdict:
    with transaction.atomic():
        _viewer_events_lock(viewer.pk)
        now = timezone.now()
        verdict = intake.judge(viewer=viewer, events=events, now=now)
        rows = [
            EngagementEvent(
                viewer=viewer,
                post_id=event.post_id,
                kind=event.kind,
                value=event.value,
                client_id=event.client_id,
                created=now,
            )
            for event in verdict.accepted
        ]
        EngagementEvent.objects.bulk_create(rows)
    return verdict


def clips_shown_record(*, viewer: User | None, post_ids: Sequence[int], where: str) -> None:
    """Note the clips a page put in front of a signed-in viewer (their events may follow)."""
    if viewer is None or not viewer.is_authenticated or not post_ids:
        return
    now = timezone.now()
    rows = [ClipShown(viewer=viewer, post_id=pk, where=where, created=now) for pk in post_ids]
    ClipShown.objects.bulk_create(rows)  # one INSERT


# --- For You pages -------------------------------------------------------------------


def for_you_serve(
    *,
    viewer: User | None,
    base: QuerySet[Post],
    cursor: str | None,
    size: int,
    rng: np.random.Generator | None = None,
) -> RankedPage:
    """Serve a page of For You: rank it with the live learner, brought up to date, and log it.

    `.items` are the posts in order, `.next_cursor` the next page's cursor (None at the end).
    """
    learner = live.sync()
    model_version = live.model_version
    page = for_you_page(
        viewer=viewer, base=base, cursor=cursor, size=size, learner=learner, rng=rng
    )
    # Clips new to the learner were scored from their infos; told of them, it finds them by
    # their prompts for later pages too ("similar", "preference").
    live.items_tell(page.item_infos)
    served_record(viewer=viewer, page=page, model_version=model_version)
    return page


def served_record(*, viewer: User | None, page: RankedPage, model_version: int | None) -> None:
    """Log what a For You page served: each clip's position, source, score and its terms."""
    rows = [
        ServedItem(
            viewer=viewer if viewer is not None and viewer.is_authenticated else None,
            post_id=candidate.pk,
            session=page.session,
            position=page.first_position + offset,
            source=candidate.sources[0],
            score=candidate.score,
            explored=candidate.explored,
            propensity=candidate.propensity,
            terms=terms,
            config_version=page.config_version,
            model_version=model_version,
            created=page.created or timezone.now(),
        )
        for offset, (candidate, terms) in enumerate(zip(page.served, page.terms, strict=True))
    ]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The serving log may lose its last moment in a crash; a page should not wait
            # on a disk flush for it (events, which must not be lost, commit as usual).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        ServedItem.objects.bulk_create(rows)


# --- ranking settings: versions and which one is live ---------------------------------


def ranking_config_diff(before: RankingConfig | None, after: RankingConfig) -> dict[str, list[Any]]:
    """{field: [before, after]} for each setting that differs (before None: the defaults)."""
    base = (before or RankingConfig()).values
    return {
        name: [base[name], value] for name, value in after.values.items() if value != base[name]
    }


def ranking_config_create(
    *,
    values: Mapping[str, Any],
    note: str,
    based_on: RankingConfig | None,
    created_by: User | None,
) -> RankingConfig:
    """Save the settings as the next version (inactive), with its diff against `based_on`."""
    unknown = set(values) - set(TUNABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not ranking settings: {', '.join(sorted(unknown))}")
    config = RankingConfig(note=note, based_on=based_on, created_by=created_by, **values)
    config.changes = ranking_config_diff(based_on, config)
    config.full_clean(exclude=["version"])
    attempts = 3
    while True:
        try:
            with transaction.atomic():
                latest = RankingConfig.objects.aggregate(latest=Max("version"))["latest"]
                config.version = (latest or 0) + 1
                config.save(force_insert=True)
            return config
        except IntegrityError:
            # Someone took that number at the same moment: take the next one.
            attempts -= 1
            if not attempts:
                raise
            config.pk = None
            config._state.adding = True


V = TypeVar("V", bound=Activatable)


def version_activate(*, version: V, by: User | None) -> V:
    """Make this version (a RankingConfig or a RankingModel) the live one and the previous
    one not, in one transaction; a rollback is activating an older one.

    The partial unique constraint keeps two from ever being active: an activation racing
    this one fails with IntegrityError rather than leaving both on.
    """
    manager = type(version)._default_manager
    with transaction.atomic():
        version = manager.select_for_update().get(pk=version.pk)
        if version.is_active:
            return version
        manager.filter(is_active=True).update(is_active=False)
        version.is_active = True
        version.activated = timezone.now()
        version.activated_by = by
        version.save(update_fields=["is_active", "activated", "activated_by"])
        audit_record(
            actor=by,
            action=f"ranking:{version._meta.model_name}:activate",
            target=f"{version._meta.verbose_name} v{version.version}",
        )
    return version


def ranking_config_activate(*, config: RankingConfig, by: User | None) -> RankingConfig:
    """Make this ranking config live (see version_activate)."""
    return version_activate(version=config, by=by)


def prompt_vectors_fill(limit: int = 10_000) -> int:
    """Embed the prompts of posts that have no embedding yet (up to `limit`); how many."""
    missing = list(
        Post.objects.filter(prompt_embedding=b"")
        .order_by("-pk")
        .values_list("pk", "prompt")[:limit]
    )
    filled = 0
    for start in range(0, len(missing), 256):
        chunk = missing[start : start + 256]
        vectors = embed_or_none([prompt for _, prompt in chunk])
        if vectors is None:
            break
        for (pk, _), vector in zip(chunk, vectors, strict=True):
            Post.objects.filter(pk=pk).update(prompt_embedding=vector.tobytes())
        filled += len(chunk)
    return filled


# --- the viewer's own controls --------------------------------------------------------

PREFERENCE_MAX = 200
_LESS = re.compile(
    r"^(?:less|fewer|no|not|without|avoid|stop|hide|skip|don'?t show(?: me)?|never)\b\s*(?:of\s+)?",
    re.IGNORECASE,
)
_MORE = re.compile(
    r"^(?:more|lots of|plenty of|show me|i like|i love|give me)\b\s*(?:of\s+)?", re.IGNORECASE
)
_CLAUSES = re.compile(r"[,;/\n]+|\s+\b(?:and|but|plus)\b\s+", re.IGNORECASE)


def preference_parse(text: str) -> tuple[list[str], list[str]]:
    """("more" phrases, "less" phrases) of a preference like "more nature, less memes".

    Clauses split at commas, semicolons, "and", "but"; a clause starting with less, fewer,
    no, without, avoid... asks for less, anything else for more.
    """
    more: list[str] = []
    less: list[str] = []
    for clause in _CLAUSES.split(text):
        clause = clause.strip(" .!?\t")
        if not clause:
            continue
        side = more
        if (match := _LESS.match(clause)) is not None:
            side, clause = less, clause[match.end() :]
        elif (match := _MORE.match(clause)) is not None:
            clause = clause[match.end() :]
        clause = clause.strip(" .!?\t")
        if clause:
            side.append(clause)
    return more, less


def feed_preference_set(*, viewer: User, text: str) -> FeedPreference | None:
    """Save (or, with an empty text, clear) the viewer's feed preference.

    ValidationError for a text that is too long or says nothing a feed could use.
    """
    text = " ".join(text.split())
    if not text:
        FeedPreference.objects.filter(viewer=viewer).delete()
        return None
    if len(text) > PREFERENCE_MAX:
        raise ValidationError(f"Keep it under {PREFERENCE_MAX} characters (this is {len(text)}).")
    more, less = preference_parse(text)
    if not more and not less:
        raise ValidationError('Say what you want more or less of, e.g. "more nature, less memes".')
    vectors = embed_or_none(more + less)
    if vectors is None:
        raise ValidationError("Feed preferences are unavailable on this server right now.")

    def side(rows: np.ndarray) -> bytes:
        if not len(rows):
            return b""
        mean = rows.mean(axis=0)
        return (mean / (np.linalg.norm(mean) + 1e-9)).astype(np.float32).tobytes()

    preference, _ = FeedPreference.objects.update_or_create(
        viewer=viewer,
        defaults={
            "text": text,
            "more": more,
            "less": less,
            "more_vector": side(vectors[: len(more)]),
            "less_vector": side(vectors[len(more) :]),
        },
    )
    return preference


def recommendations_reset(*, viewer: User) -> None:
    """Start the viewer's For You afresh: the learner forgets them, seen clips may return.

    It is an event in the log, so every web process and every later retrain forget too.
    Clips they said "not interested" in or reported stay hidden.
    """
    event_record(viewer=viewer, post_id=None, kind=EngagementEvent.Kind.RESET)


# --- trained model versions -----------------------------------------------------------


def ranking_model_train(
    *, note: str = "", by: User | None = None, activate: bool = True, passes: int | None = None
) -> RankingModel:
    """Train the learner from scratch on every settled event and save it as a new version.

    Settled: older than the live learner's grace period, so no event below `through_event`
    can still be committing. Posts without a prompt embedding get one first.
    """
    started = time.monotonic()
    prompt_vectors_fill()
    cutoff = timezone.now() - timedelta(seconds=GRACE_S)
    through = (
        EngagementEvent.objects.filter(created__lt=cutoff).aggregate(last=Max("pk"))["last"] or 0
    )
    rows = (
        # Only signed-in viewers teach the learner (see live.py).
        EngagementEvent.objects.filter(pk__lte=through, viewer__isnull=False)
        .order_by("pk")
        .values_list("viewer_id", "post_id", "kind", "value", "created")
        .iterator(chunk_size=20_000)
    )
    events = [event_of(*row) for row in rows]
    learner = Learner(LearnerConfig(passes=passes or settings.RANKING_TRAIN_PASSES))
    post_ids = sorted({int(e.item) for e in events if e.item})
    for item, info in item_infos(post_ids).items():
        learner.set_item_info(item, info)
    learner.fit(events)
    data = learner.to_bytes()
    model = RankingModel(
        through_event=through,
        events=len(events),
        viewers=len(learner.viewers),
        clips=len(learner.items),
        size_bytes=len(data),
        note=note[:200],
    )
    for attempt in range(3):
        try:
            with transaction.atomic():
                latest = RankingModel.objects.aggregate(latest=Max("version"))["latest"]
                model.version = (latest or 0) + 1
                model.training_s = round(time.monotonic() - started, 2)
                model.state.save("state.npz", ContentFile(data), save=False)
                model.save(force_insert=True)
            break
        except IntegrityError:
            model.state.delete(save=False)
            model.pk = None
            model._state.adding = True
            if attempt == 2:
                raise
    if activate:
        model = ranking_model_activate(model=model, by=by)
    ranking_models_prune()
    return model


def ranking_model_activate(*, model: RankingModel, by: User | None) -> RankingModel:
    """Make this trained version the one every web process ranks with (a rollback, too)."""
    return version_activate(version=model, by=by)


def ranking_models_prune(keep: int | None = None) -> int:
    """Delete all but the newest `keep` versions (never the active one); how many went."""
    keep = settings.RANKING_MODELS_KEPT if keep is None else keep
    kept = set(RankingModel.objects.order_by("-version").values_list("pk", flat=True)[:keep])
    doomed = RankingModel.objects.exclude(pk__in=kept).filter(is_active=False)
    count = 0
    for model in doomed:
        model.state.delete(save=False)
        model.delete()
        count += 1
    return count
