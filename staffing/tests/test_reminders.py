"""The minute sweeps with a controlled clock: shift reminders and late arrivals.

Exactly once per assignment and lead, even with two sweeps at once or a sweep killed half-way; after
an outage only the latest due reminder and nothing for a shift that started; a late arrival
reported once to the unit's manager and the command center.
"""

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import OperationalError, connection, connections
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.urls import reverse

from golive.models import GoLive, Membership, Notification, Role, Site, Unit
from staffing.models import Assignment, Shift, ShiftEvent, StaffingSettings, SupportPerson
from staffing.reminders import report_late_arrivals, send_due_reminders
from staffing.services import assign_person, cancel_assignment, check_in
from staffing.tests.conftest import MakePerson, local

SignIn = Callable[[User], Client]

pytestmark = pytest.mark.usefixtures("now")


def reminder_keys() -> set[str]:
    return set(
        Notification.objects.filter(dedupe_key__startswith="reminder:").values_list(
            "dedupe_key", flat=True
        )
    )


def late_notifications() -> list[Notification]:
    return list(Notification.objects.filter(dedupe_key__startswith="late:"))


@pytest.fixture
def sams_day(sam: SupportPerson, day_shift: Shift, lead_lena: User) -> Assignment:
    """Sam on Wednesday's day shift on 4 West, 07:00-19:00."""
    return assign_person(shift=day_shift, person=sam, actor=lead_lena)


# --- Reminders ------------------------------------------------------------------------------------


def test_the_12_hour_and_the_1_hour_reminders_go_out_once_each(sams_day: Assignment) -> None:
    a = sams_day.pk

    assert send_due_reminders(now=local(3, 18, 59)) == 0
    assert send_due_reminders(now=local(3, 19)) == 1
    sams_day.refresh_from_db()
    assert sams_day.next_reminder_at == local(4, 6)
    assert send_due_reminders(now=local(3, 19, 1)) == 0
    assert send_due_reminders(now=local(4, 6)) == 1
    assert send_due_reminders(now=local(4, 6, 30)) == 0

    sams_day.refresh_from_db()
    assert sams_day.next_reminder_at is None
    assert reminder_keys() == {
        f"reminder:{a}:720:in_app",
        f"reminder:{a}:720:email",
        f"reminder:{a}:60:in_app",
        f"reminder:{a}:60:email",
    }


def test_a_reminder_says_when_and_where_and_opens_my_shifts(
    sams_day: Assignment, four_west: Unit, super_sam: User
) -> None:
    four_west.phone = "312-555-0404"
    four_west.save()

    send_due_reminders(now=local(3, 19))

    reminder = Notification.objects.get(dedupe_key=f"reminder:{sams_day.pk}:720:in_app")
    assert reminder.recipient_user == super_sam
    assert reminder.subject == "Reminder: your shift starts Wed 04 Nov 07:00 (12 hours from now)"
    assert reminder.body.splitlines() == [
        "Super user on 4 West Med/Surg (Mercy General), Wed 04 Nov 07:00–19:00.",
        "Unit phone: 312-555-0404.",
        "Check in on My shifts when you arrive (it opens an hour before the start).",
    ]
    assert reminder.link == reverse("staffing:my_shifts")
    email = Notification.objects.get(dedupe_key=f"reminder:{sams_day.pk}:720:email")
    assert email.recipient_address == "sam.super@mercy.example"


def test_someone_with_an_sms_number_also_gets_a_text(
    sam: SupportPerson, sams_day: Assignment
) -> None:
    sam.sms_number = "+13125550190"
    sam.save()

    send_due_reminders(now=local(4, 6))

    text = Notification.objects.get(dedupe_key=f"reminder:{sams_day.pk}:60:sms")
    assert (text.channel, text.recipient_address) == ("sms", "+13125550190")


def test_after_an_outage_only_the_latest_due_reminder_goes_out(sams_day: Assignment) -> None:
    # The sweeps were down from before 19:00 yesterday until 06:30: both leads have passed.
    assert send_due_reminders(now=local(4, 6, 30)) == 1

    assert reminder_keys() == {
        f"reminder:{sams_day.pk}:60:in_app",
        f"reminder:{sams_day.pk}:60:email",
    }
    sams_day.refresh_from_db()
    assert sams_day.next_reminder_at is None


def test_a_shift_that_has_started_gets_no_reminder(sams_day: Assignment) -> None:
    assert send_due_reminders(now=local(4, 7, 5)) == 0

    assert reminder_keys() == set()
    sams_day.refresh_from_db()
    assert sams_day.next_reminder_at is None


