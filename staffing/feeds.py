"""Calendar feeds (iCal) and the secret share links that open them and the wall-screen boards.

A feed is fetched by calendar clients without a login, so everything rides on the token: it is
looked up among live links only, and revoking a link (setting `revoked_at`) stops it at once.
Events keep stable UIDs (`assignment-<id>@golive`, `shift-<id>@golive`) and a SEQUENCE that only
grows, so a client updates the event it already has instead of adding a second one; a cancelled
assignment stays in the person's feed as STATUS:CANCELLED so their calendar drops it.
Times are written in UTC: the true instants, whatever DST does to the local clock.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import icalendar
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from golive.lib.users import signed_in
from golive.models import GoLive, Site, Unit
from staffing.models import (
    ACTIVE_STATUSES,
    Assignment,
    ShareLink,
    Shift,
    ShiftEvent,
    SupportPerson,
    SupportRole,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

FEED_HISTORY = dt.timedelta(days=30)
PRODID = "-//golive//staffing calendar//EN"
ROLE_LABELS = dict(SupportRole.choices)


# --- Share links ----------------------------------------------------------------------------------


def live_share_link(*, token: str, kind: str) -> ShareLink | None:
    """The unrevoked link of `kind` with this token, with what a feed or board needs; else None."""
    return (
        ShareLink.objects.filter(token=token, kind=kind, revoked_at__isnull=True)
        .select_related("go_live", "person__go_live", "site", "unit__site__go_live")
        .first()
    )


def create_share_link(
    *,
    go_live: GoLive,
    kind: str,
    actor: AbstractBaseUser | None,
    person: SupportPerson | None = None,
    site: Site | None = None,
    unit: Unit | None = None,
) -> ShareLink:
    """A new secret link. A board names a site or a unit, or neither for the whole go-live."""
    if kind not in ShareLink.Kind.values:
        raise ValueError(f"Unknown share link kind {kind!r}.")
    if kind == ShareLink.Kind.PERSON_FEED and person is None:
        raise ValueError("A person's calendar feed names the person.")
    if kind == ShareLink.Kind.UNIT_FEED and unit is None:
        raise ValueError("A unit's calendar feed names the unit.")
    return ShareLink.objects.create(
        go_live=go_live,
        kind=kind,
        person=person,
        site=site,
        unit=unit,
        created_by=signed_in(actor),
    )


def revoke_share_link(*, link: ShareLink) -> bool:
    """Stop the link at once; False when it was already revoked (a double tap changes nothing)."""
    return bool(
        ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


# --- Feeds ----------------------------------------------------------------------------------------


def person_calendar(*, person: SupportPerson, now: dt.datetime | None = None) -> bytes:
    """The person's assignments whose shift ended at most 30 days ago, cancelled ones included."""
    now = now or timezone.now()
    go_live = person.go_live
    # A shift's own changes (new times) and the assignment's changes both modify the event.
    last_event = ShiftEvent.objects.filter(
        Q(assignment_id=OuterRef("pk")) | Q(assignment__isnull=True),
        shift_id=OuterRef("shift_id"),
    ).order_by("-at")
    assignments = (
        person.assignments.filter(shift__end__gte=now - FEED_HISTORY)
        .select_related("shift__unit__site")
        .annotate(last_modified=Subquery(last_event.values("at")[:1]))
        .order_by("shift__start", "pk")
    )
    calendar = _calendar(name=f"{person.name} · golive shifts", go_live=go_live)
    for assignment in assignments:
        shift = assignment.shift
        cancelled = assignment.status == Assignment.Status.CANCELLED
        summary = f"{shift.unit.name} — {ROLE_LABELS.get(shift.role, shift.role)}"
        lines = [
            f"{shift.label + ' shift, ' if shift.label else ''}{_hours(shift)} at {shift.unit}.",
            f"Status: {assignment.get_status_display()}.",
        ]
        if shift.unit.phone:
            lines.append(f"Unit phone: {shift.unit.phone}")
        if go_live.command_center_phone:
            lines.append(f"Command center: {go_live.command_center_phone}")
        event = _event(
            uid=f"assignment-{assignment.pk}@golive",
            shift=shift,
            sequence=assignment.sequence,
            summary=f"Cancelled: {summary}" if cancelled else summary,
            description="\n".join(lines),
            status="CANCELLED" if cancelled else "CONFIRMED",
            stamp=now,
            last_modified=assignment.last_modified or assignment.assigned_at,
        )
        calendar.add_component(event)
    return calendar.to_ical()


def unit_calendar(*, unit: Unit, now: dt.datetime | None = None) -> bytes:
    """The unit's shifts that ended at most 30 days ago: who is on each, and their phones."""
    now = now or timezone.now()
    go_live = unit.site.go_live
    people = Prefetch(
        "assignments",
        queryset=Assignment.objects.filter(status__in=ACTIVE_STATUSES)
        .select_related("person")
        .order_by("person__name"),
        to_attr="active_assignments",
    )
    last_event = ShiftEvent.objects.filter(shift_id=OuterRef("pk")).order_by("-at")
    shifts = (
        Shift.objects.filter(unit=unit, end__gte=now - FEED_HISTORY)
        .annotate(last_modified=Subquery(last_event.values("at")[:1]))
        .prefetch_related(people)
        .order_by("start", "pk")
    )
    calendar = _calendar(name=f"{unit} · golive shifts", go_live=go_live)
    for shift in shifts:
        shift.unit = unit
        taken = shift.active_assignments
        role = ROLE_LABELS.get(shift.role, shift.role)
        lines = [
            f"{assignment.person.name} — {assignment.person.phone or 'no phone on the roster'}"
            for assignment in taken
        ]
        if len(taken) < shift.needed:
            lines.append(f"Open places: {shift.needed - len(taken)}")
        lines.append(f"{shift.label + ' shift, ' if shift.label else ''}{_hours(shift)}.")
        event = _event(
            uid=f"shift-{shift.pk}@golive",
            shift=shift,
            sequence=shift.sequence,
            summary=f"{unit.name} — {role} ({len(taken)}/{shift.needed})",
            description="\n".join(lines),
            status="CONFIRMED",
            stamp=now,
            last_modified=shift.last_modified or shift.created_at,
        )
        calendar.add_component(event)
    return calendar.to_ical()


def _calendar(*, name: str, go_live: GoLive) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", go_live.time_zone)
    return calendar


def _event(
    *,
    uid: str,
    shift: Shift,
    sequence: int,
    summary: str,
    description: str,
    status: str,
    stamp: dt.datetime,
    last_modified: dt.datetime,
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("last-modified", last_modified.astimezone(dt.UTC))
    event.add("dtstart", shift.start.astimezone(dt.UTC))
    event.add("dtend", shift.end.astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("location", str(shift.unit))
    event.add("description", description)
    event.add("status", status)
    return event


def _hours(shift: Shift) -> str:
    return f"{shift.hours:g} h"
