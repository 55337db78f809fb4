"""The replay: train on the first part of a log, then predict each exposure before learning it."""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..learner import (
    HEAD_OF_EVENT,
    HEADS,
    Event,
    Learner,
    LearnerConfig,
)
from .baselines import PopularityBaseline, RandomBaseline, Ranker, RecencyBaseline
from .log import EvaluationError, EventLog
from .metrics import TOP_K, auc, gini, ndcg_at_k

# A viewer's exposures further apart than this start a new session.
SESSION_GAP_S = 30 * 60.0
# NDCG gain of an exposure: what the viewer did with it (a report or "not interested" zeroes it).
GAINS: dict[str, float] = {"like": 1.0, "share": 2.0, "comment": 1.0, "complete": 0.5}


@dataclass
class ModelResult:
    """One model's figures; None where the test window cannot tell."""

    name: str
    auc: dict[str, float | None]
    ndcg: float | None
    coverage: float | None
    creator_gini: float | None
    top_creator_share: float | None


@dataclass
class Report:
    """What `evaluate` found, and on how much data."""

    models: list[ModelResult]
    train_events: int
    test_events: int
    exposures: int
    sessions: int
    positives: dict[str, int]
    skipped: Counter[str]
    seconds: float = 0.0


@dataclass
class _Exposure:
    viewer: str
    item: str
    session: int
    labels: int = 0  # a bit per head
    hidden: bool = False  # "not interested" or a report: no gain however liked


@dataclass
class Outcomes:
    """What the exposures of a test window turned out to be, ready for the metrics."""

    labels: np.ndarray  # (exposures, heads) 0/1
    gains: np.ndarray  # (exposures,) NDCG gain
    tiebreak: np.ndarray  # (exposures,) random order among equal scores
    sessions: list[np.ndarray]  # exposure positions per session worth ranking


class Exposures:
    """A test window's events as exposures: one per clip shown to a viewer (a repeat
    impression is a new one), grouped into sessions, labelled with what the viewer did.

    For each event: if `opens(event)`, predict first, then `add(event)`; then `label(event)`.
    """

    def __init__(self, train: list[Event]) -> None:
        # Pairs already shown in training: later events on them label nothing (index -1).
        self._open: dict[tuple[str, str], int] = {(e.viewer, e.item): -1 for e in train}
        self.items: list[_Exposure] = []
        self._last_seen: dict[str, float] = {}
        self._session_of: dict[str, int] = {}
        self.sessions = 0

    def opens(self, event: Event) -> bool:
        """Does this event show the viewer a clip (an impression, or a first sign of one)?"""
        if event.kind == "reset":  # about the viewer, not a clip
            return False
        return event.kind == "impression" or (event.viewer, event.item) not in self._open

    def add(self, event: Event) -> None:
        """Open an exposure, in the viewer's current session (signed-out viewers have none)."""
        session = -1
        if event.viewer:
            if event.ts - self._last_seen.get(event.viewer, -math.inf) > SESSION_GAP_S:
                self._session_of[event.viewer] = self.sessions
                self.sessions += 1
            self._last_seen[event.viewer] = event.ts
            session = self._session_of[event.viewer]
        self._open[(event.viewer, event.item)] = len(self.items)
        self.items.append(_Exposure(viewer=event.viewer, item=event.item, session=session))

    def label(self, event: Event) -> None:
        """Record what the viewer did on the pair's open exposure."""
        index = self._open.get((event.viewer, event.item), -1)
        if index >= 0:
            _label(self.items[index], event.kind)

    def outcomes(self, rng: np.random.Generator) -> Outcomes:
        """Labels, gains, a tie-break and the sessions with two or more exposures and a gain."""
        if not self.items:
            raise EvaluationError("The test window holds no exposures to evaluate")
        gains = np.array([_gain(e) for e in self.items])
        by_session: dict[int, list[int]] = defaultdict(list)
        for position, exposure in enumerate(self.items):
            if exposure.session >= 0:
                by_session[exposure.session].append(position)
        return Outcomes(
            labels=np.array([[(e.labels >> h) & 1 for h in range(len(HEADS))] for e in self.items]),
            gains=gains,
            tiebreak=rng.random(len(self.items)),
            sessions=[
                np.array(members)
                for members in by_session.values()
                if len(members) >= 2 and gains[members].sum() > 0
            ],
        )


