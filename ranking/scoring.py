"""Scoring and placing For You candidates: the score terms, exploration, diversity.

Pure computation over the learner and the active RankingConfig; `recommend` gathers the
candidates, filters them and logs the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .learner import HEADS, Learner
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
    created: datetime
    sources: list[str] = field(default_factory=list)
    score: float = 0.0
    sheet: Any = None  # (the scoring pass's _Sheet, this candidate's row in it)
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
class _Sheet:
    """The arrays one scoring pass computed, kept to describe the few clips served."""

    heads: dict[str, np.ndarray]
    weights: dict[str, float]
    values: np.ndarray
    ages_s: np.ndarray
    freshness: np.ndarray
    matches: np.ndarray | None
    steer: np.ndarray


def score(
    learner: Learner,
    viewer_key: str,
    candidates: list[Candidate],
    config: RankingConfig,
    preference: Preference | None,
    now: datetime,
) -> None:
    """Fill each candidate's score (vectorised; `describe` spells out its terms later)."""
    if not candidates:
        return
    items = [str(c.pk) for c in candidates]
    heads = learner.score(viewer_key, items, now.timestamp())
    weights = config.weights
    values = np.sum([weights[head] * heads[head] for head in HEADS], axis=0)
    created = np.array([c.created.timestamp() for c in candidates])
    ages_s = np.maximum(now.timestamp() - created, 0.0)
    freshness = np.exp2(-ages_s / (config.freshness_half_life_hours * 3600.0))
    matches = None
    if preference is not None:
        embeddings, has_embedding = learner.item_embeddings(items)
        matches = np.zeros(len(items))
        if preference.more is not None:
            matches += embeddings @ preference.more
        if preference.less is not None:
            matches -= embeddings @ preference.less
        matches[~has_embedding] = 0.0
    steer = (
        np.exp(config.preference_strength * matches) if matches is not None else np.ones(len(items))
    )
    factor = freshness * steer
    scores = np.where(values >= 0, values * factor, values / factor)
    sheet = _Sheet(heads, weights, values, ages_s, freshness, matches, steer)
    for index, candidate in enumerate(candidates):
        candidate.score = float(scores[index])
        candidate.sheet = (sheet, index)


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
