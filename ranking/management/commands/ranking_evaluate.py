"""`manage.py ranking_evaluate`: replay an engagement log and compare the learner with baselines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ranking.evaluation import EvaluationError, evaluate, format_report, read_csv, read_live
from ranking.learner import LearnerConfig


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    """Offline evaluation of the For You learner against random, recency and popularity."""

    help = (
        "Replay engagement events in time order: train on the first part, predict each later "
        "exposure before learning from it, and print AUC per engagement, NDCG@10, coverage "
        "and creator concentration for the learner, popularity and recency."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """--csv PATH or --live, and the replay's settings."""
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--csv", metavar="PATH", help="a CSV with header viewer,item,event,value,timestamp"
        )
        source.add_argument("--live", action="store_true", help="the EngagementEvent table")
        parser.add_argument("--since", help="live events from this ISO 8601 date or time on")
        parser.add_argument(
            "--split", type=float, default=0.8, help="share of events (in time order) to train on"
        )
        parser.add_argument("--passes", type=int, default=None, help="training passes")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--no-embeddings",
            action="store_true",
            help="live: do not embed prompts (skips loading the text encoder)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Read, replay, print the table; bad input ends in a CommandError, never a traceback."""
        if options["since"] and not options["live"]:
            raise CommandError("--since goes with --live")
        if options["passes"] is not None and options["passes"] < 1:
            raise CommandError("--passes must be at least 1")
        config = LearnerConfig(seed=options["seed"])
        if options["passes"] is not None:
            config = LearnerConfig(seed=options["seed"], passes=options["passes"])
        try:
            if options["live"]:
                since = _since(options["since"]) if options["since"] else None
                log = read_live(since=since, embed_prompts=not options["no_embeddings"])
            else:
                log = read_csv(options["csv"])
            report = evaluate(log, split=options["split"], config=config, seed=options["seed"])
        except EvaluationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(format_report(report))
