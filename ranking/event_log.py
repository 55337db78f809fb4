"""Writes to the engagement log: events the server vouches for, a client's batches judged
by ranking/intake.py, and the clips a page put in front of a viewer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts.models import User
from feed.models import Post

from . import intake
from .intake import EventIn
from .models import ClipShown, EngagementEvent, ServedItem


def events_record(*, viewer: User | None, events: Iterable[EventIn]) -> int:
    """Append events the server vouches for (a like, a comment, a reset); how many counted.

    Nothing for a signed-out viewer: only signed-in viewers teach the learner. Events past
    the viewer's caps (intake.CAPS) are left out; a client id seen before is skipped.
    """
    if viewer is None or not viewer.is_authenticated:
        return 0
    now = timezone.now()
    events = list(events)
    kept = intake.within_caps(viewer_id=viewer.pk, events=events, now=now)
    rows = [
        EngagementEvent(
            viewer_id=viewer.pk,
            post_id=event.post_id,
            kind=event.kind,
            value=event.value,
            client_id=event.client_id,
            created=now,
        )
        for event, keep in zip(events, kept, strict=True)
        if keep
    ]
    if not rows:
        return 0
    try:
        with transaction.atomic():
            EngagementEvent.objects.bulk_create(rows, ignore_conflicts=True)
    except IntegrityError:
        # A post was deleted since the caller checked it: keep the events of the rest.
        live = set(
            Post.objects.filter(pk__in={r.post_id for r in rows}).values_list("pk", flat=True)
        )
        rows = [row for row in rows if row.post_id is None or row.post_id in live]
        EngagementEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def event_record(
    *, viewer: User | None, post_id: int | None, kind: str, value: float = 1.0
) -> None:
    """Append one server-side event (a like, a comment, a follow from a post)."""
    events_record(viewer=viewer, events=[EventIn(post_id=post_id, kind=kind, value=value)])


# Namespace of the advisory lock that takes one viewer's batches one at a time.
_EVENTS_LOCK = 0x52494646  # "RIFF"


def _viewer_events_lock(viewer_id: int) -> None:
    """Hold this viewer's event lock until the transaction ends (PostgreSQL; SQLite already
    takes one write at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_EVENTS_LOCK, viewer_id % 2**31]
            )


def events_intake(*, viewer: User, events: Sequence[EventIn]) -> intake.Verdict:
    """Judge a client's batch (ranking/intake.py) and append the events that count.

    The viewer's batches are judged one at a time, so a batch sent twice at once, or many
    batches racing, still count each client_id once and stay within the caps.
    """
    try:
        return _events_intake_once(viewer, events)
    except IntegrityError:
        # A post was deleted after it was judged (its foreign key fails at commit): judged
        # again, its events are refused as gone and the rest still count.
        return _events_intake_once(viewer, events)


def _events_intake_once(viewer: User, events: Sequence[EventIn]) -> intake.Verdict:
    with transaction.atomic():
        _viewer_events_lock(viewer.pk)
        now = timezone.now()
        verdict = intake.judge(viewer=viewer, events=events, now=now)
        _append(viewer.pk, verdict.accepted, now)
    return verdict


def _append(viewer_id: int, events: Sequence[EventIn], now: datetime) -> None:
    """Append judged events, in the caller's transaction.

    On PostgreSQL by COPY: a batch of 200 in about 2 ms, where building and inserting 200
    model instances takes about 15 (the constraints hold as for an INSERT: a post deleted
    meanwhile fails it with IntegrityError, as it would).
    """
    if not events:
        return
    if connection.vendor != "postgresql":
        EngagementEvent.objects.bulk_create(
            EngagementEvent(
                viewer_id=viewer_id,
                post_id=event.post_id,
                kind=event.kind,
                value=event.value,
                client_id=event.client_id,
                created=now,
            )
            for event in events
        )
        return
    _copy(
        EngagementEvent._meta.db_table,
        ("viewer_id", "post_id", "kind", "value", "client_id", "created"),
        ((viewer_id, e.post_id, e.kind, e.value, e.client_id, now) for e in events),
    )


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table, in the caller's transaction (PostgreSQL).

    psycopg's COPY on Django's connection; its errors come out as Django's (a foreign key
    that fails is an IntegrityError, as for an INSERT).
    """
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def clips_shown_record(*, viewer: User | None, post_ids: Sequence[int], where: str) -> None:
    """Note the clips a page put in front of a signed-in viewer (their events may follow)."""
    if viewer is None or not viewer.is_authenticated or not post_ids:
        return
    now = timezone.now()
    rows = [ClipShown(viewer=viewer, post_id=pk, where=where, created=now) for pk in post_ids]
    ClipShown.objects.bulk_create(rows)  # one INSERT


_SERVED_COLUMNS = (
    "viewer_id",
    "post_id",
    "session",
    "position",
    "source",
    "score",
    "explored",
    "propensity",
    "terms",
    "config_version",
    "model_version",
    "created",
)


def served_write(rows: Sequence[ServedItem]) -> None:
    """Append what pages served (ServedItem rows) in one go.

    On PostgreSQL by COPY, as `_append` writes events: the updater writes a tick's pages at
    once, 150 rows in 10 ms (about half of it holding the interpreter the request threads
    share), where bulk_create took 27.
    """
    if not rows:
        return
    with transaction.atomic():
        if connection.vendor != "postgresql":
            ServedItem.objects.bulk_create(rows)
            return
        # The serving log may lose its last moment in a crash; no one should wait on a disk
        # flush for it (events, which must not be lost, commit as usual).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        _copy(
            ServedItem._meta.db_table,
            _SERVED_COLUMNS,
            (
                [
                    Jsonb(row.terms) if name == "terms" else getattr(row, name)
                    for name in _SERVED_COLUMNS
                ]
                for row in rows
            ),
        )
