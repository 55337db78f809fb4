"""For You: candidates, scores, exploration and diversity, one page at a time.

A page is made in five steps:

1. Candidates from several sources: recent clips of people the viewer follows, the newest
   clips, what is trending (decayed engagement), clips whose prompts are close to what the
   viewer engaged with (over time, and in the last half hour or so), clips that people with
   tastes like theirs engaged with (the learner's collaborative factors), and clips close to
   the viewer's own feed preference.
2. Filters: what the viewer already saw (their impressions of the last 30 days, since
   their last reset), said "not interested" in or reported, and what this run of pages
   already showed. The feed's base queryset has already dropped moderated clips,
   suspended and blocked accounts. If too few unseen clips remain, seen ones fill the
   page (never ones the viewer turned down).
3. Scores: the weighted sum of the learner's predicted engagements (weights from the
   active RankingConfig), multiplied by a freshness decay (its half-life) and by the
   viewer's preference match (exp(strength x match)).
4. Exploration: a share of the slots goes to clips with few impressions, picked by
   Thompson sampling on their like rate; the probability of each pick is estimated from
   the same posterior and logged with the impression (ServedItem.propensity).
5. Diversity: at most `max_per_author` clips of one author a page, and `remix_gap` clips
   at least between two remixes of one parent.

Pages of one run share a session (in the cursor), so they never repeat a clip, and each
is ranked afresh: a like on page one changes page two.

This module gathers and filters (steps 1 and 2); `scoring` scores and places (3 to 5);
`selectors.for_you_page` makes a page of them, reading only; `services.for_you_serve`
makes the page with the live learner as it stands and logs it (ServedItem). The learner is
shared with the other request threads and the process's updater (live.py); each of its
methods holds its lock, so a page reads no half-applied event.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Follow, User
from core.lookups import bigint_array  # the module registers the any_of lookups used below
from core.pagination import InvalidCursor
from core.seconds import as_seconds, read_with_seconds
from feed.models import Post

from .learner import ItemInfo, Learner
from .live import vector_from_bytes
from .models import EngagementEvent, FeedPreference
from .scoring import Candidate, Preference

# How many candidates each source gives a page.
SOURCE_SIZES = {
    "following": 100,
    "fresh": 200,
    "trending": 100,
    "similar": 100,
    "session": 60,
    "collaborative": 100,
    "preference": 60,
}
SOURCE_LABELS = {
    "following": "from someone you follow",
    "fresh": "new on Riff",
    "trending": "popular right now",
    "similar": "like clips you engaged with",
    "session": "like what you engaged with just now",
    "collaborative": "enjoyed by people with tastes like yours",
    "preference": "matches your feed preference",
    "again": "shown before (nothing new left)",
}
SEEN_DAYS = 30
# What the viewer turned down never comes back, even to fill a page.
REFUSED_KINDS = (EngagementEvent.Kind.NOT_INTERESTED, EngagementEvent.Kind.REPORT)
SEEN_KINDS = (
    EngagementEvent.Kind.IMPRESSION,
    EngagementEvent.Kind.VIEW,
    EngagementEvent.Kind.COMPLETE,
    EngagementEvent.Kind.SKIP,
    *REFUSED_KINDS,
)

_CURSOR = re.compile(r"^fy\|([0-9a-f]{16})\|(\d{1,6})$")
_INVALID = "That page cursor is not valid; start again from the top."


def cursor_encode(session: str, page: int) -> str:
    """An opaque For You cursor: the session and the number of the next page."""
    return base64.urlsafe_b64encode(f"fy|{session}|{page}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[str, int]:
    """(session, page) of a cursor; InvalidCursor if this server did not make it."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(_INVALID) from exc
    match = _CURSOR.match(text)
    if match is None:
        raise InvalidCursor(_INVALID)
    return match.group(1), int(match.group(2))


def preference_of(viewer: User | None) -> Preference | None:
    """The viewer's feed preference, if they set one."""
    if viewer is None or not viewer.is_authenticated:
        return None
    row = FeedPreference.objects.filter(viewer=viewer).first()
    if row is None:
        return None
    return Preference(
        row.text, vector_from_bytes(row.more_vector), vector_from_bytes(row.less_vector)
    )


