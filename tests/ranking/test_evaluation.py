"""`manage.py ranking_evaluate` on CSV exports and on the live engagement log."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from feed.models import Post
from ranking.evaluation import auc, gini, ndcg_at_k, parse_timestamp
from ranking.evaluation.simulated import Population
from ranking.event_log import events_record
from ranking.intake import EventIn
from ranking.models import EngagementEvent
from tests.factories import PostFactory, UserFactory

from .logs import liked_or_skipped

MODELS = ("learner", "popularity", "recency", "random")
ROWS = ("AUC like", "AUC complete", "AUC skip", "NDCG@10", "coverage@10", "creator Gini@10")


def _evaluate(**options: object) -> str:
    out = StringIO()
    call_command("ranking_evaluate", stdout=out, **options)
    return out.getvalue()


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A small population's log as CSV, half the timestamps ISO 8601, plus one odd kind."""
    population = Population(viewers=60, items=80, sessions=4, per_session=6, days=4)
    rows = [["viewer", "item", "event", "value", "timestamp"]]
    for n, event in enumerate(population.events):
        stamp = datetime.fromtimestamp(event.ts, tz=UTC).isoformat() if n % 2 else f"{event.ts:.3f}"
        rows.append([event.viewer, event.item, event.kind, str(event.value), stamp])
    rows.append(["v1", "i1", "teleport", "1", "1700000000"])
    return _write(tmp_path / "events.csv", rows)


def test_csv_prints_every_model_and_metric(export: Path):
    table = _evaluate(csv=str(export))
    header = next(line for line in table.splitlines() if line.startswith("metric"))
    assert header.split()[1:] == list(MODELS)
    for row in ROWS:
        line = next(line for line in table.splitlines() if line.startswith(row))
        figures = line[len(row) :].split()[-3:]
        assert all(figure == "-" or 0.0 <= float(figure) <= 1.0 for figure in figures), line
    assert "Skipped: 1 x unknown event kind 'teleport'" in table


def test_split_and_passes_are_options(export: Path):
    table = _evaluate(csv=str(export), split=0.5, passes=1)
    assert "NDCG@10" in table


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["viewer", "item", "value", "timestamp"], ["v", "i", "1", "1"]], "lacks the column"),
        (
            [["viewer", "item", "event", "value", "timestamp"], ["v", "i", "like", "1", "soon"]],
            "Line 2: timestamp 'soon' is neither ISO 8601 nor unix seconds",
        ),
        (
            [["viewer", "item", "event", "value", "timestamp"], ["v", "i", "like", "x", "1"]],
            "Line 2: value 'x' is not a number",
        ),
        (
            [["viewer", "item", "event", "value", "timestamp"], ["v", "", "like", "1", "1"]],
            "Line 2: the item is empty",
        ),
        ([["viewer", "item", "event", "value", "timestamp"]], "Too few events"),
        ([], "The CSV is empty"),
        (
            [["viewer", "item", "event", "value", "timestamp"], ["v", "i", "wave", "1", "1"]],
            "Too few events",
        ),
    ],
)
def test_bad_csv_is_a_clear_error(tmp_path: Path, rows: list[list[str]], message: str):
    path = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError, match=message):
        _evaluate(csv=str(path))


def test_other_bad_input_is_a_clear_error(tmp_path: Path, export: Path):
    with pytest.raises(CommandError, match="No such file"):
        _evaluate(csv=str(tmp_path / "missing.csv"))
    (tmp_path / "latin1.csv").write_bytes(
        "viewer,item,event,value,timestamp\n\xe9".encode("latin-1")
    )
    with pytest.raises(CommandError, match="not UTF-8"):
        _evaluate(csv=str(tmp_path / "latin1.csv"))
    with pytest.raises(CommandError, match="split must be between 0 and 1"):
        _evaluate(csv=str(export), split=1.5)
    with pytest.raises(CommandError, match="--since goes with --live"):
        _evaluate(csv=str(export), since="2026-01-01")


def test_timestamps_iso_and_unix():
    assert parse_timestamp("1700000000") == 1_700_000_000.0
    assert parse_timestamp("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_timestamp("2023-11-14 22:13:20") == 1_700_000_000.0  # naive means UTC
    with pytest.raises(ValueError):
        parse_timestamp("nan")


def test_metrics_on_known_cases():
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert auc(np.array([1.0, 1.0]), np.array([0, 1])) == 0.5
    assert auc(np.array([1.0, 2.0]), np.array([1, 1])) is None
    gains = np.array([0.0, 1.0, 2.0])
    assert ndcg_at_k(np.array([0.0, 1.0, 2.0]), gains, np.zeros(3)) == 1.0
    worst = ndcg_at_k(np.array([2.0, 1.0, 0.0]), gains, np.zeros(3))
    assert worst == pytest.approx((1 / np.log2(3) + 2 / 2) / (2 + 1 / np.log2(3)))
    assert gini(np.array([5.0, 5.0, 5.0])) == 0.0
    assert gini(np.array([0.0, 0.0, 9.0])) == pytest.approx(2 / 3)


@pytest.mark.django_db
def test_live_log(user):
    creators = [UserFactory(username=f"creator{n}") for n in range(2)]
    posts = [cast(Post, PostFactory(owner=creators[n % 2])) for n in range(4)]
    viewers = [user, *(UserFactory(username=f"viewer{n}") for n in range(3))]
    liked_or_skipped(viewers, posts)
    # A signed-out viewer's row, as an older version logged them, is skipped as training is.
    EngagementEvent.objects.create(viewer=None, post=posts[0], kind="impression")
    # A reset is about a viewer, not a clip: replayed to the learner, never an exposure.
    events_record(viewer=user, events=[EventIn(post_id=None, kind="reset")])
    table = _evaluate(live=True, no_embeddings=True)
    assert "Events: 32 to train, 9 to test" in table
    assert "Skipped: 1 x signed-out viewer" in table
    assert next(line for line in table.splitlines() if line.startswith("metric")).split()[
        1:
    ] == list(MODELS)
    since = _evaluate(live=True, no_embeddings=True, since="2000-01-01")
    assert "Events: 32 to train" in since
    with pytest.raises(CommandError, match="Too few events"):
        _evaluate(live=True, no_embeddings=True, since="2999-01-01")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        _evaluate(live=True, since="last week")
