"""Auto-assignment: who gets a new issue, the cap, the rules per tier, routing once, and the race.

The clock stands at Tuesday 3 November 2026 06:00 in Chicago (staffing's `now`); the day shift on
4 West runs 05:00-17:00 and everyone in `on_duty` is put on it through staffing's own services
(assigned by lead_lena, then checked in), as a go-live would.
"""

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from golive.models import Application, EscalationTier, GoLive, Membership, Role, Site, Unit
from issues import services
from issues.assignment import (
    NOBODY_NOTE,
    ROUTING_LOCK_SPACE,
    Outcome,
    lock_routing,
    route_issue,
    route_pending_issues,
)
from issues.models import AssignmentRule, Issue, IssueEvent, IssueSettings
from issues.services import assign_issue, change_status, claim_issue, set_tier
from issues.tests.conftest import LogIssue
from staffing.models import Assignment, Shift, SupportPerson, SupportRole
from staffing.services import assign_person, check_in, set_assignment_status
from staffing.tests import conftest as staffing_cast
from staffing.tests.conftest import NOW, MakePerson, MakeShift, local

# Staffing's clock and roster helpers, as fixtures of this module.
now = staffing_cast.now
make_person = staffing_cast.make_person
make_shift = staffing_cast.make_shift


class OnDuty(Protocol):
    def __call__(
        self,
        name: str,
        *,
        role: str = ...,
        member_role: str | None = ...,
        checked_in: bool = ...,
        shift: Shift | None = ...,
        skills: tuple[Application, ...] = ...,
    ) -> User | None: ...


@pytest.fixture
def day_shifts(now: dt.datetime, make_shift: MakeShift) -> Callable[[str], Shift]:
    """4 West's day shift of a role, on now, with room for everyone."""
    shifts: dict[str, Shift] = {}

    def of(role: str) -> Shift:
        if role not in shifts:
            shifts[role] = make_shift(local(3, 5), local(3, 17), role=role, needed=60, label="Day")
        return shifts[role]

    return of


def add_user(name: str, go_live: GoLive, role: str) -> User:
    first, _, last = name.partition(" ")
    user = User.objects.create_user(
        username=name.lower().replace(" ", "_"), first_name=first, last_name=last
    )
    Membership.objects.create(user=user, go_live=go_live, role=role)
    return user


@pytest.fixture
def on_duty(
    mercy: GoLive, day_shifts: Callable[[str], Shift], make_person: MakePerson, lead_lena: User
) -> OnDuty:
    """Put someone on a shift (their role's day shift unless told) with a login and a support
    membership (`member_role=None`: no login), checked in unless told."""

    def put(
        name: str,
        *,
        role: str = SupportRole.HELP_DESK,
        member_role: str | None = Role.SUPPORT_STAFF,
        checked_in: bool = True,
        shift: Shift | None = None,
        skills: tuple[Application, ...] = (),
    ) -> User | None:
        user = add_user(name, mercy, member_role) if member_role is not None else None
        person = make_person(name, role=role, user=user)
        person.skills.add(*skills)
        assignment = assign_person(shift=shift or day_shifts(role), person=person, actor=lead_lena)
        if checked_in:
            check_in(assignment=assignment, actor=user)
        return user

    return put


def assignees(issues: list[Issue]) -> Counter[str]:
    rows = Issue.objects.filter(pk__in=[issue.pk for issue in issues])
    return Counter(str(row.assignee.username) if row.assignee else "" for row in rows)


def nobody_note(issue: Issue) -> IssueEvent:
    [note] = issue.events.filter(kind=IssueEvent.Kind.COMMENT)
    return note


# --- Spreading the load ---------------------------------------------------------------------------


def test_a_hundred_issues_spread_across_five_agents_within_one_of_each_other(
    mercy: GoLive, on_duty: OnDuty, log_issue: LogIssue, lead_lena: User
) -> None:
    IssueSettings.objects.filter(go_live=mercy).update(assignee_cap=50)
    agents = [on_duty(name) for name in ("Ann Ames", "Bob Burr", "Cal Cole", "Dee Dorn", "Eve Ely")]
    # They start uneven: Bob holds one open issue, Cal two... Eve four.
    held = []
    for count, agent in enumerate(agents):
        for _ in range(count):
            issue = log_issue()
            assign_issue(issue=issue, assignee=agent, actor=lead_lena)
            Issue.objects.filter(pk=issue.pk).update(routing_pending=False)
            held.append(issue)

    issues = [log_issue() for _ in range(100)]
    outcomes = Counter(route_issue(issue_id=issue.pk) for issue in issues)

    assert outcomes == {Outcome.ASSIGNED: 100}
    load = assignees(held + issues)
    assert sum(load.values()) == 110
    assert max(load.values()) - min(load.values()) <= 1
    assert set(load) == {agent.username for agent in agents if agent is not None}