def evaluate(
    log: EventLog,
    *,
    split: float = 0.8,
    config: LearnerConfig | None = None,
    max_viewers: int = 500,
    seed: int = 0,
    others: Mapping[str, Ranker] | None = None,
) -> Report:
    """Train on the first `split` of the events in time order, replay the rest progressively.

    Exposures: an impression opens one (as does any event of a viewer-clip pair that has
    none open); every model predicts it *before* learning from that impression, and the
    exposure's labels are the heads it gets a positive of before the pair's next impression.

    AUC, per head, is over all test exposures, scored with their own prediction.

    NDCG@10 is per viewer-session: a session is a signed-in viewer's test exposures with no
    gap over 30 minutes between them. The session's exposures are ordered by the model's
    value (the weighted predictions, each taken at its own impression, so with what the
    model had learnt up to then) with ties broken at random, and compared with the ideal
    order by the gain: 2 share/remix + 1 like + 1 comment + 0.5 complete/replay, zero for an
    exposure marked not interested or reported. DCG@10 = sum over the first ten ranks r of
    gain / log2(r + 1), divided by the ideal DCG@10; sessions with under two exposures or
    no gain are left out, and the figure is the mean over sessions.

    Coverage and creator concentration look at the end of the replay (`coverage`): for up
    to `max_viewers` viewers active in the test window, each model's top 10 among the clips
    with an event in that window that the viewer has never been shown. Coverage is the
    share of those clips in at least one top 10; creator Gini is over the authors of the
    clips (a clip of unknown author is its own), counting the top-10 slots each holds; the
    top-creator share is the share of slots held by the 10% of authors with most of them.

    `others` are more models to run beside these, by name (one that knows a simulated
    population's hidden tastes, say).
    """
    events, train, test = split_events(log, split)
    started = time.perf_counter()
    models: dict[str, Ranker] = {
        "learner": Learner(config, items=log.items),
        "popularity": PopularityBaseline(),
        "recency": RecencyBaseline(log.items),
        "random": RandomBaseline(seed),
        **(others or {}),
    }
    for model in models.values():
        model.fit(train)
    exposures = Exposures(train)
    predictions: dict[str, list[np.ndarray]] = {name: [] for name in models}
    values: dict[str, list[float]] = {name: [] for name in models}
    for event in test:
        if exposures.opens(event):
            for name, model in models.items():
                scores = model.score(event.viewer, [event.item], now=event.ts)
                predictions[name].append(np.array([scores[head][0] for head in HEADS]))
                values[name].append(float(model.value(event.viewer, [event.item], now=event.ts)[0]))
            exposures.add(event)
        exposures.label(event)
        for model in models.values():
            model.update(event)
    rng = np.random.default_rng(seed)
    outcome = exposures.outcomes(rng)

    def top_k(viewer: str, candidates: list[str], now: float) -> list[list[str]]:
        pages = []
        for model in models.values():
            order = np.argsort(-model.value(viewer, candidates, now=now), kind="stable")
            pages.append([candidates[int(i)] for i in order[:TOP_K]])
        return pages

    reach = dict(
        zip(
            models,
            coverage(top_k, len(models), log, test, events, max_viewers=max_viewers, rng=rng),
            strict=True,
        )
    )
    results = []
    for name in models:
        table = np.array(predictions[name])
        value = np.array(values[name])
        ndcgs = [
            ndcg_at_k(value[m], outcome.gains[m], outcome.tiebreak[m]) for m in outcome.sessions
        ]
        results.append(
            ModelResult(
                name=name,
                auc={head: auc(table[:, h], outcome.labels[:, h]) for h, head in enumerate(HEADS)},
                ndcg=float(np.mean(ndcgs)) if ndcgs else None,
                **reach[name],
            )
        )
    return Report(
        models=results,
        train_events=len(train),
        test_events=len(test),
        exposures=len(exposures.items),
        sessions=len(outcome.sessions),
        positives={head: int(outcome.labels[:, h].sum()) for h, head in enumerate(HEADS)},
        skipped=log.skipped,
        seconds=time.perf_counter() - started,
    )


def _label(exposure: _Exposure, kind: str) -> None:
    if kind == "unlike":
        exposure.labels &= ~(1 << HEADS.index("like"))
        return
    if kind in ("not_interested", "report"):
        exposure.hidden = True
    head = HEAD_OF_EVENT.get(kind)
    if head is not None:
        exposure.labels |= 1 << HEADS.index(head)


