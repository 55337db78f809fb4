"""Preview a RankingConfig offline: replay recent events, rank by it and by the active one.

The learner's predictions do not depend on the config: a config only decides how they
become an order (the weights of the heads, the freshness half-life, then exploration slots
and diversity limits on each page). So one replay of the learner serves every config, in
the manner of `ranking.evaluation.evaluate` (train on the first part of the log, predict each
exposure of the rest before learning from it), and each config orders the same predictions.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from .evaluation import EvaluationError, EventLog, auc, ndcg_at_k, read_live
from .evaluation.metrics import TOP_K
from .evaluation.replay import Exposures, coverage, split_events
from .learner import HEADS, Learner
from .models import RankingConfig
from .scoring import weigh


@dataclass(frozen=True)
class Policy:
    """What a config does to an ordering, as plain numbers (no ORM)."""

    name: str
    weights: Mapping[str, float]
    half_life_hours: float
    exploration_share: float
    max_per_author: int
    remix_gap: int

    @classmethod
    def of(cls, config: RankingConfig, name: str = "") -> Policy:
        """The policy of a config (saved or the defaults)."""
        return cls(
            name=name or str(config),
            weights=config.weights,
            half_life_hours=config.freshness_half_life_hours,
            exploration_share=config.exploration_share,
            max_per_author=config.max_per_author,
            remix_gap=config.remix_gap,
        )


def policy_scores(policy: Policy, predictions: np.ndarray, ages_s: np.ndarray) -> np.ndarray:
    """Each clip's score as For You computes it (`scoring.weigh`), with no feed preference.

    `predictions` has one row per clip and one column per head of HEADS.
    """
    heads = {head: predictions[:, h] for h, head in enumerate(HEADS)}
    return weigh(
        heads, ages_s, weights=policy.weights, half_life_hours=policy.half_life_hours
    ).scores


def page_order(
    policy: Policy,
    ranked: Sequence[str],
    *,
    author: Mapping[str, str],
    parent: Mapping[str, str],
    rng: np.random.Generator,
    size: int = TOP_K,
) -> list[str]:
    """The first `size` clips of a page, from clips in score order.

    A share of the slots (chosen at random) go to clips drawn at random; every slot skips a
    clip whose author already has `max_per_author` on the page, or a remix whose parent has
    another remix among the last `remix_gap` clips. When nothing fits, the limits give way
    (best-scored first) rather than leave the page short.
    """
    size = min(size, len(ranked))
    explore = min(size, math.floor(policy.exploration_share * size + 0.5))
    explore_slots = set(rng.choice(size, explore, replace=False).tolist()) if explore else set()
    shuffled = [ranked[i] for i in rng.permutation(len(ranked))] if explore else []
    page: list[str] = []
    taken: set[str] = set()
    per_author: Counter[str] = Counter()

    def fits(item: str) -> bool:
        if item in taken or per_author[author.get(item, item)] >= policy.max_per_author:
            return False
        mother = parent.get(item)
        recent = page[-policy.remix_gap :] if policy.remix_gap else []
        return mother is None or all(parent.get(other) != mother for other in recent)

    for slot in range(size):
        source = shuffled if slot in explore_slots else ranked
        item = next((c for c in source if fits(c)), None)
        if item is None:
            item = next(c for c in ranked if c not in taken)
        page.append(item)
        taken.add(item)
        per_author[author.get(item, item)] += 1
    return page


@dataclass(frozen=True)
class PolicyResult:
    """One config's figures on the replay; None where the window cannot tell."""

    name: str
    ndcg: float | None
    score_auc: float | None
    coverage: float | None
    creator_gini: float | None
    top_creator_share: float | None


