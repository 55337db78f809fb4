"""Live job status for browsers: pushed over the channel layer to a job's WebSocket group."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .models import GenerationJob
from .selectors import job_status

log = logging.getLogger(__name__)


def job_group(job_id: str) -> str:
    """The channel-layer group of one job's watchers."""
    return f"generation-job-{job_id}"


def publish(job_id: str) -> None:
    """Send a job's current status to everyone watching it; best effort, never fatal.

    Browsers that can't hold a socket poll the same status instead, so a lost message
    only delays what they see.
    """
    job = GenerationJob.objects.filter(pk=job_id).first()
    layer = get_channel_layer()
    if job is None or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            job_group(job_id), {"type": "job.status", "status": job_status(job=job)}
        )
    except Exception:  # noqa: BLE001 - a push that fails must not fail the job
        log.warning("could not push the status of job %s", job_id, exc_info=True)
