"""Make a development CA and signing certificate for content credentials, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation.content_credentials import DEFAULT_FILES, build_dev_ca, setting_path

FILES = tuple(DEFAULT_FILES.values())


class Command(BaseCommand):
    """Write ca.pem, chain.pem and key.pem; an existing set is kept unless --force."""

    help = (
        "Make a development CA and a C2PA signing certificate (not for production), by "
        "default in the folder of settings.C2PA_CERT_CHAIN. Does nothing when they exist."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """--out and --force."""
        parser.add_argument("--out", type=Path, help="folder for ca.pem, chain.pem, key.pem")
        parser.add_argument("--force", action="store_true", help="replace an existing set")

    def handle(self, *args: Any, **options: Any) -> None:
        """Build the CA unless one is already there."""
        chain = setting_path("C2PA_CERT_CHAIN")
        out: Path | None = options["out"] or (chain.parent if chain else None)
        if out is None:
            raise CommandError("C2PA_CERT_CHAIN is empty: pass --out DIR.")
        existing = [name for name in FILES if (out / name).exists()]
        if existing and not options["force"]:
            if len(existing) < len(FILES):
                # Half a set can't sign; replacing it silently could throw away a real key.
                raise CommandError(
                    f"{out} holds only {', '.join(existing)}; --force replaces them with a new set."
                )
            self.stdout.write(f"Signing certificates already in {out}; kept (--force replaces).")
            return
        build_dev_ca(out)
        self.stdout.write(
            f"Development CA and signing certificate (not for production) written to {out}."
        )
