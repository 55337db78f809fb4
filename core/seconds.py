"""Reading a time column as unix seconds: PostgreSQL works them out, as a double.

psycopg reads a timestamp from text (about 4 µs each); a double is read at once. Where a
request or a stream reads hundreds to millions of times (For You's candidates, the events
intake judges, the updater's and the retrain's events), they come this way. Other
databases (SQLite, the embedded default) give the datetime, which `as_seconds` converts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast, Extract


def values_with_seconds(query: QuerySet[Any], *fields: str, time: str = "created") -> Any:
    """`query.values_list(*fields, time)`, the time last: seconds on PostgreSQL, a datetime
    elsewhere (pass each through `as_seconds`)."""
    if connection.vendor != "postgresql":
        return query.values_list(*fields, time)
    seconds = Cast(Extract(time, "epoch"), FloatField())
    return query.annotate(_seconds=seconds).values_list(*fields, "_seconds")


def as_seconds(value: float | datetime) -> float:
    """Unix seconds of what `values_with_seconds` read."""
    return value if isinstance(value, float) else value.timestamp()
