"""The command center's dashboard, against a small go-live worked out by hand: every figure on
the page, who may open it, its filters, and its cost as the go-live grows.

Mercy's cutover is Sunday 1 November 2026, 11:00 UTC (05:00 in Chicago). The story, in UTC:

    10:30  A logged on 4 West, P3 (a rehearsal, before the cutover)
    11:05  B logged on 4 West, P1           11:12 B acknowledged
    11:20  A resolved
    11:40  C logged in the ED, P2, Orders, login
    11:50  the shifts are planned and staffed: four emails to the four people, which wait
           (no worker runs here)
    12:05  Pat checks in on 4 West
    12:10  B resolved
    12:15  D logged at the Front Desk, patient safety (P1), login; nobody answers
    12:30  C taken in progress (20 minutes past its response target)
    13:50  E logged in the ED, P4, Orders
    14:05  Ray checks in in the ED
    14:20  F logged on 4 West, P3      14:30 F acknowledged      14:50 F resolved
    15:10  Kim is marked a no-show at the Front Desk
    15:30  the dashboard is read
"""

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import Application, GoLive, Notification, Site, Unit
from issues.dashboard import Hour, Ranked, Scope, dashboard
from issues.models import Category, Impact, Issue, Urgency
from issues.services import change_status
from issues.tests.conftest import LogIssue
from staffing.models import Assignment, Shift, SupportPerson, SupportRole
from staffing.services import assign_person, check_in, set_assignment_status

DASHBOARD = reverse("issues:dashboard")
READ_AT = dt.datetime(2026, 11, 1, 15, 30, tzinfo=dt.UTC)
# Session, user and memberships (3), the filter's sites and units (2), the open issues, the
# memory for the next two, the grouped pass, percentiles, the names of three top lists, the
# sites' end users, the outbox (9), the transaction around the memory setting (2: a savepoint
# and its release inside the test's own transaction), staffing (3).
DASHBOARD_BUDGET = 19


def utc(hour: int, minute: int = 0, day: int = 1) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


class Story:
    """The go-live of the module's docstring, told in order."""

    def __init__(
        self,
        time_machine: time_machine.TimeMachineFixture,
        log_issue: LogIssue,
        mercy: GoLive,
        four_west: Unit,
        ed: Unit,
        front_desk: Unit,
        login_access: Category,
        orders_app: Application,
    ) -> None:
        self.clock = time_machine
        at = self.at
        at(10, 30)
        self.a = log_issue(unit=four_west)
        at(11, 5)
        self.b = log_issue(unit=four_west, impact=Impact.UNIT, urgency=Urgency.BLOCKED)
        at(11, 12)
        self.move(self.b, Issue.Status.ACKNOWLEDGED)
        at(11, 20)
        self.move(self.a, Issue.Status.RESOLVED)
        at(11, 40)
        self.c = log_issue(
            unit=ed, category=login_access, application=orders_app, impact=Impact.UNIT
        )
        at(11, 50)
        self.plan(mercy, four_west, ed, front_desk)
        at(12, 5)
        check_in(assignment=self.pat_on_4w, actor=None)
        at(12, 10)
        self.move(self.b, Issue.Status.RESOLVED)
        at(12, 15)
        self.d = log_issue(
            unit=front_desk,
            category=login_access,
            impact=Impact.ONE_USER,
            urgency=Urgency.BLOCKED,
            patient_safety=True,
        )
        at(12, 30)
        self.move(self.c, Issue.Status.IN_PROGRESS)
        at(13, 50)
        self.e = log_issue(
            unit=ed, application=orders_app, impact=Impact.ONE_USER, urgency=Urgency.QUESTION
        )
        at(14, 5)
        check_in(assignment=self.ray_in_ed, actor=None)
        at(14, 20)
        self.f = log_issue(unit=four_west)
        at(14, 30)
        self.move(self.f, Issue.Status.ACKNOWLEDGED)
        at(14, 50)
        self.move(self.f, Issue.Status.RESOLVED)
        at(15, 10)
        set_assignment_status(
            assignment=self.kim_at_desk, status=Assignment.Status.NO_SHOW, actor=None
        )
        at(15, 30)

    def at(self, hour: int, minute: int) -> None:
        self.clock.move_to(utc(hour, minute), tick=False)

    def move(self, issue: Issue, to: str) -> None:
        issue.refresh_from_db()
        change_status(issue=issue, to=to, actor=None, resolution="Fixed at the elbow.")

    def plan(self, mercy: GoLive, four_west: Unit, ed: Unit, front_desk: Unit) -> None:
        def shift(unit: Unit, start: dt.datetime, hours: int, needed: int) -> Shift:
            return Shift.objects.create(
                go_live=mercy,
                unit=unit,
                role=SupportRole.SUPER_USER,
                start=start,
                end=start + dt.timedelta(hours=hours),
                needed=needed,
            )

        def person(name: str) -> SupportPerson:
            return SupportPerson.objects.create(
                go_live=mercy,
                name=name,
                role=SupportRole.SUPER_USER,
                email=f"{name.lower()}@mercy.example",
            )

        day_4w = shift(four_west, utc(12), 8, needed=2)
        self.day_ed = shift(ed, utc(14), 8, needed=3)
        self.night_ed = shift(ed, utc(22), 8, needed=2)
        self.evening_desk = shift(front_desk, utc(15), 8, needed=1)
        shift(four_west, utc(4, day=2), 8, needed=1)  # beyond the next 12 hours
        self.pat_on_4w = assign_person(shift=day_4w, person=person("Pat"), actor=None)
        self.lee_on_4w = assign_person(shift=day_4w, person=person("Lee"), actor=None)
        self.ray_in_ed = assign_person(shift=self.day_ed, person=person("Ray"), actor=None)
        self.kim_at_desk = assign_person(shift=self.evening_desk, person=person("Kim"), actor=None)


