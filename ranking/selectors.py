"""Reads for ranking: a For You page, the settings and model in force, and why a clip
was recommended. Nothing here writes a row or moves the learner it is given."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

if TYPE_CHECKING:
    from feed.models import Post

from .learner import ItemInfo, Learner
from .live import item_infos, live, vector_from_bytes
from .models import FeedPreference, RankingConfig, RankingModel, ServedItem
from .recommend import (
    RankedPage,
    candidate_rows,
    candidates_gather,
    cursor_decode,
    cursor_encode,
    preference_of,
    turned_down,
)
from .scoring import (
    EXPLORE_MAX_IMPRESSIONS,
    EXPLORE_POOL,
    Candidate,
    assemble,
    explore,
    score,
    terms_of,
)


def active_config() -> RankingConfig:
    """The live ranking settings: the active version, or the defaults (unsaved) if none is.

    One indexed query (the partial unique index on is_active); callers that rank several
    times in one request should keep the result rather than ask again.
    """
    return RankingConfig.objects.filter(is_active=True).first() or RankingConfig()


def for_you_page(
    *,
    viewer: User | None,
    base: QuerySet[Any],
    cursor: str | None,
    size: int,
    learner: Learner,
    rng: np.random.Generator | None = None,
    config: RankingConfig | None = None,
) -> RankedPage:
    """Rank one page of For You for this viewer from the clips of `base` (see `recommend`),
    with the ranking settings `config` (by default the active ones, read now).

    Reads only: `learner` is not changed (clips it holds no row for are scored from their
    infos, which the page carries), and nothing is logged (`services.served_record` does).
    """
    if cursor:
        session, number = cursor_decode(cursor)
    else:
        session, number = secrets.token_hex(8), 0
    rng = rng or np.random.default_rng()
    config = config or active_config()
    now = timezone.now()
    viewer_key = str(viewer.pk) if viewer is not None and viewer.is_authenticated else ""
    preference = preference_of(viewer)

    found = candidates_gather(viewer, base, learner, preference, now)
    # Clips new to the learner are scored from their candidate rows (creator, time), with no
    # query of their own; the updater reads their prompts once the page tells it of them.
    extra = {
        item: ItemInfo(author=str(found[int(item)].owner_id), created=found[int(item)].created)
        for item in learner.unknown_items([str(pk) for pk in found])
    }
    seen, refused = turned_down(viewer, set(found))
    served = (
        set(ServedItem.objects.filter(session=session).values_list("post_id", flat=True))
        if number
        else set()
    )
    fresh = [
        c for pk, c in found.items() if pk not in seen and pk not in refused and pk not in served
    ]
    score(learner, viewer_key, fresh, config, preference, now, extra)
    ranked = sorted(fresh, key=lambda c: (-c.score, -c.created, -c.pk))
    imps, _ = learner.item_counts([str(c.pk) for c in ranked])
    pool = [c for c, shown in zip(ranked, imps, strict=True) if shown < EXPLORE_MAX_IMPRESSIONS]
    pool = sorted(pool, key=lambda c: c.created, reverse=True)[:EXPLORE_POOL]
    wanted = config.exploration_share * size
    slots = int(wanted) + (1 if rng.random() < wanted - int(wanted) else 0)
    explored = explore(pool, learner, slots, rng)
    page = assemble(ranked, explored, size, config, rng)
    if len(page) < size:
        # Nothing new left: clips seen before fill the page, best first.
        again = [
            c for pk, c in found.items() if pk in seen and pk not in refused and pk not in served
        ]
        score(learner, viewer_key, again, config, preference, now, extra)
        for candidate in again:
            candidate.sources = ["again"]
        again.sort(key=lambda c: (-c.score, -c.pk))
        page += assemble(again, [], size - len(page), config, rng)

    # The cards' posts, without the prompts' embeddings (1.5 KB each, which no card shows).
    cards = base.filter(pk__in=[c.pk for c in page])
    posts = {p.pk: p for p in cards.defer("prompt_embedding", "remix_of__prompt_embedding")}
    page = [c for c in page if c.pk in posts]
    # A page cut short by the diversity limits still has a next one while clips remain.
    left = len(found) - len(refused & found.keys()) - len(served & found.keys()) - len(page)
    return RankedPage(
        items=[posts[c.pk] for c in page],
        served=page,
        next_cursor=cursor_encode(session, number + 1) if page and left > 0 else None,
        session=session,
        first_position=number * size,
        terms=terms_of(learner, viewer_key, page, now, extra),
        config_version=config.version if config.pk else None,
        created=now,
        item_infos=extra,
    )


def explain_now(
    *, viewer: User | None, post_id: int
) -> tuple[dict[str, Any], int | None, int | None]:
    """Score one clip for this viewer now, as For You would: (terms, config, model version).

    With the live learner as it stands: explaining neither syncs nor changes it.
    """
    from feed.models import Post

    config = active_config()
    learner, model_version = live.learner, live.model_version
    now = timezone.now()
    viewer_key = str(viewer.pk) if viewer is not None and viewer.is_authenticated else ""
    found = candidate_rows(Post.objects.filter(pk=post_id))
    if not found:
        return {}, None, None
    pk, owner_id, remix_of_id, created = found[0]
    candidate = Candidate(pk, owner_id, remix_of_id, created, sources=["opened"])
    extra = {} if learner.has_item(str(pk)) else item_infos([pk])
    score(learner, viewer_key, [candidate], config, preference_of(viewer), now, extra)
    terms = terms_of(learner, viewer_key, [candidate], now, extra)[0]
    return terms, (config.version if config.pk else None), model_version


def ranking_config_previous() -> RankingConfig | None:
    """The version that was live before the active one: what a rollback goes back to."""
    return (
        RankingConfig.objects.filter(is_active=False, activated__isnull=False)
        .order_by("-activated", "-version")
        .first()
    )


def ranking_model_previous() -> RankingModel | None:
    """The model version that was live before the active one: what a rollback goes back to."""
    return (
        RankingModel.objects.filter(is_active=False, activated__isnull=False)
        .order_by("-activated", "-version")
        .first()
    )


def feed_preference(*, viewer: User) -> FeedPreference | None:
    """The viewer's own words about their For You, if they wrote any."""
    return FeedPreference.objects.filter(viewer=viewer).first()