def test_the_next_issue_goes_to_whoever_has_fewest_open_issues_resolved_ones_not_counted(
    on_duty: OnDuty, log_issue: LogIssue, lead_lena: User
) -> None:
    ann, bob = on_duty("Ann Ames"), on_duty("Bob Burr")
    for _ in range(2):
        assign_issue(issue=log_issue(), assignee=bob, actor=lead_lena)
    done = log_issue()
    assign_issue(issue=done, assignee=ann, actor=lead_lena)
    for _ in range(3):
        assign_issue(issue=log_issue(), assignee=ann, actor=lead_lena)
    change_status(issue=done, to="resolved", actor=ann, resolution="Printer driver reinstalled.")

    issue = log_issue()
    assert route_issue(issue_id=issue.pk) == Outcome.ASSIGNED

    issue.refresh_from_db()
    assert issue.assignee == bob
    [event] = issue.events.filter(kind=IssueEvent.Kind.ASSIGNEE)
    assert (event.actor, event.new) == (None, "Bob Burr")


def test_ties_go_to_whoever_never_got_an_issue_then_by_name(
    on_duty: OnDuty, log_issue: LogIssue, lead_lena: User
) -> None:
    cal, ann, bob = on_duty("Cal Cole"), on_duty("Ann Ames"), on_duty("Bob Burr")
    # Ann had one, now resolved: she has as few open issues as Bob and Cal, but got one already.
    earlier = log_issue()
    assign_issue(issue=earlier, assignee=ann, actor=lead_lena)
    change_status(issue=earlier, to="resolved", actor=ann, resolution="Done.")

    first, second, third = log_issue(), log_issue(), log_issue()
    for issue in (first, second, third):
        route_issue(issue_id=issue.pk)

    assert [Issue.objects.get(pk=i.pk).assignee for i in (first, second, third)] == [bob, cal, ann]


def test_nobody_gets_more_than_the_cap_and_the_rest_wait_with_a_note(
    mercy: GoLive, on_duty: OnDuty, log_issue: LogIssue
) -> None:
    IssueSettings.objects.filter(go_live=mercy).update(assignee_cap=2)
    agents = [on_duty(f"Agent {letter}") for letter in "ABCDEF"]
    issues = [log_issue() for _ in range(15)]

    outcomes = Counter(route_issue(issue_id=issue.pk) for issue in issues)

    assert outcomes == {Outcome.ASSIGNED: 12, Outcome.NOBODY: 3}
    load = assignees(issues)
    assert load.pop("") == 3
    assert load == {agent.username: 2 for agent in agents if agent is not None}
    waiting = Issue.objects.filter(pk__in=[i.pk for i in issues], assignee__isnull=True)
    for issue in waiting:
        note = nobody_note(issue)
        assert note.internal
        assert note.actor is None
        assert note.body.startswith(NOBODY_NOTE)


def test_the_default_cap_is_eight(on_duty: OnDuty, log_issue: LogIssue) -> None:
    on_duty("Ann Ames")
    outcomes = [route_issue(issue_id=log_issue().pk) for _ in range(9)]
    assert outcomes == [Outcome.ASSIGNED] * 8 + [Outcome.NOBODY]


# --- Who never gets one ---------------------------------------------------------------------------


@pytest.fixture
def lakeside_shift(lakeside: GoLive) -> Shift:
    site = Site.objects.create(go_live=lakeside, name="Lakeside", code="LK")
    unit = Unit.objects.create(site=site, name="Lakeside ICU")
    return Shift.objects.create(
        go_live=lakeside, unit=unit, role=SupportRole.HELP_DESK, start=local(3, 5), end=local(3, 17)
    )


Builder = Callable[..., None]


def _off_shift(
    on_duty: OnDuty, make_shift: MakeShift, tm: time_machine.TimeMachineFixture, **_: object
) -> None:
    # Checked in on last night's shift, which ended at 05:00.
    tm.move_to(local(2, 19, 30), tick=False)
    on_duty("Nora Night", shift=make_shift(local(2, 19), local(3, 5), role=SupportRole.HELP_DESK))
    tm.move_to(NOW, tick=False)