def test_the_go_lives_own_lead_times_are_used(
    mercy: GoLive, sam: SupportPerson, day_shift: Shift, lead_lena: User
) -> None:
    StaffingSettings.objects.create(go_live=mercy, reminder_leads_minutes=[120, 1440])
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    assert assignment.next_reminder_at == local(3, 7)

    send_due_reminders(now=local(3, 7))

    assignment.refresh_from_db()
    assert assignment.next_reminder_at == local(4, 5)
    assert f"reminder:{assignment.pk}:1440:email" in reminder_keys()


def test_turning_reminders_off_clears_what_was_due_without_sending(
    mercy: GoLive, sams_day: Assignment
) -> None:
    StaffingSettings.objects.filter(go_live=mercy).update(reminder_leads_minutes=[])

    assert send_due_reminders(now=local(3, 19)) == 0

    sams_day.refresh_from_db()
    assert sams_day.next_reminder_at is None
    assert reminder_keys() == set()


def test_a_shift_no_longer_waited_for_gets_no_reminder(
    sams_day: Assignment, lead_lena: User
) -> None:
    # A no-show leaves the due time in place on purpose here: the sweep must not trust the column.
    Assignment.objects.filter(pk=sams_day.pk).update(status=Assignment.Status.NO_SHOW)

    assert send_due_reminders(now=local(3, 19)) == 0

    sams_day.refresh_from_db()
    assert sams_day.next_reminder_at is None


def test_a_cancelled_assignment_leaves_nothing_due(sams_day: Assignment, lead_lena: User) -> None:
    cancel_assignment(assignment=sams_day, actor=lead_lena)

    assert send_due_reminders(now=local(3, 19)) == 0
    assert reminder_keys() == set()


def test_a_row_that_cannot_be_reminded_does_not_hold_back_the_others(
    sam: SupportPerson,
    make_person: MakePerson,
    day_shift: Shift,
    lead_lena: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An address-less person (written around the form) makes the outbox refuse the email.
    broken = make_person("No Address", email="")
    bad = Assignment.objects.create(
        shift=day_shift,
        person=broken,
        period=DateTimeTZRange(day_shift.start, day_shift.end, "[)"),
        next_reminder_at=local(3, 19),
    )
    good = assign_person(shift=day_shift, person=sam, actor=lead_lena)

    with caplog.at_level(logging.ERROR, logger="staffing.reminders"):
        assert send_due_reminders(now=local(3, 19)) == 1

    assert f"Sweep could not handle assignment {bad.pk}" in caplog.text
    assert {key.split(":")[1] for key in reminder_keys()} == {str(good.pk)}
    bad.refresh_from_db()
    assert bad.next_reminder_at == local(3, 19)


# --- Late arrivals --------------------------------------------------------------------------------


@pytest.fixture
def northside_manager(mercy: GoLive, northside: Site) -> User:
    user = User.objects.create_user("manager_nora", email="nora@example.org")
    membership = Membership.objects.create(user=user, go_live=mercy, role=Role.CLINIC_MANAGER)
    membership.sites.add(northside)
    return user


def test_a_person_not_checked_in_15_minutes_after_the_start_is_reported_once(
    sams_day: Assignment,
    manager_maria: User,
    lead_lena: User,
    agent_alex: User,
    nurse_nina: User,
    northside_manager: User,
) -> None:
    assert report_late_arrivals(now=local(4, 7, 14)) == 0
    assert report_late_arrivals(now=local(4, 7, 16)) == 1
    assert report_late_arrivals(now=local(4, 7, 17)) == 0

    sams_day.refresh_from_db()
    assert (sams_day.late_at, sams_day.late_check_at) == (local(4, 7, 16), None)
    assert sams_day.status == Assignment.Status.SCHEDULED
    event = ShiftEvent.objects.get(action="late")
    assert (event.old, event.new, event.note, event.actor) == (
        "Sam Super: Scheduled",
        "Late",
        "Not checked in 16 min after the start.",
        None,
    )
    told = {(n.recipient_user, n.channel) for n in late_notifications()}
    assert told == {
        (manager_maria, "in_app"),
        (manager_maria, "email"),
        (lead_lena, "in_app"),
        (lead_lena, "email"),
    }
    alert = Notification.objects.get(dedupe_key=f"late:{sams_day.pk}:user{manager_maria.pk}:in_app")
    assert alert.subject == "Late: Sam Super has not checked in on 4 West Med/Surg (07:00)"
    assert "Phone: 312-555-0190." in alert.body
    assert alert.link == reverse("staffing:shift_detail", args=[sams_day.shift_id])


def test_the_alert_opens_the_shift_where_a_replacement_is_assigned(
    client_for: SignIn, sams_day: Assignment, manager_maria: User
) -> None:
    report_late_arrivals(now=local(4, 7, 16))
    alert = Notification.objects.get(dedupe_key=f"late:{sams_day.pk}:user{manager_maria.pk}:in_app")

    assert client_for(manager_maria).get(alert.link).status_code == 200


def test_someone_who_checked_in_is_not_reported(
    sams_day: Assignment, super_sam: User, manager_maria: User
) -> None:
    with time_machine.travel(local(4, 6, 55), tick=False):
        check_in(assignment=sams_day, actor=super_sam)

    assert report_late_arrivals(now=local(4, 7, 16)) == 0
    assert late_notifications() == []


def test_a_shift_that_ended_before_the_sweep_ran_is_not_reported(
    sams_day: Assignment, manager_maria: User
) -> None:
    # The sweeps were down all day: an alert now could no longer bring anyone in.
    assert report_late_arrivals(now=local(4, 19, 30)) == 0

    sams_day.refresh_from_db()
    assert (sams_day.late_at, sams_day.late_check_at) == (None, None)
    assert late_notifications() == []
    assert not ShiftEvent.objects.filter(action="late").exists()


# --- Concurrency and crashes, settled in PostgreSQL -----------------------------------------------


def many_assignments(count: int, mercy: GoLive, four_west: Unit, lead: User) -> list[Assignment]:
    start = local(4, 7)
    shift = Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role="super_user",
        start=start,
        end=local(4, 19),
        needed=count,
    )
    return [
        assign_person(
            shift=shift,
            person=SupportPerson.objects.create(
                go_live=mercy, name=f"Person {n}", role="super_user", email=f"p{n}@mercy.example"
            ),
            actor=lead,
        )
        for n in range(count)
    ]


