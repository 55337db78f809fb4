"""Scoring and placing For You candidates: the score terms, exploration, diversity.

Pure computation over the learner and the active RankingConfig; `recommend` gathers the
candidates and filters them, `selectors.for_you_page` ranks a page, `services` logs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .learner import Infos, Learner, weighted_value
from .models import RankingConfig

# A clip with fewer impressions than this can be explored.
EXPLORE_MAX_IMPRESSIONS = 30
# The newest this many of them are the exploration pool.
EXPLORE_POOL = 100
# Monte Carlo draws behind each logged exploration propensity.
PROPENSITY_DRAWS = 200


@dataclass
class Candidate:
    """A clip that may go on the page, and what ranking found out about it."""

    pk: int
    owner_id: int
    remix_of_id: int | None
    created: float  # unix seconds
    sources: list[str] = field(default_factory=list)
    score: float = 0.0
    sheet: Any = None  # (the scoring pass's Sheet, this candidate's row in it)
    explored: bool = False
    propensity: float = 1.0
    exploration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preference:
    """A viewer's feed preference as unit vectors (None where a side is empty)."""

    text: str
    more: np.ndarray | None
    less: np.ndarray | None


# --- scoring --------------------------------------------------------------------------


@dataclass
class Sheet:
    """The arrays one scoring pass computed, kept to describe the few clips served."""

    heads: Mapping[str, np.ndarray]
    weights: Mapping[str, float]
    values: np.ndarray
    ages_s: np.ndarray
    freshness: np.ndarray
    matches: np.ndarray | None
    steer: np.ndarray
    scores: np.ndarray


def weigh(
    heads: Mapping[str, np.ndarray],
    ages_s: np.ndarray,
    *,
    weights: Mapping[str, float],
    half_life_hours: float,
    matches: np.ndarray | None = None,
    preference_strength: float = 0.0,
) -> Sheet:
    """Scores from predicted engagements: their weighted sum, times a freshness decay (halved
    every half-life of age) and the preference factor exp(strength x match).

    A negative value is divided by those factors instead, so an old clip people dislike stays
    disliked rather than drifting to zero. For You, the admin's preview and the offline
    evaluation all score with this.
    """
    values = weighted_value(heads, weights)
    ages_s = np.maximum(ages_s, 0.0)
    freshness = np.exp2(-ages_s / (half_life_hours * 3600.0))
    steer = np.exp(preference_strength * matches) if matches is not None else np.ones(len(ages_s))
    factor = freshness * steer
    scores = np.where(values >= 0, values * factor, values / factor)
    return Sheet(heads, weights, values, ages_s, freshness, matches, steer, scores)


def score(
    learner: Learner,
    viewer_key: str,
    candidates: list[Candidate],
    config: RankingConfig,
    preference: Preference | None,
    now: datetime,
    extra: Infos | None = None,
) -> None:
    """Fill each candidate's score (vectorised; `describe` spells out its terms later).

    `extra`: infos of clips the learner holds no row for, read without storing them.
    """
    if not candidates:
        return
    items = [str(c.pk) for c in candidates]
    heads = learner.score(viewer_key, items, now.timestamp(), extra=extra)
    created = np.array([c.created for c in candidates])
    matches = None
    if preference is not None:
        embeddings, has_embedding = learner.item_embeddings(items, extra=extra)
        matches = np.zeros(len(items))
        if preference.more is not None:
            matches += embeddings @ preference.more
        if preference.less is not None:
            matches -= embeddings @ preference.less
        matches[~has_embedding] = 0.0
    sheet = weigh(
        heads,
        now.timestamp() - created,
        weights=config.weights,
        half_life_hours=config.freshness_half_life_hours,
        matches=matches,
        preference_strength=config.preference_strength,
    )
    for index, candidate in enumerate(candidates):
        candidate.score = float(sheet.scores[index])
        candidate.sheet = (sheet, index)


def terms_of(
    learner: Learner,
    viewer_key: str,
    candidates: list[Candidate],
    now: datetime,
    extra: Infos | None = None,
) -> list[dict[str, Any]]:
    """The terms of scored candidates with the learner's features: what ServedItem keeps."""
    features = learner.explain(
        viewer_key, [str(c.pk) for c in candidates], now.timestamp(), extra=extra
    )
    return [
        {**describe(candidate), "features": features[index]}
        for index, candidate in enumerate(candidates)
    ]


