"""What Celery beat runs, and how often. Read by config/settings.py."""

from typing import Any

HOUR_S = 3600.0
SIX_HOURS_S = 6 * HOUR_S


def beat_schedule(*, retrain_hours: float) -> dict[str, dict[str, Any]]:
    """The periodic tasks: sweepers of stuck work, the ranking retrain, pruning, the
    notification digest (each run emails those due one), and hashing posted files that
    /verify/'s look-alike search doesn't know yet."""
    return {
        "sweep-generation-jobs": {
            "task": "generation.tasks.sweep_generation_jobs",
            "schedule": 30.0,
        },
        "retrain-ranking": {
            "task": "ranking.tasks.ranking_retrain",
            "schedule": retrain_hours * 3600.0,
        },
        "prune-served-items": {"task": "ranking.tasks.served_items_prune", "schedule": SIX_HOURS_S},
        "prune-engagement-events": {
            "task": "ranking.tasks.engagement_events_prune",
            "schedule": SIX_HOURS_S,
        },
        "sweep-verify-checks": {"task": "moderation.tasks.verify_checks_sweep", "schedule": 60.0},
        "prune-notifications": {"task": "social.notifications_prune", "schedule": SIX_HOURS_S},
        "send-digests": {"task": "social.digest_send", "schedule": HOUR_S},
        "hash-posted-files": {"task": "feed.published_hashes_backfill", "schedule": HOUR_S},
    }
