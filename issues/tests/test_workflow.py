"""The desk's write services: links and cascades, priority, comments, reporters, reopening, routing."""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from golive.models import EscalationTier, GoLive, Notification, Unit
from golive.services import create_go_live
from issues.models import (
    Category,
    Issue,
    IssueEvent,
    IssueReporter,
    IssueSettings,
    KnownIssue,
)
from issues.services import (
    IssueRefused,
    add_comment,
    add_reporter,
    assign_issue,
    change_status,
    claim_issue,
    link_issue,
    reopen_as_reporter,
    set_external_ref,
    set_priority,
    set_tier,
    unlink_issue,
)
from issues.tests.conftest import LogIssue


def inbox(user: User) -> list[str]:
    return list(
        Notification.objects.filter(recipient_user=user, channel="in_app")
        .order_by("pk")
        .values_list("subject", flat=True)
    )


def test_a_new_go_live_starts_with_categories_matrix_and_routing(lead_lena: User) -> None:
    go_live = create_go_live(
        creator=lead_lena,
        name="Riverside",
        organization="Riverside Health",
        cutover_at=dt.datetime(2027, 1, 5, 12, tzinfo=dt.UTC),
        support_ends_at=dt.datetime(2027, 2, 5, 12, tzinfo=dt.UTC),
        time_zone="America/Chicago",
    )
    assert Category.objects.filter(go_live=go_live).count() == 14
    assert IssueSettings.objects.get(go_live=go_live).assignee_cap == 8
    # One routing rule per tier below the leadership line, the first line to the help desk.
    rules = {rule.tier.level: rule.roles for rule in go_live.assignment_rules.all()}
    assert sorted(rules) == [1, 2, 3, 4]
    assert "help_desk" in rules[1]


def test_an_enhancement_request_has_no_due_time_and_the_rest_do(
    log_issue: LogIssue, mercy: GoLive
) -> None:
    wish = log_issue(category=Category.objects.get(go_live=mercy, name="Enhancement request"))
    bug = log_issue()
    assert wish.due_at is None
    assert bug.due_at == bug.created_at + dt.timedelta(hours=24)  # P3


# --- Links and cascades ---------------------------------------------------------------------------


def test_resolving_a_parent_resolves_its_children_and_tells_every_reporter(
    log_issue: LogIssue, agent_alex: User, nurse_nina: User, lead_lena: User
) -> None:
    parent = log_issue(reporter_user=nurse_nina)
    child = log_issue(title="Wristband labels blank", reporter_user=lead_lena)
    link_issue(issue=child, parent=parent, kind="duplicate", actor=agent_alex)

    change_status(
        issue=parent, to="resolved", resolution="Printer driver rolled back", actor=agent_alex
    )

    child.refresh_from_db()
    assert child.status == "resolved"
    assert child.resolution == f"With {parent.code}: Printer driver rolled back"
    assert inbox(nurse_nina) == [f"{parent.code} resolved: Labels print blank"]
    assert inbox(lead_lena) == [f"{child.code} resolved: Wristband labels blank"]
    assert list(child.events.values_list("kind", flat=True)) == ["created", "link", "status"]


def test_resolving_the_report_of_a_known_issue_marks_it_fixed_on_the_board(
    log_issue: LogIssue, agent_alex: User, mercy: GoLive
) -> None:
    anchor = log_issue()
    known = KnownIssue.objects.create(
        go_live=mercy, issue=anchor, title="Blank labels", problem="Zebra printers print blank"
    )
    change_status(issue=anchor, to="resolved", resolution="Driver rolled back", actor=agent_alex)
    known.refresh_from_db()
    assert (known.status, known.version) == ("fixed", 2)
    assert known.fixed_at is not None


def test_closing_a_parent_closes_its_resolved_children(
    log_issue: LogIssue, agent_alex: User
) -> None:
    parent, child = log_issue(), log_issue()
    link_issue(issue=child, parent=parent, kind="part_of", actor=agent_alex)
    change_status(issue=parent, to="resolved", resolution="Fixed", actor=agent_alex)
    change_status(issue=parent, to="closed", actor=agent_alex)
    child.refresh_from_db()
    assert child.status == "closed"


def test_links_stay_one_level_deep(log_issue: LogIssue, agent_alex: User) -> None:
    top, middle, leaf = log_issue(), log_issue(), log_issue()
    link_issue(issue=leaf, parent=middle, kind="duplicate", actor=agent_alex)
    # Linking the middle issue under the top one takes its child along.
    link_issue(issue=middle, parent=top, kind="duplicate", actor=agent_alex)
    leaf.refresh_from_db()
    assert leaf.parent_id == top.pk
    with pytest.raises(IssueRefused, match=f"{middle.code} is itself linked"):
        link_issue(issue=log_issue(), parent=middle, kind="duplicate", actor=agent_alex)


