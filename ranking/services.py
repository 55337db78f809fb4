"""Writes for ranking: For You pages served, the ranking settings and trained models, and
what a viewer tells their feed (a preference, a reset). The engagement log's writes are in
ranking/event_log.py."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import User
from core.embedding import embed_or_none
from feed.models import Post
from moderation.services import audit_record

from .event_log import event_record, served_write
from .live import live
from .models import (
    TUNABLE_FIELDS,
    Activatable,
    EngagementEvent,
    FeedPreference,
    RankingConfig,
    RankingModel,
    ServedItem,
)
from .recommend import RankedPage
from .selectors import for_you_page, ranking_model_previous
from .training import retrain

# --- For You pages -------------------------------------------------------------------


def for_you_serve(
    *,
    viewer: User | None,
    base: QuerySet[Post],
    cursor: str | None,
    size: int,
    rng: np.random.Generator | None = None,
) -> RankedPage:
    """Serve a page of For You: rank it with the live learner as it stands, and log it.

    The request only scores: the process's updater applies events and loads versions in the
    background (live.py). `.items` are the posts in order, `.next_cursor` the next page's
    cursor (None at the end).
    """
    learner, model_version = live.serving()
    page = for_you_page(
        viewer=viewer,
        base=base,
        cursor=cursor,
        size=size,
        learner=learner,
        rng=rng,
        config=live.config(),
    )
    # Clips new to the learner were scored from their rows; told of them, the updater reads
    # and records them, so later pages find them by their prompts too ("similar", "preference").
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
    if not live.served_queue(rows):  # the updater writes them, else now
        served_write(rows)


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


def ranking_config_defaults_ensure() -> RankingConfig:
    """Version 0: the built-in defaults saved as a version, so the admin shows them and can
    roll back to them. Made once (the first time the admin lists versions), live if no
    other version is, since the defaults are then what For You ranks with."""
    found = RankingConfig.objects.filter(version=0).first()
    if found is not None:
        return found
    for goes_live in (not RankingConfig.objects.filter(is_active=True).exists(), False):
        config = RankingConfig(
            version=0,
            note="The built-in defaults, saved by Riff so that they can be rolled back to.",
            is_active=goes_live,
            activated=timezone.now() if goes_live else None,
        )
        try:
            with transaction.atomic():
                config.save(force_insert=True)
            return config
        except IntegrityError:
            # Made elsewhere at the same moment, or another version went live meanwhile.
            found = RankingConfig.objects.filter(version=0).first()
            if found is not None:
                return found
    raise RuntimeError("Could not save the defaults as version 0")


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
    live.config_forget()  # this process's next page reads the settings again
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
    """Train a new version on the settled events of the moving window, streamed from the
    database, and save it (ranking/training.py). Posts without a prompt embedding get one.

    With `activate` it goes live if no version is, or if its like AUC on the held-out
    newest events is at least the live version's; otherwise it is kept, inactive, with the
    reason in `inactive_reason` (an admin may still activate it by hand).
    """
    started = time.monotonic()
    prompt_vectors_fill()
    result = retrain(passes=passes or settings.RANKING_TRAIN_PASSES)
    data = result.learner.to_bytes()
    holdout = result.holdout
    reason = result.reason if activate else "Trained to be kept, not put live."
    model = RankingModel(
        through_event=result.through,
        events=result.events,
        viewers=len(result.learner.viewers),
        clips=len(result.learner.items),
        size_bytes=len(data),
        note=note[:200],
        holdout_metric=holdout.metrics[0] if holdout else None,
        holdout_active_metric=holdout.metrics[1] if holdout else None,
        holdout_compared_with=result.compared_with,
        holdout_exposures=holdout.exposures if holdout else 0,
        inactive_reason=reason[:300],
    )
    del result  # the learner: its saved bytes are all that is kept
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
    if not model.inactive_reason:
        model = _ranking_model_go_live(model=model, by=by)
    ranking_models_prune()
    return model


def _ranking_model_go_live(*, model: RankingModel, by: User | None) -> RankingModel:
    """Activate a version that passed its held-out check, unless the live version changed
    while it trained (a rollback, say): it was not checked against that one."""
    with transaction.atomic():
        live_now = (
            RankingModel.objects.select_for_update()
            .filter(is_active=True)
            .values_list("version", flat=True)
            .first()
        )
        if live_now != model.holdout_compared_with:
            model.inactive_reason = (
                f"v{live_now} went live while it trained, and it was not checked against that."
            )
            model.save(update_fields=["inactive_reason"])
            return model
        return ranking_model_activate(model=model, by=by)


def ranking_model_activate(*, model: RankingModel, by: User | None) -> RankingModel:
    """Make this trained version the one every web process ranks with (a rollback, too)."""
    return version_activate(version=model, by=by)


def ranking_models_prune(keep: int | None = None) -> int:
    """Delete all but the newest `keep` versions (never the active one, nor the one a
    rollback goes back to, however many retrains were kept inactive since); how many went."""
    keep = settings.RANKING_MODELS_KEPT if keep is None else keep
    kept = set(RankingModel.objects.order_by("-version").values_list("pk", flat=True)[:keep])
    if (previous := ranking_model_previous()) is not None:
        kept.add(previous.pk)
    doomed = RankingModel.objects.exclude(pk__in=kept).filter(is_active=False)
    count = 0
    for model in doomed:
        model.state.delete(save=False)
        model.delete()
        count += 1
    return count


def engagement_events_prune(*, before: datetime | None = None, batch: int | None = None) -> int:
    """Delete the engagement events older than the training window and its margin (or than
    `before`), `batch` (RANKING_PRUNE_BATCH) at a time; how many went.

    No retrain reads them any more. Each batch is its own short transaction, so a first
    prune of months of events never holds a long lock or one huge transaction.
    """
    if before is None:
        days = settings.RANKING_TRAIN_WINDOW_DAYS + settings.RANKING_EVENTS_MARGIN_DAYS
        before = timezone.now() - timedelta(days=days)
    batch = batch or settings.RANKING_PRUNE_BATCH
    old = EngagementEvent.objects.filter(created__lt=before).order_by("pk")
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            count, _ = EngagementEvent.objects.filter(pk__in=ids).delete()
        deleted += count
        if len(ids) < batch:
            break
    return deleted
