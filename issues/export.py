"""The issue log as CSV, for the hospital's own spreadsheets and reports: the issues a queue filter
shows, one row each, in number order.

The rows are read with one query through a server-side cursor, a chunk at a time, and written as
they come (`golive.lib.csvfile`): 100,000 issues never sit in the web process at once.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

from django.db.models import QuerySet

from golive.lib.users import name_from
from issues.models import Impact, Issue, Urgency

EXPORT_CHUNK = 2000
STATUS_LABELS = dict(Issue.Status.choices)
IMPACT_LABELS = dict(Impact.choices)
URGENCY_LABELS = dict(Urgency.choices)
LINK_LABELS = dict(Issue.Link.choices)
# The file's columns; "{zone}" becomes the go-live's time zone.
HEADER = (
    "issue",
    "created ({zone})",
    "status",
    "priority",
    "patient safety",
    "workaround in use",
    "site",
    "unit",
    "room / workstation / device",
    "category",
    "application",
    "who is affected",
    "how bad",
    "title",
    "details",
    "reporter",
    "callback",
    "assignee",
    "tier",
    "respond by ({zone})",
    "acknowledged ({zone})",
    "due ({zone})",
    "resolved ({zone})",
    "closed ({zone})",
    "resolution",
    "linked to",
    "link",
    "external ticket",
)
# What is read for them, in the order `issue_rows` takes it.
_READ = (
    "number",
    "created_at",
    "status",
    "priority",
    "patient_safety",
    "workaround_in_use",
    "site__name",
    "unit__name",
    "location_detail",
    "category__name",
    "application__name",
    "impact",
    "urgency",
    "title",
    "description",
    "reporter_name",
    "reporter_callback",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
    "tier__name",
    "respond_by",
    "acknowledged_at",
    "due_at",
    "resolved_at",
    "closed_at",
    "resolution",
    "parent__number",
    "parent_link",
    "external_ref",
)


def _when(value: dt.datetime | None, tz: zoneinfo.ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _yes(value: bool) -> str:
    return "yes" if value else ""


def issue_rows(issues: QuerySet[Issue], *, tz: zoneinfo.ZoneInfo) -> Iterator[list[str]]:
    """`issues` as the file's rows, the header first; times in `tz`."""
    yield [name.format(zone=tz.key) for name in HEADER]
    rows = issues.order_by("number").values_list(*_READ)
    for (
        number,
        created_at,
        status,
        priority,
        patient_safety,
        workaround_in_use,
        site,
        unit,
        location,
        category,
        application,
        impact,
        urgency,
        title,
        description,
        reporter,
        callback,
        first_name,
        last_name,
        username,
        tier,
        respond_by,
        acknowledged_at,
        due_at,
        resolved_at,
        closed_at,
        resolution,
        parent_number,
        parent_link,
        external_ref,
    ) in rows.iterator(chunk_size=EXPORT_CHUNK):
        assignee = name_from(first_name, last_name, username)
        yield [
            f"GL-{number}",
            _when(created_at, tz),
            STATUS_LABELS.get(status, status),
            priority,
            _yes(patient_safety),
            _yes(workaround_in_use),
            site,
            unit,
            location,
            category,
            application or "",
            IMPACT_LABELS.get(impact, impact),
            URGENCY_LABELS.get(urgency, urgency),
            title,
            description,
            reporter,
            callback,
            assignee,
            tier or "",
            _when(respond_by, tz),
            _when(acknowledged_at, tz),
            _when(due_at, tz),
            _when(resolved_at, tz),
            _when(closed_at, tz),
            resolution,
            f"GL-{parent_number}" if parent_number is not None else "",
            LINK_LABELS.get(parent_link, parent_link) if parent_number is not None else "",
            external_ref,
        ]
