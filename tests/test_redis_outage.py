"""Drill: Redis stops and starts again while people use Riff.

Redis holds the rate-limit counters, the Celery broker and the channel layer; PostgreSQL
holds everything people made. While Redis is away, reads must go on (0 server errors) and
writes must be refused with a 503 rather than taken uncounted; every event the API
acknowledged must be in PostgreSQL afterwards.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from ranking.models import EngagementEvent

from .factories import PostFactory, UserFactory
from .processes import daphne, free_port, process_env

pytestmark = pytest.mark.django_db(transaction=True)

# The phases of the drill, in seconds from the start of traffic.
REDIS_STOPS_AT = 3.0
REDIS_STARTS_AT = 9.0
TRAFFIC_ENDS_AT = 15.0


class RedisServer:
    """A redis-server of the drill's own on a free port, so stopping it disturbs nobody else."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


@dataclass
class Tally:
    """What the traffic saw, by phase."""

    reads: dict[str, list[int]] = field(default_factory=lambda: {"up": [], "down": [], "back": []})
    writes: dict[str, list[int]] = field(default_factory=lambda: {"up": [], "down": [], "back": []})
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _call(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_redis_stops_and_starts_during_traffic(redis_server: RedisServer, tmp_path: Path) -> None:
    viewer = UserFactory()
    token = Token.objects.create(user=viewer).key
    posts = [PostFactory() for _ in range(3)]
    env = process_env(media_root=tmp_path / "media", REDIS_URL=redis_server.url)
    auth = {"Authorization": f"Token {token}"}
    reads = [
        ("/", {}),
        (f"/p/{posts[0].pk}/", {}),
        (f"/@{posts[1].owner.username}/", {}),
        ("/api/v1/posts/", {}),
        (f"/api/v1/posts/{posts[2].pk}/", auth),
        ("/api/v1/feed/following/", auth),
        ("/api/v1/me/", auth),
    ]
    tally = Tally()

    with daphne(env, tmp_path / "daphne.log") as base:
        # Events are taken only about clips shown to the viewer: open each post first.
        for post in posts:
            opened = urllib.request.Request(f"{base}/api/v1/posts/{post.pk}/", headers=auth)
            assert _call(opened)[0] == 200
        started = time.monotonic()

        def phase() -> str:
            elapsed = time.monotonic() - started
            if elapsed < REDIS_STOPS_AT:
                return "up"
            return "down" if elapsed < REDIS_STARTS_AT + 0.5 else "back"

        def reader(offset: int) -> None:
            turn = offset
            while time.monotonic() - started < TRAFFIC_ENDS_AT:
                path, headers = reads[turn % len(reads)]
                turn += 1
                now = phase()
                status, _ = _call(urllib.request.Request(base + path, headers=headers))
                with tally.lock:
                    tally.reads[now].append(status)

        def writer() -> None:
            while time.monotonic() - started < TRAFFIC_ENDS_AT:
                ids = [uuid.uuid4().hex for _ in range(5)]
                body = {
                    "events": [
                        {"post": posts[i % 3].pk, "kind": "view", "value": 0.2, "client_id": cid}
                        for i, cid in enumerate(ids)
                    ]
                }
                request = urllib.request.Request(
                    f"{base}/api/v1/events/",
                    data=json.dumps(body).encode(),
                    headers={**auth, "Content-Type": "application/json"},
                    method="POST",
                )
                now = phase()
                status, answer = _call(request)
                with tally.lock:
                    tally.writes[now].append(status)
                    if status == 202:
                        # Acknowledged: what the answer counts as accepted, not what it refused
                        # (past the viewer's caps, or more watching than time allows).
                        refused = {item["index"] for item in json.loads(answer)["refused"]}
                        tally.acknowledged.extend(
                            cid for i, cid in enumerate(ids) if i not in refused
                        )
                time.sleep(0.05)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
        threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        time.sleep(REDIS_STOPS_AT)
        redis_server.stop()
        time.sleep(REDIS_STARTS_AT - REDIS_STOPS_AT)
        redis_server.start()
        for thread in threads:
            thread.join()

    every_read = [status for statuses in tally.reads.values() for status in statuses]
    every_write = [status for statuses in tally.writes.values() for status in statuses]
    # Traffic reached every phase, so the figures below mean something.
    assert all(len(tally.reads[name]) >= 5 for name in ("up", "down", "back")), tally.reads
    assert all(tally.writes[name] for name in ("up", "down", "back")), tally.writes
    assert [s for s in every_read if s >= 500] == [], "reads answered server errors"
    assert set(every_read) == {200}, set(every_read)
    # Writes are refused while limits can't be counted, never answered 500.
    assert set(every_write) <= {202, 503}, set(every_write)
    assert 503 in tally.writes["down"], tally.writes["down"]
    assert tally.writes["back"][-1] == 202, "writes are taken again once Redis is back"
    # Every acknowledged event is in PostgreSQL.
    stored = set(
        EngagementEvent.objects.filter(client_id__in=tally.acknowledged).values_list(
            "client_id", flat=True
        )
    )
    assert tally.acknowledged and stored == set(tally.acknowledged)
