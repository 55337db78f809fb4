"""Ranking metrics: AUC, NDCG@k and the Gini coefficient."""

from __future__ import annotations

import numpy as np

# How many slots of a ranked list count (NDCG@10, coverage@10).
TOP_K = 10


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    labels = labels.astype(bool)
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranked = scores[order]
    # Average ranks (1-based) over runs of equal scores.
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], ranked.size]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def ndcg_at_k(scores: np.ndarray, gains: np.ndarray, tiebreak: np.ndarray, k: int = TOP_K) -> float:
    """NDCG@k of ordering by score (ties broken by `tiebreak`, not by the gains)."""
    order = np.lexsort((tiebreak, -scores))[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((gains[order] * discounts[: order.size]).sum())
    ideal = np.sort(gains)[::-1][:k]
    idcg = float((ideal * discounts[: ideal.size]).sum())
    return dcg / idcg


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts: 0 all equal, towards 1 all in one."""
    if counts.size == 0 or counts.sum() == 0:
        return 0.0
    ordered = np.sort(counts.astype(np.float64))
    n = ordered.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ ordered / (n * ordered.sum()))
