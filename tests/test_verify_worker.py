"""Verify a clip as deployed: daphne takes the uploads, a Celery worker on the `verify` queue
checks them, and the web process's memory stays flat through 1,000 odd uploads (the drill)."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import UserFactory
from tests.feed.test_verify import made_here
from tests.odd_uploads import KINDS, odd_uploads, seeds
from tests.processes import daphne_process, process_env, resident_mb, started, stop, worker_args

pytestmark = pytest.mark.django_db(transaction=True)

Answer = tuple[int, str, bytes]  # status, content type, body


class Instance:
    """Daphne and a `verify` worker on the test database, and a way to upload to them."""

    def __init__(self, base: str, web: subprocess.Popen[bytes]) -> None:
        self.base, self.web = base, web
        with urllib.request.urlopen(f"{base}/verify/", timeout=30) as response:
            cookie = response.headers.get("Set-Cookie", "")
        found = re.search(r"csrftoken=([A-Za-z0-9]+)", cookie)
        assert found, cookie
        self.csrf = found.group(1)

    def upload(self, path: str, name: str, data: bytes) -> Answer:
        """POST one file as the form or an API client would send it."""
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="video"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if not path.startswith("/api/"):
            headers |= {"Cookie": f"csrftoken={self.csrf}", "X-CSRFToken": self.csrf}
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers, method="POST"
        )
        return self._answer(request)

    def get(self, path: str, **headers: str) -> Answer:
        return self._answer(urllib.request.Request(self.base + path, headers=headers))

    @staticmethod
    def _answer(request: urllib.request.Request) -> Answer:
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read()

    def rss_mb(self) -> float:
        """The web process's resident memory now."""
        return resident_mb(self.web.pid)[0]


@pytest.fixture
def instance(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Instance]:
    """Riff as compose runs it: daphne, and one worker taking the `verify` queue."""
    extra = getattr(request, "param", {})
    env = process_env(
        media_root=Path(settings.MEDIA_ROOT),
        RATE_LIMIT_VERIFY="100000/min",
        VERIFY_WAIT_S="20",
        LOG_LEVEL="WARNING",
        **extra,
    )
    name = f"riff-verify-{os.getpid()}-{uuid.uuid4().hex[:6]}@localhost"
    worker = started(worker_args(queues="verify", hostname=name), env, tmp_path / "worker.log")
    try:
        with daphne_process(env, tmp_path / "daphne.log") as (base, web):
            yield Instance(base, web)
    finally:
        stop(worker)


def test_a_real_worker_checks_uploads_for_the_page_and_the_api(instance: Instance) -> None:
    owner = UserFactory(username="lanterns")
    post, data = made_here(owner)

    status, kind, body = instance.upload("/api/v1/verify/", "clip.mp4", data)
    assert status == 200 and kind == "application/json", body
    answer = json.loads(body)
    assert answer["credentials"]["state"] == "Trusted" and answer["post"]["id"] == post.pk

    status, kind, body = instance.upload("/verify/", "clip.mp4", data)
    assert status == 200 and kind.startswith("text/html")
    assert "Made with AI on this Riff" in body.decode()

    status, kind, body = instance.upload("/api/v1/verify/", "notes.mp4", b"not a video")
    assert status == 400 and json.loads(body) == {
        "video": ["That file isn't a video we can read (MP4, WebM or MOV)."]
    }
    # Nothing uploaded is left behind in storage.
    assert list((Path(settings.MEDIA_ROOT) / "verify").iterdir()) == []


DRILL_UPLOADS = 1000
DRILL_CONCURRENCY = 4
DRILL_MAX_GROWTH_MB = 200


@pytest.mark.drill
def test_drill_1000_odd_uploads_no_server_error_and_flat_memory(instance: Instance) -> None:
    uploads = list(odd_uploads(DRILL_UPLOADS, seed=11))
    warm_up = [(kind, name, data) for kind, examples in seeds().items() for name, data in examples]

    def send(job: tuple[int, tuple[str, str, bytes]]) -> tuple[str, str, Answer]:
        index, (kind, name, data) = job
        path = "/verify/" if index % 2 == 0 else "/api/v1/verify/"
        return kind, path, instance.upload(path, name, data)

    with ThreadPoolExecutor(DRILL_CONCURRENCY) as pool:
        list(pool.map(send, enumerate(warm_up * 2)))
        baseline = instance.rss_mb()
        peak = baseline
        stop_watching = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop_watching.wait(0.2):
                peak = max(peak, instance.rss_mb())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started_at = time.monotonic()
        answers = list(pool.map(send, enumerate(uploads)))
        took = time.monotonic() - started_at
        stop_watching.set()
        watcher.join()
    final = instance.rss_mb()

    statuses: collections.Counter[tuple[str, int]] = collections.Counter()
    for kind, path, (status, content_type, body) in answers:
        statuses[(kind, status)] += 1
        assert status < 500, (kind, path, status, body[:500])
        if path.startswith("/api/"):
            assert content_type == "application/json", (kind, status, body[:200])
            if status >= 400:
                message = json.loads(body)
                assert message.get("video") or message.get("detail"), message
        else:
            assert content_type.startswith("text/html"), (kind, status, body[:200])
    print(
        f"\ndrill: {len(answers)} uploads in {took:.0f} s; daphne RSS {baseline:.0f} MB after "
        f"warm-up, peak {peak:.0f} MB, end {final:.0f} MB; {dict(sorted(statuses.items()))}"
    )
    assert len(answers) == DRILL_UPLOADS
    assert {kind for kind, _ in statuses} == set(KINDS)
    assert {status for _, status in statuses} <= {200, 202, 400, 413}
    assert peak - baseline < DRILL_MAX_GROWTH_MB and final - baseline < DRILL_MAX_GROWTH_MB
