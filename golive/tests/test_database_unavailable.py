"""A database that cannot be reached is a short 503 with Retry-After (JSON under /api/), never the
500 page; every other database error stays a 500. The outages are real: the connection is sent to
a port where nothing listens, or its server process is ended under it."""

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse

from conftest import closed_port
from golive.middleware import RETRY_AFTER_SECONDS
from golive.models import Unit
from issues.access import TABLET_COOKIE
from issues.models import Category, Impact, Issue, Urgency
from issues.tests import conftest as issue_cast
from issues.tests.test_tablets import enroll

# The issue cast's fixtures: Mercy's categories (`setup`) and the printing one.
setup = issue_cast.setup
printing = issue_cast.printing


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """The test's database connection sent to a port where no PostgreSQL listens, as when the
    server is down; back to the test database afterwards."""
    settings_dict = connection.settings_dict
    saved = {"HOST": settings_dict["HOST"], "PORT": settings_dict["PORT"]}
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        settings_dict.update(saved)


def assert_unavailable(response: HttpResponse) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    assert b"Traceback" not in response.content
    assert len(response.content) < 1000


@pytest.mark.django_db(transaction=True)
def test_a_tablet_submission_is_a_503_page_while_the_database_is_down_and_logged(
    four_west: Unit, manager_maria: User, printing: Category, caplog: pytest.LogCaptureFixture
) -> None:
    _tablet, secret = enroll(four_west, manager_maria)
    tablet = Client()
    tablet.cookies[TABLET_COOKIE] = secret
    form = {
        "client_key": str(uuid.uuid4()),
        "category": printing.pk,
        "impact": Impact.ONE_USER,
        "urgency": Urgency.WORKAROUND,
        "title": "Label printer prints blank labels",
        "reporter_name": "Kim Rivera",
        "reporter_callback": "x4411",
    }
    with caplog.at_level(logging.WARNING, logger="golive.middleware"), database_down():
        response = tablet.post(reverse("issues:new"), form)

    assert_unavailable(response)
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"Reload this page in a few seconds" in response.content
    assert "Database unavailable, answered 503 to POST /issues/new/" in caplog.text
    # The tablet sends the same form again once the database is back: one issue, however often.
    assert tablet.post(reverse("issues:new"), form).status_code == 302
    assert tablet.post(reverse("issues:new"), form).status_code == 302
    assert Issue.objects.filter(client_key=form["client_key"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_page_is_a_503_when_the_middleware_cannot_load_the_session(agent_alex: User) -> None:
    # The session is read before any view runs: Django has made its 500 response by the time the
    # middleware sees the error, and the middleware answers 503 instead.
    agent = Client(raise_request_exception=False)
    agent.force_login(agent_alex)
    with database_down():
        response = agent.get(reverse("issues:queue"))

    assert_unavailable(response)
    assert b"golive is back in a moment" in response.content


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_503_in_its_error_shape(
    agent_alex: User, api_for: Callable[[User], Client]
) -> None:
    api = api_for(agent_alex)
    with database_down():
        response = api.get("/api/v1/go-lives/")

    assert_unavailable(response)
    assert response.json() == {
        "error": {
            "status": 503,
            "code": "service_unavailable",
            "message": "The database cannot be reached right now. Send the request again in a "
            "few seconds (a POST with the same Idempotency-Key logs nothing twice).",
            "fields": {},
        }
    }


@pytest.mark.django_db(transaction=True)
def test_a_connection_ended_by_the_server_is_a_503(
    agent_alex: User, api_for: Callable[[User], Client]
) -> None:
    api = api_for(agent_alex)
    assert api.get("/api/v1/go-lives/").status_code == 200
    # As a restart of PostgreSQL does to every open connection.
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    finally:
        other.close()

    try:
        assert_unavailable(api.get("/api/v1/go-lives/"))
    finally:
        # Between requests, Django's health check would drop it; the test client skips that.
        connection.close()


# --- Database errors that are bugs or load, not an outage: the usual 500 -------------------------


def statement_timeout(request: HttpRequest) -> HttpResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")
    return HttpResponse("slept")


def missing_table(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    return HttpResponse("read")


def closed_cursor(request: HttpRequest) -> HttpResponse:
    cursor = connection.cursor()
    cursor.close()
    cursor.execute("SELECT 1")
    return HttpResponse("read")


urlpatterns = [
    path("statement-timeout/", statement_timeout),
    path("missing-table/", missing_table),
    path("closed-cursor/", closed_cursor),
]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("/statement-timeout/", "OperationalError"),
        ("/missing-table/", "ProgrammingError"),
        ("/closed-cursor/", "InterfaceError"),
    ],
)
def test_other_database_errors_stay_500s_and_are_logged_as_such(
    db: None, url: str, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = Client(raise_request_exception=False).get(url)

    assert response.status_code == 500
    assert "Retry-After" not in response
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None
    assert record.exc_info[0].__name__ == error
