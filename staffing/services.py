"""Assignment workflows: the only place that creates, changes or cancels an assignment.

Each function runs in one transaction, takes the shift's row lock before counting places, writes
an append-only ShiftEvent for every change, and writes the notifications it causes through the
outbox in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from golive import outbox, webhooks
from golive.lib.users import signed_in
from golive.models import Notification, WebhookEvent
from staffing.models import (
    ACTIVE_STATUSES,
    Assignment,
    Shift,
    ShiftEvent,
    StaffingSettings,
    SupportPerson,
)
from staffing.rules import PersonLoad, RuleWarning, load_people, overlaps_busy, soft_warnings

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# How early before the start a person may check in.
CHECK_IN_OPENS = dt.timedelta(hours=1)


class AssignmentRefused(Exception):
    """A hard rule says no; the message says why in words a manager understands."""


class NeedsOverride(Exception):
    """Soft rules warn; the assignment needs a reason to go ahead."""

    def __init__(self, warnings: list[RuleWarning]) -> None:
        super().__init__("; ".join(warning.message for warning in warnings))
        self.warnings = warnings


def record_event(
    *,
    shift: Shift,
    action: str,
    actor: AbstractBaseUser | None,
    assignment: Assignment | None = None,
    old: str = "",
    new: str = "",
    note: str = "",
) -> ShiftEvent:
    return ShiftEvent.objects.create(
        shift=shift,
        assignment=assignment,
        actor=signed_in(actor),
        action=action,
        old=old[:240],
        new=new[:240],
        note=note[:240],
    )


def first_reminder_at(start: dt.datetime, staffing: StaffingSettings) -> dt.datetime | None:
    """When the reminder sweep should first look at an assignment starting at `start`."""
    leads = staffing.reminder_leads_minutes
    if not leads:
        return None
    return start - dt.timedelta(minutes=max(leads))


def tell_person(*, person: SupportPerson, key: str, subject: str, body: str) -> None:
    """Notify a support person in the app (if they have a login) and by email.

    The link is always their own My shifts page: the shift's planning page is for managers.
    """
    link = reverse("staffing:my_shifts")
    if person.user_id is not None:
        outbox.notify(
            dedupe_key=f"{key}:in_app",
            channel=Notification.Channel.IN_APP,
            subject=subject,
            body=body,
            user=person.user,
            go_live=person.go_live,
            link=link,
        )
    outbox.notify(
        dedupe_key=f"{key}:email",
        channel=Notification.Channel.EMAIL,
        subject=subject,
        body=body,
        name=person.name,
        address=person.email,
        go_live=person.go_live,
        link=link,
    )


def describe(shift: Shift) -> str:
    tz = shift.go_live.tzinfo
    start = timezone.localtime(shift.start, tz)
    end = timezone.localtime(shift.end, tz)
    return f"{shift.unit.name} ({shift.unit.site.name}), {start:%a %d %b %H:%M}–{end:%H:%M}"


def check_assignment(
    *, shift: Shift, person: SupportPerson, staffing: StaffingSettings | None = None
) -> list[RuleWarning]:
    """Hard rules raise AssignmentRefused; the soft warnings are returned."""
    if person.go_live_id != shift.go_live_id:
        raise AssignmentRefused(f"{person.name} is not on this go-live's roster.")
    if not person.is_active:
        raise AssignmentRefused(f"{person.name} is marked inactive on the roster.")
    if shift.end <= timezone.now():
        raise AssignmentRefused("This shift is over; it can no longer be staffed.")
    staffing = staffing or StaffingSettings.for_go_live(shift.go_live)
    load = load_people([person.pk], shift.start, shift.end).get(person.pk, PersonLoad())
    if overlaps_busy(shift, load):
        raise AssignmentRefused(f"{person.name} already works a shift at that time.")
    return soft_warnings(person, shift, load, staffing)


@transaction.atomic
def assign_person(
    *,
    shift: Shift,
    person: SupportPerson,
    actor: AbstractBaseUser | None,
    override_reason: str = "",
) -> Assignment:
    """Put `person` on `shift`.

    Raises AssignmentRefused when a hard rule says no (shift full, overlap, inactive, over), and
    NeedsOverride when soft rules warn and no `override_reason` was given.
    """
    # The row lock serialises everyone filling this shift: the count below stays true until commit.
    shift = (
        Shift.objects.select_for_update(of=("self",))
        .select_related("go_live", "unit__site", "application")
        .get(pk=shift.pk)
    )
    taken = list(
        shift.assignments.filter(status__in=ACTIVE_STATUSES).values_list("person_id", flat=True)
    )
    if person.pk in taken:
        raise AssignmentRefused(f"{person.name} is already on this shift.")
    if len(taken) >= shift.needed:
        raise AssignmentRefused(
            f"This shift is full: {len(taken)} of {shift.needed} places are taken."
        )
    staffing = StaffingSettings.for_go_live(shift.go_live)
    warnings = check_assignment(shift=shift, person=person, staffing=staffing)
    override_reason = override_reason.strip()
    if warnings and not override_reason:
        raise NeedsOverride(warnings)
    try:
        # A savepoint: a concurrent overlapping assignment that committed first makes the
        # exclusion constraint refuse this insert, and the transaction stays usable.
        with transaction.atomic():
            assignment = Assignment.objects.create(
                shift=shift,
                person=person,
                period=DateTimeTZRange(shift.start, shift.end, "[)"),
                assigned_by=signed_in(actor),
                override_reason=override_reason if warnings else "",
                warnings=[warning.code for warning in warnings],
                next_reminder_at=first_reminder_at(shift.start, staffing),
                late_check_at=shift.start + dt.timedelta(minutes=staffing.late_after_minutes),
            )
    except IntegrityError as exc:
        if "assignment_no_overlap_per_person" in str(exc):
            raise AssignmentRefused(f"{person.name} already works a shift at that time.") from exc
        raise
    note = ""
    if warnings:
        note = f"Override: {override_reason} ({', '.join(w.message for w in warnings)})"
    record_event(
        shift=shift,
        assignment=assignment,
        actor=actor,
        action="assigned",
        new=person.name,
        note=note,
    )
    tell_person(
        person=person,
        key=f"assigned:{assignment.pk}",
        subject=f"You are on shift: {describe(shift)}",
        body=f"You have been scheduled as {shift.get_role_display().lower()} on {describe(shift)}.",
    )
    return assignment


def _tell_webhooks_of_gap(assignment: Assignment) -> None:
    """The place an active assignment held is open again: if its shift now has fewer people
    than it needs, the go-live's webhooks hear that a gap opened (one event per place lost)."""
    shift = assignment.shift
    filled = shift.assignments.filter(status__in=ACTIVE_STATUSES).count()
    if filled >= shift.needed:
        return
    webhooks.emit(
        go_live_id=shift.go_live_id,
        event=WebhookEvent.SHIFT_GAP_OPENED,
        key=f"{shift.pk}:a{assignment.pk}",
        data={
            "id": shift.pk,
            "role": shift.role,
            "label": shift.label,
            "starts_at": webhooks.occurred(shift.start),
            "ends_at": webhooks.occurred(shift.end),
            "needed": shift.needed,
            "filled": filled,
            "open": shift.needed - filled,
            "reason": assignment.status,
            "unit": {"id": shift.unit_id, "name": shift.unit.name},
            "site": {"id": shift.unit.site_id, "name": shift.unit.site.name},
            "url": settings.SITE_URL + shift.get_absolute_url(),
        },
    )