def _not_started(on_duty: OnDuty, make_shift: MakeShift, **_: object) -> None:
    # Checked in early for the 07:00 shift: not on shift yet.
    on_duty("Eli Early", shift=make_shift(local(3, 7), local(3, 19), role=SupportRole.HELP_DESK))


def _scheduled(on_duty: OnDuty, **_: object) -> None:
    on_duty("Sid Scheduled", checked_in=False)


def _confirmed(on_duty: OnDuty, lead_lena: User, **_: object) -> None:
    on_duty("Cora Confirmed", checked_in=False)
    set_assignment_status(
        assignment=Assignment.objects.get(person__name="Cora Confirmed"),
        status=Assignment.Status.CONFIRMED,
        actor=lead_lena,
    )


def _wrong_role(on_duty: OnDuty, **_: object) -> None:
    on_duty("Tara Trainer", role=SupportRole.TRAINER)


def _no_login(on_duty: OnDuty, **_: object) -> None:
    on_duty("Lou Nologin", member_role=None)


def _floor_staff_login(on_duty: OnDuty, **_: object) -> None:
    on_duty("Fay Floor", member_role=Role.FLOOR_STAFF)


def _inactive_member(on_duty: OnDuty, **_: object) -> None:
    user = on_duty("Ian Inactive")
    Membership.objects.filter(user=user).update(is_active=False)


def _member_elsewhere(on_duty: OnDuty, lakeside: GoLive, **_: object) -> None:
    # On Mercy's roster and shift, but the login belongs to Lakeside only.
    user = on_duty("Mo Moved")
    Membership.objects.filter(user=user).update(go_live=lakeside)


def _other_go_live(lakeside: GoLive, lakeside_shift: Shift, lead_lena: User, **_: object) -> None:
    user = add_user("Lake Lee", lakeside, Role.SUPPORT_STAFF)
    person = SupportPerson.objects.create(
        go_live=lakeside, name="Lake Lee", role=SupportRole.HELP_DESK, email="l@x.org", user=user
    )
    check_in(assignment=assign_person(shift=lakeside_shift, person=person, actor=None), actor=user)


NOT_FITTING: dict[str, Builder] = {
    "off shift": _off_shift,
    "shift not started": _not_started,
    "scheduled, not checked in": _scheduled,
    "confirmed, not checked in": _confirmed,
    "role not in the tier's rule": _wrong_role,
    "no login": _no_login,
    "floor staff login": _floor_staff_login,
    "inactive membership": _inactive_member,
    "member of another go-live": _member_elsewhere,
    "on another go-live's shift": _other_go_live,
}


@pytest.mark.parametrize("case", NOT_FITTING)
def test_it_never_picks_someone_who_does_not_fit(
    case: str,
    on_duty: OnDuty,
    make_shift: MakeShift,
    time_machine: time_machine.TimeMachineFixture,
    lead_lena: User,
    lakeside: GoLive,
    lakeside_shift: Shift,
    log_issue: LogIssue,
) -> None:
    NOT_FITTING[case](
        on_duty=on_duty,
        make_shift=make_shift,
        tm=time_machine,
        lead_lena=lead_lena,
        lakeside=lakeside,
        lakeside_shift=lakeside_shift,
    )
    issue = log_issue()

    assert route_issue(issue_id=issue.pk) == Outcome.NOBODY

    issue.refresh_from_db()
    assert issue.assignee is None
    assert nobody_note(issue).body.startswith(NOBODY_NOTE)


def test_an_issue_about_an_application_goes_only_to_people_who_know_it(
    on_duty: OnDuty, log_issue: LogIssue, orders_app: Application, lead_lena: User
) -> None:
    idle = on_duty("Ann Ames")
    knows = on_duty("Kim Knows", skills=(orders_app,))
    assign_issue(issue=log_issue(), assignee=knows, actor=lead_lena)

    about_orders = log_issue(application=orders_app)
    route_issue(issue_id=about_orders.pk)
    anything = log_issue()
    route_issue(issue_id=anything.pk)

    assert Issue.objects.get(pk=about_orders.pk).assignee == knows
    assert Issue.objects.get(pk=anything.pk).assignee == idle


