"""A person's unread count, live over a WebSocket: the header's bell listens here."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from accounts.models import User
from core.sockets import GroupConsumer

from .messaging import may_message
from .models import Conversation, Message
from .presence import mark_present
from .selectors import unread_count
from .services import conversation_group, unread_group

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


class ConversationConsumer(GroupConsumer):
    """Sends {"last": id} of a conversation's newest message on connect and whenever a new
    one comes; the page then fetches what it hasn't shown. Its two people only."""

    conversation_id = 0
    last_sent: int | None = None

    async def connect(self) -> None:
        """Accept one of the conversation's two people (unless a block stands between)."""
        user = self.scope.get("user")
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        if user is None or not user.is_authenticated or not await self._member():
            await self.close(code=4404)
            return
        await self.listen(
            conversation_group(self.conversation_id), settings.NOTIFICATIONS_RECHECK_S
        )
        await self._send_last()

    @database_sync_to_async
    def _member(self) -> bool:
        user = self.scope["user"]
        talk = Conversation.objects.filter(pk=self.conversation_id).first()
        if talk is None or user.pk not in (talk.first_id, talk.second_id):
            return False
        other = User.objects.filter(pk=talk.other_id(user.pk)).first()
        return other is not None and may_message(sender=user, recipient=other)

    @database_sync_to_async
    def _last(self) -> int:
        newest = Message.objects.filter(conversation_id=self.conversation_id).order_by("-id")
        return newest.values_list("id", flat=True).first() or 0

    async def _send_last(self) -> None:
        last = await self._last()
        if last != self.last_sent:
            self.last_sent = last
            await self.send_json({"last": last})

    async def reread(self) -> bool:
        """Look for a newer message; never stops by itself."""
        await self._send_last()
        return True

    async def conversation_changed(self, event: dict[str, Any]) -> None:
        """A message was sent: tell the page its id."""
        await self._send_last()
