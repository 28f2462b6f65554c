"""The roster import through real Celery workers, racing a person saved by hand, and in a browser."""

import threading
import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD, TASK_TIMEOUT, Finished
from golive.celery import app
from golive.models import Application, GoLive, Unit
from staffing import roster
from staffing.models import RosterImport, SupportPerson
from staffing.tasks import apply_roster_import, check_roster_import
from staffing.tests.test_roster_import import ANN, csv_text

GAIL = "Gail Good,gail@mercy.example,trainer,,,,,,,,,,,"


@pytest.fixture
def worker(transactional_db: None) -> Iterator[None]:
    """An embedded worker on the test broker (REDIS_URL), its queue emptied of earlier runs."""
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        yield


def wait_for(finished: Finished, name: str) -> None:
    deadline = time.monotonic() + TASK_TIMEOUT
    while finished.get(timeout=max(deadline - time.monotonic(), 0.1))[0] != name:
        pass


def test_the_task_names_are_stable_and_missing_imports_are_no_ops(db: None) -> None:
    assert check_roster_import.name == "staffing.tasks.check_roster_import"
    assert apply_roster_import.name == "staffing.tasks.apply_roster_import"
    assert check_roster_import.apply(args=[987654]).get() is False
    assert apply_roster_import.apply(args=[987654]).get() is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_workers_check_a_file_after_upload_and_import_it_when_asked(
    mercy: GoLive,
    lead_lena: User,
    four_west: Unit,
    orders_app: Application,
    finished_tasks: Finished,
) -> None:
    content, count = roster.read_upload(csv_text(ANN, GAIL).encode())
    upload = roster.create_roster_import(
        go_live=mercy, uploaded_by=lead_lena, filename="r.csv", content=content, total_rows=count
    )

    wait_for(finished_tasks, "staffing.tasks.check_roster_import")
    upload.refresh_from_db()
    assert upload.status == RosterImport.Status.READY
    assert (upload.processed_rows, upload.created_count) == (2, 2)
    assert not SupportPerson.objects.exists()

    roster.start_roster_import(roster_import=upload, actor=lead_lena)

    wait_for(finished_tasks, "staffing.tasks.apply_roster_import")
    upload.refresh_from_db()
    assert upload.status == RosterImport.Status.DONE
    assert set(SupportPerson.objects.values_list("name", flat=True)) == {"Ann Able", "Gail Good"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_manager_uploads_a_roster_watches_it_checked_and_imports_it(
    page: Page,
    live_server: LiveServer,
    manager_maria: User,
    mercy: GoLive,
    four_west: Unit,
    orders_app: Application,
) -> None:
    page.goto(f"{live_server.url}/staffing/roster/import/")
    page.get_by_label("Username").fill(manager_maria.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Import the roster from a CSV file")).to_be_visible()

    page.get_by_label("Roster file (CSV)").set_input_files(
        files=[
            {"name": "wave1.csv", "mimeType": "text/csv", "buffer": csv_text(ANN, GAIL).encode()}
        ]
    )
    page.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_role("heading", name="Roster import: wave1.csv")).to_be_visible()
    # The result arrives by polling, in place: a marker set on this page survives until then.
    page.evaluate("window.stillTheSamePage = true")
    expect(page.get_by_test_id("import-summary")).to_contain_text(
        "Importing will add 2 people", timeout=TASK_TIMEOUT * 1000
    )
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_test_id("import-preview")).to_contain_text("gail@mercy.example")

    page.get_by_role("button", name="Import 2 rows").click()

    expect(page.get_by_test_id("import-summary")).to_contain_text(
        "2 people added", timeout=TASK_TIMEOUT * 1000
    )
    page.get_by_role("link", name="See the roster").click()
    expect(page.get_by_test_id("people")).to_contain_text("Ann Able")
    expect(page.get_by_test_id("people")).to_contain_text("Gail Good")


@pytest.mark.django_db(transaction=True)
def test_a_person_added_by_hand_while_the_import_runs_fails_it_and_nothing_is_imported(
    mercy: GoLive, four_west: Unit, orders_app: Application
) -> None:
    # A first batch of people is written before Ann's row is reached; it must be undone too.
    fillers = [f"P{n},p{n}@mercy.example,super_user,,,,,,,,,,," for n in range(roster.APPLY_BATCH)]
    upload = RosterImport.objects.create(
        go_live=mercy,
        filename="r.csv",
        content=csv_text(*fillers, ANN),
        status=RosterImport.Status.IMPORTING,
        total_rows=roster.APPLY_BATCH + 1,
    )
    # Someone saves Ann by hand in another transaction that the import cannot see yet.
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    other.set_autocommit(False)
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO staffing_supportperson (go_live_id, name, role, employer, vendor_name,"
            " phone, sms_number, email, max_hours_per_shift, max_hours_per_day,"
            " max_hours_per_week, is_active, notes, created_at, updated_at) VALUES"
            " (%s, 'Ann by hand', 'super_user', 'in_house', '', '', '', 'ANN@mercy.example',"
            " 12, 12, 60, true, '', now(), now())",
            [mercy.pk],
        )
    results: list[RosterImport | None] = []

    def apply() -> None:
        try:
            results.append(roster.apply_roster_import(import_id=upload.pk))
        finally:
            connection.close()

    worker_thread = threading.Thread(target=apply)
    worker_thread.start()
    try:
        # The import's insert of Ann waits on the other transaction's unique key...
        wait_until_a_query_waits_for_a_lock()
    finally:
        # ...which then commits: the database refuses the import's Ann.
        other.commit()
        other.close()
    worker_thread.join(TASK_TIMEOUT)

    assert results and results[0] is not None
    assert results[0].status == RosterImport.Status.FAILED
    assert "The database refused a row, so nothing was imported" in results[0].errors[0]["message"]
    assert list(SupportPerson.objects.values_list("name", flat=True)) == ["Ann by hand"]


def wait_until_a_query_waits_for_a_lock() -> None:
    deadline = time.monotonic() + TASK_TIMEOUT
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
    raise AssertionError("The import never waited for the other transaction.")
