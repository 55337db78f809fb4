"""The job WebSocket: the owner hears every change, on the Redis layer and in the embedded mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from accounts.models import User
from config.routing import websocket_urlpatterns
from generation import progress
from generation.models import GenerationJob

from .factories import job_in_state

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def layers(settings: Any) -> Iterator[Any]:
    """Settings whose channel-layer changes take effect (the layers are built once, cached)."""
    channel_layers.backends = {}
    yield settings
    channel_layers.backends = {}


def communicator(job: GenerationJob, user: User) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/generations/{job.pk}/")
    comm.scope["user"] = user
    return comm


def test_a_push_after_a_long_idle_still_arrives_over_redis(layers: Any, user: User) -> None:
    """The socket waits quietly for a slow step: an idle read must not time out."""
    assert "Redis" in layers.CHANNEL_LAYERS["default"]["BACKEND"], "needs REDIS_URL"
    layers.GENERATION_STATUS_RECHECK_S = 600  # only the worker's push may deliver the change
    job = job_in_state(user, State.RUNNING, progress_step=1, progress_total=8)

    async def scenario() -> list[dict[str, Any]]:
        comm = communicator(job, user)
        connected, _ = await comm.connect()
        assert connected
        first = await comm.receive_json_from(timeout=5)
        await asyncio.sleep(6)  # longer than redis-py's default 5 s read timeout
        await GenerationJob.objects.filter(pk=job.pk).aupdate(progress_step=5)
        await sync_to_async(progress.publish)(str(job.pk))
        pushed = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return [first, pushed]

    first, pushed = async_to_sync(scenario)()
    assert first["progress"] == {"step": 1, "total": 8} and first["state"] == "running"
    assert pushed["progress"] == {"step": 5, "total": 8}


def test_embedded_mode_rereads_the_job_until_it_is_final(layers: Any, user: User) -> None:
    """Without Redis the worker can't reach the web process: the socket re-reads the job."""
    layers.CHANNEL_LAYERS = IN_MEMORY
    layers.GENERATION_STATUS_RECHECK_S = 0.1
    job = job_in_state(user, State.RUNNING, progress_step=0, progress_total=4)

    async def scenario() -> list[dict[str, Any]]:
        comm = communicator(job, user)
        connected, _ = await comm.connect()
        assert connected
        seen = [await comm.receive_json_from(timeout=5)]
        # What a worker in another process does: write the row, with nobody to push it.
        await GenerationJob.objects.filter(pk=job.pk).aupdate(progress_step=2)
        seen.append(await comm.receive_json_from(timeout=5))
        await GenerationJob.objects.filter(pk=job.pk).aupdate(state=State.ENCODING)
        seen.append(await comm.receive_json_from(timeout=5))
        await GenerationJob.objects.filter(pk=job.pk).aupdate(state=State.FAILED)
        seen.append(await comm.receive_json_from(timeout=5))
        # Final: nothing more is sent, however long the socket stays open.
        assert await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    assert [(s["state"], s["progress"]["step"]) for s in seen] == [
        ("running", 0),
        ("running", 2),
        ("encoding", 2),
        ("failed", 2),
    ]


def test_only_the_owner_may_listen(layers: Any, user: User, other_user: User) -> None:
    """Anyone else is refused with the same code as for a job that doesn't exist."""
    layers.CHANNEL_LAYERS = IN_MEMORY
    job = job_in_state(user, State.QUEUED)

    async def connect_as(who: User) -> tuple[bool, int | str | None]:
        comm = communicator(job, who)
        result = await comm.connect()
        await comm.disconnect()
        return result

    assert async_to_sync(connect_as)(other_user) == (False, 4404)
    GenerationJob.objects.filter(pk=job.pk).delete()
    assert async_to_sync(connect_as)(user) == (False, 4404)