@dataclass(frozen=True)
class Why:
    """Why a clip is in someone's For You: the score terms as they were computed."""

    terms: dict[str, Any]
    shown: datetime  # when these terms were computed
    position: int | None  # where it was put (None: computed now, not served)
    explored: bool
    propensity: float | None
    config_version: int | None
    model_version: int | None


def why_shown(*, viewer: User | None, post_id: int) -> Why:
    """The terms behind the last time For You served this clip to this viewer.

    A clip opened some other way (a link, a profile) is scored now, as For You would
    score it, and says so.
    """
    if viewer is not None and viewer.is_authenticated:
        served = (
            ServedItem.objects.filter(viewer=viewer, post_id=post_id).order_by("-created").first()
        )
        if served is not None:
            return Why(
                terms=served.terms,
                shown=served.created,
                position=served.position,
                explored=served.explored,
                propensity=served.propensity,
                config_version=served.config_version,
                model_version=served.model_version,
            )
    terms, config_version, model_version = explain_now(viewer=viewer, post_id=post_id)
    return Why(
        terms=terms,
        shown=timezone.now(),
        position=None,
        explored=False,
        propensity=None,
        config_version=config_version,
        model_version=model_version,
    )


def similar_post_ids(*, post: Post, n: int) -> list[int]:
    """Up to `n` clips whose prompts are nearest this one's (the live learner's index of
    prompt embeddings), nearest first; none when the clip has no embedding yet."""
    vector = vector_from_bytes(post.prompt_embedding)
    if vector is None:
        return []
    learner, _ = live.serving()
    ids = [int(item) for item in learner.nearest_items(vector, n + 1) if item.isdigit()]
    return [pk for pk in ids if pk != post.pk][:n]


def trending_post_ids(*, n: int) -> list[int]:
    """Up to `n` clips with the most engagement lately (as For You's trending source)."""
    learner, _ = live.serving()
    return [int(item) for item in learner.trending_items(n) if item.isdigit()]
