"""Riff's own processes for tests: daphne and Celery workers on the test database, as
docker-compose.yml starts them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# The web process and the worker talk over their own Redis database: the broker's `gpu`
# queue must not be shared with (or emptied by) tests running beside this one.
SUBPROCESS_REDIS_DB = int(os.environ.get("RIFF_BROWSER_REDIS_DB", "13"))


def private_redis_url() -> str:
    """settings.REDIS_URL on its own database number (RIFF_BROWSER_REDIS_URL overrides it)."""
    if os.environ.get("RIFF_BROWSER_REDIS_URL"):
        return os.environ["RIFF_BROWSER_REDIS_URL"]
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{SUBPROCESS_REDIS_DB}"))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(*, media_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a process that shares the test database (PostgreSQL only)."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"].endswith("postgresql"), "run these tests against PostgreSQL"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(media_root),
        # Workers sign clips as the test process does.
        "C2PA_CERT_CHAIN": str(settings.C2PA_CERT_CHAIN),
        "C2PA_PRIVATE_KEY": str(settings.C2PA_PRIVATE_KEY),
        "C2PA_TRUST_ANCHORS": str(settings.C2PA_TRUST_ANCHORS),
        **extra,
    }


def started(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in the project's root, its output going to `log`."""
    with log.open("wb") as handle:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a process to stop; kill it if it hasn't within 20 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_args(*, queues: str, hostname: str) -> list[str]:
    """A one-job-at-a-time Celery worker on `queues`, quick to start (no mingle, no gossip)."""
    return [
        str(BIN / "celery"), "-A", "config", "worker", "-Q", queues, "--pool", "solo",
        "--concurrency", "1", "--hostname", hostname, "--without-mingle", "--without-gossip",
        "--loglevel", "INFO",
    ]  # fmt: skip


@contextlib.contextmanager
def daphne(env: dict[str, str], log: Path) -> Iterator[str]:
    """Daphne serving Riff (HTTP and WebSockets) on a free port; yields its base URL."""
    with daphne_process(env, log) as (base, _process):
        yield base


@contextlib.contextmanager
def daphne_process(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Daphne as daphne() starts it; yields its base URL and its process (to watch its memory)."""
    port = free_port()
    args = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    # As bin/run and docker-compose.yml start it: uploads' buffers go back to the system.
    process = started(args, {"MALLOC_MMAP_THRESHOLD_": "131072", **env}, log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(log.read_text())
                time.sleep(0.3)
        yield base, process
    finally:
        stop(process)


def resident_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far, in seconds."""
    # /proc/<pid>/stat: the 14th and 15th fields, after the command name in parentheses.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