def _gain(exposure: _Exposure) -> float:
    if exposure.hidden:
        return 0.0
    return sum(gain for head, gain in GAINS.items() if exposure.labels >> HEADS.index(head) & 1)


def split_events(
    log: EventLog, split: float, doing: str = "evaluate"
) -> tuple[list[Event], list[Event], list[Event]]:
    """(every event, the first `split` of them to train on, the rest to test), in time order."""
    if not 0.0 < split < 1.0:
        raise EvaluationError(f"The split must be between 0 and 1, not {split}")
    events = sorted(log.events, key=lambda event: event.ts)
    cut = int(len(events) * split)
    train, test = events[:cut], events[cut:]
    if not train or not test:
        raise EvaluationError(
            f"Too few events to {doing}: {len(events)} (need some before and after the split)"
        )
    return events, train, test


# Per viewer at the end of a replay: the pages of each model (or config), from the clips
# of the test window that the viewer was never shown, and the time then.
Pages = Callable[[str, list[str], float], Sequence[Sequence[str]]]


def coverage(
    pages: Pages,
    count: int,
    log: EventLog,
    test: list[Event],
    events: list[Event],
    *,
    max_viewers: int,
    rng: np.random.Generator,
) -> list[dict[str, float | None]]:
    """Coverage and creator concentration of `count` models' pages (see `evaluate`).

    For up to `max_viewers` viewers active in the test window, `pages` gives each model's
    page among the clips with an event in that window that the viewer has never been
    shown. Coverage is the share of those clips on at least one page; creator Gini is over
    the authors of the clips (a clip of unknown author is its own), counting the slots each
    holds; the top-creator share is the share of slots held by the 10% of authors with most.
    """
    catalog = sorted({event.item for event in test if event.item})
    viewers = sorted({event.viewer for event in test if event.viewer})
    if len(viewers) > max_viewers:
        viewers = sorted(rng.choice(viewers, size=max_viewers, replace=False).tolist())
    seen: dict[str, set[str]] = defaultdict(set)
    for event in events:
        seen[event.viewer].add(event.item)
    author = {
        item: (log.items[item].author if item in log.items else None) or "\0" + item
        for item in catalog
    }
    authors = sorted(set(author.values()))
    now = events[-1].ts
    shown: list[set[str]] = [set() for _ in range(count)]
    slots: list[Counter[str]] = [Counter() for _ in range(count)]
    for viewer in viewers:
        candidates = [item for item in catalog if item not in seen[viewer]]
        if not candidates:
            continue
        for number, page in enumerate(pages(viewer, candidates, now)):
            for item in page:
                shown[number].add(item)
                slots[number][author[item]] += 1
    out: list[dict[str, float | None]] = []
    for number in range(count):
        if not slots[number]:
            out.append({"coverage": None, "creator_gini": None, "top_creator_share": None})
            continue
        counts = np.array([slots[number][a] for a in authors], dtype=np.float64)
        top = max(1, math.ceil(0.1 * len(authors)))
        out.append(
            {
                "coverage": len(shown[number]) / len(catalog),
                "creator_gini": gini(counts),
                "top_creator_share": float(np.sort(counts)[::-1][:top].sum() / counts.sum()),
            }
        )
    return out


# --- the table ------------------------------------------------------------------------


def format_report(report: Report) -> str:
    """The figures as a plain-text table, one column per model."""
    names = [model.name for model in report.models]
    rows: list[tuple[str, list[float | None]]] = []
    for head in HEADS:
        rows.append(
            (f"AUC {head} ({report.positives[head]} +)", [m.auc[head] for m in report.models])
        )
    rows.append((f"NDCG@10 ({report.sessions} sessions)", [m.ndcg for m in report.models]))
    rows.append(("coverage@10", [m.coverage for m in report.models]))
    rows.append(("creator Gini@10", [m.creator_gini for m in report.models]))
    rows.append(("top-10% creators' share@10", [m.top_creator_share for m in report.models]))
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        f"Events: {report.train_events} to train, {report.test_events} to test "
        f"({report.exposures} test exposures), replayed in {report.seconds:.1f} s",
    ]
    for reason, count in sorted(report.skipped.items()):
        lines.append(f"Skipped: {count} x {reason}")
    lines.append("")
    lines.append("metric".ljust(width) + "".join(name.rjust(12) for name in names))
    for label, figures in rows:
        cells = "".join(("-" if f is None else f"{f:.3f}").rjust(12) for f in figures)
        lines.append(label.ljust(width) + cells)
    return "\n".join(lines)