def run_together(work: Callable[[], object], copies: int = 2) -> list[object]:
    """Run `work` in `copies` threads released at the same moment; their results or exceptions."""
    barrier = threading.Barrier(copies)
    results: list[object] = []

    def run() -> None:
        try:
            barrier.wait(10)
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("sweep", "at", "prefix"),
    [
        (send_due_reminders, local(3, 19), "reminder:"),
        (report_late_arrivals, local(4, 7, 16), "late:"),
    ],
)
def test_two_sweeps_at_once_do_each_piece_of_work_once(
    mercy: GoLive,
    four_west: Unit,
    lead_lena: User,
    sweep: Callable[..., int],
    at: dt.datetime,
    prefix: str,
) -> None:
    assignments = many_assignments(40, mercy, four_west, lead_lena)

    results = run_together(lambda: sweep(now=at))

    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 40  # type: ignore[arg-type]
    sent = Notification.objects.filter(dedupe_key__startswith=prefix)
    # Reminders: one email each (no logins). Late: the lead, in the app and by email, per person.
    per_assignment = 1 if prefix == "reminder:" else 2
    assert sent.count() == 40 * per_assignment
    assert sent.values("dedupe_key").distinct().count() == sent.count()
    assert sweep(now=at) == 0
    assert len(assignments) == 40


def backend_waiting_on_a_lock(deadline: float) -> int:
    """The pid of the backend blocked on a lock (the sweep), once PostgreSQL shows it waiting."""
    with connections["default"].cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row is not None:
                return int(row[0])
            if time.monotonic() > deadline:
                raise AssertionError("The sweep never blocked on the outbox lock.")
            # Polling PostgreSQL for a state, not timing any logic.
            time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_a_sweep_killed_half_way_loses_nothing_and_the_next_one_sends_once(
    mercy: GoLive, four_west: Unit, lead_lena: User
) -> None:
    assignments = many_assignments(3, mercy, four_west, lead_lena)
    locked, release = threading.Event(), threading.Event()
    results: list[object] = []

    def hold_the_outbox() -> None:
        # Writes to the outbox wait behind this lock, so the sweep stops half-way, rows claimed.
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("LOCK TABLE golive_notification IN SHARE ROW EXCLUSIVE MODE")
                locked.set()
                release.wait(30)
                cursor.execute("ROLLBACK")
        finally:
            connection.close()

    def sweep() -> None:
        try:
            results.append(send_due_reminders(now=local(3, 19)))
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_outbox)
    holder.start()
    assert locked.wait(10)
    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    victim = backend_waiting_on_a_lock(time.monotonic() + 10)
    with connection.cursor() as cursor:
        # The worker dies: PostgreSQL drops its session and rolls its transaction back.
        cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
    sweeper.join(30)
    release.set()
    holder.join(30)

    [crash] = results
    assert isinstance(crash, OperationalError)
    assert "terminating connection" in str(crash)
    assert reminder_keys() == set()
    assert all(
        a.next_reminder_at == local(3, 19)
        for a in Assignment.objects.filter(pk__in=[a.pk for a in assignments])
    )

    assert send_due_reminders(now=local(3, 19)) == 3
    assert send_due_reminders(now=local(3, 19)) == 0
    assert len(reminder_keys()) == 3
