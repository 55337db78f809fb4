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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

import numpy as np
from django.utils import timezone

from .evaluation import EvaluationError, EventLog, auc, ndcg_at_k, read_live
from .evaluation.metrics import TOP_K
from .evaluation.replay import Exposures, coverage, split_events
from .learner import HEADS, Infos, ItemInfo, Learner
from .models import RankingConfig
from .scoring import weigh

# New clips (by creation) a sample page may hold besides those with events in the window.
RECENT_CLIPS = 2000


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
    engaged: int  # exposures that got an engagement (a gain)
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    # Sample viewers' first pages at the end of the replay, one per policy: {viewer: pages}.
    pages: dict[str, list[list[str]]] = field(default_factory=dict)


# Told how far a long computation has got: (fraction done, what it is doing now).
Progress = Callable[[float, str], None]


def _quiet(fraction: float, stage: str) -> None:
    pass


def preview(
    log: EventLog,
    policies: Sequence[Policy],
    *,
    parent: Mapping[str, str] | None = None,
    split: float = 0.8,
    max_viewers: int = 500,
    seed: int = 0,
    samples: Sequence[str] = (),
    allowed: Collection[str] | None = None,
    recent: Mapping[str, ItemInfo] | None = None,
    progress: Progress = _quiet,
) -> Preview:
    """Replay the log once and measure each policy's ordering of the learner's predictions.

    Exposures, labels, gains and sessions are those of `ranking.evaluation.evaluate`. Per
    policy: NDCG@10 of each session's exposures in the order of the policy's page (scores,
    exploration and diversity limits included), the AUC of the score against "engaged"
    (gain > 0), and at the end of the replay the coverage and creator concentration of each
    viewer's first page among clips of the test window they were never shown.

    For each viewer of `samples` it keeps each policy's first page the same way, from the
    clips of the whole window and the `recent` ones (new clips nobody engaged with yet, with
    their infos) that they were never shown; only those of `allowed`, if given.
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
    progress(0.0, f"Training the learner on {len(train)} events")
    learner = Learner(items=log.items).fit(train)
    exposures = Exposures(train)
    rows: list[np.ndarray] = []
    ages: list[float] = []
    for done, event in enumerate(test):
        if done % 2000 == 0:
            progress(0.3 + 0.5 * done / len(test), f"Replaying {len(test)} events")
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

    def pages(
        viewer: str, candidates: list[str], now: float, extra: Infos | None = None
    ) -> list[list[str]]:
        scores = learner.score(viewer, candidates, now=now, extra=extra)
        predictions = np.column_stack([scores[head] for head in HEADS])
        ages = np.array([now - created[item] for item in candidates])
        out = []
        for policy, page_rng in zip(policies, page_rngs, strict=True):
            score = policy_scores(policy, predictions, ages)
            ranked = [candidates[int(i)] for i in np.argsort(-score, kind="stable")]
            out.append(page_order(policy, ranked, author=author, parent=parent, rng=page_rng))
        return out

    progress(0.8, "Pages for coverage and creator concentration")
    reach = coverage(
        pages,
        len(policies),
        log,
        test,
        events,
        max_viewers=max_viewers,
        rng=np.random.default_rng([seed, 2]),
    )
    progress(0.9, "Sample viewers' pages")
    shown: dict[str, set[str]] = {}
    for event in events:
        shown.setdefault(event.viewer, set()).add(event.item)
    recent = {
        item: info
        for item, info in (recent or {}).items()
        if info.created is not None and item not in log.items
    }
    for item, info in recent.items():
        created[item] = cast(float, info.created)
        author[item] = info.author or "\0" + item
    catalog = sorted({event.item for event in events if event.item} | set(recent))
    if allowed is not None:
        catalog = [item for item in catalog if item in allowed]
    sample_pages = {}
    for viewer in samples:
        unseen = [item for item in catalog if item not in shown.get(viewer, set())]
        extra = {item: recent[item] for item in unseen if item in recent}
        sample_pages[viewer] = pages(viewer, unseen, events[-1].ts, extra) if unseen else []
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
        engaged=int((outcome.gains > 0).sum()),
        skipped=log.skipped,
        seconds=time.perf_counter() - started,
        pages=sample_pages,
    )


def catalogue_facts(post_ids: Sequence[int]) -> tuple[dict[str, str], set[str]]:
    """({clip: the clip it remixes}, the clips still up) of these posts, by learner item id."""
    from feed.models import Post
    from feed.selectors import live_posts

    ids = sorted(set(post_ids))
    parent: dict[str, str] = {}
    up: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        parent.update(
            (str(pk), str(mother))
            for pk, mother in Post.objects.filter(pk__in=chunk, remix_of__isnull=False).values_list(
                "pk", "remix_of_id"
            )
        )
        up.update(str(pk) for pk in live_posts().filter(pk__in=chunk).values_list("pk", flat=True))
    return parent, up


def config_preview(
    *,
    config: RankingConfig,
    against: RankingConfig,
    days: int = 7,
    embed_prompts: bool = True,
    now: datetime | None = None,
    samples: Sequence[str] = (),
    progress: Progress = _quiet,
) -> Preview:
    """Preview `config` beside `against` (the active one) on the last `days` of live events,
    with the first page of each viewer of `samples` under each (clips still up only)."""
    from feed.selectors import live_posts

    from .live import item_infos

    since = (now or timezone.now()) - timedelta(days=days)
    progress(0.0, f"Reading {days} days of events")
    log = read_live(since=since, embed_prompts=embed_prompts)
    # New clips nobody has engaged with yet can be on a sample page too, as on For You.
    newest = list(
        live_posts()
        .filter(created__gte=since)
        .order_by("-created")
        .values_list("pk", flat=True)[:RECENT_CLIPS]
    )
    recent = item_infos(newest) if samples else {}
    if not embed_prompts:
        recent = {item: replace(info, embedding=None) for item, info in recent.items()}
    parent, up = catalogue_facts([int(event.item) for event in log.events if event.item] + newest)
    policies = [
        Policy.of(config, name=f"{config} (preview)"),
        Policy.of(against, name=f"{against} (active)" if against.pk else "defaults (active)"),
    ]
    return preview(
        log,
        policies,
        parent=parent,
        samples=samples,
        allowed=up,
        recent=recent,
        progress=lambda done, stage: progress(0.15 + 0.85 * done, stage),
    )


# A model's predictions: (viewer, clips, when) -> {head: probabilities}.
Predict = Callable[[str, list[str], float], Mapping[str, np.ndarray]]


def model_pages(
    predicts: Sequence[Predict],
    policy: Policy,
    viewer: str,
    candidates: list[str],
    *,
    now: float,
    created: Mapping[str, float],
    author: Mapping[str, str],
    parent: Mapping[str, str],
    seed: int = 0,
) -> list[list[str]]:
    """Each model's first page for the viewer among `candidates`, all ordered by one policy."""
    if not candidates:
        return [[] for _ in predicts]
    ages = np.array([now - created.get(item, now) for item in candidates])
    out = []
    for predict in predicts:
        heads = predict(viewer, candidates, now)
        score = policy_scores(policy, np.column_stack([heads[h] for h in HEADS]), ages)
        ranked = [candidates[int(i)] for i in np.argsort(-score, kind="stable")]
        page_rng = np.random.default_rng([seed, 3])  # the same exploration draws for each
        out.append(page_order(policy, ranked, author=author, parent=parent, rng=page_rng))
    return out