# --- candidates -----------------------------------------------------------------------


def candidate_rows(posts: QuerySet[Any], limit: int | None = None) -> list[tuple[Any, ...]]:
    """(pk, owner, the post it remixes, created in unix seconds) of each post (the first
    `limit` of them); a page reads about 650 (core/seconds.py)."""
    rows = read_with_seconds(posts, "pk", "owner_id", "remix_of_id", limit=limit)
    return [(pk, owner, remix, as_seconds(created)) for pk, owner, remix, created in rows]


def candidates_gather(
    viewer: User | None,
    base: QuerySet[Any],
    learner: Learner,
    preference: Preference | None,
    now: datetime,
) -> dict[int, Candidate]:
    """The candidates of every source (step 1 of the module), by post id; reads only."""
    found: dict[int, Candidate] = {}

    def add(rows: Any, source: str) -> None:
        for pk, owner_id, remix_of_id, created in rows:
            candidate = found.get(pk)
            if candidate is None:
                candidate = found[pk] = Candidate(pk, owner_id, remix_of_id, created)
            candidate.sources.append(source)

    signed_in = viewer is not None and viewer.is_authenticated
    add(candidate_rows(base.order_by("-created", "-pk"), SOURCE_SIZES["fresh"]), "fresh")

    # Sources of ids (the people followed, and what the learner knows): one query then
    # fetches them all through `base`, which applies every visibility rule. (Not with the
    # newest in one query: PostgreSQL reads every clip for "newest or these ids", 150 ms
    # at 100,000 clips, where each alone takes a few.)
    picked: dict[str, list[str]] = {}
    if signed_in and viewer is not None:
        picked["following"] = _following_recent(viewer, base, now)
    picked["trending"] = learner.trending_items(SOURCE_SIZES["trending"], now.timestamp())
    taste = learner.viewer_taste(str(viewer.pk)) if signed_in and viewer is not None else None
    if taste is not None:
        picked["similar"] = learner.nearest_items(taste, SOURCE_SIZES["similar"])
    session = (
        learner.viewer_session(str(viewer.pk), now.timestamp())
        if signed_in and viewer is not None
        else None
    )
    if session is not None:
        picked["session"] = learner.nearest_items(session, SOURCE_SIZES["session"])
    if signed_in and viewer is not None:
        picked["collaborative"] = learner.collaborative_items(
            str(viewer.pk), SOURCE_SIZES["collaborative"]
        )
    if preference is not None and preference.more is not None:
        picked["preference"] = learner.nearest_items(preference.more, SOURCE_SIZES["preference"])
    wanted = {int(item) for items in picked.values() for item in items if item.isdigit()}
    if wanted:
        rows = {row[0]: row for row in candidate_rows(base.filter(pk__any_of_rows=wanted))}
        for source, items in picked.items():
            add((rows[int(i)] for i in items if i.isdigit() and int(i) in rows), source)
    return found


# At most this many recent clips of each person followed.
PER_FOLLOWED = 10


def _following_recent(viewer: User, base: QuerySet[Any], now: datetime) -> list[str]:
    """Ids of the newest clips of the people the viewer follows, newest first.

    On PostgreSQL a LATERAL join takes at most PER_FOLLOWED from each person along the
    (owner, created) index, however prolific they are (a plain filter and sort read every
    clip of every person followed: 116 ms for 16 people with ~2,000 clips each, against
    well under a millisecond); elsewhere (SQLite, small sites) the plain query.
    """
    since = now - timedelta(days=SEEN_DAYS)
    size = SOURCE_SIZES["following"]
    if connection.vendor != "postgresql":
        followed = Follow.objects.filter(follower=viewer).values("followee_id")
        rows = (
            base.filter(owner_id__in=followed, created__gte=since)
            .order_by("-created")
            .values_list("pk", flat=True)[:size]
        )
        return [str(pk) for pk in rows]
    post, follow = Post._meta.db_table, Follow._meta.db_table
    sql = f"""
        SELECT p.id FROM {follow} f
        CROSS JOIN LATERAL (
            SELECT id, created FROM {post}
            WHERE owner_id = f.followee_id AND visibility = %s AND standing = %s
              AND created >= %s
            ORDER BY created DESC LIMIT %s
        ) p
        WHERE f.follower_id = %s
        ORDER BY p.created DESC LIMIT %s
    """  # noqa: S608 - table names from the models; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [Post.Visibility.PUBLIC, Post.Standing.OK, since, PER_FOLLOWED, viewer.pk, size],
        )
        return [str(row[0]) for row in cursor.fetchall()]


