"""A person's unread count, live over a WebSocket: the header's bell listens here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from .presence import mark_present
from .selectors import unread_count
from .services import unread_group

logger = logging.getLogger(__name__)


class UnreadConsumer(AsyncJsonWebsocketConsumer):
    """Sends {"unread": n} on connect and whenever it changes; signed-in people only.

    A change arrives as a push from whoever wrote it (the notify task, a page that marked
    them read) over the channel layer; a slow re-read covers a push that never arrives (and
    is the only source in the embedded mode, where a worker can't reach this process).
    """

    group = ""
    last_sent: int | None = None
    recheck: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Accept a signed-in person; refuse anyone else."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = unread_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_count()
        self.recheck = asyncio.create_task(self._recheck())

    @database_sync_to_async
    def _count(self) -> int:
        user = self.scope["user"]
        try:
            mark_present(user.pk)  # pushes find this page (a failed mark: re-reads do)
        except RedisError:
            logger.warning("Could not mark %s present", user.pk, exc_info=True)
        return unread_count(user=user)

    async def _send_count(self) -> None:
        count = await self._count()
        if count != self.last_sent:
            self.last_sent = count
            await self.send_json({"unread": count})

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(settings.NOTIFICATIONS_RECHECK_S)
            await self._send_count()

    async def disconnect(self, code: int) -> None:
        """Stop re-reading and leave the person's group."""
        if self.recheck is not None:
            self.recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.recheck
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def notifications_changed(self, event: dict[str, Any]) -> None:
        """Something was written: read the count again and send it if it moved."""
        await self._send_count()
