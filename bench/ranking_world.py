"""The seeded world of bench/ranking.py: a throwaway PostgreSQL database filled by COPY.

Users with profiles and follows, public clips spread over the last 30 days (authors drawn
with a skew, prompts from a few hundred templates, some remixes, MiniLM prompt embeddings)
and an engagement log drawn from hidden per-user topic tastes, so likes are not uniform.
Imported by bench/ranking.py after Django is set up.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

BENCH_DB = "riff_bench_ranking"
DAY = 86400.0

# Prompt templates: topic subjects x shots x styles, a few hundred in all. A user's hidden
# taste is a mix over topics; what they like follows it.
TOPICS = {
    "ocean": ["a humpback whale", "a coral reef", "a lighthouse in a storm", "a surfer at dawn"],
    "space": ["an astronaut", "a nebula", "a rocket launch", "a rover on mars"],
    "city": ["a neon street at night", "a subway train", "a rooftop garden", "a taxi in rain"],
    "forest": ["a fox in the snow", "a misty pine forest", "a deer by a stream", "an owl"],
    "food": ["a bowl of ramen", "a stack of pancakes", "a pizza oven", "a sushi chef"],
    "cats": ["a sleepy kitten", "a cat chasing a laser", "a cat on a piano", "a lion cub"],
    "dogs": ["a corgi on a beach", "a puppy in leaves", "a husky in snow", "a dog surfing"],
    "robots": ["a tiny robot", "a mech in a desert", "a robot chef", "an android portrait"],
    "sports": ["a skateboard trick", "a football goal", "a ski jump", "a basketball dunk"],
    "fantasy": ["a dragon over a castle", "a wizard's library", "a fairy glade", "an elf"],
    "cars": ["a vintage car", "a rally car in mud", "a race at night", "a car in a canyon"],
    "weather": ["a thunderstorm", "a rainbow over hills", "a tornado", "falling snow"],
}
SHOTS = ["slow motion", "drone shot", "close-up", "timelapse", "tracking shot"]
STYLES = ["cinematic", "claymation"]

# Each event kind, when it happens in one impression, and what `value` holds.
KINDS = (
    "impression",
    "view",
    "complete",
    "skip",
    "like",
    "share",
    "comment",
    "remix",
    "not_interested",
)


def templates() -> tuple[list[str], np.ndarray]:
    """Every prompt template and its topic index."""
    prompts, topics = [], []
    for topic, (_name, subjects) in enumerate(TOPICS.items()):
        for subject in subjects:
            for shot in SHOTS:
                for style in STYLES:
                    prompts.append(f"{subject}, {shot}, {style}")
                    topics.append(topic)
    return prompts, np.asarray(topics)


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) of the samples, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]


# --- database -------------------------------------------------------------------------


@contextlib.contextmanager
def bench_database(keep: bool, name: str = BENCH_DB) -> Iterator[None]:
    """A freshly created and migrated database `name`, dropped afterwards unless `keep`."""
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old_name = connection.settings_dict["NAME"]
    start = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    print(f"created and migrated {name} in {time.perf_counter() - start:.1f}s")
    try:
        yield
    finally:
        from ranking.live import live

        live.reset()  # its updater thread holds a connection to the database
        if keep:
            print(f"kept {name}")
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def copy_rows(table: str, columns: list[str], rows: Any) -> int:
    """COPY rows (tuples) into a table through psycopg 3; returns how many."""
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3 connection
        with raw.cursor() as pg, pg.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
                count += 1
    return count


def reset_sequence(table: str, column: str = "id") -> None:
    """After COPY with explicit ids, let the sequence continue past them."""
    with connection.cursor() as cursor:
        cursor.execute(  # names from model meta, not input
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # noqa: S608
            f"COALESCE((SELECT MAX({column}) FROM {table}), 1))"
        )


def model_rows(
    model: Any, known: dict[str, Any], n: int
) -> tuple[list[str], Callable[[int], tuple]]:
    """Columns of `model` and a function giving row i: known values, else field defaults.

    Built from the model's fields at run time, so a field added since this was written
    (with a default) does not break seeding.
    """
    columns, makers = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.attname not in known:
            continue
        columns.append(field.column)
        value = known.get(field.attname, known.get(field.name))
        if value is None and field.attname not in known and field.name not in known:
            value = field.get_default()  # "" for a text field without one
            if value is None and not field.null:
                raise SystemExit(f"{model.__name__}.{field.name} needs a value to seed")
        makers.append(value)

    def row(i: int) -> tuple:
        return tuple(m(i) if callable(m) else m for m in makers)

    return columns, row


# --- seeding --------------------------------------------------------------------------


class World:
    """What the seed drew: ids, topics, tastes (kept to choose viewers and clips later)."""

    def __init__(self, users: int, posts: int, rng: np.random.Generator) -> None:
        """Draw users' tastes and activity, clips' authors, topics, times and quality."""
        self.prompts, self.template_topic = templates()
        n_topics = len(TOPICS)
        self.user_ids = np.arange(1, users + 1)
        # Hidden taste: a sparse mix of topics, so each person likes a few kinds of clip.
        self.taste = rng.dirichlet(np.full(n_topics, 0.3), size=users)
        # Some people watch far more than others.
        self.activity = rng.permutation(1.0 / np.arange(1, users + 1) ** 0.8)
        self.activity /= self.activity.sum()
        # A few authors post most clips.
        author_weight = rng.permutation(1.0 / np.arange(1, users + 1) ** 1.1)
        author_weight /= author_weight.sum()
        now = time.time()
        age = np.sort(rng.uniform(0, 30 * DAY, size=posts))[::-1]  # ids in time order
        self.post_ids = np.arange(1, posts + 1)
        self.post_time = now - age
        self.post_owner = rng.choice(self.user_ids, size=posts, p=author_weight)
        self.post_template = rng.integers(0, len(self.prompts), size=posts)
        self.post_topic = self.template_topic[self.post_template]
        self.post_quality = rng.normal(0.0, 0.5, size=posts)
        self.post_duration = rng.uniform(4.0, 12.0, size=posts).round(1)
        # About one clip in eight remixes an earlier clip, usually one of the same topic.
        self.remix_of = np.zeros(posts, dtype=np.int64)
        candidates = np.flatnonzero(rng.random(posts) < 0.125)
        candidates = candidates[candidates > 0]
        self.remix_of[candidates] = rng.integers(0, candidates) + 1  # an earlier id
        self.post_template[candidates] = self.post_template[self.remix_of[candidates] - 1]
        self.post_topic = self.template_topic[self.post_template]
        order = np.argsort(self.post_topic, kind="stable")
        self.by_topic = order
        counts = np.bincount(self.post_topic, minlength=n_topics)
        self.topic_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.topic_count = counts


def seed_users(count: int, handle: str = "bench", joined: Any = None) -> None:
    """Users 1 to `count` (COPY), `<handle><id>` each, who can't sign in with a password."""
    from accounts.models import User

    columns, row = model_rows(
        User,
        {
            "id": lambda i: i + 1,
            "password": "!",  # unusable: force_login needs none
            "username": lambda i: f"{handle}{i + 1}",
            "email": lambda i: f"{handle}{i + 1}@example.com",
            "first_name": "",
            "last_name": "",
            "is_superuser": False,
            "is_staff": False,
            "is_active": True,
            "date_joined": joined or timezone.now(),
        },
        count,
    )
    copy_rows(User._meta.db_table, columns, (row(i) for i in range(count)))
    reset_sequence(User._meta.db_table)