@pytest.fixture(name="story")
def story_fixture(
    time_machine: time_machine.TimeMachineFixture,
    log_issue: LogIssue,
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
    login_access: Category,
    orders_app: Application,
) -> Story:
    return Story(
        time_machine, log_issue, mercy, four_west, ed, front_desk, login_access, orders_app
    )


@pytest.fixture
def outbox(story: Story, mercy: GoLive) -> None:
    """Two more messages waiting (since 15:00 and 15:20), one failed, one sent."""
    for n, (status, created) in enumerate(
        [("pending", utc(15)), ("sending", utc(15, 20)), ("failed", utc(14)), ("sent", utc(13))]
    ):
        Notification.objects.create(
            go_live=mercy,
            channel=Notification.Channel.EMAIL,
            subject="Test",
            recipient_address="desk@mercy.example",
            dedupe_key=f"dashboard-test:{n}",
            status=status,
            created_at=created,
            next_attempt_at=created,
        )


def minutes(*values: int) -> list[dt.timedelta]:
    return [dt.timedelta(minutes=value) for value in values]


# --- The figures ----------------------------------------------------------------------------------


def test_every_figure_of_the_go_live_as_worked_out_by_hand(
    story: Story, outbox: None, mercy: GoLive
) -> None:
    d = dashboard(scope=Scope(go_live=mercy), now=READ_AT)
    assert d.open_by_priority == {"P1": 1, "P2": 1, "P3": 0, "P4": 1}  # D, C, E
    assert d.open_total == 3
    assert d.overdue == 1  # D: nobody answered by 12:30
    assert d.patient_safety == 1  # D
    assert d.created_total == 6
    # First response: A, B, C, F answered and D's target passed; C (12:30 for 12:10) and D missed.
    assert (d.response.met, d.response.due, d.response.percent) == (3, 5, 60)
    # Resolution: A, B and F resolved in time; C, D and E still have time.
    assert (d.resolution.met, d.resolution.due, d.resolution.percent) == (3, 3, 100)
    times = {row.priority: row for row in d.times}
    assert (times["P1"].acknowledged, times["P1"].acknowledge_p50, times["P1"].acknowledge_p90) == (
        1,
        *minutes(7, 7),
    )
    assert (times["P1"].resolved, times["P1"].resolve_p50, times["P1"].resolve_p90) == (
        1,
        *minutes(65, 65),
    )
    assert (times["P2"].acknowledged, times["P2"].acknowledge_p50) == (1, dt.timedelta(minutes=50))
    assert (times["P2"].resolved, times["P2"].resolve_p50, times["P2"].resolve_p90) == (
        0,
        None,
        None,
    )
    # P3: acknowledged after 50 (A) and 10 (F) minutes; resolved after 50 and 30.
    assert (times["P3"].acknowledge_p50, times["P3"].acknowledge_p90) == tuple(minutes(30, 46))
    assert (times["P3"].resolve_p50, times["P3"].resolve_p90) == tuple(minutes(40, 48))
    assert (times["P4"].acknowledged, times["P4"].acknowledge_p50, times["P4"].resolved) == (
        0,
        None,
        0,
    )
    chicago = mercy.tzinfo
    assert d.hours == [
        # A was open before the cutover: the backlog starts at one.
        Hour(start=utc(11).astimezone(chicago), created=2, resolved=1, backlog=2),
        Hour(start=utc(12).astimezone(chicago), created=1, resolved=1, backlog=2),
        Hour(start=utc(13).astimezone(chicago), created=1, resolved=0, backlog=3),
        Hour(start=utc(14).astimezone(chicago), created=1, resolved=1, backlog=3),
        Hour(start=utc(15).astimezone(chicago), created=0, resolved=0, backlog=3),
    ]
    assert d.hours[0].start.hour == 5  # shown on Chicago's clock
    assert d.top_categories == [Ranked("Printing / labels", 4), Ranked("Login / access", 2)]
    assert d.top_applications == [Ranked("Orders", 2)]
    assert d.top_units == [
        Ranked("4 West Med/Surg", 3),
        Ranked("Emergency Department", 2),
        Ranked("Front Desk", 1),
    ]
    # Mercy General: 5 issues for 180 end users (4 West 60, ED 120); Northside: 1 for 12.
    assert [(s.site.name, s.issues, s.end_users) for s in d.sites] == [
        ("Mercy General", 5, 180),
        ("Northside Clinic", 1, 12),
    ]
    assert [round(s.per_100_users or 0, 2) for s in d.sites] == [2.78, 8.33]
    # The four shift emails of 11:50 and the two of the `outbox` fixture wait; one failed.
    assert (d.outbox.pending, d.outbox.failed, d.outbox.oldest_pending) == (6, 1, utc(11, 50))
    staffing = d.staffing
    # Under way: 4 West 2 of 2 (Pat in, Lee late), ED 1 of 3, Front Desk 0 of 1 (Kim no-show).
    assert (staffing.now.filled, staffing.now.needed, staffing.now.percent) == (3, 6, 50)
    # And the ED's night: 2 more places, none filled.
    assert (staffing.ahead.filled, staffing.ahead.needed, staffing.ahead.percent) == (3, 8, 37)
    assert staffing.on_shift == 3  # Pat, Lee and Ray
    assert [(g.shift, g.missing) for g in staffing.gaps] == [
        (story.day_ed, 2),
        (story.evening_desk, 1),
        (story.night_ed, 2),
    ]
    assert [(a.assignment.person.name, a.no_show) for a in staffing.absent] == [
        ("Lee", False),
        ("Kim", True),
    ]