@pytest.mark.parametrize("case", ["itself", "closed", "other go-live", "kind"])
def test_bad_links_are_refused_and_change_nothing(
    log_issue: LogIssue,
    agent_alex: User,
    lakeside: GoLive,
    case: str,
) -> None:
    issue = log_issue()
    parent = log_issue()
    kind = "duplicate"
    if case == "itself":
        parent, message = issue, "cannot be linked to itself"
    elif case == "closed":
        change_status(issue=parent, to="resolved", resolution="Done", actor=agent_alex)
        message = "reopen it first"
    elif case == "other go-live":
        Issue.objects.filter(pk=parent.pk).update(go_live=lakeside)
        message = "Link only to an issue of this go-live"
    else:
        kind, message = "sibling", "Choose duplicate of or part of"
    with pytest.raises(IssueRefused, match=message):
        link_issue(issue=issue, parent=parent, kind=kind, actor=agent_alex)
    issue.refresh_from_db()
    assert issue.parent_id is None
    assert issue.version == 1


def test_unlinking_records_what_it_was(log_issue: LogIssue, agent_alex: User) -> None:
    parent, child = log_issue(), log_issue()
    link_issue(issue=child, parent=parent, kind="duplicate", actor=agent_alex)
    unlink_issue(issue=child, actor=agent_alex)
    child.refresh_from_db()
    assert (child.parent_id, child.parent_link) == (None, "")
    assert child.events.last().old == f"Duplicate of {parent.code}"


# --- Priority, tier, reference --------------------------------------------------------------------


def test_a_priority_change_moves_the_due_time_and_is_on_the_timeline(
    log_issue: LogIssue, agent_alex: User
) -> None:
    issue = log_issue()
    set_priority(issue=issue, priority="P1", actor=agent_alex, note="Whole ED affected")
    issue.refresh_from_db()
    assert issue.priority == "P1"
    assert issue.due_at == issue.created_at + dt.timedelta(hours=4)
    event = issue.events.last()
    assert (event.kind, event.old, event.new, event.body) == (
        "priority",
        "P3",
        "P1",
        "Whole ED affected",
    )


def test_a_patient_safety_issue_stays_p1(log_issue: LogIssue, agent_alex: User) -> None:
    issue = log_issue(patient_safety=True)
    with pytest.raises(IssueRefused, match="stays P1"):
        set_priority(issue=issue, priority="P3", actor=agent_alex)


def test_tier_and_external_reference_are_checked(
    log_issue: LogIssue, agent_alex: User, tiers: dict[str, EscalationTier], lakeside: GoLive
) -> None:
    issue = log_issue()
    set_tier(issue=issue, tier=tiers["command"], actor=agent_alex)
    set_external_ref(issue=issue, external_ref=" INC0012345 ", actor=agent_alex)
    issue.refresh_from_db()
    assert (issue.tier, issue.external_ref) == (tiers["command"], "INC0012345")
    foreign = EscalationTier.objects.create(go_live=lakeside, level=1, name="Lakeside desk")
    with pytest.raises(IssueRefused, match="tier of this go-live"):
        set_tier(issue=issue, tier=foreign, actor=agent_alex)
    with pytest.raises(IssueRefused, match="at most 64"):
        set_external_ref(issue=issue, external_ref="x" * 65, actor=agent_alex)


# --- Assignment and claims ------------------------------------------------------------------------


def test_assigning_tells_the_assignee_and_refuses_non_support_members(
    log_issue: LogIssue,
    agent_alex: User,
    lead_lena: User,
    nurse_nina: User,
    super_sam: User,
    client_for: Callable[[User], Client],
) -> None:
    issue = log_issue()
    assign_issue(issue=issue, assignee=super_sam, actor=lead_lena)
    assert inbox(super_sam) == [f"{issue.code} is yours: Labels print blank"]
    # The notice opens the issue's desk page, which its assignee may see.
    link = Notification.objects.get(recipient_user=super_sam).link
    assert client_for(super_sam).get(link).status_code == 200
    with pytest.raises(IssueRefused, match="does not work on this go-live's issues"):
        assign_issue(issue=issue, assignee=nurse_nina, actor=lead_lena)
    issue.refresh_from_db()
    assert issue.assignee == super_sam


def test_claiming_a_new_issue_acknowledges_it_and_tells_the_reporter(
    log_issue: LogIssue,
    agent_alex: User,
    nurse_nina: User,
    client_for: Callable[[User], Client],
) -> None:
    issue = claim_issue(issue=log_issue(reporter_user=nurse_nina), agent=agent_alex)
    assert (issue.status, issue.assignee) == ("acknowledged", agent_alex)
    assert inbox(nurse_nina) == [f"{issue.code} acknowledged: Labels print blank"]
    # The notice opens the floor's view of the issue, which the nurse may see.
    link = Notification.objects.get(recipient_user=nurse_nina).link
    assert client_for(nurse_nina).get(link).status_code == 200


