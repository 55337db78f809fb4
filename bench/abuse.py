"""What one hostile client gets through Riff's limits, and what odd uploads cost its processes.

Limits: for each limited endpoint, one client sends requests back to back for --seconds,
once plainly and once with a new forged X-Forwarded-For on every request. It prints how many
got through (anything but a 429 or allauth's in-form "too many" refusal), per second, both
ways and their ratio; the forged run must get exactly as many through as the plain one
(ratio 1.00), since the address comes from the connection (or from our own proxies,
TRUSTED_PROXY_COUNT), never from what the client writes. Limits are cleared between runs.

Memory: --per-kind uploads of each odd kind (truncated, bit-flipped, huge dimensions, long
WebM, pictures, archives; tests/odd_uploads.py) go to POST /api/v1/verify/, one kind at a
time; it prints the peak resident memory of the web process and of the verify worker above
what each held before that kind (Linux's VmHWM, reset before each kind).

By default it starts its own instance from this checkout: daphne and a Celery worker on a
throwaway PostgreSQL database (DATABASE_URL's server) and a Redis database of its own
(--redis-url, flushed to clear limits between runs):

    .venv/bin/python bench/abuse.py [--seconds 10] [--per-kind 4]

Against an instance that is already running, name it and its Redis (to clear the limits
between runs), a signed-in account's API token and a post it may comment on; memory figures
need the web and worker processes' ids on this machine:

    .venv/bin/python bench/abuse.py --url http://127.0.0.1:8000 --redis-url redis://.../0 \\
        --token TOKEN --post 12 [--web-pid PID --worker-pid PID]
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import itertools
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/riff")

BOUNDARY = "riffbenchboundary"
LIMITED_ON_THE_FORM = b"Too many failed login attempts"


@dataclass(frozen=True)
class Endpoint:
    """One limited endpoint: how to make the n-th request to it."""

    name: str
    build: Callable[[Client, int], urllib.request.Request]


class Client:
    """One client: its cookies (for the pages' CSRF token) and the instance it talks to."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.forge = False

    def csrf(self, path: str) -> str:
        """The CSRF token a page's form carries (read from its cookie after a GET)."""
        self.send(urllib.request.Request(self.base + path))
        for cookie in self.cookies:
            if cookie.name == "csrftoken" and cookie.value:
                return cookie.value
        raise RuntimeError(f"{path} set no CSRF cookie")

    def send(self, request: urllib.request.Request) -> int:
        """The status the request was answered with (429 also for a limit's in-form refusal)."""
        if self.forge:
            forged = f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
            request.add_header("X-Forwarded-For", forged)
        try:
            with self.opener.open(request, timeout=60) as response:
                body = response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            body = error.read()
            status = int(error.code)
        # allauth refuses a log-in over its failure limit on the form itself, with a 200.
        return 429 if LIMITED_ON_THE_FORM in body else status

    def form(self, path: str, fields: dict[str, str]) -> urllib.request.Request:
        """A page's form post, with its CSRF token."""
        token = self.csrf(path)
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        return urllib.request.Request(
            self.base + path,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base},
            method="POST",
        )

    def api(self, path: str, payload: object, *, auth: bool = False) -> urllib.request.Request:
        """A JSON API call, with the account's token when `auth`."""
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Token {self.token}"
        data = json.dumps(payload).encode()
        return urllib.request.Request(self.base + path, data=data, headers=headers, method="POST")

    def upload(
        self, path: str, data: bytes, name: str = "clip.mp4", *, page: bool
    ) -> urllib.request.Request:
        """A multipart upload of one file as `video`."""
        parts = []
        if page:
            parts.append(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"'
                f"\r\n\r\n{self.csrf(path)}\r\n".encode()
            )
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="video"; filename="{name}"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        if page:
            headers["Referer"] = self.base
        body = b"".join(parts)
        return urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")


def endpoints(post: int, clip: bytes) -> list[Endpoint]:
    """Every limited endpoint a stranger (or one signed-in account) can hammer."""
    wrong = {"login": "bench", "password": "not the password"}
    event = {"events": [{"post": post, "kind": "view", "value": 1}]}

    def signup(c: Client, n: int) -> urllib.request.Request:
        name = f"b{uuid.uuid4().hex[:12]}"
        fields = {"email": f"{name}@example.org", "username": name, "password1": "a long pass 1"}
        return c.form("/accounts/signup/", fields)

    return [
        Endpoint("log-in page", lambda c, n: c.form("/accounts/login/", wrong)),
        Endpoint("token API (wrong password)", lambda c, n: c.api("/api/v1/auth/token/", wrong)),
        Endpoint("sign-up page", signup),
        Endpoint(
            "password reset page",
            lambda c, n: c.form("/accounts/password/reset/", {"email": f"x{n}@example.org"}),
        ),
        Endpoint("verify API", lambda c, n: c.upload("/api/v1/verify/", clip, page=False)),
        Endpoint("verify page", lambda c, n: c.upload("/verify/", clip, page=True)),
        Endpoint("events API", lambda c, n: c.api("/api/v1/events/", event, auth=True)),
        Endpoint(
            "comments API",
            lambda c, n: c.api(f"/api/v1/posts/{post}/comments/", {"body": f"hi {n}"}, auth=True),
        ),
        Endpoint(
            "reports API",
            lambda c, n: c.api("/api/v1/reports/", {"post": post, "reason": "spam"}, auth=True),
        ),
        Endpoint("likes API", lambda c, n: c.api(f"/api/v1/posts/{post}/like/", {}, auth=True)),
    ]