def test_an_issue_without_a_tier_gets_the_first_line_and_its_roles(
    mercy: GoLive, tiers: dict[str, EscalationTier], on_duty: OnDuty, log_issue: LogIssue
) -> None:
    AssignmentRule.objects.filter(go_live=mercy, tier=tiers["floor"]).update(
        roles=[SupportRole.SUPER_USER]
    )
    on_duty("Hal Helpdesk", role=SupportRole.HELP_DESK)
    sue = on_duty("Sue Super", role=SupportRole.SUPER_USER)
    issue = log_issue()

    route_issue(issue_id=issue.pk)

    issue.refresh_from_db()
    assert (issue.tier, issue.assignee) == (tiers["floor"], sue)
    [tier_event] = issue.events.filter(kind=IssueEvent.Kind.TIER)
    assert tier_event.actor is None


def test_a_later_tier_goes_to_the_roles_of_its_own_rule(
    tiers: dict[str, EscalationTier], on_duty: OnDuty, log_issue: LogIssue, lead_lena: User
) -> None:
    on_duty("Hal Helpdesk", role=SupportRole.HELP_DESK)
    ana = on_duty("Ana Analyst", role=SupportRole.ANALYST)
    issue = log_issue()
    set_tier(issue=issue, tier=tiers["command"], actor=lead_lena)

    route_issue(issue_id=issue.pk)

    assert Issue.objects.get(pk=issue.pk).assignee == ana


def test_a_tier_whose_rule_names_no_role_leaves_its_issues_in_the_queue(
    mercy: GoLive, tiers: dict[str, EscalationTier], on_duty: OnDuty, log_issue: LogIssue
) -> None:
    AssignmentRule.objects.filter(go_live=mercy, tier=tiers["floor"]).update(roles=[])
    on_duty("Hal Helpdesk")
    issue = log_issue()

    assert route_issue(issue_id=issue.pk) == Outcome.NOBODY


def test_with_auto_assignment_off_nothing_happens(
    mercy: GoLive, on_duty: OnDuty, log_issue: LogIssue
) -> None:
    IssueSettings.objects.filter(go_live=mercy).update(auto_assign=False)
    on_duty("Ann Ames")
    issue = log_issue()

    assert route_issue(issue_id=issue.pk) == Outcome.OFF

    issue.refresh_from_db()
    assert (issue.assignee, issue.tier, issue.version, issue.routing_pending) == (
        None,
        None,
        1,
        False,
    )
    assert list(issue.events.values_list("kind", flat=True)) == [IssueEvent.Kind.CREATED]


# --- Once, and only while it is still waiting -----------------------------------------------------


def test_an_issue_is_routed_once(on_duty: OnDuty, log_issue: LogIssue) -> None:
    on_duty("Ann Ames")
    issue = log_issue()

    assert route_issue(issue_id=issue.pk) == Outcome.ASSIGNED
    assert route_issue(issue_id=issue.pk) == Outcome.NOT_PENDING
    assert issue.events.filter(kind=IssueEvent.Kind.ASSIGNEE).count() == 1


def test_a_missing_issue_is_nothing_to_route(db: None) -> None:
    assert route_issue(issue_id=987654) == Outcome.NOT_PENDING


def test_an_issue_claimed_before_routing_reached_it_is_only_marked_done(
    on_duty: OnDuty, log_issue: LogIssue, agent_alex: User
) -> None:
    on_duty("Ann Ames")
    issue = log_issue()
    claim_issue(issue=issue, agent=agent_alex)

    assert route_issue(issue_id=issue.pk) == Outcome.SETTLED

    issue.refresh_from_db()
    assert (issue.assignee, issue.routing_pending) == (agent_alex, False)
    assert not issue.events.filter(kind=IssueEvent.Kind.COMMENT).exists()


def test_routing_costs_the_same_queries_however_many_people_and_issues(
    mercy: GoLive, on_duty: OnDuty, log_issue: LogIssue
) -> None:
    IssueSettings.objects.filter(go_live=mercy).update(assignee_cap=50)
    counts = []
    for batch in ("A", "B"):
        for n in range(2 if batch == "A" else 12):
            on_duty(f"{batch}gent {n:02}")
        for _ in range(5):
            route_issue(issue_id=log_issue().pk)
        issue = log_issue()
        with CaptureQueriesContext(connection) as queries:
            assert route_issue(issue_id=issue.pk) == Outcome.ASSIGNED
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- The sweep ------------------------------------------------------------------------------------