def test_a_site_or_a_unit_counts_only_its_own(
    story: Story, mercy: GoLive, ed: Unit, northside: Site
) -> None:
    at_ed = dashboard(scope=Scope(go_live=mercy, unit=ed), now=READ_AT)
    assert (at_ed.open_total, at_ed.created_total, at_ed.overdue) == (2, 2, 0)  # C and E
    assert at_ed.open_by_priority == {"P1": 0, "P2": 1, "P3": 0, "P4": 1}
    assert [(s.site.name, s.issues) for s in at_ed.sites] == [("Mercy General", 2)]
    assert (at_ed.staffing.now.filled, at_ed.staffing.now.needed) == (1, 3)
    assert (at_ed.staffing.ahead.filled, at_ed.staffing.ahead.needed) == (1, 5)
    assert at_ed.staffing.on_shift == 1
    assert [hour.created for hour in at_ed.hours] == [1, 0, 1, 0, 0]
    at_northside = dashboard(scope=Scope(go_live=mercy, site=northside), now=READ_AT)
    assert (at_northside.open_total, at_northside.patient_safety, at_northside.overdue) == (1, 1, 1)
    assert [(a.assignment.person.name, a.no_show) for a in at_northside.staffing.absent] == [
        ("Kim", True)
    ]


def test_before_the_cutover_there_are_no_hours_and_nothing_has_come_due(
    time_machine: time_machine.TimeMachineFixture, mercy: GoLive, log_issue: LogIssue
) -> None:
    time_machine.move_to(utc(9), tick=False)
    log_issue()
    d = dashboard(scope=Scope(go_live=mercy), now=utc(9, 30))
    assert d.hours == []
    assert (d.response.due, d.response.percent, d.resolution.percent) == (0, None, None)
    assert d.staffing.now.percent is None