def turned_down(viewer: User | None, post_ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """Of these posts: (those the viewer saw since their last reset, those they turned down
    lately), from their events of the last SEEN_DAYS.

    One query along the (viewer, post) index, for the candidates and the viewer's resets
    (the events without a post) alone: 1 ms for a viewer with 6,500 events in the window,
    where reading all of them took 11. The index carries every column read, so PostgreSQL
    need not read the table, where a viewer's events lie a page apart: a heavy viewer's
    first page in a process read 30-40 ms of them from cold.
    """
    if viewer is None or not viewer.is_authenticated:
        return set(), set()
    since = timezone.now() - timedelta(days=SEEN_DAYS)
    kinds = (*SEEN_KINDS, EngagementEvent.Kind.RESET)
    if connection.vendor == "postgresql":
        events = _turned_down_rows(viewer.pk, post_ids, since, kinds)
    else:
        mine = EngagementEvent.objects.filter(viewer=viewer, created__gte=since, kind__in=kinds)
        columns = ("post_id", "kind", "created", "pk")
        rows = (
            mine.filter(post_id__any_of=set(post_ids))
            .values_list(*columns)
            .union(mine.filter(post__isnull=True).values_list(*columns), all=True)
        )
        events = list(rows)
    # What was seen before a reset may be shown again; what was turned down stays hidden.
    reset = max(
        ((created, pk) for _, kind, created, pk in events if kind == EngagementEvent.Kind.RESET),
        default=None,
    )
    seen: set[int] = set()
    refused: set[int] = set()
    for post_id, kind, created, pk in events:
        if kind in REFUSED_KINDS:
            refused.add(post_id)
        elif kind != EngagementEvent.Kind.RESET and (reset is None or (created, pk) > reset):
            seen.add(post_id)
    return seen, refused


def _turned_down_rows(
    viewer_id: int, post_ids: Iterable[int], since: datetime, kinds: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """`turned_down`'s events on PostgreSQL: (post, kind, created in unix seconds, id).

    Written out, as two parts of one query rather than an OR, which PostgreSQL answers by a
    bitmap of the two and then reads the table: as they are, each part reads the index
    alone. Through the ORM (a union to build and compile, each time read as a datetime) a
    viewer with 17,000 events took 8.9 ms for 600 candidates; this takes 5.1.
    """
    table = EngagementEvent._meta.db_table
    part = f"""
        SELECT post_id, kind, extract(epoch FROM created)::float8, id FROM {table}
         WHERE viewer_id = %s AND created >= %s AND kind = ANY(%s)"""  # noqa: S608
    sql = f"""{part} AND post_id = ANY(%s::bigint[])
        UNION ALL {part} AND post_id IS NULL"""
    params: list[Any] = [viewer_id, since, list(kinds)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, bigint_array(list(set(post_ids))), *params])
        return cursor.fetchall()


# --- the page -------------------------------------------------------------------------


@dataclass
class RankedPage:
    """A For You page: posts in order, what was served with its terms, and the next cursor.

    The rest is what `services.served_record` logs: the session and position of the page,
    the config that ranked it, when, and the infos of clips the learner held no row for
    (their creator and time, from their candidate rows: what they were scored by;
    `services.for_you_serve` tells the live learner of them, whose updater reads the rest).
    """

    items: list[Any]
    served: list[Candidate]
    next_cursor: str | None
    session: str = ""
    first_position: int = 0
    terms: list[dict[str, Any]] = field(default_factory=list)
    config_version: int | None = None
    created: datetime | None = None
    item_infos: dict[str, ItemInfo] = field(default_factory=dict)