def test_a_sweep_reads_each_plan_once_and_routes_each_issue_in_the_same_queries(
    on_duty: OnDuty, log_issue: LogIssue
) -> None:
    for name in ("Ann Ames", "Bob Burr", "Cal Cole"):
        on_duty(name)
    sweeps = []
    for burst in (1, 5):
        for _ in range(burst):
            log_issue()
        with CaptureQueriesContext(connection) as queries:
            assert route_pending_issues() == burst
        sweeps.append([query["sql"] for query in queries])
    one, five = sweeps
    # The plan (settings, tiers, rules) is read once per sweep, however many issues.
    for table in ("issues_issuesettings", "golive_escalationtier", "issues_assignmentrule"):
        assert sum(f'FROM "{table}"' in sql for sql in five) == 1, table
    # Each more issue: claim, read, routing lock, who is on shift (3), the candidates' counts, its
    # SLA, one UPDATE, its events, the assignee's notice: 11, and the savepoint pair the test's
    # transaction puts around each (production commits a transaction instead).
    assert len(five) - len(one) == 4 * 13


def test_the_sweep_offers_each_pending_issue_once_and_leaves_claimed_ones_alone(
    on_duty: OnDuty,
    log_issue: LogIssue,
    agent_alex: User,
) -> None:
    ann = on_duty("Ann Ames")
    waiting, claimed = log_issue(), log_issue()
    claim_issue(issue=claimed, agent=agent_alex)

    assert route_pending_issues() == 2
    assert route_pending_issues() == 0

    waiting.refresh_from_db()
    claimed.refresh_from_db()
    assert (waiting.assignee, waiting.routing_pending) == (ann, False)
    assert (claimed.assignee, claimed.routing_pending) == (agent_alex, False)


def test_an_issue_whose_routing_fails_stays_pending_and_the_sweep_goes_on(
    on_duty: OnDuty,
    log_issue: LogIssue,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ann = on_duty("Ann Ames")
    broken, fine = log_issue(), log_issue()
    apply_routing = services.apply_routing

    def fails_for_one(*, issue: Issue, **kwargs: Any) -> Issue:
        # Stands for a fault nobody foresaw, in the write of one issue only.
        if issue.pk == broken.pk:
            raise RuntimeError("the write failed")
        return apply_routing(issue=issue, **kwargs)

    monkeypatch.setattr(services, "apply_routing", fails_for_one)
    with caplog.at_level(logging.ERROR, logger="issues.assignment"):
        assert route_pending_issues() == 1

    broken.refresh_from_db()
    fine.refresh_from_db()
    # The failed issue's claim was rolled back with its transaction: the next sweep offers it again.
    assert (broken.routing_pending, broken.assignee, broken.tier) == (True, None, None)
    assert not broken.events.exclude(kind=IssueEvent.Kind.CREATED).exists()
    assert (fine.routing_pending, fine.assignee) == (False, ann)
    assert f"Could not route issue {broken.pk}" in caplog.text

    monkeypatch.setattr(services, "apply_routing", apply_routing)
    assert route_pending_issues() == 1
    broken.refresh_from_db()
    assert (broken.routing_pending, broken.assignee) == (False, ann)


# --- Races, settled in PostgreSQL -----------------------------------------------------------------


def _in_thread(work: Callable[[], object], results: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


def _waiting_for_routing_lock(go_live: GoLive) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = %s AND objid = %s AND objsubid = 2",
            [ROUTING_LOCK_SPACE, go_live.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_issues_routed_at_once_never_both_take_the_last_free_place(
    mercy: GoLive, on_duty: OnDuty, log_issue: LogIssue
) -> None:
    IssueSettings.objects.filter(go_live=mercy).update(assignee_cap=1)
    ann = on_duty("Ann Ames")
    first, second = log_issue(), log_issue()
    # A third connection holds the go-live's routing lock while both routings start, so both
    # reach the lock, wait there together, and are let go at the same instant.
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            lock_routing(mercy.pk)
            holding.set()
            release.wait(20)

    results: list[object] = []
    holder = _in_thread(hold, results)
    holder.start()
    assert holding.wait(20)
    routers = [_in_thread(lambda i=i: route_issue(issue_id=i.pk), results) for i in (first, second)]
    for router in routers:
        router.start()
    deadline = time.monotonic() + 20
    while _waiting_for_routing_lock(mercy) < 2:
        assert time.monotonic() < deadline, "the routings never waited for the routing lock"
        time.sleep(0.01)  # waiting for the other connections to reach the lock, not timing logic
    release.set()
    for thread in (holder, *routers):
        thread.join(20)

    assert sorted(str(r) for r in results if r is not None) == ["assigned", "nobody"]
    assert Issue.objects.filter(assignee=ann).count() == 1
    assert Issue.objects.filter(pk__in=[first.pk, second.pk], routing_pending=True).count() == 0