@pytest.mark.parametrize("count", [1, 2, 3, 7, 10, 13])
def test_the_percentiles_read_from_the_indexes_are_postgresqls_own(
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
    log_issue: LogIssue,
    count: int,
) -> None:
    """Medians and 90th percentiles of uneven durations, for every scope, against
    percentile_cont over the same issues: the ranks read from either end of the index and the
    interpolation between them give the very same value."""
    units = [four_west, ed, front_desk]
    for n in range(count):
        issue = log_issue(unit=units[n % 3])
        Issue.objects.filter(pk=issue.pk).update(
            acknowledged_at=issue.created_at + dt.timedelta(minutes=7 * n * n % 61, seconds=n),
            resolved_at=(
                issue.created_at + dt.timedelta(hours=n % 5, minutes=13 * n % 59) if n % 4 else None
            ),
        )
    scopes = [
        Scope(go_live=mercy),
        Scope(go_live=mercy, site=four_west.site),
        Scope(go_live=mercy, unit=front_desk),
    ]
    for scope in scopes:
        times = {t.priority: t for t in dashboard(scope=scope, now=utc(23)).times}
        for measure in ("acknowledge", "resolve"):
            done = f"{measure}d_at"
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT count({done}), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP "
                    f"(ORDER BY {done} - created_at) FROM issues_issue WHERE priority = 'P3' "
                    f"AND {done} IS NOT NULL AND id = ANY(%s)",
                    [list(scope.issues().values_list("pk", flat=True))],
                )
                n, expected = cursor.fetchone()
            row = times["P3"]
            got = (getattr(row, f"{measure}_p50"), getattr(row, f"{measure}_p90"))
            assert getattr(row, f"{measure}d") == n
            assert got == (tuple(expected) if expected is not None else (None, None)), (
                scope,
                measure,
            )


# --- The page -------------------------------------------------------------------------------------


def shown(html: str, testid: str) -> str:
    """The text of the element marked `testid`, tags stripped and spaces squeezed."""
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:a|dd|ol|ul|table)>', html, re.S)
    assert match, testid
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_page_shows_each_figure_and_links_each_count_to_its_queue(
    story: Story, outbox: None, client_for: Callable[[User], Client], lead_lena: User
) -> None:
    response = client_for(lead_lena).get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html, "open-total") == "3"
    assert [shown(html, f"open-P{n}") for n in range(1, 5)] == ["P1 1", "P2 1", "P3 0", "P4 1"]
    assert shown(html, "overdue") == "1"
    assert shown(html, "patient-safety") == "1"
    assert shown(html, "sla-response") == "60% (3 of 5)"
    assert shown(html, "sla-resolution") == "100% (3 of 3)"
    queue = reverse("issues:queue")
    assert f'href="{queue}?overdue=1" data-testid="overdue"' in html
    assert f'href="{queue}?patient_safety=1" data-testid="patient-safety"' in html
    assert f'href="{queue}?priority=P1" data-testid="open-P1"' in html
    assert f'href="{queue}" data-testid="open-total"' in html
    times = shown(html, "times")
    assert "P1 1 7 min 7 min 1 1 h 5 min 1 h 5 min" in times
    assert "P2 1 50 min 50 min 0 – –" in times
    assert "P3 2 30 min 46 min 2 40 min 48 min" in times
    assert "P4 0 – – 0 – –" in times
    assert shown(html, "sites") == (
        "Site Issues End users Per 100 Mercy General 5 180 2.8 Northside Clinic 1 12 8.3"
    )
    assert shown(html, "top-categories") == "Printing / labels 4 Login / access 2"
    assert shown(html, "top-applications") == "Orders 2"
    assert shown(html, "top-units") == "4 West Med/Surg 3 Emergency Department 2 Front Desk 1"
    assert shown(html, "coverage-now") == "50% (3 of 6)"
    assert shown(html, "coverage-ahead") == "37% (3 of 8)"
    assert shown(html, "on-shift") == "3"
    assert shown(html, "gaps") == (
        "Emergency Department (Mercy General) · Super user · Sun 08:00–16:00: 2 missing (1 of 3) "
        "Front Desk (Northside Clinic) · Super user · Sun 09:00–17:00: 1 missing (0 of 1) "
        "Emergency Department (Mercy General) · Super user · Sun 16:00–00:00: 2 missing (0 of 2)"
    )
    assert shown(html, "absent") == (
        "Lee · 4 West Med/Surg, from 06:00: late, not checked in "
        "Kim · Front Desk, from 09:00: no-show"
    )
    assert shown(html, "outbox-pending") == "6"
    assert shown(html, "outbox-failed") == "1 check"
    assert shown(html, "outbox-oldest") == "3 h 40 min"
    hours = shown(html, "hours")
    assert hours.endswith("Sun 1 Nov 05:00 2 1 2")
    assert hours.startswith("Hour from Created Resolved Open at its end Sun 1 Nov 09:00 0 0 3")
    # Both charts, with what they show in words.
    assert "Created and resolved per hour" in html and "Backlog over time" in html
    assert "5 hours since the cutover: 5 issues created (bars) and 3 resolved" in html
    assert html.count("<svg") == 2


