"""Engagement logs to evaluate on: a CSV export or the live EngagementEvent table."""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..learner import (
    EVENT_KINDS,
    Event,
    ItemInfo,
)

CSV_COLUMNS = ("viewer", "item", "event", "value", "timestamp")


class EvaluationError(Exception):
    """Input that cannot be evaluated, with a message fit for the person who gave it."""


@dataclass
class EventLog:
    """Events in time order, what is known of their clips, and what was skipped on reading."""

    events: list[Event]
    items: dict[str, ItemInfo] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


# --- reading --------------------------------------------------------------------------


def parse_timestamp(text: str) -> float:
    """Unix seconds from unix seconds or ISO 8601 (naive means UTC); ValueError otherwise."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(seconds):
        raise ValueError(text)
    return seconds


def read_csv(path: str | Path) -> EventLog:
    """Events from a CSV with the header viewer,item,event,value,timestamp (author optional).

    Unknown event kinds are skipped and counted; a missing column, an empty item or a value
    or timestamp that is not one raises EvaluationError naming the line.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read_rows(csv.DictReader(handle))
    except FileNotFoundError:
        raise EvaluationError(f"No such file: {path}") from None
    except IsADirectoryError:
        raise EvaluationError(f"{path} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"{path} is not UTF-8 text") from None
    except csv.Error as error:
        raise EvaluationError(f"{path} is not a readable CSV: {error}") from None


def _read_rows(reader: csv.DictReader[str]) -> EventLog:
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if not header:
        raise EvaluationError("The CSV is empty: expected a header " + ",".join(CSV_COLUMNS))
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        raise EvaluationError(
            f"The CSV lacks the column(s) {', '.join(missing)}: expected a header "
            f"{','.join(CSV_COLUMNS)} (found {','.join(header)})"
        )
    reader.fieldnames = header
    log = EventLog(events=[])
    for row in reader:
        line = reader.line_num
        kind = (row.get("event") or "").strip().lower()
        if kind not in EVENT_KINDS:
            log.skipped[f"unknown event kind {kind!r}"] += 1
            continue
        item = (row.get("item") or "").strip()
        if not item:
            raise EvaluationError(f"Line {line}: the item is empty")
        stamp = (row.get("timestamp") or "").strip()
        try:
            ts = parse_timestamp(stamp)
        except ValueError:
            raise EvaluationError(
                f"Line {line}: timestamp {stamp!r} is neither ISO 8601 nor unix seconds"
            ) from None
        raw_value = (row.get("value") or "").strip()
        try:
            value = float(raw_value) if raw_value else 1.0
        except ValueError:
            raise EvaluationError(f"Line {line}: value {raw_value!r} is not a number") from None
        author = (row.get("author") or "").strip()
        if author and item not in log.items:
            log.items[item] = ItemInfo(author=author)
        viewer = (row.get("viewer") or "").strip()
        log.events.append(Event(viewer=viewer, item=item, kind=kind, value=value, ts=ts))
    log.events.sort(key=lambda event: event.ts)
    return log


def read_live(*, since: datetime | None = None, embed_prompts: bool = True) -> EventLog:
    """Events from the EngagementEvent table, with each post's author, time and prompt."""
    from feed.models import Post

    from ..live import event_of
    from ..models import EngagementEvent

    rows = EngagementEvent.objects.order_by("created", "id")
    if since is not None:
        rows = rows.filter(created__gte=since)
    log = EventLog(events=[])
    for viewer_id, post_id, kind, value, created in rows.values_list(
        "viewer_id", "post_id", "kind", "value", "created"
    ).iterator(chunk_size=5000):
        if kind not in EVENT_KINDS:
            log.skipped[f"unknown event kind {kind!r}"] += 1
            continue
        if viewer_id is None:
            # Only signed-in viewers teach the learner (ranking/live.py): replay the same.
            log.skipped["signed-out viewer"] += 1
            continue
        log.events.append(event_of(viewer_id, post_id, kind, value, created))
    post_ids = sorted({int(event.item) for event in log.events if event.item})
    posts: list[tuple[int, int, datetime, str]] = []
    for start in range(0, len(post_ids), 5000):
        chunk = post_ids[start : start + 5000]
        posts += Post.objects.filter(pk__in=chunk).values_list(
            "pk", "owner_id", "created", "prompt"
        )
    vectors = _embed([prompt for _, _, _, prompt in posts], log) if embed_prompts else None
    for index, (pk, owner_id, created, _) in enumerate(posts):
        log.items[str(pk)] = ItemInfo(
            author=str(owner_id),
            created=created.timestamp(),
            embedding=None if vectors is None else vectors[index],
        )
    return log


def _embed(prompts: list[str], log: EventLog) -> np.ndarray | None:
    """Prompt embeddings from the shared text encoder; None (and a note) if it cannot load."""
    if not prompts:
        return None
    try:
        from core import embedding

        return np.concatenate(
            [embedding.embed(prompts[i : i + 256]) for i in range(0, len(prompts), 256)]
        )
    except (ImportError, OSError, RuntimeError, ValueError) as error:
        log.skipped[f"prompt embeddings ({type(error).__name__}: {error})"] += 1
        return None