def through(client: Client, endpoint: Endpoint, seconds: float) -> tuple[int, int]:
    """(requests sent, requests not refused by a limit) in `seconds` of back-to-back calls."""
    sent = passed = 0
    start = time.monotonic()
    for n in itertools.count():
        if time.monotonic() - start >= seconds:
            break
        status = client.send(endpoint.build(client, n))
        sent += 1
        passed += status != 429
        if status >= 500:
            raise RuntimeError(f"{endpoint.name} answered {status}")
    return sent, passed


def clear_limits(redis_url: str, reset_lockout: Callable[[], None] | None) -> None:
    """Forget every counted request: the rate-limit cache, and the sign-in lockout."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    if reset_lockout is not None:
        reset_lockout()


Reset = Callable[[], None] | None


def limits(args: argparse.Namespace, base: str, token: str, post: int, reset: Reset) -> None:
    """Print what gets through each limited endpoint, plainly and with forged headers."""
    from tests.odd_uploads import stored_clip

    clip = stored_clip()
    window = args.seconds
    print(f"\nrequests let through in {window:.0f} s of back-to-back calls by one client")
    columns = (
        f"{'sent':>6} {'through':>8} {'per s':>6} {'forged: through':>16} {'per s':>6} {'ratio':>6}"
    )
    print(f"{'endpoint':28} {columns}")
    for endpoint in endpoints(post, clip):
        figures = []
        for forge in (False, True):
            clear_limits(args.redis_url, reset)
            client = Client(base, token)
            client.forge = forge
            figures.append(through(client, endpoint, window))
        (sent, plain), (_, forged) = figures
        # Until the plain run meets its limit, both runs count only how fast one client is.
        if plain == sent:
            ratio = "  (limit not reached: longer --seconds)"
        else:
            ratio = f"{forged / plain:6.2f}" if plain else "  (none got through)"
        print(
            f"{endpoint.name:28} {sent:6d} {plain:8d} {plain / window:6.2f} "
            f"{forged:16d} {forged / window:6.2f} {ratio}"
        )


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current resident size (Linux 4.0+).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def memory(args: argparse.Namespace, base: str, pids: dict[str, int], reset: Reset) -> None:
    """Print each process's peak memory above its resting size, per odd upload kind."""
    from tests.odd_uploads import odd_uploads
    from tests.processes import resident_mb

    by_kind: dict[str, list[tuple[str, bytes]]] = {}
    for kind, name, data in odd_uploads(args.per_kind * 50, seed=7):
        if len(by_kind.setdefault(kind, [])) < args.per_kind:
            by_kind[kind].append((name, data))
    names = list(pids)
    header = " ".join(f"{name + ' MiB':>16}" for name in names)
    print(f"\n{'upload kind':24} {'statuses':>14} {header}")
    for kind, uploads in sorted(by_kind.items()):
        clear_limits(args.redis_url, reset)
        before = {name: resident_mb(pid)[0] for name, pid in pids.items()}
        for pid in pids.values():
            _reset_peak(pid)
        client = Client(base, None)
        statuses = sorted(
            {
                client.send(client.upload("/api/v1/verify/", data, name, page=False))
                for name, data in uploads
            }
        )
        peaks = {name: resident_mb(pid)[1] - before[name] for name, pid in pids.items()}
        cells = " ".join(f"{peaks[name]:>+16.0f}" for name in names)
        print(f"{kind:24} {','.join(map(str, statuses)):>14} {cells}")


@contextlib.contextmanager
def own_instance(redis_url: str) -> Iterator[tuple[str, str, int, dict[str, int], Reset]]:
    """This checkout served on a throwaway database: (url, token, post id, pids, lockout reset)."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from tests.factories import PostFactory, UserFactory
    from tests.processes import daphne_process, process_env, started, stop, worker_args

    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    folder = Path(tempfile.mkdtemp(prefix="riff-abuse-"))
    settings.MEDIA_ROOT = folder / "media"
    try:
        owner = UserFactory(username="bench")
        token = Token.objects.create(user=UserFactory()).key
        post = PostFactory(owner=owner).pk
        env = process_env(media_root=folder / "media", REDIS_URL=redis_url, LOG_LEVEL="WARNING")
        worker = started(
            worker_args(queues="default,verify", hostname=f"bench-abuse-{os.getpid()}@local"),
            env,
            folder / "worker.log",
        )
        try:

            def reset_lockout() -> None:
                from axes.models import AccessAttempt, AccessFailureLog

                AccessAttempt.objects.all().delete()
                AccessFailureLog.objects.all().delete()

            with daphne_process(env, folder / "daphne.log") as (base, web):
                pids = {"web": web.pid, "verify worker": worker.pid}
                yield base, token, post, pids, reset_lockout
        finally:
            stop(worker)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running instance (default: start one from this checkout)")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/11",
        help="the instance's cache, flushed between runs",
    )
    parser.add_argument("--token", help="with --url: an account's API token")
    parser.add_argument("--post", type=int, help="with --url: a post that account may comment on")
    parser.add_argument("--web-pid", type=int)
    parser.add_argument("--worker-pid", type=int)
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and run")
    parser.add_argument("--per-kind", type=int, default=4, help="odd uploads of each kind")
    args = parser.parse_args()

    print(f"{os.cpu_count()} cores; {args.seconds:.0f} s per endpoint and run")
    if args.url:
        if not (args.token and args.post):
            parser.error("--url needs --token and --post")
        limits(args, args.url, args.token, args.post, None)
        named = (("web", args.web_pid), ("verify worker", args.worker_pid))
        pids = {name: pid for name, pid in named if pid}
        if pids:
            memory(args, args.url, pids, None)
        return
    with own_instance(args.redis_url) as (base, token, post, pids, reset):
        limits(args, base, token, post, reset)
        memory(args, base, pids, reset)


if __name__ == "__main__":
    main()
