"""Verify a clip: an upload is stored, checked by the `verify` worker, and kept a short while.

The web process only stores the upload (Django has already spooled it to a temporary file)
and records a pending VerifyCheck; a worker on the `verify` queue, with its own concurrency
and time limit, reads the file and writes the result; the web process reads the row. So a
clip's frames are never decoded in the web process, however odd the upload.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .hashbank import video_hashes
from .models import VerifyCheck
from .perceptual import looks_like
from .provenance import (
    NOT_READABLE,
    TOO_SLOW,
    ClipInspection,
    NotAVideo,
    clip_inspect,
    stored_local,
)

log = logging.getLogger(__name__)
State = VerifyCheck.State

BUSY = (
    "Riff is checking a lot of videos right now, so it can't take yours yet. Try again in a minute."
)
BUSY_RETRY_AFTER_S = 30
GAVE_UP = "Riff couldn't get to that video in time. Try again in a few minutes."
UPLOAD_PREFIX = "verify/"


def verify_checks_busy() -> bool:
    """Whether VERIFY_MAX_PENDING checks are already waiting: a new one is refused then."""
    waiting = VerifyCheck.objects.filter(state=State.PENDING, created__gte=_give_up_before())
    return waiting.count() >= settings.VERIFY_MAX_PENDING


def verify_check_create(*, upload: File, filename: str) -> VerifyCheck:
    """Store the upload privately and send it to the `verify` worker; the pending check.

    The upload is copied to storage chunk by chunk (local disk or S3: the worker may be in
    another container), under a random name nobody is told.
    """
    from .tasks import verify_check

    upload.seek(0)
    name = default_storage.save(f"{UPLOAD_PREFIX}{secrets.token_hex(16)}", upload)
    check = VerifyCheck(upload=name, filename=filename.replace("\x00", "")[:255])
    try:
        check.full_clean()
        check.save()
    except Exception:
        default_storage.delete(name)
        raise
    check_id = str(check.pk)
    transaction.on_commit(lambda: verify_check.delay(check_id))
    return check


def verify_check_run(*, check_id: str) -> None:
    """Check a pending upload once (the worker calls this): its result or why it was refused.

    Whatever happens the stored upload is removed, and the check is never left pending: a
    fault of ours reads as "not a video we can read" (and is logged), never as a server error.
    """
    check = VerifyCheck.objects.filter(pk=check_id, state=State.PENDING).first()
    if check is None:
        return  # done already, or given up on by the sweeper
    reading, refusal = None, ""
    deadline = time.monotonic() + settings.VERIFY_TIME_LIMIT_S
    try:
        with stored_local(check.upload) as path:
            reading = _with_lookalike(clip_inspect(path, deadline=deadline), path, deadline)
    except NotAVideo as exc:
        refusal = str(exc)
    except SoftTimeLimitExceeded:
        refusal = TOO_SLOW
    except FileNotFoundError:
        refusal = GAVE_UP  # the sweeper removed it first
    except Exception:
        log.exception("verify check %s failed", check_id)
        refusal = NOT_READABLE
    finally:
        _delete_upload(check.upload)
    _finish(check_id=check_id, reading=reading, refusal=refusal)


def _with_lookalike(inspection: ClipInspection, path: Path, deadline: float) -> dict[str, Any]:
    """The inspection as JSON; when no watermark read, with the posted clip the video looks
    like (its frames' PDQ hashes against those of every posted clip), if any."""
    if inspection.watermark.payload is None:
        with path.open("rb") as handle:
            hashes = video_hashes(handle, deadline=deadline)
        inspection = dataclasses.replace(inspection, perceptual=looks_like(hashes))
    return inspection.as_json()


def _finish(*, check_id: str, reading: dict[str, object] | None, refusal: str) -> None:
    with transaction.atomic():
        check = VerifyCheck.objects.select_for_update().filter(pk=check_id).first()
        if check is None or check.state != State.PENDING:
            return
        check.state = State.DONE if reading is not None else State.REFUSED
        check.reading, check.refusal = reading, refusal[:300]
        check.upload, check.finished = "", timezone.now()
        check.save(update_fields=["state", "reading", "refusal", "upload", "finished"])


def _delete_upload(name: str) -> None:
    if name.startswith(UPLOAD_PREFIX):
        default_storage.delete(name)


def _give_up_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.VERIFY_GIVE_UP_S)


def verify_checks_sweep() -> dict[str, int]:
    """Give up on checks no worker finished in VERIFY_GIVE_UP_S, and forget those older than
    VERIFY_KEEP_S; their uploads go with them."""
    given_up = 0
    for check_id in VerifyCheck.objects.filter(
        state=State.PENDING, created__lt=_give_up_before()
    ).values_list("pk", flat=True):
        with transaction.atomic():
            check = VerifyCheck.objects.select_for_update().get(pk=check_id)
            if check.state == State.PENDING:
                _delete_upload(check.upload)
                check.state, check.refusal = State.REFUSED, GAVE_UP
                check.upload, check.finished = "", timezone.now()
                check.save(update_fields=["state", "refusal", "upload", "finished"])
                given_up += 1
    old = VerifyCheck.objects.filter(
        created__lt=timezone.now() - timedelta(seconds=settings.VERIFY_KEEP_S)
    )
    for name in old.exclude(upload="").values_list("upload", flat=True):
        _delete_upload(name)
    deleted, _ = old.delete()
    return {"given_up": given_up, "deleted": deleted}


def verify_check_get(*, check_id: uuid.UUID | str) -> VerifyCheck | None:
    """The check with this id while it is kept (whoever holds the id may see it), else None."""
    kept_since = timezone.now() - timedelta(seconds=settings.VERIFY_KEEP_S)
    check = VerifyCheck.objects.filter(pk=check_id, created__gte=kept_since).first()
    if check is not None and check.state == State.PENDING and check.created < _give_up_before():
        check.state, check.refusal = State.REFUSED, GAVE_UP  # as the sweeper will record it
    return check


def verify_check_wait(*, check: VerifyCheck, seconds: float) -> VerifyCheck:
    """The check once the worker has finished it, or as it is after `seconds`."""
    deadline = time.monotonic() + seconds
    pause = 0.05
    while check.state == State.PENDING and time.monotonic() < deadline:
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)
        check = verify_check_get(check_id=check.pk) or check
    return check
