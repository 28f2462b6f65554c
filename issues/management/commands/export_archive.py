"""`manage.py export_archive GO_LIVE_ID [--output FILE]`: a closed go-live's records archive (see
issues/archive.py), for go-lives too large to download through the web server's time limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from golive.models import GoLive
from issues.archive import ArchiveRefused, archive_name, exporter_name, write_archive


class Command(BaseCommand):
    help = "Write a closed go-live's records (CSV files and go-live.json) to one zip file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("go_live", type=int, help="The go-live's id.")
        parser.add_argument("--output", type=Path, help="The zip to write (default: its name).")

    def handle(self, *args: Any, **options: Any) -> None:
        go_live = GoLive.objects.filter(pk=options["go_live"]).first()
        if go_live is None:
            raise CommandError(f"There is no go-live with id {options['go_live']}.")
        output: Path = options["output"] or Path(archive_name(go_live))
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("wb") as target:
                description = write_archive(go_live, target, exported_by=exporter_name(None))
        except ArchiveRefused as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(str(exc)) from exc
        partial.replace(output)
        rows = ", ".join(f"{f['name']} {f['rows']:,}" for f in description["files"])
        self.stdout.write(f"Archive written to {output}: {rows} rows.")
