"""Reads for ranking: the settings and model in force, and why a clip was recommended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User

from .models import FeedPreference, RankingConfig, RankingModel, ServedItem


def active_config() -> RankingConfig:
    """The live ranking settings: the active version, or the defaults (unsaved) if none is.

    One indexed query (the partial unique index on is_active); callers that rank several
    times in one request should keep the result rather than ask again.
    """
    return RankingConfig.objects.filter(is_active=True).first() or RankingConfig()


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
    from .recommend import explain_now

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
