"""WebSockets that follow one channel-layer group and re-read their state now and then.

A push over the channel layer says at once that something changed; a slow re-read covers a
push that never arrives (a Redis hiccup) and is the only source in the embedded mode, where
a worker in another process can't reach this process's in-memory layer.
"""

from __future__ import annotations

import asyncio
import contextlib

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class GroupConsumer(AsyncJsonWebsocketConsumer):
    """Joins `group` on `listen`, re-reads every `recheck_s` seconds (`reread`, which says
    whether to go on), and leaves the group and stops re-reading when the socket closes."""

    group = ""
    recheck: asyncio.Task[None] | None = None

    async def listen(self, group: str, recheck_s: float, *, recheck: bool = True) -> None:
        """Accept the socket in `group`, and start the re-reads (unless `recheck` is False:
        nothing can change any more)."""
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        if recheck:
            self.recheck = asyncio.create_task(self._recheck(recheck_s))

    async def reread(self) -> bool:
        """Read the state again and send what changed; False ends the re-reads."""
        raise NotImplementedError

    async def _recheck(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            if not await self.reread():
                return

    async def disconnect(self, code: int) -> None:
        """Stop re-reading and leave the group."""
        if self.recheck is not None:
            self.recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.recheck
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