@transaction.atomic
def cancel_assignment(
    *,
    assignment: Assignment,
    actor: AbstractBaseUser | None,
    reason: str = "",
    replacement_follows: bool = False,
) -> Assignment:
    """Take a person off a shift; the place opens again and they are told.

    `replacement_follows`: the caller puts someone else in the place in the same transaction (a
    swap), so no gap opens for webhooks to hear of.
    """
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("shift__go_live", "shift__unit__site", "person__go_live")
        .get(pk=assignment.pk)
    )
    if assignment.status not in ACTIVE_STATUSES:
        raise AssignmentRefused("This assignment is not active any more.")
    old = assignment.get_status_display()
    assignment.status = Assignment.Status.CANCELLED
    assignment.next_reminder_at = None
    assignment.late_check_at = None
    assignment.sequence = F("sequence") + 1
    assignment.save(update_fields=["status", "next_reminder_at", "late_check_at", "sequence"])
    assignment.refresh_from_db(fields=["sequence"])
    record_event(
        shift=assignment.shift,
        assignment=assignment,
        actor=actor,
        action="cancelled",
        old=f"{assignment.person.name}: {old}",
        new="Cancelled",
        note=reason,
    )
    tell_person(
        person=assignment.person,
        key=f"cancelled:{assignment.pk}",
        subject=f"Shift cancelled: {describe(assignment.shift)}",
        body=f"You are no longer scheduled on {describe(assignment.shift)}."
        + (f" Reason: {reason}" if reason else ""),
    )
    if not replacement_follows:
        _tell_webhooks_of_gap(assignment)
    return assignment


