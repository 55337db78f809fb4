"""Off-policy evaluation of a ranking version on For You's serving log (ServedItem).

With every clip For You serves it logs the probability that its policy would put that clip
there (`propensity`: 1 for a ranked slot, the Thompson sampling estimate for an exploration
slot) and the score terms it ranked by. Self-normalised inverse propensity scoring (SNIPS)
reweighs what was logged by how likely another version was to show the same clip:

    V(version) = sum_i w_i r_i / sum_i w_i,   w_i = target_i / logged_i

where r_i is what the viewer gave the clip afterwards: the replay's NDCG gains (like 1,
comment 1, share or remix 2, watched to the end or replayed 0.5; nothing if reported or
"not interested"). The confidence interval is the delta method's, with each viewing session
one cluster (its clips are judged by one viewer in one sitting, so they are not independent).

A version's probability of showing a logged clip (`target_probabilities`): the session's
ranked clips are ordered again by the version's score (recomputed from the logged terms, or
by a candidate model), and dealt into the ranked slots of the pages served, keeping the
version's diversity limits. A ranked clip counts (1) where the version deals it to the page
it was really shown on (precisely: where the version that served it deals it too; see
`logging_reference`), else 0. An explored clip keeps its logged probability, scaled by the
version's exploration share over the serving version's, so a version that explores more
weighs explored clips more. Clips the version would have shown but For You never did have
no outcome, so they cannot count: the estimate is of the version on what was served, and
`support` says on how much of it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..learner import HEADS
from ..scoring import weigh
from .served import MAX_SERVED, OUTCOME_HORIZON_S, ServedLog, gain_of, read_served

# The log's reading lives in `served`; it is part of what this module offers.
__all__ = [
    "MAX_SERVED",
    "MIN_EFFECTIVE",
    "MIN_SERVED",
    "MIN_SESSIONS",
    "OUTCOME_HORIZON_S",
    "Z_95",
    "Estimate",
    "Predict",
    "OffPolicy",
    "ServedLog",
    "Target",
    "config_scores",
    "dealt_pages",
    "gain_of",
    "logging_reference",
    "model_scores",
    "off_policy",
    "read_served",
    "snips",
    "snips_difference",
    "target_of",
    "target_probabilities",
]

# The two-sided 95% normal quantile.
Z_95 = 1.959963984540054
# Below these an estimate is "too little data", said in words with the reason.
MIN_SERVED = 200
MIN_SESSIONS = 20
MIN_EFFECTIVE = 50.0

# --- the estimator --------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A SNIPS estimate with its confidence interval; None where nothing carries weight."""

    value: float | None
    low: float | None
    high: float | None
    se: float | None
    support: int  # logged units with a weight above zero
    effective: float  # Kish's effective sample size: (sum w)^2 / sum w^2


_NOTHING = Estimate(None, None, None, None, 0, 0.0)


def _standard_error(influence: np.ndarray, clusters: np.ndarray | None) -> float | None:
    """Delta-method standard error from each unit's influence, summed within clusters."""
    if clusters is not None:
        _, inverse = np.unique(clusters, return_inverse=True)
        influence = np.bincount(inverse, weights=influence)
    groups = influence.size
    if groups < 2:
        return None
    return math.sqrt(groups / (groups - 1) * float(np.sum(influence**2)))


def _weights(target: np.ndarray, logging: np.ndarray) -> np.ndarray:
    target = np.asarray(target, dtype=np.float64)
    logging = np.asarray(logging, dtype=np.float64)
    if np.any(logging <= 0.0) or np.any(target < 0.0):
        raise ValueError("Logged probabilities must be positive and target ones not negative")
    return target / logging


def _estimate(value: float, se: float | None, w: np.ndarray, z: float) -> Estimate:
    total = float(w.sum())
    effective = total**2 / float(np.sum(w**2)) if total > 0 else 0.0
    low = high = None
    if se is not None:
        low, high = value - z * se, value + z * se
    return Estimate(value, low, high, se, int(np.count_nonzero(w)), effective)


def snips(
    rewards: np.ndarray,
    target: np.ndarray,
    logging: np.ndarray,
    *,
    clusters: np.ndarray | None = None,
    z: float = Z_95,
) -> Estimate:
    """Self-normalised IPS estimate of the target policy's mean reward, with a delta-method
    confidence interval (clustered when `clusters` labels each unit's group)."""
    r = np.asarray(rewards, dtype=np.float64)
    w = _weights(target, logging)
    total = float(w.sum())
    if total <= 0.0:
        return _NOTHING
    value = float((w * r).sum() / total)
    se = _standard_error(w * (r - value) / total, clusters)
    return _estimate(value, se, w, z)


