"""A job's live status over a WebSocket: the create page watches its job here."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from .models import GenerationJob
from .progress import job_group
from .selectors import job_of, job_status


class JobStatusConsumer(AsyncJsonWebsocketConsumer):
    """Sends the job's status on connect and on every change; only its owner may listen.

    Changes arrive as pushes from the worker over the channel layer; a slower re-read of
    the job covers a push that never arrives (and is the only source in the embedded mode,
    where the worker can't reach this process's in-memory layer).
    """

    group = ""
    job_id = ""
    last_sent: dict[str, Any] | None = None
    recheck: asyncio.Task[None] | None = None

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
        self.group = job_group(self.job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_if_changed(status)
        if not self._final(status):
            self.recheck = asyncio.create_task(self._recheck_until_final())

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

    async def _recheck_until_final(self) -> None:
        while True:
            await asyncio.sleep(settings.GENERATION_STATUS_RECHECK_S)
            status = await self._status()
            if status is None:
                await self.close(code=4404)
                return
            await self._send_if_changed(status)
            if self._final(status):
                return

    async def disconnect(self, code: int) -> None:
        """Stop re-reading and leave the job's group."""
        if self.recheck is not None:
            self.recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.recheck
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def job_status(self, event: dict[str, Any]) -> None:
        """Forward a status pushed by the worker."""
        await self._send_if_changed(event["status"])