def test_an_issue_keeps_when_its_assignee_was_given_it_until_it_goes_back_to_the_queue(
    log_issue: LogIssue, agent_alex: User, super_sam: User, lead_lena: User
) -> None:
    issue = log_issue()
    claimed_at = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(claimed_at, tick=False):
        claim_issue(issue=issue, agent=agent_alex)
    issue.refresh_from_db()
    assert issue.assigned_at == claimed_at

    # Assigning it to the person who has it changes nothing; to someone else, it is theirs now.
    with time_machine.travel(claimed_at + dt.timedelta(minutes=30), tick=False):
        assign_issue(issue=issue, assignee=agent_alex, actor=lead_lena)
        issue.refresh_from_db()
        assert issue.assigned_at == claimed_at
        assign_issue(issue=issue, assignee=super_sam, actor=lead_lena)
    issue.refresh_from_db()
    assert issue.assigned_at == claimed_at + dt.timedelta(minutes=30)

    assign_issue(issue=issue, assignee=None, actor=lead_lena)
    issue.refresh_from_db()
    assert (issue.assignee, issue.assigned_at) == (None, None)


# --- Comments -------------------------------------------------------------------------------------


def test_a_reply_reaches_the_reporters_and_an_internal_note_does_not(
    log_issue: LogIssue, agent_alex: User, nurse_nina: User, lead_lena: User
) -> None:
    issue = log_issue(reporter_user=nurse_nina)
    add_reporter(issue=issue, user=lead_lena)
    add_comment(issue=issue, actor=agent_alex, body="Vendor says driver bug", internal=True)
    add_comment(issue=issue, actor=agent_alex, body="Try the printer by the door", internal=False)
    subject = f"Reply on {issue.code}: Labels print blank"
    assert inbox(nurse_nina) == [subject]
    assert inbox(lead_lena) == [subject]
    assert Notification.objects.get(recipient_user=nurse_nina).body == "Try the printer by the door"
    with pytest.raises(IssueRefused, match="Write the comment"):
        add_comment(issue=issue, actor=agent_alex, body="   ", internal=False)


# --- "My problem too" -----------------------------------------------------------------------------


def test_the_same_person_joins_an_issue_once(
    log_issue: LogIssue, nurse_nina: User, lead_lena: User, four_west: Unit
) -> None:
    issue = log_issue(reporter_user=lead_lena)
    first, created = add_reporter(issue=issue, user=nurse_nina, unit=four_west)
    again, created_again = add_reporter(issue=issue, user=nurse_nina, unit=four_west)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    # The original reporter is already on it.
    assert add_reporter(issue=issue, user=lead_lena)[1] is False
    assert IssueReporter.objects.filter(issue=issue).count() == 1
    assert issue.events.filter(kind=IssueEvent.Kind.REPORTER).count() == 1


def test_a_tablet_reporter_must_give_a_name_and_a_closed_issue_takes_nobody(
    log_issue: LogIssue, agent_alex: User
) -> None:
    issue = log_issue()
    with pytest.raises(IssueRefused, match="Give your name"):
        add_reporter(issue=issue, name="  ")
    reporter, created = add_reporter(issue=issue, name="Ana RN", callback="4411")
    assert created
    assert reporter.callback == "4411"
    change_status(issue=issue, to="resolved", resolution="Fixed", actor=agent_alex)
    with pytest.raises(IssueRefused, match="already resolved"):
        add_reporter(issue=issue, name="Bo RN")


# --- Reopening by the reporter --------------------------------------------------------------------


def test_a_reporter_may_reopen_within_72_hours_and_not_after(
    log_issue: LogIssue, agent_alex: User, nurse_nina: User
) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC), tick=False) as clock:
        issue = log_issue(reporter_user=nurse_nina)
        change_status(issue=issue, to="resolved", resolution="Re-seated cable", actor=agent_alex)
        clock.shift(dt.timedelta(hours=71))
        with pytest.raises(IssueRefused, match="Say what is still wrong"):
            reopen_as_reporter(issue=issue, actor=nurse_nina, reason="")
        reopened = reopen_as_reporter(issue=issue, actor=nurse_nina, reason="Blank again")
        assert reopened.status == "in_progress"
        assert reopened.events.last().body == "Reopened by the reporter: Blank again"
        with pytest.raises(IssueRefused, match="still open"):
            reopen_as_reporter(issue=issue, actor=nurse_nina, reason="Again")

        change_status(issue=issue, to="resolved", resolution="New cable", actor=agent_alex)
        clock.shift(dt.timedelta(hours=73))
        with pytest.raises(IssueRefused, match="more than 72 hours ago"):
            reopen_as_reporter(issue=issue, actor=nurse_nina, reason="Blank again")
    issue.refresh_from_db()
    assert issue.status == "resolved"
