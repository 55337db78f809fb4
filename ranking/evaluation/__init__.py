"""Offline evaluation of the For You learner against random, recency and popularity.

Events come from a CSV export (`read_csv`) or from the live EngagementEvent table
(`read_live`), and are replayed in time order (`evaluate`): every model trains on the first
part, then predicts each exposure of the rest before it learns from it (progressive
validation), and keeps learning online, as it would in production.
"""

from .log import CSV_COLUMNS, EvaluationError, EventLog, parse_timestamp, read_csv, read_live
from .metrics import TOP_K, auc, gini, ndcg_at_k
from .replay import GAINS, ModelResult, Report, evaluate, format_report

__all__ = [
    "CSV_COLUMNS",
    "EvaluationError",
    "EventLog",
    "GAINS",
    "ModelResult",
    "Report",
    "TOP_K",
    "auc",
    "evaluate",
    "format_report",
    "gini",
    "ndcg_at_k",
    "parse_timestamp",
    "read_csv",
    "read_live",
]
