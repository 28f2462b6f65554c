"""Webhooks: each event written once per subscribed endpoint, signed deliveries checked by a real
local receiver, failures logged and retried, endpoints disabled after repeated failures, URLs
that point at forbidden addresses refused at save and at send time, and a delivery through a
real Celery worker.

The receiver (golive/tests/conftest.py) is an http.server on 127.0.0.1 (a random port): it
recomputes each delivery's signature with the endpoint's secret, refuses a stale timestamp, and
answers as it is told.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from conftest import TASK_TIMEOUT, Finished, closed_port
from golive import webhooks
from golive.celery import app
from golive.models import GoLive, Notification, Unit, WebhookDelivery, WebhookEndpoint
from golive.models import WebhookEvent as E
from golive.outbox import deliver_due_notifications, deliver_notification
from golive.tests.conftest import Receiver
from issues.escalation import escalate_due_issues
from issues.models import Issue
from issues.services import change_status, create_issue, link_issue, set_priority, webhook_data
from issues.tests.conftest import LogIssue, desk, log_issue, printing, setup
from staffing.models import Assignment, Shift, SupportPerson
from staffing.services import assign_person, cancel_assignment, set_assignment_status
from staffing.tests.conftest import local, make_person, make_shift, now

__all__ = ["desk", "log_issue", "make_person", "make_shift", "now", "printing", "setup"]

H = dt.timedelta(hours=1)


def endpoint_for(
    go_live: GoLive, url: str, events: list[str] | None = None, **fields: object
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        go_live=go_live, url=url, events=events or list(E.values), **fields
    )


@pytest.fixture
def hook(mercy: GoLive, receiver: Receiver) -> WebhookEndpoint:
    endpoint = endpoint_for(mercy, receiver.url, description="Mercy ServiceNow")
    receiver.secret = endpoint.secret
    return endpoint


def emit_one(go_live: GoLive, key: str = "42:v2") -> Notification:
    [pk] = webhooks.emit(
        go_live_id=go_live.pk,
        event=E.ISSUE_PRIORITY_CHANGED,
        key=key,
        data={"id": 42, "code": "GL-1042", "title": "Labels print blank · 4 West"},
    )
    return Notification.objects.get(pk=pk)


def log_of(endpoint: WebhookEndpoint) -> list[tuple[int | None, str]]:
    return [
        (delivery.status_code, delivery.error)
        for delivery in endpoint.deliveries.order_by("attempted_at", "pk")
    ]


# --- Which endpoints each event reaches ---------------------------------------------------------


@pytest.fixture
def endpoints(mercy: GoLive, lakeside: GoLive) -> dict[str, WebhookEndpoint]:
    return {
        "all": endpoint_for(mercy, "https://hooks.example.org/all"),
        "gaps": endpoint_for(mercy, "https://hooks.example.org/gaps", [E.SHIFT_GAP_OPENED]),
        "disabled": endpoint_for(
            mercy,
            "https://hooks.example.org/off",
            is_active=False,
            disabled_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        ),
        "lakeside": endpoint_for(lakeside, "https://hooks.example.org/lakeside"),
    }


def reached(event: str) -> list[int]:
    """The endpoints a webhook row of `event` was written for."""
    return sorted(
        Notification.objects.filter(
            channel=Notification.Channel.WEBHOOK, subject=event
        ).values_list("webhook_endpoint_id", flat=True)
    )


def test_each_issue_event_reaches_the_subscribed_active_endpoints_of_its_go_live_once(
    now: dt.datetime,
    endpoints: dict[str, WebhookEndpoint],
    log_issue: LogIssue,
    desk: object,
    agent_alex: User,
) -> None:
    issue = log_issue()
    # The P3 path's first level: the response target missed, the help desk told.
    escalate_due_issues(now=now + 2 * H)
    set_priority(issue=issue, priority="P2", actor=agent_alex)
    change_status(issue=issue, to="resolved", actor=agent_alex, resolution="New toner.")

    only_all = [endpoints["all"].pk]
    assert reached(E.ISSUE_CREATED) == only_all
    assert reached(E.ISSUE_PRIORITY_CHANGED) == only_all
    assert reached(E.ISSUE_ESCALATED) == only_all
    assert reached(E.ISSUE_RESOLVED) == only_all
    keys = set(
        Notification.objects.filter(channel=Notification.Channel.WEBHOOK).values_list(
            "dedupe_key", flat=True
        )
    )
    hook = endpoints["all"].pk
    assert keys == {
        f"webhook:{hook}:issue.created:{issue.pk}:v1",
        f"webhook:{hook}:issue.priority_changed:{issue.pk}:v2",
        f"webhook:{hook}:issue.escalated:{issue.pk}:r1:l1",
        f"webhook:{hook}:issue.resolved:{issue.pk}:v3",
    }
    resolved = Notification.objects.get(subject=E.ISSUE_RESOLVED)
    payload = json.loads(resolved.body)
    assert payload["data"]["status"] == "resolved"
    assert payload["data"]["resolution"] == "New toner."


def test_the_new_issue_payload_written_by_the_intake_statement_is_the_one_python_gives(
    now: dt.datetime, endpoints: dict[str, WebhookEndpoint], log_issue: LogIssue
) -> None:
    issue = log_issue(title='Labels "blank" · 4 West')
    row = Notification.objects.get(subject=E.ISSUE_CREATED)
    stored = Issue.objects.select_related("unit__site").get(pk=issue.pk)
    assert json.loads(row.body) == {
        "event": "issue.created",
        "id": f"issue.created:{issue.pk}:v1",
        "occurred_at": "2026-11-03T12:00:00Z",
        "go_live_id": issue.go_live_id,
        "data": webhook_data(stored),
    }
    assert row.status == Notification.Status.PENDING
    assert row.recipient_label == "https://hooks.example.org/all"


def test_a_replayed_intake_writes_no_second_delivery(
    now: dt.datetime, endpoints: dict[str, WebhookEndpoint], four_west: Unit, printing: object
) -> None:
    def submit() -> tuple[Issue, bool]:
        return create_issue(
            go_live=four_west.site.go_live,
            unit=four_west,
            category_id=printing.pk,  # type: ignore[attr-defined]
            title="Labels print blank",
            impact="several",
            urgency="workaround",
            client_key="tablet-7:abc",
        )

    first, created = submit()
    again, created_again = submit()
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert reached(E.ISSUE_CREATED) == [endpoints["all"].pk]


def test_children_resolved_with_their_parent_are_each_an_event(
    now: dt.datetime, endpoints: dict[str, WebhookEndpoint], log_issue: LogIssue, agent_alex: User
) -> None:
    parent = log_issue(title="Printers down on 4 West")
    child = log_issue(title="Wristbands do not print")
    link_issue(issue=child, parent=parent, kind=Issue.Link.DUPLICATE, actor=agent_alex)

    change_status(issue=parent, to="resolved", actor=agent_alex, resolution="Print server up.")

    payloads = [
        json.loads(body)
        for body in Notification.objects.filter(subject=E.ISSUE_RESOLVED).values_list(
            "body", flat=True
        )
    ]
    assert sorted(p["data"]["code"] for p in payloads) == sorted([parent.code, child.code])


@pytest.fixture
def ana(make_person: Callable[..., SupportPerson]) -> SupportPerson:
    return make_person("Ana Atelbow")


@pytest.fixture
def ben(make_person: Callable[..., SupportPerson]) -> SupportPerson:
    return make_person("Ben Builder")


def test_a_cancellation_that_leaves_a_shift_short_opens_a_gap(
    now: dt.datetime,
    endpoints: dict[str, WebhookEndpoint],
    make_shift: Callable[..., Shift],
    ana: SupportPerson,
    ben: SupportPerson,
    manager_maria: User,
) -> None:
    shift = make_shift(local(4, 7), local(4, 19), needed=2, label="Day")
    first = assign_person(shift=shift, person=ana, actor=manager_maria)
    assign_person(shift=shift, person=ben, actor=manager_maria)

    cancel_assignment(assignment=first, actor=manager_maria, reason="Sick")

    assert reached(E.SHIFT_GAP_OPENED) == sorted([endpoints["all"].pk, endpoints["gaps"].pk])
    payload = json.loads(Notification.objects.filter(subject=E.SHIFT_GAP_OPENED)[0].body)
    assert payload["id"] == f"shift.gap_opened:{shift.pk}:a{first.pk}"
    data = payload["data"]
    assert (data["needed"], data["filled"], data["open"], data["reason"]) == (2, 1, 1, "cancelled")
    assert data["starts_at"] == "2026-11-04T13:00:00Z"
    assert data["unit"]["name"] == "4 West Med/Surg"


def test_a_no_show_opens_a_gap_and_a_swap_does_not(
    now: dt.datetime,
    endpoints: dict[str, WebhookEndpoint],
    make_shift: Callable[..., Shift],
    ana: SupportPerson,
    ben: SupportPerson,
    manager_maria: User,
) -> None:
    started = make_shift(local(3, 5), local(3, 17))
    assignment = assign_person(shift=started, person=ana, actor=manager_maria)
    later = make_shift(local(5, 7), local(5, 19))
    swapped = assign_person(shift=later, person=ben, actor=manager_maria)

    set_assignment_status(
        assignment=assignment, status=Assignment.Status.NO_SHOW, actor=manager_maria
    )
    # A swap hands the place over in one transaction: it never stands open.
    with transaction.atomic():
        cancel_assignment(assignment=swapped, actor=manager_maria, replacement_follows=True)
        assign_person(shift=later, person=ana, actor=manager_maria)

    gaps = Notification.objects.filter(subject=E.SHIFT_GAP_OPENED)
    assert {json.loads(row.body)["data"]["id"] for row in gaps} == {started.pk}
    assert json.loads(gaps[0].body)["data"]["reason"] == "no_show"


# --- Delivering ---------------------------------------------------------------------------------


def test_a_delivery_is_signed_and_the_receiver_verifies_it(
    hook: WebhookEndpoint, receiver: Receiver, mercy: GoLive
) -> None:
    notification = emit_one(mercy)

    assert deliver_notification(notification_id=notification.pk) is True

    [request] = receiver.received
    assert request.signature_ok and request.fresh
    assert request.path == "/hooks/golive?from=mercy"
    assert request.body == notification.body.encode()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Golive-Event"] == "issue.priority_changed"
    assert request.headers["X-Golive-Delivery"] == str(notification.pk)
    payload = json.loads(request.body)
    assert payload["id"] == "issue.priority_changed:42:v2"
    assert payload["data"]["title"] == "Labels print blank · 4 West"
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    [attempt] = hook.deliveries.all()
    assert (attempt.status_code, attempt.error, attempt.event) == (
        200,
        "",
        "issue.priority_changed",
    )
    assert attempt.notification_id == notification.pk


def test_a_rotated_secret_signs_the_next_attempt(
    hook: WebhookEndpoint, receiver: Receiver, mercy: GoLive
) -> None:
    notification = emit_one(mercy)
    old = hook.secret
    webhooks.rotate_secret(endpoint=hook)
    assert hook.secret != old

    # The receiver still holds the old secret: the signature fails its check.
    assert deliver_notification(notification_id=notification.pk) is False
    assert receiver.received[-1].signature_ok is False
    assert log_of(hook)[-1][0] == 401


def test_a_failure_is_logged_with_its_status_and_retried_later(
    hook: WebhookEndpoint,
    receiver: Receiver,
    mercy: GoLive,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC), tick=False)
    receiver.answers = [500]
    notification = emit_one(mercy)

    assert deliver_notification(notification_id=notification.pk) is False
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.last_error == "DeliveryFailed: HTTP 500: receiver is having a bad day"
    assert log_of(hook) == [(500, "HTTP 500: receiver is having a bad day")]
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1

    # Not due yet: the outbox's backoff waits 30 s after a first failure.
    assert deliver_due_notifications() == 0
    time_machine.shift(31)
    assert deliver_due_notifications() == 1

    assert [request.signature_ok for request in receiver.received] == [True, True]
    assert log_of(hook)[-1] == (200, "")
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_an_unreachable_receiver_is_a_failed_attempt_with_the_network_error(
    mercy: GoLive, settings: Settings
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = endpoint_for(mercy, f"http://127.0.0.1:{closed_port()}/hook")
    notification = emit_one(mercy)

    assert deliver_notification(notification_id=notification.pk) is False

    [(status, error)] = log_of(endpoint)
    assert status is None
    assert error.startswith("ConnectionRefusedError")
    assert endpoint.deliveries.get().duration_ms >= 0


def test_after_repeated_failures_the_endpoint_is_disabled_and_the_leads_told_once(
    hook: WebhookEndpoint,
    receiver: Receiver,
    mercy: GoLive,
    lead_lena: User,
    agent_alex: User,
    settings: Settings,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    time_machine.move_to(dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC), tick=False)
    receiver.answers = [503] * 10
    first = emit_one(mercy, key="42:v2")
    waiting = emit_one(mercy, key="42:v3")

    deliver_notification(notification_id=first.pk)
    deliver_notification(notification_id=waiting.pk)
    time_machine.shift(31)
    # The third failure in a row (whichever row it is) disables the endpoint.
    assert deliver_due_notifications() == 0

    hook.refresh_from_db()
    assert not hook.is_active
    assert hook.disabled_at is not None
    assert hook.disabled_reason.startswith("3 deliveries in a row failed; the last: HTTP 503")
    assert len(log_of(hook)) == 3
    assert set(
        Notification.objects.filter(webhook_endpoint=hook).values_list("status", flat=True)
    ) == {Notification.Status.FAILED}
    # Nothing more goes out, however long one waits.
    time_machine.shift(3600)
    assert deliver_due_notifications() == 0
    assert len(receiver.received) == 3

    [notice] = Notification.objects.filter(
        channel=Notification.Channel.IN_APP, dedupe_key__startswith="webhook_disabled:"
    )
    assert notice.recipient_user == lead_lena
    assert notice.subject == "Webhook disabled: Mercy ServiceNow"
    assert "enable the endpoint again" in notice.body
    assert notice.link == reverse("golive:webhook_deliveries", args=[hook.pk])

    # Enabled again by a lead: counted from zero, new events go out.
    assert webhooks.enable_endpoint(endpoint=hook) is True
    hook.refresh_from_db()
    assert (hook.is_active, hook.consecutive_failures, hook.disabled_at) == (True, 0, None)
    fresh = emit_one(mercy, key="42:v4")
    receiver.answers = []
    assert deliver_notification(notification_id=fresh.pk) is True


# --- Forbidden addresses ------------------------------------------------------------------------


@pytest.fixture
def strict(settings: Settings) -> None:
    """As in production: only public addresses."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.usefixtures("strict")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Webhooks are sent over HTTP only, and this URL has file://"),
        ("ftp://files.example.org/in", "Webhooks are sent over HTTP only, and this URL has ftp://"),
        (
            "hooks.example.org/golive",
            "Webhooks are sent over HTTP only, and this URL has no scheme",
        ),
        ("http://127.0.0.1:8000/hook", "this server itself (loopback)"),
        ("http://10.0.0.1/hook", "a private network address"),
        ("http://192.168.1.20/hook", "a private network address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[::1]/hook", "this server itself (loopback)"),
        ("http://[::ffff:127.0.0.1]/hook", "this server itself (loopback)"),
        ("http://0.0.0.0/hook", "an address no server can be reached at"),
        ("http://224.0.0.1/hook", "an address no server can be reached at"),
        ("http://100.64.0.1/hook", "a private network address"),
        ("http://localhost/hook", "this server itself (loopback)"),
        ("http://2130706433/hook", "this server itself (loopback)"),
        ("https://user:secret@93.184.216.34/hook", "Leave the user name and password out"),
    ],
)
def test_a_forbidden_url_is_refused_at_save_and_nothing_is_written(
    client_for: Callable[[User], Client], lead_lena: User, mercy: GoLive, url: str, message: str
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:webhook_create", args=[mercy.pk]),
        {"url": url, "description": "Metadata", "events": [E.ISSUE_CREATED]},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.usefixtures("strict")
def test_a_public_address_is_accepted(mercy: GoLive) -> None:
    stored, target = webhooks.check_url("  https://93.184.216.34:8443/in?x=1#frag ")
    assert stored == "https://93.184.216.34:8443/in?x=1"
    assert (target.address, target.port, target.path) == ("93.184.216.34", 8443, "/in?x=1")


def test_an_address_that_became_forbidden_is_refused_at_send_time(
    hook: WebhookEndpoint, receiver: Receiver, mercy: GoLive, settings: Settings
) -> None:
    notification = emit_one(mercy)
    # Saved when allowed; by the time it is sent, the address is one the server may not call
    # (as when a public name is pointed at a private address after the check).
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    assert deliver_notification(notification_id=notification.pk) is False

    assert receiver.received == []
    [(status, error)] = log_of(hook)
    assert status is None
    assert error.startswith("Refused before sending: “127.0.0.1” points at 127.0.0.1, this server")
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING


# --- Through a real worker ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_is_delivered_to_the_receiver_by_a_worker(
    mercy: GoLive, receiver: Receiver, finished_tasks: Finished
) -> None:
    endpoint = endpoint_for(mercy, receiver.url, [E.ISSUE_PRIORITY_CHANGED])
    receiver.secret = endpoint.secret
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        with transaction.atomic():
            notification = emit_one(mercy)

        assert finished_tasks.get(timeout=TASK_TIMEOUT) == ("golive.tasks.deliver_notifications", 1)

    [request] = receiver.received
    assert request.signature_ok and request.fresh
    assert request.headers["X-Golive-Delivery"] == str(notification.pk)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert WebhookDelivery.objects.get().status_code == 200
