"""A person's unread count, live over a WebSocket: the header's bell listens here."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from core.sockets import GroupConsumer

from .presence import mark_present
from .selectors import unread_count
from .services import unread_group

logger = logging.getLogger(__name__)


class UnreadConsumer(GroupConsumer):
    """Sends {"unread": n} on connect and whenever it changes; signed-in people only.

    A change arrives as a push from whoever wrote it (the notify task, a page that marked
    them read) over the channel layer; a slow re-read covers a push that never arrives, and
    is the only source in the embedded mode (core/sockets.py).
    """

    last_sent: int | None = None

    async def connect(self) -> None:
        """Accept a signed-in person; refuse anyone else."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.listen(unread_group(user.pk), settings.NOTIFICATIONS_RECHECK_S)
        await self._send_count()

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

    async def reread(self) -> bool:
        """Read the count again (and mark the page present); never stops by itself."""
        await self._send_count()
        return True

    async def notifications_changed(self, event: dict[str, Any]) -> None:
        """Something was written: read the count again and send it if it moved."""
        await self._send_count()
