"""The minute sweeps beat runs: shift reminders and late arrivals.

Both read a due-time column of Assignment through its partial index (`next_reminder_at`,
`late_check_at`) and claim the due rows with `SELECT ... FOR UPDATE SKIP LOCKED` in a transaction,
so two beats (or a sweep still running when the next one starts) share the rows instead of
doubling the work. The row's column moves on in the same transaction as the notifications it
causes: a worker killed half-way rolls both back and the next sweep does the work again, once
(the outbox's dedupe keys make a repeat write nothing).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from golive import outbox
from golive.models import Membership, Notification
from golive.permissions import command_center_leads, unit_managers
from staffing.models import Assignment, StaffingSettings
from staffing.selfservice import NOT_ARRIVED, tell_user
from staffing.services import describe, record_event, tell_person

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


def _sweep(due: QuerySet[Assignment], handle: Callable[[Assignment], bool]) -> int:
    """Claim due rows a batch at a time and hand each to `handle`; the number it said yes to.

    Each row runs in a savepoint: one row that fails (logged) must not hold back everyone else's
    reminders. It stays due and is tried again by the next sweep. A database error ends the sweep:
    its transaction is rolled back whole and the next sweep starts again.
    """
    done = 0
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            batch = list(
                due.exclude(pk__in=failed)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related(
                    "shift__go_live", "shift__unit__site", "person__go_live", "person__user"
                )
                .order_by("pk")[:BATCH_SIZE]
            )
            for assignment in batch:
                try:
                    with transaction.atomic():
                        done += handle(assignment)
                except DatabaseError:
                    # The connection or the transaction is gone: nothing of this batch commits.
                    raise
                except Exception:
                    logger.exception("Sweep could not handle assignment %s", assignment.pk)
                    failed.add(assignment.pk)
        if len(batch) < BATCH_SIZE:
            return done


# --- Reminders ------------------------------------------------------------------------------------


def _leads(assignment: Assignment, cache: dict[int, list[int]]) -> list[int]:
    go_live = assignment.shift.go_live
    if go_live.pk not in cache:
        leads = StaffingSettings.for_go_live(go_live).reminder_leads_minutes
        cache[go_live.pk] = sorted({lead for lead in leads if lead > 0}, reverse=True)
    return cache[go_live.pk]


def _send_reminder(assignment: Assignment, lead: int, now: dt.datetime) -> None:
    shift, person = assignment.shift, assignment.person
    local_start = timezone.localtime(shift.start, shift.go_live.tzinfo)
    # timeuntil joins number and unit with a no-break space, which plain-text email and SMS mangle.
    left = timeuntil(shift.start, now, depth=2).replace("\xa0", " ")
    subject = f"Reminder: your shift starts {local_start:%a %d %b %H:%M} ({left} from now)"
    lines = [
        f"{shift.get_role_display()} on {describe(shift)}.",
        f"Unit phone: {shift.unit.phone}." if shift.unit.phone else "",
        "Check in on My shifts when you arrive (it opens an hour before the start).",
    ]
    link = reverse("staffing:my_shifts")
    key = f"reminder:{assignment.pk}:{lead}"
    tell_person(person=person, key=key, subject=subject, body="\n".join(filter(None, lines)))
    if person.sms_number:
        outbox.notify(
            dedupe_key=f"{key}:sms",
            channel=Notification.Channel.SMS,
            subject=subject,
            name=person.name,
            address=person.sms_number,
            go_live=person.go_live,
            link=link,
        )


def send_due_reminders(now: dt.datetime | None = None) -> int:
    """Send the reminders that are due; the number of reminders sent.

    One reminder per assignment and sweep: for the latest lead whose time has passed. After an
    outage someone due both the 12 h and the 1 h reminder gets only the 1 h one, and a shift that
    has started gets none. The column then moves to the next lead's time, or is cleared.
    """
    now = now or timezone.now()
    leads_by_go_live: dict[int, list[int]] = {}

    def remind(assignment: Assignment) -> bool:
        start = assignment.shift.start
        leads = _leads(assignment, leads_by_go_live)
        due = [lead for lead in leads if start - dt.timedelta(minutes=lead) <= now]
        # Leads are in descending order: the first one not yet due is the next reminder.
        later = [lead for lead in leads if start - dt.timedelta(minutes=lead) > now]
        waiting = assignment.status in NOT_ARRIVED
        send = waiting and start > now and bool(due)
        if send:
            _send_reminder(assignment, min(due), now)
        assignment.next_reminder_at = (
            start - dt.timedelta(minutes=later[0]) if waiting and later else None
        )
        assignment.save(update_fields=["next_reminder_at"])
        return send

    return _sweep(Assignment.objects.filter(next_reminder_at__lte=now), remind)


# --- Late arrivals --------------------------------------------------------------------------------


def late_recipients(assignment: Assignment, cache: dict[int, list[Membership]]) -> list[Membership]:
    """The unit's clinic managers and the command center leads, each once."""
    unit = assignment.shift.unit
    if unit.pk not in cache:
        members = {m.user_id: m for m in command_center_leads(unit.site.go_live)}
        members.update({m.user_id: m for m in unit_managers(unit)})
        cache[unit.pk] = list(members.values())
    return cache[unit.pk]


def report_late_arrivals(now: dt.datetime | None = None) -> int:
    """Mark people not checked in by their late-check time and alert those who can replace them.

    Each late assignment is reported once, to the unit's managers and the command center leads,
    in the app and by email, with a link to the shift to assign a replacement. A shift that ended
    before the sweep ran (an outage) is not reported: the alert could no longer help.
    """
    now = now or timezone.now()
    recipients_by_unit: dict[int, list[Membership]] = {}

    def report(assignment: Assignment) -> bool:
        shift, person = assignment.shift, assignment.person
        assignment.late_check_at = None
        if assignment.status not in NOT_ARRIVED or shift.end <= now:
            assignment.save(update_fields=["late_check_at"])
            return False
        assignment.late_at = now
        assignment.save(update_fields=["late_check_at", "late_at"])
        minutes = int((now - shift.start).total_seconds() // 60)
        record_event(
            shift=shift,
            assignment=assignment,
            actor=None,
            action="late",
            old=f"{person.name}: {assignment.get_status_display()}",
            new="Late",
            note=f"Not checked in {minutes} min after the start.",
        )
        local_start = timezone.localtime(shift.start, shift.go_live.tzinfo)
        subject = (
            f"Late: {person.name} has not checked in on {shift.unit.name} ({local_start:%H:%M})"
        )
        body = "\n".join(
            filter(
                None,
                [
                    f"{person.name} ({person.get_role_display().lower()}) was due on {describe(shift)}.",
                    f"Phone: {person.phone}." if person.phone else "",
                    "Open the shift to assign a replacement.",
                ],
            )
        )
        for membership in late_recipients(assignment, recipients_by_unit):
            tell_user(
                user=membership.user,
                key=f"late:{assignment.pk}:user{membership.user_id}",
                subject=subject,
                body=body,
                go_live=shift.go_live,
                link=shift.get_absolute_url(),
            )
        return True

    return _sweep(Assignment.objects.filter(late_check_at__lte=now), report)