@dataclass
class Preview:
    """The configs side by side, the learner's own AUCs, and how much data they rest on."""

    results: list[PolicyResult]
    auc: dict[str, float | None]
    positives: dict[str, int]
    train_events: int
    test_events: int
    exposures: int
    sessions: int
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def preview(
    log: EventLog,
    policies: Sequence[Policy],
    *,
    parent: Mapping[str, str] | None = None,
    split: float = 0.8,
    max_viewers: int = 500,
    seed: int = 0,
) -> Preview:
    """Replay the log once and measure each policy's ordering of the learner's predictions.

    Exposures, labels, gains and sessions are those of `ranking.evaluation.evaluate`. Per
    policy: NDCG@10 of each session's exposures in the order of the policy's page (scores,
    exploration and diversity limits included), the AUC of the score against "engaged"
    (gain > 0), and at the end of the replay the coverage and creator concentration of each
    viewer's first page among clips of the test window they were never shown.
    """
    if not policies:
        raise EvaluationError("Nothing to preview: no config given")
    started = time.perf_counter()
    parent = parent or {}
    events, train, test = split_events(log, split, doing="preview")
    created = {item: info.created for item, info in log.items.items() if info.created is not None}
    for event in events:
        created.setdefault(event.item, event.ts)  # unknown creation: first seen
    author = {item: info.author or "\0" + item for item, info in log.items.items()}
    learner = Learner(items=log.items).fit(train)
    exposures = Exposures(train)
    rows: list[np.ndarray] = []
    ages: list[float] = []
    for event in test:
        if exposures.opens(event):
            scores = learner.score(event.viewer, [event.item], now=event.ts)
            rows.append(np.array([scores[head][0] for head in HEADS]))
            ages.append(event.ts - created[event.item])
            exposures.add(event)
        exposures.label(event)
        learner.update(event)
    predictions = np.array(rows)
    age = np.array(ages)
    rng = np.random.default_rng(seed)
    outcome = exposures.outcomes(rng)
    page_rngs = [np.random.default_rng([seed, 3]) for _ in policies]

    def pages(viewer: str, candidates: list[str], now: float) -> list[list[str]]:
        scores = learner.score(viewer, candidates, now=now)
        predictions = np.column_stack([scores[head] for head in HEADS])
        ages = np.array([now - created[item] for item in candidates])
        out = []
        for policy, page_rng in zip(policies, page_rngs, strict=True):
            score = policy_scores(policy, predictions, ages)
            ranked = [candidates[int(i)] for i in np.argsort(-score, kind="stable")]
            out.append(page_order(policy, ranked, author=author, parent=parent, rng=page_rng))
        return out

    reach = coverage(
        pages,
        len(policies),
        log,
        test,
        events,
        max_viewers=max_viewers,
        rng=np.random.default_rng([seed, 2]),
    )
    results = []
    for number, policy in enumerate(policies):
        score = policy_scores(policy, predictions, age)
        # Every policy draws its exploration from the same stream, so that two configs
        # that differ only in weights differ only by them.
        page_rng = np.random.default_rng([seed, 1])
        ndcgs = []
        for members in outcome.sessions:
            ranked = members[np.lexsort((outcome.tiebreak[members], -score[members]))]
            keys = [str(m) for m in ranked]
            page = page_order(
                policy,
                keys,
                author={
                    str(m): author.get(exposures.items[m].item, "\0" + exposures.items[m].item)
                    for m in ranked
                },
                parent={
                    str(m): parent[exposures.items[m].item]
                    for m in ranked
                    if exposures.items[m].item in parent
                },
                rng=page_rng,
            )
            on_page = set(page)
            order = [int(key) for key in page] + [int(k) for k in keys if k not in on_page]
            # ndcg_at_k orders by score: hand it the page's order as descending scores.
            position_score = np.empty(len(members))
            where = {m: i for i, m in enumerate(members.tolist())}
            for rank, m in enumerate(order):
                position_score[where[m]] = -rank
            ndcgs.append(
                ndcg_at_k(position_score, outcome.gains[members], outcome.tiebreak[members])
            )
        results.append(
            PolicyResult(
                name=policy.name or f"config {number + 1}",
                ndcg=float(np.mean(ndcgs)) if ndcgs else None,
                score_auc=auc(score, outcome.gains > 0),
                **reach[number],
            )
        )
    return Preview(
        results=results,
        auc={head: auc(predictions[:, h], outcome.labels[:, h]) for h, head in enumerate(HEADS)},
        positives={head: int(outcome.labels[:, h].sum()) for h, head in enumerate(HEADS)},
        train_events=len(train),
        test_events=len(test),
        exposures=len(exposures.items),
        sessions=len(outcome.sessions),
        skipped=log.skipped,
        seconds=time.perf_counter() - started,
    )


def config_preview(
    *,
    config: RankingConfig,
    against: RankingConfig,
    days: int = 7,
    embed_prompts: bool = True,
    now: datetime | None = None,
) -> Preview:
    """Preview `config` beside `against` (the active one) on the last `days` of live events."""
    from feed.models import Post

    since = (now or timezone.now()) - timedelta(days=days)
    log = read_live(since=since, embed_prompts=embed_prompts)
    post_ids = sorted({int(event.item) for event in log.events})
    parent: dict[str, str] = {}
    for start in range(0, len(post_ids), 5000):
        chunk = post_ids[start : start + 5000]
        parent.update(
            (str(pk), str(mother))
            for pk, mother in Post.objects.filter(pk__in=chunk, remix_of__isnull=False).values_list(
                "pk", "remix_of_id"
            )
        )
    policies = [
        Policy.of(config, name=f"{config} (preview)"),
        Policy.of(against, name=f"{against} (active)" if against.pk else "defaults (active)"),
    ]
    return preview(log, policies, parent=parent)