def snips_difference(
    rewards: np.ndarray,
    target: np.ndarray,
    baseline: np.ndarray,
    logging: np.ndarray,
    *,
    clusters: np.ndarray | None = None,
    z: float = Z_95,
) -> Estimate:
    """SNIPS of `target` minus SNIPS of `baseline` on the same log, with the interval of the
    difference (paired: both are estimated from the same units, so much of the noise cancels)."""
    r = np.asarray(rewards, dtype=np.float64)
    wt, wb = _weights(target, logging), _weights(baseline, logging)
    tt, tb = float(wt.sum()), float(wb.sum())
    if tt <= 0.0 or tb <= 0.0:
        return _NOTHING
    vt, vb = float((wt * r).sum() / tt), float((wb * r).sum() / tb)
    influence = wt * (r - vt) / tt - wb * (r - vb) / tb
    se = _standard_error(influence, clusters)
    return _estimate(vt - vb, se, np.maximum(wt, wb), z)


# --- what a version would have done ---------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A version as the estimator sees it: its score of each logged clip and its page rules."""

    scores: np.ndarray
    exploration_share: float
    max_per_author: int
    remix_gap: int


def config_scores(log: ServedLog, config: Any) -> np.ndarray:
    """Each logged clip's score under a RankingConfig, from the terms it was served with."""
    heads = {head: log.heads[:, h] for h, head in enumerate(HEADS)}
    return weigh(
        heads,
        log.age_s,
        weights=config.weights,
        half_life_hours=config.freshness_half_life_hours,
        matches=np.nan_to_num(log.match, nan=0.0),
        preference_strength=config.preference_strength,
    ).scores


# A model's predictions for one page: (viewer, clips, when) -> {head: probabilities}.
Predict = Callable[[str, list[str], float], Mapping[str, np.ndarray]]


