"""The named cast every test can call on, and the browser set-up.

Mercy Health goes live at Mercy General (ED, 4 West, pharmacy) and Northside Clinic (front desk).
lead_lena runs the command center, manager_maria manages Mercy General, agent_alex works the
help desk, super_sam is a super user, nurse_nina works 4 West. outsider_oscar leads another
go-live (Lakeside) and must never see Mercy's data.
"""

import datetime as dt
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator

import kombu.pools
import pytest
from celery import Celery
from celery.signals import task_postrun
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from pytest_django import Settings

from golive.celery import app
from golive.models import Application, Contact, EscalationTier, GoLive, Membership, Role, Site, Unit
from golive.services import create_api_token

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by browser tests
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"
CUTOVER = dt.datetime(2026, 11, 1, 11, 0, tzinfo=dt.UTC)  # 05:00 in Chicago


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    # Every cast member hashes a password; the production hasher spends ~0.3 s on each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mercy(db: None) -> GoLive:
    return GoLive.objects.create(
        name="Mercy Health Wave 1",
        organization="Mercy Health",
        cutover_at=CUTOVER,
        support_ends_at=CUTOVER + dt.timedelta(days=28),
        time_zone="America/Chicago",
        phase=GoLive.Phase.LIVE,
        command_center_phone="312-555-0100",
        command_center_location="Mercy General, room B104",
    )


@pytest.fixture
def mercy_general(mercy: GoLive) -> Site:
    return Site.objects.create(
        go_live=mercy, name="Mercy General", code="MG", kind=Site.Kind.HOSPITAL, city="Chicago"
    )


@pytest.fixture
def northside(mercy: GoLive) -> Site:
    return Site.objects.create(
        go_live=mercy, name="Northside Clinic", code="NS", kind=Site.Kind.CLINIC, city="Evanston"
    )


@pytest.fixture
def ed(mercy_general: Site) -> Unit:
    return Unit.objects.create(
        site=mercy_general,
        name="Emergency Department",
        kind=Unit.Kind.INPATIENT,
        end_user_count=120,
    )


@pytest.fixture
def four_west(mercy_general: Site) -> Unit:
    return Unit.objects.create(
        site=mercy_general, name="4 West Med/Surg", kind=Unit.Kind.INPATIENT, end_user_count=60
    )


@pytest.fixture
def front_desk(northside: Site) -> Unit:
    return Unit.objects.create(
        site=northside, name="Front Desk", kind=Unit.Kind.AMBULATORY, end_user_count=12
    )


@pytest.fixture
def orders_app(mercy: GoLive) -> Application:
    return Application.objects.create(go_live=mercy, name="Orders")


@pytest.fixture
def tiers(mercy: GoLive) -> dict[str, EscalationTier]:
    return {
        "floor": EscalationTier.objects.create(go_live=mercy, level=1, name="Floor support"),
        "command": EscalationTier.objects.create(go_live=mercy, level=2, name="Command center"),
        "leadership": EscalationTier.objects.create(
            go_live=mercy, level=9, name="Leadership line", is_leadership=True
        ),
    }


@pytest.fixture
def help_desk_contact(mercy: GoLive, tiers: dict[str, EscalationTier]) -> Contact:
    return Contact.objects.create(
        go_live=mercy,
        tier=tiers["floor"],
        name="Mercy help desk",
        kind=Contact.Kind.TEAM,
        phone="312-555-0111",
        email="helpdesk@mercy.example",
    )


def _member(username: str, go_live: GoLive, role: Role, *, staff: bool = False) -> User:
    first, _, last = username.partition("_")
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        email=f"{username}@example.org",
        first_name=last.title(),
        last_name=first.title(),
        is_staff=staff,
    )
    Membership.objects.create(user=user, go_live=go_live, role=role)
    return user


@pytest.fixture
def lead_lena(mercy: GoLive) -> User:
    return _member("lead_lena", mercy, Role.COMMAND_CENTER_LEAD)


@pytest.fixture
def manager_maria(mercy: GoLive, mercy_general: Site) -> User:
    user = _member("manager_maria", mercy, Role.CLINIC_MANAGER)
    user.memberships.get().sites.add(mercy_general)
    return user


@pytest.fixture
def agent_alex(mercy: GoLive) -> User:
    return _member("agent_alex", mercy, Role.HELP_DESK_AGENT)


@pytest.fixture
def super_sam(mercy: GoLive) -> User:
    return _member("super_sam", mercy, Role.SUPPORT_STAFF)


@pytest.fixture
def nurse_nina(mercy: GoLive, four_west: Unit) -> User:
    user = _member("nurse_nina", mercy, Role.FLOOR_STAFF)
    user.memberships.get().units.add(four_west)
    return user


@pytest.fixture
def lakeside(db: None) -> GoLive:
    return GoLive.objects.create(
        name="Lakeside Go-Live",
        organization="Lakeside Health",
        cutover_at=CUTOVER,
        support_ends_at=CUTOVER + dt.timedelta(days=14),
        time_zone="America/New_York",
    )


@pytest.fixture
def outsider_oscar(lakeside: GoLive) -> User:
    return _member("outsider_oscar", lakeside, Role.COMMAND_CENTER_LEAD)


@pytest.fixture
def client_for(client: Client) -> Callable[[User], Client]:
    """`client_for(user)`: the test client signed in as that user."""

    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def api_for(db: None) -> Callable[[User], Client]:
    """`api_for(user)`: a client that calls the REST API with a fresh token of that user."""

    def with_token(user: User) -> Client:
        _token, key = create_api_token(user=user, name="tests", created_by=user, expires_at=None)
        return Client(headers={"Authorization": f"Bearer {key}"})

    return with_token


# --- Races: the same work started at once in several threads ----------------------------------


def at_once(work: Callable[[], object], times: int = 2) -> list[object]:
    """Run `work` in `times` threads released together by a barrier, each on its own database
    connection (closed when it ends); what each returned or raised, in the order they finished.
    The test must use `django_db(transaction=True)`: the threads see only committed rows."""
    barrier = threading.Barrier(times, timeout=10)
    results: list[object] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # the test's assertion reports it
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# --- Celery: tasks through a real worker, and a broker that cannot be reached ---------------------

TASK_TIMEOUT = 20
Finished = queue.Queue[tuple[str, object]]


@pytest.fixture
def finished_tasks() -> Iterator[Finished]:
    """(task name, return value) of each task an embedded worker finishes, in order."""
    finished: Finished = queue.Queue()

    def record(sender: object, retval: object, **kwargs: object) -> None:
        # The worker thread's own database connection: closed here so none outlives the test.
        connection.close()
        finished.put((sender.name, retval))  # type: ignore[attr-defined]

    task_postrun.connect(record, weak=False)
    try:
        yield finished
    finally:
        task_postrun.disconnect(record)


def closed_port() -> int:
    """A local TCP port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_broker_pools(celery_app: Celery) -> None:
    """Close every pooled broker connection so the next publish uses the current broker_url.

    kombu keeps its pools in a process-wide registry and Celery caches them on private attributes;
    forking workers drop them the same way (Celery._after_fork).
    """
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down() -> Iterator[None]:
    """The Celery app pointed at a port where no Redis listens."""
    broker_url = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    reset_broker_pools(app)
    try:
        yield
    finally:
        app.conf.broker_url = broker_url
        reset_broker_pools(app)


# --- Browser tests (Playwright driving Debian's Chromium; never `playwright install`) ------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, object]:
    """An iPad-sized touch screen: the floor's device and the narrowest page we promise."""
    return {"viewport": {"width": 820, "height": 1180}, "has_touch": True, "is_mobile": False}
