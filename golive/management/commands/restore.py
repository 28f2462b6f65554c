"""`manage.py restore FILE [--database-url URL] [--clean --yes]`: load a backup (see
golive/backup.py). Replacing the data of a database that has some needs --clean and --yes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from golive.backup import BackupFailed, restore


class Command(BaseCommand):
    help = "Load a backup made by `manage.py backup` with pg_restore, in one transaction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path, help="The backup file.")
        parser.add_argument(
            "--database-url",
            help="Restore into this database (default: golive's own, DATABASE_URL).",
        )
        parser.add_argument(
            "--clean",
            action="store_true",
            help="Drop what the backup holds first: the database's current data is replaced.",
        )
        parser.add_argument(
            "--yes", action="store_true", help="Confirm --clean: the current data is lost."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["clean"] and not options["yes"]:
            raise CommandError(
                "--clean replaces the database's data with the backup's. Add --yes to confirm."
            )
        try:
            restore(source=options["source"], url=options["database_url"], clean=options["clean"])
        except BackupFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored {options['source']}. Run `manage.py migrate` if the backup "
            "is older than this version of golive."
        )
