"""A runner's lease on the job it claimed, kept alive by a heartbeat thread.

The lease is (worker, attempt) on the job's row until `lease_expires_at`. Each claim takes a
new attempt number under the row lock, so a runner that was given up on (the sweeper took
its expired lease, or another worker claimed the job since) no longer matches the row: every
write it makes goes through `Lease.held()` and finds nothing to write.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.utils import timezone

from .backends import GenerationAborted
from .models import GenerationJob

log = logging.getLogger(__name__)
State = GenerationJob.State

# How long __exit__ waits for the heartbeat thread, which may be blocked on the row for as
# long as another transaction holds it; it is a daemon thread, so it never holds up an exit.
JOIN_TIMEOUT_S = 10.0


class LeaseLost(GenerationAborted):
    """The job is no longer this runner's: stop, and write nothing."""


def lease_expiry(now: datetime | None = None) -> datetime:
    """When a lease taken or renewed now runs out."""
    return (now or timezone.now()) + timedelta(seconds=settings.GENERATION_HEARTBEAT_S)


class Lease:
    """One runner's hold on one running job, renewed every third of GENERATION_HEARTBEAT_S
    by a thread while the runner is inside `with lease:` (model load, steps, encode, store)."""

    def __init__(self, *, job_id: str, worker: str, attempt: int) -> None:
        """The lease a claim just took; the heartbeat starts on entering `with`."""
        self.job_id = job_id
        self.worker = worker
        self.attempt = attempt
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def held(self) -> QuerySet[GenerationJob]:
        """The job's row while this lease holds it; empty once it doesn't."""
        return GenerationJob.objects.filter(
            pk=self.job_id,
            worker=self.worker,
            attempts=self.attempt,
            state__in=(State.RUNNING, State.ENCODING),
        )

    def update(self, **changes: Any) -> bool:
        """Renew the lease and write `changes` with it; False (and lost) if it isn't ours."""
        now = timezone.now()
        written = self.held().update(
            heartbeat_at=now, lease_expires_at=lease_expiry(now), **changes
        )
        if not written:
            self.lost.set()
        return bool(written)

    def renew(self) -> None:
        """Renew the lease now; LeaseLost if it is no longer ours (a runner's check)."""
        if self.lost.is_set() or not self.update():
            raise LeaseLost(f"job {self.job_id}: attempt {self.attempt} lost its lease")

    def lock(self) -> GenerationJob | None:
        """The job's row, locked for the caller's transaction, if this lease still holds it."""
        job = self.held().select_for_update().first()
        if job is None:
            self.lost.set()
        return job

    def __enter__(self) -> Lease:
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.job_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT_S)

    def _beat(self) -> None:
        # Its own thread, so the lease stays alive through a cold model load or a long encode,
        # where no denoising step reports.
        interval = settings.GENERATION_HEARTBEAT_S / 3
        try:
            while not self._stop.wait(interval):
                try:
                    if not self.update():
                        # Unless the runner has just finished the job itself.
                        if not self._stop.is_set():
                            log.warning(
                                "job %s: attempt %s lost its lease", self.job_id, self.attempt
                            )
                        return
                except DatabaseError:
                    # Tried again at the next beat, on a new connection; if the database stays
                    # away the lease runs out, and the runner finds that out at its next write.
                    log.exception("job %s: the lease could not be renewed", self.job_id)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection
