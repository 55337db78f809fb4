"""Start the processes docker-compose.yml runs (daphne, a Celery worker) and talk to them."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import BIN, ROOT, daphne, process_env, started, stop, worker_args

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a production-like process, pointed at the test database."""
    return process_env(media_root=tmp_path / "media")


@pytest.fixture
def daphne_url(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with daphne(env, tmp_path / "daphne.log") as base:
        yield base


def test_daphne_serves_health_and_pages(daphne_url: str) -> None:
    with urllib.request.urlopen(f"{daphne_url}/readyz", timeout=10) as response:  # noqa: S310
        assert json.load(response)["checks"] == {
            "database": "ok",
            "broker": "ok",
            "storage": "ok",
        }
    with urllib.request.urlopen(f"{daphne_url}/", timeout=10) as response:  # noqa: S310
        assert response.status == 200
        assert b"<html" in response.read()


def test_celery_worker_answers_on_the_broker(env: dict[str, str], tmp_path: Path) -> None:
    name = f"riff-test-{os.getpid()}@localhost"
    worker = started(worker_args(queues="default,gpu", hostname=name), env, tmp_path / "worker.log")
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
