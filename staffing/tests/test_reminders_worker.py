"""Both sweeps through a real Celery worker, with time-machine moving the clock.

The worker is an embedded one (celery.contrib.testing) on the test broker, so it reads and writes
the test database; the outbox deliveries it runs send the email to Django's test outbox.
"""

from collections.abc import Callable

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail

from conftest import TASK_TIMEOUT, Finished
from golive.celery import app
from golive.models import Notification
from staffing.models import SupportPerson
from staffing.services import assign_person
from staffing.tasks import report_late_arrivals, send_shift_reminders
from staffing.tests.conftest import MakeShift, local

REMINDERS = "staffing.tasks.send_shift_reminders"
LATE = "staffing.tasks.report_late_arrivals"


def result_of(finished: Finished, name: str) -> object:
    """The return value of the next run of task `name`; outbox deliveries in between pass by."""
    while True:
        task, value = finished.get(timeout=TASK_TIMEOUT)
        if task == name:
            return value


def wait_until(finished: Finished, condition: Callable[[], bool]) -> None:
    """Each finished task may have made `condition` true: check again after each one."""
    while not condition():
        finished.get(timeout=TASK_TIMEOUT)


def test_the_tasks_are_the_ones_beat_runs_every_minute() -> None:
    beat = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert send_shift_reminders.name == REMINDERS
    assert report_late_arrivals.name == LATE
    assert (beat[REMINDERS], beat[LATE]) == (60.0, 60.0)


def test_the_tasks_call_the_sweeps(
    sam: SupportPerson, make_shift: MakeShift, lead_lena: User
) -> None:
    with time_machine.travel(local(3, 6), tick=False) as clock:
        assign_person(shift=make_shift(local(4, 7), local(4, 19)), person=sam, actor=lead_lena)
        clock.move_to(local(3, 19))
        assert send_shift_reminders.apply().get() == 1
        clock.move_to(local(4, 7, 20))
        assert report_late_arrivals.apply().get() == 1
        assert report_late_arrivals.apply().get() == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reminds_once_per_lead_and_reports_the_late_arrival_once(
    sam: SupportPerson,
    make_shift: MakeShift,
    manager_maria: User,
    lead_lena: User,
    finished_tasks: Finished,
) -> None:
    with time_machine.travel(local(3, 6), tick=True) as clock:
        assignment = assign_person(
            shift=make_shift(local(4, 7), local(4, 19)), person=sam, actor=lead_lena
        )
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False):
            clock.move_to(local(3, 19))
            send_shift_reminders.delay()
            assert result_of(finished_tasks, REMINDERS) == 1
            send_shift_reminders.delay()
            assert result_of(finished_tasks, REMINDERS) == 0

            clock.move_to(local(4, 6, 1))
            send_shift_reminders.delay()
            assert result_of(finished_tasks, REMINDERS) == 1

            clock.move_to(local(4, 7, 16))
            report_late_arrivals.delay()
            assert result_of(finished_tasks, LATE) == 1
            report_late_arrivals.delay()
            assert result_of(finished_tasks, LATE) == 0

            swept = Notification.objects.filter(dedupe_key__regex=r"^(reminder|late):")
            wait_until(
                finished_tasks,
                lambda: not swept.exclude(status=Notification.Status.SENT).exists(),
            )

    late, reminder = f"late:{assignment.pk}", f"reminder:{assignment.pk}"
    assert set(swept.values_list("dedupe_key", flat=True)) == {
        f"{late}:user{lead_lena.pk}:in_app",
        f"{late}:user{lead_lena.pk}:email",
        f"{late}:user{manager_maria.pk}:in_app",
        f"{late}:user{manager_maria.pk}:email",
        f"{reminder}:720:in_app",
        f"{reminder}:720:email",
        f"{reminder}:60:in_app",
        f"{reminder}:60:email",
    }
    # Subjects without the bracketed part ("(12 hours from now)"), which moves with the clock.
    emails = sorted((m.to[0], m.subject.split(" (")[0]) for m in mail.outbox)
    assert emails == [
        ("lead_lena@example.org", "Late: Sam Super has not checked in on 4 West Med/Surg"),
        ("manager_maria@example.org", "Late: Sam Super has not checked in on 4 West Med/Surg"),
        ("sam.super@mercy.example", "Reminder: your shift starts Wed 04 Nov 07:00"),
        ("sam.super@mercy.example", "Reminder: your shift starts Wed 04 Nov 07:00"),
    ]
