"""A closed go-live's records for the hospital: one zip of CSV files anyone can open, and a JSON
file that describes the go-live and lists every file with its rows and SHA-256.

- issues.csv: every issue, in the issue export's columns (issues/export.py);
- issue-timeline.csv: every change and comment of every issue, internal notes marked;
- known-issues.csv: the known issues and their workarounds;
- roster.csv and schedule.csv: the staffing roster and every shift with its people (staffing);
- contacts.csv: the escalation directory;
- go-live.json: the go-live, its sites, units, applications, tiers and categories, who made the
  archive and when, and the files.

The files are written into the zip a piece at a time, from server-side cursors: a go-live of
100,000 issues never sits in memory. Cells that a spreadsheet would run as a formula are quoted,
as in every export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db.models import Prefetch
from django.utils import timezone

from golive.lib.csvfile import csv_chunks
from golive.lib.users import display_name, name_from
from golive.models import Application, Contact, EscalationTier, GoLive, Site, Unit
from issues.export import EXPORT_CHUNK, issue_rows
from issues.models import Category, Issue, IssueEvent, KnownIssue
from staffing.models import Shift
from staffing.roster import SCHEDULE_COLUMNS, roster_rows, schedule_rows

FORMAT_VERSION = 1
TIMELINE_HEADER = ["Issue", "When ({zone})", "What", "Who", "From", "To", "Text", "Internal"]
KNOWN_HEADER = [
    "Title",
    "Status",
    "Problem",
    "Workaround",
    "Issue",
    "Published ({zone})",
    "Updated ({zone})",
    "Fixed ({zone})",
]
CONTACT_HEADER = [
    "Tier",
    "Name",
    "Kind",
    "Role or title",
    "Phone",
    "Pager",
    "SMS number",
    "Email",
    "Employer",
    "Vendor",
    "Units",
    "Applications",
    "Hours",
    "Active",
]


class ArchiveRefused(Exception):
    """The go-live cannot be archived yet; the message says why."""


def check_archivable(go_live: GoLive) -> None:
    if go_live.phase != GoLive.Phase.CLOSED:
        raise ArchiveRefused(
            f"{go_live.name} is {go_live.get_phase_display().lower()}: its records are archived "
            "once it is closed. Set its phase to Closed on the go-live's page first."
        )


def archive_name(go_live: GoLive) -> str:
    return f"archive-{go_live.file_stem}-{go_live.local_now():%Y-%m-%d}.zip"


def write_archive(go_live: GoLive, target: IO[bytes], *, exported_by: str) -> dict[str, Any]:
    """Write the go-live's archive as a zip into `target`; its description (go-live.json)."""
    check_archivable(go_live)
    tz = go_live.tzinfo
    files = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in _tables(go_live, tz):
            files.append(_write_csv(archive, name, rows))
        description = {
            "format": FORMAT_VERSION,
            "exported_at": timezone.now().astimezone(dt.UTC).isoformat(),
            "exported_by": exported_by,
            "time_zone": tz.key,
            **_reference(go_live),
            "files": files,
        }
        archive.writestr("go-live.json", json.dumps(description, indent=2, ensure_ascii=False))
    return description


def _tables(go_live: GoLive, tz: Any) -> Iterator[tuple[str, Iterable[list[str]]]]:
    yield "issues.csv", issue_rows(Issue.objects.filter(go_live=go_live), tz=tz)
    yield "issue-timeline.csv", _timeline_rows(go_live, tz)
    yield "known-issues.csv", _known_rows(go_live, tz)
    yield "roster.csv", roster_rows(go_live)
    yield "schedule.csv", _schedule(go_live, tz)
    yield "contacts.csv", _contact_rows(go_live)


def _write_csv(archive: zipfile.ZipFile, name: str, rows: Iterable[list[str]]) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    counted = _Counted(rows)
    with archive.open(name, "w", force_zip64=True) as entry:
        for chunk in csv_chunks(counted):
            data = chunk.encode("utf-8")
            entry.write(data)
            digest.update(data)
            size += len(data)
    # The header is not a row.
    return {"name": name, "rows": counted.count - 1, "bytes": size, "sha256": digest.hexdigest()}


class _Counted(Iterator[list[str]]):
    """The rows, counted as they pass."""

    def __init__(self, rows: Iterable[list[str]]) -> None:
        self.rows = iter(rows)
        self.count = 0

    def __next__(self) -> list[str]:
        row = next(self.rows)
        self.count += 1
        return row