def describe(candidate: Candidate) -> dict[str, Any]:
    """The score terms of a scored candidate, in the form ServedItem.terms keeps them."""
    sheet, i = candidate.sheet
    return {
        "heads": {
            head: {
                "p": round(float(p[i]), 5),
                "weight": sheet.weights[head],
                "contribution": round(sheet.weights[head] * float(p[i]), 5),
            }
            for head, p in sheet.heads.items()
        },
        "value": round(float(sheet.values[i]), 5),
        "age_hours": round(float(sheet.ages_s[i]) / 3600.0, 2),
        "freshness": round(float(sheet.freshness[i]), 5),
        "preference_match": None if sheet.matches is None else round(float(sheet.matches[i]), 4),
        "preference_factor": round(float(sheet.steer[i]), 4),
        "score": round(candidate.score, 6),
        **({"exploration": candidate.exploration} if candidate.exploration else {}),
        "sources": candidate.sources,
    }


# --- exploration and diversity --------------------------------------------------------


def explore(
    pool: list[Candidate], learner: Learner, slots: int, rng: np.random.Generator
) -> list[Candidate]:
    """Thompson sampling: `slots` clips of `pool`, each with its estimated pick probability."""
    if slots <= 0 or not pool:
        return []
    imps, likes = learner.item_counts([str(c.pk) for c in pool])
    # The prior is the catalogue's like rate, worth a few impressions.
    total_imps, total_likes = float(imps.sum()), float(likes.sum())
    mean = (total_likes + 1.0) / (total_imps + 10.0)
    alpha = 4.0 * mean + likes
    beta = 4.0 * (1.0 - mean) + np.maximum(imps - likes, 0.0)
    slots = min(slots, len(pool))
    draw = rng.beta(alpha, beta)
    chosen = np.argsort(-draw, kind="stable")[:slots]
    # The same posterior, drawn again, says how often each would be chosen.
    draws = rng.beta(alpha, beta, size=(PROPENSITY_DRAWS, len(pool)))
    top = np.argpartition(-draws, slots - 1, axis=1)[:, :slots] if slots < len(pool) else None
    counts = (
        np.bincount(top.ravel(), minlength=len(pool))
        if top is not None
        else np.full(len(pool), PROPENSITY_DRAWS)
    )
    picks = []
    for index in chosen.tolist():
        candidate = pool[index]
        candidate.explored = True
        candidate.propensity = max(float(counts[index]) / PROPENSITY_DRAWS, 1.0 / PROPENSITY_DRAWS)
        candidate.exploration = {
            "impressions": int(imps[index]),
            "likes": int(likes[index]),
            "sampled_like_rate": round(float(draw[index]), 4),
            "propensity": round(candidate.propensity, 4),
        }
        picks.append(candidate)
    return picks


def _fits(candidate: Candidate, page: list[Candidate], config: RankingConfig) -> bool:
    same_author = sum(1 for c in page if c.owner_id == candidate.owner_id)
    if same_author >= config.max_per_author:
        return False
    if candidate.remix_of_id is not None and config.remix_gap:
        recent = page[-config.remix_gap :]
        if any(c.remix_of_id == candidate.remix_of_id for c in recent):
            return False
    return True


def assemble(
    ranked: list[Candidate],
    explored: list[Candidate],
    size: int,
    config: RankingConfig,
    rng: np.random.Generator,
) -> list[Candidate]:
    """The page: ranked clips with the explored ones in random slots (never the first),
    every clip within the diversity limits; shorter than `size` if nothing else fits."""
    page: list[Candidate] = []
    slots = set()
    if explored and size > 1:
        slots = set(
            rng.choice(
                np.arange(1, size), size=min(len(explored), size - 1), replace=False
            ).tolist()
        )
    waiting = list(explored)
    queue = [c for c in ranked if not c.explored]
    while len(page) < size:
        pick = None
        if len(page) in slots and waiting:
            pick = next((c for c in waiting if _fits(c, page, config)), None)
            if pick is not None:
                waiting.remove(pick)
        if pick is None:
            pick = next((c for c in queue if _fits(c, page, config)), None)
            if pick is None:
                pick = next((c for c in waiting if _fits(c, page, config)), None)
                if pick is None:
                    break
                waiting.remove(pick)
            else:
                queue.remove(pick)
        page.append(pick)
    for candidate in page:
        if not candidate.explored:
            candidate.propensity = 1.0
    return page
