"""Start the processes docker-compose.yml runs (daphne, a Celery worker) and talk to them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a production-like process, pointed at the test database."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"].endswith("postgresql"), "run the suite against PostgreSQL"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
    }


def started(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def daphne(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    args = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    process = started(args, env, tmp_path / "daphne.log")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "daphne.log").read_text())
                time.sleep(0.3)
        yield base
    finally:
        stop(process)


def test_daphne_serves_health_and_pages(daphne: str) -> None:
    with urllib.request.urlopen(f"{daphne}/readyz", timeout=10) as response:  # noqa: S310
        assert json.load(response)["checks"] == {
            "database": "ok",
            "broker": "ok",
            "storage": "ok",
        }
    with urllib.request.urlopen(f"{daphne}/", timeout=10) as response:  # noqa: S310
        assert response.status == 200
        assert b"<html" in response.read()


def test_celery_worker_answers_on_the_broker(env: dict[str, str], tmp_path: Path) -> None:
    name = f"riff-test-{os.getpid()}@localhost"
    worker = started(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "default,gpu",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--hostname",
            name,
            "--without-mingle",
            "--without-gossip",
        ],
        env,
        tmp_path / "worker.log",
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            result = subprocess.run(
                [
                    str(BIN / "celery"),
                    "-A",
                    "config",
                    "inspect",
                    "active_queues",
                    "-d",
                    name,
                    "--json",
                    "--timeout",
                    "3",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0 and name in result.stdout:
                queues = {q["name"] for q in json.loads(result.stdout)[name]}
                assert queues == {"default", "gpu"}
                return
            if worker.poll() is not None:
                break
            time.sleep(1)
        pytest.fail("worker never answered:\n" + (tmp_path / "worker.log").read_text())
    finally:
        stop(worker)