@transaction.atomic
def set_assignment_status(
    *, assignment: Assignment, status: str, actor: AbstractBaseUser | None, note: str = ""
) -> Assignment:
    """Confirm an assignment or mark it a no-show (check-in has its own function)."""
    if status not in {Assignment.Status.CONFIRMED, Assignment.Status.NO_SHOW}:
        raise AssignmentRefused("Use check-in or cancel for that change.")
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("shift__unit__site", "person")
        .get(pk=assignment.pk)
    )
    if assignment.status not in ACTIVE_STATUSES:
        raise AssignmentRefused("This assignment is not active any more.")
    if status == Assignment.Status.NO_SHOW and assignment.shift.start > timezone.now():
        raise AssignmentRefused("Nobody is a no-show before the shift starts.")
    old = assignment.get_status_display()
    assignment.status = status
    fields = ["status"]
    if status == Assignment.Status.NO_SHOW:
        assignment.next_reminder_at = None
        assignment.late_check_at = None
        fields += ["next_reminder_at", "late_check_at"]
    assignment.save(update_fields=fields)
    record_event(
        shift=assignment.shift,
        assignment=assignment,
        actor=actor,
        action="status",
        old=f"{assignment.person.name}: {old}",
        new=assignment.get_status_display(),
        note=note,
    )
    if status == Assignment.Status.NO_SHOW:
        _tell_webhooks_of_gap(assignment)
    return assignment


@transaction.atomic
def check_in(
    *, assignment: Assignment, actor: AbstractBaseUser | None, via: str = ""
) -> Assignment:
    """The person has arrived. Opens an hour before the start and closes at the end."""
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("shift", "person")
        .get(pk=assignment.pk)
    )
    now = timezone.now()
    if assignment.status == Assignment.Status.CHECKED_IN:
        return assignment
    if assignment.status not in ACTIVE_STATUSES:
        raise AssignmentRefused(
            "This assignment is not active, so there is nothing to check in to."
        )
    if now < assignment.shift.start - CHECK_IN_OPENS:
        raise AssignmentRefused("Check-in opens one hour before the shift starts.")
    if now >= assignment.shift.end:
        raise AssignmentRefused("This shift is over.")
    old = assignment.get_status_display()
    assignment.status = Assignment.Status.CHECKED_IN
    assignment.checked_in_at = now
    assignment.late_check_at = None
    assignment.next_reminder_at = None
    assignment.save(update_fields=["status", "checked_in_at", "late_check_at", "next_reminder_at"])
    record_event(
        shift=assignment.shift,
        assignment=assignment,
        actor=actor,
        action="checked_in",
        old=f"{assignment.person.name}: {old}",
        new="Checked in",
        note=via,
    )
    return assignment