def model_scores(
    log: ServedLog, predict: Predict, config: Any, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    """Each logged clip's score under another model's predictions and `config`'s weights."""
    heads = np.zeros_like(log.heads)
    starts: list[int] = []
    if log.size:
        starts = np.flatnonzero(np.r_[True, log.page[1:] != log.page[:-1]]).tolist()
    bounds = [*starts, log.size]
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        found = predict(
            str(log.viewer[start]),
            [str(p) for p in log.post[start:end]],
            float(log.created[start]),
        )
        heads[start:end] = np.column_stack([found[head] for head in HEADS])
        if progress is not None and number % 500 == 0:
            progress(number / max(len(bounds) - 1, 1))
    return weigh(
        {head: heads[:, h] for h, head in enumerate(HEADS)},
        log.age_s,
        weights=config.weights,
        half_life_hours=config.freshness_half_life_hours,
        matches=np.nan_to_num(log.match, nan=0.0),
        preference_strength=config.preference_strength,
    ).scores


def target_of(log: ServedLog, config: Any, scores: np.ndarray | None = None) -> Target:
    """The target of a RankingConfig: its scores (by default from the logged terms) and rules."""
    return Target(
        scores=config_scores(log, config) if scores is None else scores,
        exploration_share=float(config.exploration_share),
        max_per_author=int(config.max_per_author),
        remix_gap=int(config.remix_gap),
    )


def dealt_pages(log: ServedLog, target: Target, rows: np.ndarray | None = None) -> np.ndarray:
    """The page the target deals each ranked clip of its session into (module doc); -1 for
    explored clips and clips it deals nowhere. `rows`: only the sessions of these rows."""
    dealt = np.full(log.size, -1, dtype=np.int64)
    if not log.size:
        return dealt
    wanted = None if rows is None else set(log.session[rows].tolist())
    starts = np.flatnonzero(np.r_[True, log.session[1:] != log.session[:-1]])
    bounds = [*map(int, starts), log.size]
    for start, end in zip(bounds, bounds[1:], strict=False):
        if wanted is None or int(log.session[start]) in wanted:
            for row, page in _deal(log, target, start, end).items():
                dealt[row] = page
    return dealt


def logging_reference(log: ServedLog) -> np.ndarray:
    """Where each served clip's own version deals it (`dealt_pages` with the config that
    served its page, scored from the logged terms).

    Scores logged on a session's later pages were computed after the learner had learnt
    from its earlier ones, so dealing them again does not always give back the pages
    served, even with the version that served them. Judged against this reference rather
    than the pages served, a version counts a clip where it deals it as that version did:
    the serving version reproduces its pages exactly, and another differs by what it changes.
    """
    from ..models import RankingConfig

    reference = np.full(log.size, -1, dtype=np.int64)
    versions = sorted(set(log.config_version.tolist()))
    configs = {c.version: c for c in RankingConfig.objects.filter(version__in=versions)}
    for version in versions:
        config = configs.get(version) or RankingConfig()  # -1 or gone: the defaults
        rows = np.flatnonzero(log.config_version == version)
        dealt = dealt_pages(log, target_of(log, config), rows)
        reference[rows] = dealt[rows]
    return reference


def target_probabilities(
    log: ServedLog, target: Target, reference: np.ndarray | None = None
) -> np.ndarray:
    """How likely the version is to show each logged clip where it was shown (module doc):
    a ranked clip 1 where it deals it as `reference` does (by default: the page served),
    else 0; an explored clip its logged probability times the ratio of the exploration
    shares. That can pass 1: an explored clip stands for all its page's exploration draws,
    which come from the same pool whichever version explores, so twice the share shows
    twice as many clips like it."""
    probs = np.zeros(log.size)
    explored = log.explored
    share = log.exploration_share
    ratio = np.divide(target.exploration_share, share, out=np.zeros_like(share), where=share > 0)
    probs[explored] = log.propensity[explored] * ratio[explored]
    ranked = ~explored
    expected = log.page if reference is None else reference
    probs[ranked] = (dealt_pages(log, target)[ranked] == expected[ranked]).astype(np.float64)
    return probs


def _deal(log: ServedLog, target: Target, start: int, end: int) -> dict[int, int]:
    """One session's ranked clips dealt into its pages by the target: {row: page}."""
    rows = range(start, end)
    # Ties go by clip, not by where they were served, which would favour the served order.
    ranked = sorted(
        (row for row in rows if not log.explored[row]),
        key=lambda row: (-target.scores[row], int(log.post[row])),
    )
    # As many ranked slots as were served: a version that explores more or less is weighed
    # by its exploration share instead (`target_probabilities`).
    kept: Counter[int] = Counter(int(log.page[row]) for row in rows if not log.explored[row])
    dealt: dict[int, int] = {}
    for page in sorted(kept):
        slots = kept[page]
        on_page: list[int] = []
        per_author: Counter[int] = Counter()
        for _ in range(slots):
            if not ranked:
                break
            pick = next(
                (row for row in ranked if _fits(log, target, row, on_page, per_author)), None
            )
            if pick is None:  # the limits give way rather than leave the page short
                pick = ranked[0]
            ranked.remove(pick)
            on_page.append(pick)
            per_author[int(log.author[pick])] += 1
            dealt[pick] = page
    return dealt


def _fits(
    log: ServedLog, target: Target, row: int, on_page: list[int], per_author: Counter[int]
) -> bool:
    if per_author[int(log.author[row])] >= target.max_per_author:
        return False
    mother = int(log.parent[row])
    if mother < 0 or not target.remix_gap:
        return True
    return all(int(log.parent[other]) != mother for other in on_page[-target.remix_gap :])


# --- the comparison -------------------------------------------------------------------


@dataclass(frozen=True)
class OffPolicy:
    """A candidate version beside the active one on the same served clips."""

    candidate: Estimate
    active: Estimate
    difference: Estimate  # candidate minus active
    served: Estimate  # what the served pages got, as they were
    rows: int
    sessions: int
    viewers: int
    enough: bool
    reason: str  # why there is too little data to tell ("" when there is enough)


def off_policy(
    log: ServedLog, candidate: Target, active: Target, reference: np.ndarray | None = None
) -> OffPolicy:
    """SNIPS of the candidate and of the active version on the log, and their difference;
    `reference` as in `target_probabilities` (`logging_reference` gives the right one)."""
    pc = target_probabilities(log, candidate, reference)
    pa = target_probabilities(log, active, reference)
    ones = np.ones(log.size)
    clusters = log.session
    estimate = snips(log.reward, pc, log.propensity, clusters=clusters)
    sessions = log.sessions
    reason = ""
    if log.size < MIN_SERVED:
        reason = (
            f"only {log.size} clips were served to signed-in viewers in this window "
            f"(an estimate needs at least {MIN_SERVED})"
        )
    elif sessions < MIN_SESSIONS:
        reason = (
            f"the served clips come from only {sessions} viewing sessions (needs {MIN_SESSIONS})"
        )
    elif estimate.effective < MIN_EFFECTIVE:
        reason = (
            f"the candidate would have shown few of the clips served: they weigh as "
            f"{estimate.effective:.0f} clips (needs {MIN_EFFECTIVE:.0f})"
        )
    return OffPolicy(
        candidate=estimate,
        active=snips(log.reward, pa, log.propensity, clusters=clusters),
        difference=snips_difference(log.reward, pc, pa, log.propensity, clusters=clusters),
        served=snips(log.reward, ones, ones, clusters=clusters),
        rows=log.size,
        sessions=sessions,
        viewers=int(np.unique(log.viewer).size) if log.size else 0,
        enough=not reason,
        reason=reason,
    )
