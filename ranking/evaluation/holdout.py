"""The held-out check of a retrain: several learners predict the same newest events.

Progressive validation, as in `evaluate` (replay.py), on a stream: every held-out impression
opens an exposure, which each model scores before any of them learns that impression; its
label is whether the viewer liked it before the pair's next impression. Then each model
learns the event, as a web process would have. The figure is each model's like AUC over
those exposures: the same events, the same labels, one number a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..learner import HEADS, Event, Learner
from .metrics import auc
from .replay import Exposures

_LIKE = HEADS.index("like")


@dataclass(frozen=True)
class Holdout:
    """What the held-out events said: each model's like AUC (None where they can't tell:
    no exposures, or none or all liked), on how many exposures, with how many likes."""

    metrics: list[float | None]
    exposures: int
    likes: int


class _Impressions(Exposures):
    """Only impressions open an exposure: a like of a clip shown before the held-out part
    labels nothing, rather than being predicted as a fresh showing that is sure to be liked."""

    def opens(self, event: Event) -> bool:
        """Whether this event shows the viewer a clip."""
        return event.kind == "impression"


def holdout_compare(models: Sequence[Learner], events: Iterable[Event]) -> Holdout:
    """Replay the held-out `events` (in time order) through every model at once, each
    predicting every exposure before learning it; their like AUCs on the same exposures.

    The models learn every event, so each ends up having learnt the held-out part once.
    """
    exposures = _Impressions(train=[])
    predicted: list[list[float]] = [[] for _ in models]
    for event in events:
        if exposures.opens(event):
            for model, out in zip(models, predicted, strict=True):
                out.append(float(model.score(event.viewer, [event.item], now=event.ts)["like"][0]))
            exposures.add(event)
        exposures.label(event)
        for model in models:
            model.update(event)
    labels = np.array([(e.labels >> _LIKE) & 1 for e in exposures.items], dtype=bool)
    return Holdout(
        metrics=[auc(np.array(out), labels) for out in predicted],
        exposures=int(labels.size),
        likes=int(labels.sum()),
    )
