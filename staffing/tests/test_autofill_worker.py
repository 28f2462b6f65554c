"""The auto-fill tasks through a real Celery worker, and a broker that cannot be reached."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.db import transaction

from conftest import TASK_TIMEOUT, Finished
from golive.celery import app
from golive.models import GoLive, Unit
from staffing.autofill import compute_proposal, start_autofill, start_publishing
from staffing.models import Assignment, AutoFillProposal, AutoFillRun, Shift, SupportPerson
from staffing.tasks import compute_autofill_proposal, publish_autofill
from staffing.tests.conftest import MakePerson


def start(go_live: GoLive, unit: Unit, user: User) -> AutoFillRun:
    with transaction.atomic():
        return start_autofill(
            go_live=go_live,
            actor=user,
            start_date=dt.date(2026, 11, 4),
            end_date=dt.date(2026, 11, 4),
            units=[unit],
            roles=[],
            respect_soft_rules=True,
        )


def proposed(go_live: GoLive, unit: Unit, user: User) -> AutoFillRun:
    """A started run whose proposal the test computed itself, without a worker."""
    with transaction.atomic():
        run = AutoFillRun.objects.create(
            go_live=go_live,
            created_by=user,
            start_date=dt.date(2026, 11, 4),
            end_date=dt.date(2026, 11, 4),
        )
        run.units.set([unit])
    assert compute_proposal(run_id=run.pk) is True
    return run


def publish(run: AutoFillRun, user: User) -> None:
    with transaction.atomic():
        start_publishing(run=run, actor=user)


def test_the_tasks_do_nothing_for_a_missing_run(db: None) -> None:
    assert compute_autofill_proposal.apply(kwargs={"run_id": 987654}).get() is False
    assert publish_autofill.apply(kwargs={"run_id": 987654}).get() is False


def test_publishing_may_be_delivered_again() -> None:
    assert publish_autofill.acks_late is True


@pytest.mark.django_db(transaction=True)
def test_a_worker_computes_the_proposal_of_a_started_run(
    mercy: GoLive,
    four_west: Unit,
    lead_lena: User,
    day_shift: Shift,
    make_person: MakePerson,
    request: pytest.FixtureRequest,
) -> None:
    finished: Finished = request.getfixturevalue("finished_tasks")
    ann, bob = make_person("Ann"), make_person("Bob")
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        run = start(mercy, four_west, lead_lena)

        assert finished.get(timeout=TASK_TIMEOUT) == (
            "staffing.tasks.compute_autofill_proposal",
            True,
        )

    run.refresh_from_db()
    assert (run.status, run.progress, run.total) == (AutoFillRun.Status.PROPOSED, 1, 1)
    assert set(AutoFillProposal.objects.values_list("shift", "person")) == {
        (day_shift.pk, ann.pk),
        (day_shift.pk, bob.pk),
    }


@pytest.mark.django_db(transaction=True)
def test_a_worker_publishes_the_proposal(
    mercy: GoLive,
    four_west: Unit,
    lead_lena: User,
    day_shift: Shift,
    make_person: MakePerson,
    request: pytest.FixtureRequest,
) -> None:
    finished: Finished = request.getfixturevalue("finished_tasks")
    make_person("Ann")
    make_person("Bob")
    run = proposed(mercy, four_west, lead_lena)
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        publish(run, lead_lena)

        assert finished.get(timeout=TASK_TIMEOUT) == ("staffing.tasks.publish_autofill", True)

    run.refresh_from_db()
    assert (run.status, run.published_count, run.publish_failures) == (
        AutoFillRun.Status.PUBLISHED,
        2,
        [],
    )
    assert set(Assignment.objects.values_list("shift", "person__name", "assigned_by")) == {
        (day_shift.pk, "Ann", lead_lena.pk),
        (day_shift.pk, "Bob", lead_lena.pk),
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("broker_down")
def test_with_the_broker_down_the_run_fails_at_once_with_a_message(
    mercy: GoLive, four_west: Unit, lead_lena: User, day_shift: Shift
) -> None:
    SupportPerson.objects.create(go_live=mercy, name="Ann", role="super_user", email="a@x.org")

    started = time.monotonic()
    run = start(mercy, four_west, lead_lena)

    # The manager's request must not hang on the broker's connection retries.
    assert time.monotonic() - started < 2
    run.refresh_from_db()
    assert run.status == AutoFillRun.Status.FAILED
    assert "task queue could not be reached" in run.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("broker_down")
def test_with_the_broker_down_publishing_puts_the_proposal_back_with_a_message(
    mercy: GoLive, four_west: Unit, lead_lena: User, day_shift: Shift, make_person: MakePerson
) -> None:
    make_person("Ann")
    run = proposed(mercy, four_west, lead_lena)

    started = time.monotonic()
    publish(run, lead_lena)

    assert time.monotonic() - started < 2
    run.refresh_from_db()
    assert run.status == AutoFillRun.Status.PROPOSED
    assert "task queue could not be reached, so nobody was assigned" in run.error
    assert not Assignment.objects.exists()