def seed_people(world: World, rng: np.random.Generator) -> None:
    """Users, their profiles and follows (COPY)."""
    from accounts.models import Follow, Profile

    users = len(world.user_ids)
    seed_users(users, joined=timezone.now() - timedelta(days=60))

    # Follows: about 15 each, drawn toward prolific authors.
    weight = np.bincount(world.post_owner, minlength=users + 1)[1:] + 1.0
    weight /= weight.sum()
    followers = np.repeat(world.user_ids, rng.poisson(15, size=users))
    followees = rng.choice(world.user_ids, size=len(followers), p=weight)
    pairs = np.unique(np.stack([followers, followees], axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    now = timezone.now()
    copy_rows(
        Follow._meta.db_table,
        ["follower_id", "followee_id", "created"],
        ((int(a), int(b), now) for a, b in pairs),
    )
    following = np.bincount(pairs[:, 0], minlength=users + 1)
    followed = np.bincount(pairs[:, 1], minlength=users + 1)
    posted = np.bincount(world.post_owner, minlength=users + 1)
    columns, row = model_rows(
        Profile,
        {
            "user_id": lambda i: i + 1,
            "display_name": "",
            "bio": "",
            "avatar": "",
            "follower_count": lambda i: int(followed[i + 1]),
            "following_count": lambda i: int(following[i + 1]),
            "post_count": lambda i: int(posted[i + 1]),
        },
        users,
    )
    copy_rows(Profile._meta.db_table, columns, (row(i) for i in range(users)))


def prompt_vectors(world: World) -> dict[int, bytes] | None:
    """Each template's MiniLM embedding as float32 bytes, if Post stores one; else None."""
    from feed.models import Post

    if "prompt_embedding" not in {f.name for f in Post._meta.get_fields()}:
        print("Post has no prompt_embedding: clips seeded without embeddings")
        return None
    from core.embedding import embed

    start = time.perf_counter()
    vectors = embed(world.prompts)
    print(f"embedded {len(world.prompts)} prompt templates in {time.perf_counter() - start:.1f}s")
    return {i: np.asarray(v, dtype=np.float32).tobytes() for i, v in enumerate(vectors)}


def seed_posts(world: World, vectors: dict[int, bytes] | None) -> None:
    """Public clips in good standing (COPY)."""
    from feed.models import Post

    known: dict[str, Any] = {
        "id": lambda i: i + 1,
        "owner_id": lambda i: int(world.post_owner[i]),
        "video": lambda i: f"posts/bench/{i + 1}.mp4",
        "poster": lambda i: f"posts/bench/{i + 1}.jpg",
        "caption": "",
        "prompt": lambda i: world.prompts[world.post_template[i]],
        "model_name": "bench",
        "visibility": Post.Visibility.PUBLIC,
        "remix_of_id": lambda i: int(world.remix_of[i]) or None,
        "standing": Post.Standing.OK,
        "duration_s": lambda i: float(world.post_duration[i]),
        "width": 360,
        "height": 640,
        "created": lambda i: datetime.fromtimestamp(world.post_time[i], tz=UTC),
    }
    if vectors is not None:
        known["prompt_embedding"] = lambda i: vectors[int(world.post_template[i])]
    columns, row = model_rows(Post, known, len(world.post_ids))
    copy_rows(Post._meta.db_table, columns, (row(i) for i in range(len(world.post_ids))))
    reset_sequence(Post._meta.db_table)


def draw_events(world: World, total: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """An engagement log of `total` events: impressions and what followed each."""
    n_topics = len(TOPICS)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("viewer", "post", "kind", "value", "ts")}
    made = 0
    now = time.time()
    while made < total:
        n = max(10_000, int((total - made) / 2.0))
        viewer_index = rng.choice(len(world.user_ids), size=n, p=world.activity)
        taste = world.taste[viewer_index]
        # Half the impressions come from the viewer's tastes, half from anywhere.
        topic = (rng.random((n, 1)) < np.cumsum(taste, axis=1)).argmax(axis=1)
        anywhere = rng.random(n) < 0.5
        topic[anywhere] = rng.integers(0, n_topics, size=int(anywhere.sum()))
        within = (rng.random(n) * world.topic_count[topic]).astype(np.int64)
        post_index = world.by_topic[world.topic_start[topic] + within]
        # How much this viewer cares for this clip: taste for its topic, plus its quality.
        affinity = taste[np.arange(n), world.post_topic[post_index]] * n_topics
        affinity = np.log1p(affinity) + world.post_quality[post_index]
        watched = 1 / (1 + np.exp(-(affinity - 0.6) * 2.5))
        fraction = np.clip(watched + rng.normal(0, 0.15, size=n), 0.02, 1.0)
        seconds = (fraction * world.post_duration[post_index]).round(1)
        p_like = 0.35 / (1 + np.exp(-(affinity - 1.4) * 3))
        shown = np.maximum(world.post_time[post_index], now - 30 * DAY)
        ts = shown + rng.exponential(2 * DAY, size=n)
        # A showing drawn later than two minutes ago has not happened yet. (Stamped two
        # minutes ago instead, as they once were, they made 135,000 events at one instant, a
        # recent burst no real log has, which left a like too little to move in a heavy
        # viewer's session.)
        arrived = ts <= now - 120
        u = rng.random((n, 7))
        happened = {
            "impression": arrived,
            "view": arrived & (fraction >= 0.1),
            "complete": arrived & (fraction >= 0.95),
            "skip": arrived & (fraction < 0.1),
            "like": arrived & (u[:, 0] < p_like),
            "share": arrived & (u[:, 1] < p_like * 0.15),
            "comment": arrived & (u[:, 2] < p_like * 0.1),
            "remix": arrived & (u[:, 3] < p_like * 0.03),
            "not_interested": arrived & (u[:, 4] < 0.03) & (affinity < 0.4),
        }
        for offset, kind in enumerate(KINDS):
            mask = happened[kind]
            parts["viewer"].append(world.user_ids[viewer_index[mask]])
            parts["post"].append(world.post_ids[post_index[mask]])
            parts["kind"].append(np.full(int(mask.sum()), KINDS.index(kind), dtype=np.int8))
            value = seconds[mask] if kind in ("view", "skip") else np.ones(int(mask.sum()))
            parts["value"].append(value)
            parts["ts"].append(ts[mask] + offset * 0.5)  # a moment apart, in a sensible order
        made += int(sum(int(m.sum()) for m in happened.values()))
    events = {k: np.concatenate(v) for k, v in parts.items()}
    keep = np.sort(rng.permutation(len(events["kind"]))[:total])
    return {k: v[keep] for k, v in events.items()}


def seed_events(world: World, total: int, rng: np.random.Generator) -> dict[str, int]:
    """The engagement log, plus Like rows and like counts for its likes (COPY)."""
    from feed.models import Like, Post
    from ranking.models import EngagementEvent

    events = draw_events(world, total, rng)
    order = np.argsort(events["ts"], kind="stable")  # ids follow time, as a live log's do
    events = {k: v[order] for k, v in events.items()}
    stamps = [datetime.fromtimestamp(t, tz=UTC) for t in events["ts"].tolist()]
    viewers, posts = events["viewer"].tolist(), events["post"].tolist()
    kinds, values = events["kind"].tolist(), events["value"].tolist()
    copy_rows(
        EngagementEvent._meta.db_table,
        ["viewer_id", "post_id", "kind", "value", "created", "client_id"],
        (
            (viewers[i], posts[i], KINDS[kinds[i]], values[i], stamps[i], "")
            for i in range(len(kinds))
        ),
    )
    likes = events["kind"] == KINDS.index("like")
    pairs, first = np.unique(
        np.stack([events["viewer"][likes], events["post"][likes]], axis=1),
        axis=0,
        return_index=True,
    )
    like_ts = events["ts"][likes][first]
    copy_rows(
        Like._meta.db_table,
        ["user_id", "post_id", "created"],
        (
            (int(u), int(p), datetime.fromtimestamp(t, tz=UTC))
            for (u, p), t in zip(pairs, like_ts, strict=True)
        ),
    )
    like_count = np.bincount(pairs[:, 1], minlength=len(world.post_ids) + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Post._meta.db_table} p SET like_count = c.n FROM unnest(%s::bigint[], "  # noqa: S608
            "%s::int[]) AS c(id, n) WHERE p.id = c.id",
            [world.post_ids.tolist(), like_count[1:].tolist()],
        )
    return {kind: int((events["kind"] == i).sum()) for i, kind in enumerate(KINDS)}
