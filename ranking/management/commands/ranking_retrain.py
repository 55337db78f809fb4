"""`manage.py ranking_retrain`: retrain For You now, in this process, and say what came of it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ranking.services import ranking_model_train


class Command(BaseCommand):
    """The scheduled retrain, run by hand (the admin's "retrain now" runs it on the worker)."""

    help = (
        "Train a new For You version on the events of the last RANKING_TRAIN_WINDOW_DAYS. "
        "It goes live if nothing is live, or if its like AUC on the held-out newest events "
        "is at least the live version's; otherwise it is kept, inactive, with the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """--keep, --passes, --note."""
        parser.add_argument("--keep", action="store_true", help="save it without going live")
        parser.add_argument("--passes", type=int, help="passes over the events (default: ours)")
        parser.add_argument("--note", default="manage.py ranking_retrain", help="why")

    def handle(self, *args: Any, **options: Any) -> None:
        """Train, save, print the version and its held-out check."""
        passes = options["passes"]
        if passes is not None and not 1 <= passes <= 20:
            raise CommandError(f"--passes must be between 1 and 20, not {passes}")
        model = ranking_model_train(
            note=options["note"], activate=not options["keep"], passes=passes
        )
        state = "live" if model.is_active else f"kept inactive: {model.inactive_reason}"
        self.stdout.write(
            f"{model}: {model.events} events, {model.viewers} viewers, {model.clips} clips, "
            f"{model.training_s:.1f} s; held-out check: {model.holdout_summary}; {state}"
        )