def _when(value: dt.datetime | None, tz: Any) -> str:
    return f"{timezone.localtime(value, tz):%Y-%m-%d %H:%M}" if value is not None else ""


def _timeline_rows(go_live: GoLive, tz: Any) -> Iterator[list[str]]:
    yield [name.format(zone=tz.key) for name in TIMELINE_HEADER]
    events = (
        IssueEvent.objects.filter(issue__go_live=go_live)
        .order_by("issue__number", "at", "pk")
        .values_list(
            "issue__number",
            "at",
            "kind",
            "actor__first_name",
            "actor__last_name",
            "actor__username",
            "old",
            "new",
            "body",
            "internal",
        )
    )
    kinds = dict(IssueEvent.Kind.choices)
    for number, at, kind, first, last, username, old, new, body, internal in events.iterator(
        chunk_size=EXPORT_CHUNK
    ):
        who = name_from(first, last, username) or "golive"
        yield [
            f"GL-{number}",
            _when(at, tz),
            kinds.get(kind, kind),
            who,
            old,
            new,
            body,
            "yes" if internal else "no",
        ]


def _known_rows(go_live: GoLive, tz: Any) -> Iterator[list[str]]:
    yield [name.format(zone=tz.key) for name in KNOWN_HEADER]
    known = KnownIssue.objects.filter(go_live=go_live).select_related("issue").order_by("pk")
    for row in known.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            row.title,
            row.get_status_display(),
            row.problem,
            row.workaround,
            row.issue.code,
            _when(row.published_at, tz),
            _when(row.updated_at, tz),
            _when(row.fixed_at, tz),
        ]


def _schedule(go_live: GoLive, tz: Any) -> Iterable[list[str]]:
    """Every shift of the go-live, first local day to last."""
    shifts = Shift.objects.filter(go_live=go_live).order_by("start")
    first, last = shifts.first(), shifts.last()
    if first is None or last is None:
        return [list(SCHEDULE_COLUMNS)]
    return schedule_rows(
        go_live,
        first_day=timezone.localtime(first.start, tz).date(),
        last_day=timezone.localtime(last.start, tz).date(),
    )


def _contact_rows(go_live: GoLive) -> Iterator[list[str]]:
    yield list(CONTACT_HEADER)
    contacts = (
        Contact.objects.filter(go_live=go_live)
        .select_related("tier")
        .prefetch_related(
            Prefetch("units", queryset=Unit.objects.order_by("name")),
            Prefetch("applications", queryset=Application.objects.order_by("name")),
        )
        .order_by("tier__level", "name", "pk")
    )
    for contact in contacts:
        yield [
            contact.tier.name,
            contact.name,
            contact.get_kind_display(),
            contact.title,
            contact.phone,
            contact.pager,
            contact.sms_number,
            contact.email,
            contact.get_employer_display(),
            contact.vendor_name,
            "all" if contact.all_units else "; ".join(u.name for u in contact.units.all()),
            "all"
            if contact.all_applications
            else "; ".join(a.name for a in contact.applications.all()),
            contact.get_hours_display(),
            "yes" if contact.is_active else "no",
        ]


def _reference(go_live: GoLive) -> dict[str, Any]:
    """The go-live and the names the files refer to."""
    return {
        "go_live": {
            "id": go_live.pk,
            "name": go_live.name,
            "organization": go_live.organization,
            "cutover_at": go_live.cutover_at.astimezone(dt.UTC).isoformat(),
            "support_ends_at": go_live.support_ends_at.astimezone(dt.UTC).isoformat(),
            "phase": go_live.phase,
            "command_center_phone": go_live.command_center_phone,
            "command_center_location": go_live.command_center_location,
        },
        "sites": list(
            Site.objects.filter(go_live=go_live)
            .order_by("name")
            .values("id", "name", "code", "kind")
        ),
        "units": list(
            Unit.objects.filter(site__go_live=go_live)
            .order_by("site__name", "name")
            .values("id", "site_id", "name", "kind", "end_user_count", "is_active")
        ),
        "applications": list(
            Application.objects.filter(go_live=go_live).order_by("name").values("id", "name")
        ),
        "tiers": list(
            EscalationTier.objects.filter(go_live=go_live)
            .order_by("level")
            .values("id", "level", "name", "is_leadership")
        ),
        "categories": list(
            Category.objects.filter(go_live=go_live).order_by("name").values("id", "name")
        ),
    }


def exporter_name(user: Any) -> str:
    """Who made an archive, as go-live.json names them."""
    return display_name(user) if user is not None else "manage.py export_archive"
