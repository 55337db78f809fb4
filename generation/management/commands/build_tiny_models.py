"""Build the tiny random-weight test pipelines into the paths settings.RIFF_MODELS names."""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.backends.registry import model_configs


class Command(BaseCommand):
    """Build every tiny-* model of RIFF_MODELS offline (same classes, tiny configs, seeded)."""

    help = (
        "Build tiny random-weight pipelines (Wan, LTX) for tests and a fresh machine, "
        "into the path each tiny-* entry of RIFF_MODELS names. Works offline."
    )

    # It touches neither the database nor URLs; setup scripts run it before anything else.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """--only KEY (repeatable) and --force."""
        parser.add_argument(
            "--only", action="append", metavar="KEY", help="build only this model key"
        )
        parser.add_argument("--force", action="store_true", help="rebuild even if present")

    def handle(self, *args: Any, **options: Any) -> None:
        """Build the selected tiny models, skipping those already built."""
        # Nothing here needs the hub; make sure nothing tries.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from generation.backends.tiny import build_tiny_model, size_on_disk

        configs = model_configs()
        tiny = {key: config for key, config in configs.items() if config.is_tiny}
        only: list[str] | None = options["only"]
        if only:
            unknown = [key for key in only if key not in tiny]
            if unknown:
                raise CommandError(
                    f"not a tiny model: {', '.join(unknown)} (tiny models: {', '.join(tiny)})"
                )
            tiny = {key: tiny[key] for key in only}
        if not tiny:
            raise CommandError("RIFF_MODELS has no tiny-* entries to build")
        for key, config in tiny.items():
            if (config.path / "model_index.json").is_file() and not options["force"]:
                self.stdout.write(f"{key}: already built at {config.path} (use --force to rebuild)")
                continue
            started = time.monotonic()
            build_tiny_model(config.family, config.path)
            elapsed = time.monotonic() - started
            size_kb = size_on_disk(config.path) / 1024
            self.stdout.write(
                self.style.SUCCESS(
                    f"{key}: built {config.family} at {config.path} "
                    f"({size_kb:.0f} KB on disk, {elapsed:.1f} s)"
                )
            )
