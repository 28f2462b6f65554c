"""`manage.py backup [--output FILE]`: the whole database to one file (see golive/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from golive.backup import BackupFailed, dump


class Command(BaseCommand):
    help = "Write the database to one file with pg_dump (custom format), while golive runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="The file to write (default: var/backups/golive-<UTC time>.dump).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"] or Path("var/backups") / (
            f"golive-{timezone.now():%Y%m%d-%H%M%S}.dump"
        )
        try:
            written = dump(output=output)
        except BackupFailed as exc:
            raise CommandError(str(exc)) from exc
        size = written.stat().st_size
        self.stdout.write(f"Backup written to {written} ({size / 1_000_000:.1f} MB).")