def test_the_filters_narrow_every_figure_and_their_links(
    story: Story, client_for: Callable[[User], Client], agent_alex: User, ed: Unit
) -> None:
    html = client_for(agent_alex).get(DASHBOARD, {"unit": ed.pk}).content.decode()
    assert shown(html, "open-total") == "2"
    queue = reverse("issues:queue")
    assert f'href="{queue}?overdue=1&amp;unit={ed.pk}"' in html
    assert f'href="{queue}?unit={ed.pk}" data-testid="open-total"' in html


def test_a_wrong_filter_is_said_and_the_whole_go_live_shown(
    story: Story,
    client_for: Callable[[User], Client],
    lead_lena: User,
    ed: Unit,
    northside: Site,
) -> None:
    client = client_for(lead_lena)
    html = client.get(DASHBOARD, {"site": northside.pk, "unit": ed.pk}).content.decode()
    assert "Emergency Department is not at Northside Clinic: choose one of its units." in html
    assert shown(html, "open-total") == "3"
    html = client.get(DASHBOARD, {"unit": "99999"}).content.decode()
    assert "Choose a unit from the list." in html


def test_another_go_lives_lead_sees_none_of_mercys_figures(
    story: Story, client_for: Callable[[User], Client], outsider_oscar: User
) -> None:
    html = client_for(outsider_oscar).get(DASHBOARD).content.decode()
    assert shown(html, "open-total") == "0"
    assert "Printing / labels" not in html


def test_only_the_help_desk_and_the_command_center_may_open_it(
    client: Client,
    client_for: Callable[[User], Client],
    manager_maria: User,
    super_sam: User,
    nurse_nina: User,
    agent_alex: User,
    mercy: GoLive,
) -> None:
    assert client.get(DASHBOARD)["Location"].startswith(reverse("login"))
    for user in (manager_maria, super_sam, nurse_nina):
        assert client_for(user).get(DASHBOARD).status_code == 403, user.username
    assert client_for(agent_alex).get(DASHBOARD).status_code == 200


def test_the_wall_display_and_the_refresh_are_the_same_figures(
    story: Story, client_for: Callable[[User], Client], lead_lena: User
) -> None:
    client = client_for(lead_lena)
    wall = client.get(DASHBOARD, {"wall": "1"}).content.decode()
    assert "Leave the wall display" in wall and "gl-wall" in wall
    refresh = client.get(DASHBOARD, headers={"HX-Request": "true"}).content.decode()
    assert 'id="gl-dashboard"' in refresh and "<html" not in refresh
    assert 'hx-trigger="every 30s"' in refresh
    assert shown(refresh, "open-total") == "3"


# --- Cost -----------------------------------------------------------------------------------------


def test_it_costs_the_same_queries_for_six_issues_or_sixty(
    story: Story,
    client_for: Callable[[User], Client],
    lead_lena: User,
    many: Callable[[int], list[Issue]],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(lead_lena)
    client.get(DASHBOARD)
    with django_assert_max_num_queries(DASHBOARD_BUDGET) as small:
        assert client.get(DASHBOARD).status_code == 200
    many(54)
    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get(DASHBOARD).content.decode()
    assert shown(html, "open-total") == "57"


def test_the_menu_offers_it_to_those_who_may_open_it(
    client_for: Callable[[User], Client], lead_lena: User, agent_alex: User, manager_maria: User
) -> None:
    link = f'href="{DASHBOARD}"'
    for user in (lead_lena, agent_alex):
        assert link in client_for(user).get(reverse("home")).content.decode(), user.username
    assert link not in client_for(manager_maria).get(reverse("home")).content.decode()
