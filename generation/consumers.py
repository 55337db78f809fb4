"""A job's live status over a WebSocket: the create page watches its job here."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from core.sockets import GroupConsumer

from .models import GenerationJob
from .progress import job_group
from .selectors import job_of, job_status


class JobStatusConsumer(GroupConsumer):
    """Sends the job's status on connect and on every change; only its owner may listen.

    Changes arrive as pushes from the worker over the channel layer; a slower re-read of
    the job covers a push that never arrives (core/sockets.py).
    """

    job_id = ""
    last_sent: dict[str, Any] | None = None

    async def connect(self) -> None:
        """Accept the owner; refuse anyone else without saying whether the job exists."""
        user = self.scope.get("user")
        self.job_id = str(self.scope["url_route"]["kwargs"]["job_id"])
        status = None
        if user is not None and user.is_authenticated:
            status = await self._status()
        if status is None:
            await self.close(code=4404)
            return
        await self.listen(
            job_group(self.job_id),
            settings.GENERATION_STATUS_RECHECK_S,
            recheck=not self._final(status),
        )
        await self._send_if_changed(status)

    @database_sync_to_async
    def _status(self) -> dict[str, Any] | None:
        job = job_of(user=self.scope["user"], job_id=self.job_id)
        return job_status(job=job) if job is not None else None

    @staticmethod
    def _final(status: dict[str, Any]) -> bool:
        return status["state"] not in GenerationJob.ACTIVE

    async def _send_if_changed(self, status: dict[str, Any]) -> None:
        if status != self.last_sent:
            self.last_sent = status
            await self.send_json(status)

    async def reread(self) -> bool:
        """Read the job again; stop once it is final (or gone: the socket closes)."""
        status = await self._status()
        if status is None:
            await self.close(code=4404)
            return False
        await self._send_if_changed(status)
        return not self._final(status)

    async def job_status(self, event: dict[str, Any]) -> None:
        """Forward a status pushed by the worker."""
        await self._send_if_changed(event["status"])
