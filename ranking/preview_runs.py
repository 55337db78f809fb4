"""The admin's previews as background runs, never computed in a request.

The admin queues a run (`preview_run_queue`); the Celery task `ranking.tasks.ranking_preview`
computes it (`preview_run_execute`) and keeps its progress, then its result, in the cache
under the run's id, which the admin page polls. A run sets a config, or a trained model,
beside the active one: a replay of recent events (ranking/preview.py, configs only), an
off-policy estimate from the serving log (ranking/evaluation/ope.py), and the first page a
few real viewers would see under each (ranking/preview_results.py).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from .models import RankingConfig, RankingModel
from .preview_results import config_result, model_result

logger = logging.getLogger(__name__)

# Runs and their results are kept this long.
KEEP_S = 24 * 3600
# Progress is written at most this often (seconds), and at every new stage.
PROGRESS_EVERY_S = 0.5
KINDS = ("config", "model")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def _key(run_id: str) -> str:
    return f"ranking:preview:{run_id}"


def _latest_key(kind: str, pk: int) -> str:
    return f"ranking:preview:latest:{kind}:{pk}"


def preview_run_queue(
    *, kind: str, pk: int, days: int, embed_prompts: bool, viewers: list[str], by: str
) -> dict[str, Any]:
    """Note a new run as queued (the caller sends the task); the run, with its id."""
    if kind not in KINDS:
        raise ValueError(f"Not a kind of preview: {kind!r}")
    run: dict[str, Any] = {
        "id": secrets.token_hex(16),
        "kind": kind,
        "pk": pk,
        "days": days,
        "embed_prompts": embed_prompts,
        "viewers": viewers,
        "by": by,
        "state": "queued",
        "stage": "Waiting for a worker",
        "stages": [],
        "progress": 0.0,
        "queued": timezone.now().isoformat(),
        "started": None,
        "finished": None,
        "error": "",
        "result": None,
    }
    cache.set(_key(run["id"]), run, KEEP_S)
    cache.set(_latest_key(kind, pk), run["id"], KEEP_S)
    return run


def preview_run_get(run_id: str) -> dict[str, Any] | None:
    """A run by its id, or None (unknown, malformed or expired)."""
    if not _RUN_ID.match(run_id or ""):
        return None
    run: dict[str, Any] | None = cache.get(_key(run_id))
    return run


def preview_run_latest(kind: str, pk: int) -> dict[str, Any] | None:
    """The newest run for this config or model, if one is still kept."""
    run_id = cache.get(_latest_key(kind, pk))
    return preview_run_get(run_id) if run_id else None


def preview_run_fail(run_id: str, error: str) -> None:
    """Mark a run failed (its task could not be sent, or it broke)."""
    run = preview_run_get(run_id)
    if run is not None:
        _Tracker(run).fail(error)


class _Tracker:
    """Writes a run's progress to the cache as it goes, not more often than it needs to."""

    def __init__(self, run: dict[str, Any]) -> None:
        self.run = run
        self._saved = 0.0

    def _save(self) -> None:
        cache.set(_key(self.run["id"]), self.run, KEEP_S)
        self._saved = time.monotonic()

    def __call__(self, fraction: float, stage: str) -> None:
        run = self.run
        run["progress"] = round(max(run["progress"], min(max(fraction, 0.0), 0.99)), 3)
        if stage != run["stage"]:
            run["stage"] = stage
            run["stages"].append(stage)
            self._save()
        elif time.monotonic() - self._saved >= PROGRESS_EVERY_S:
            self._save()

    def start(self) -> None:
        self.run.update(state="running", started=timezone.now().isoformat())
        self(0.0, "Starting")

    def finish(self, result: dict[str, Any]) -> None:
        self.run.update(
            state="done",
            progress=1.0,
            stage="Done",
            result=result,
            finished=timezone.now().isoformat(),
        )
        self._save()

    def fail(self, error: str) -> None:
        self.run.update(state="failed", error=error, finished=timezone.now().isoformat())
        self._save()


def preview_run_execute(*, run_id: str) -> dict[str, Any] | None:
    """Compute a queued run and keep its result (the task's body); the run, or None if it
    has expired. A run already finished is left as it is (a task delivered twice)."""
    run = preview_run_get(run_id)
    if run is None:
        logger.warning("Preview run %s expired before a worker took it", run_id)
        return None
    if run["state"] in ("done", "failed"):
        return run
    tracker = _Tracker(run)
    tracker.start()
    started = time.monotonic()
    try:
        compute = config_result if run["kind"] == "config" else model_result
        result = compute(run, tracker)
    except (RankingConfig.DoesNotExist, RankingModel.DoesNotExist):
        tracker.fail("That version no longer exists.")
        return tracker.run
    except Exception as error:
        logger.exception("Preview run %s failed", run_id)
        tracker.fail(f"The preview failed ({type(error).__name__}: {error}).")
        return tracker.run
    result["seconds"] = round(time.monotonic() - started, 1)
    tracker.finish(result)
    return tracker.run
