"""Bulk actions on the queue's ticked rows: each issue goes through its own service call, and the
agent is told which went through and which were refused, and why."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from golive.models import GoLive, Unit
from issues.models import Impact, Issue, Urgency
from issues.services import claim_issue, create_issue, ensure_issue_setup, set_priority
from issues.tests.conftest import LogIssue

BULK = reverse("issues:queue_bulk")
BACK = "/issues/queue/?priority=P3"
S = Issue.Status


def ticked(*issues: Issue) -> list[str]:
    for issue in issues:
        issue.refresh_from_db()
    return [f"{issue.pk}:{issue.version}" for issue in issues]


def bulk(client: Client, issues: list[str] | None = None, **data: object) -> list[str]:
    """Post a bulk action; the messages shown on the queue page it goes back to."""
    response = client.post(BULK, {"issue": issues or [], "next": BACK, **data})
    assert response.status_code == 302
    assert response["Location"] == BACK
    return [str(message) for message in client.get(BACK).context["messages"]]


@pytest.fixture
def three(log_issue: LogIssue) -> list[Issue]:
    return [log_issue(title=f"Labels blank {n}") for n in range(3)]


@pytest.fixture
def alex(client_for: Callable[[User], Client], agent_alex: User) -> Client:
    return client_for(agent_alex)


def test_a_bulk_claim_takes_the_free_ones_and_says_who_has_the_others(
    alex: Client, agent_alex: User, lead_lena: User, three: list[Issue]
) -> None:
    first, second, third = three
    selection = ticked(*three)
    # Lena claims one while Alex's rows are still ticked.
    claim_issue(issue=second, agent=lead_lena)

    said = bulk(alex, selection, action="claim")

    assert said == [
        f"Done: {first.code}, {third.code}.",
        f"{second.code}: Lena Lead has it already.",
    ]
    assert [issue.assignee for issue in Issue.objects.order_by("number")] == [
        agent_alex,
        lead_lena,
        agent_alex,
    ]


def test_a_bulk_assignment_refuses_a_row_changed_since_it_was_ticked(
    alex: Client, super_sam: User, three: list[Issue]
) -> None:
    first, second, third = three
    selection = ticked(*three)
    set_priority(issue=third, priority="P1", actor=None)

    said = bulk(alex, selection, action="assign", assignee=super_sam.pk)

    assert said == [
        f"Done: {first.code}, {second.code}.",
        f"{third.code} was changed by someone else while you had it open. "
        "Look at it again and repeat your change.",
    ]
    third.refresh_from_db()
    assert third.assignee is None
    assert Issue.objects.filter(assignee=super_sam).count() == 2


def test_a_bulk_priority_leaves_patient_safety_issues_at_p1(
    alex: Client, log_issue: LogIssue, three: list[Issue]
) -> None:
    safety = log_issue(patient_safety=True)
    said = bulk(alex, ticked(three[0], safety), action="priority", priority="P4", note="Cosmetic")
    assert said == [
        f"Done: {three[0].code}.",
        f"{safety.code} is a patient-safety issue: it stays P1.",
    ]
    assert list(Issue.objects.order_by("number").values_list("priority", flat=True)) == [
        "P4",
        "P3",
        "P3",
        "P1",
    ]


def test_bulk_waiting_on_the_vendor(alex: Client, three: list[Issue]) -> None:
    said = bulk(alex, ticked(*three), action="waiting_vendor", note="Epic ticket open")
    assert said == [f"Done: {', '.join(issue.code for issue in three)}."]
    assert set(Issue.objects.values_list("status", flat=True)) == {S.WAITING_VENDOR}


def test_a_bulk_resolve_uses_one_resolution_and_needs_it(alex: Client, three: list[Issue]) -> None:
    said = bulk(alex, ticked(*three), action="resolve", resolution=" ")
    assert said == ["Say how the selected issues were resolved."]
    assert set(Issue.objects.values_list("status", flat=True)) == {S.NEW}

    said = bulk(alex, ticked(*three), action="resolve", resolution="Label stock replaced.")
    assert said == [f"Done: {', '.join(issue.code for issue in three)}."]
    assert set(Issue.objects.values_list("status", "resolution")) == {
        (S.RESOLVED, "Label stock replaced.")
    }


def test_bulk_duplicates_of_a_code_link_all_but_the_parent_itself(
    alex: Client, three: list[Issue]
) -> None:
    parent, *rest = three
    said = bulk(alex, ticked(*three), action="duplicate", parent=parent.code)
    assert said == [
        f"Done: {rest[0].code}, {rest[1].code}.",
        f"{parent.code}: An issue cannot be linked to itself.",
    ]
    assert [issue.parent for issue in Issue.objects.order_by("number")] == [None, parent, parent]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "claim", "issue": []}, "Select at least one issue first."),
        (
            {"action": "claim", "issue": ["12:x"]},
            "The selection is out of date: reload the queue and select again.",
        ),
        ({"action": "explode"}, "Choose an action from the list."),
        ({"action": "assign"}, "Choose whom to assign the selected issues to."),
        (
            {"action": "assign", "assignee": "1234567"},
            "That person does not work on this go-live's issues.",
        ),
        ({"action": "priority"}, "Choose the priority for the selected issues."),
        ({"action": "duplicate"}, "Give the number of the issue they duplicate, e.g. GL-1042."),
        ({"action": "duplicate", "parent": "GL-9999"}, "There is no GL-9999 in this go-live."),
    ],
)
def test_bulk_input_that_makes_no_sense_is_refused_with_a_reason(
    alex: Client, three: list[Issue], data: dict[str, object], message: str
) -> None:
    versions = [issue.version for issue in three]
    data = {"issue": ticked(*three), **data}
    assert bulk(alex, **data) == [message]
    assert [issue.version for issue in Issue.objects.order_by("number")] == versions


def test_more_than_fifty_rows_at_once_are_refused(alex: Client, three: list[Issue]) -> None:
    response = alex.post(BULK, {"issue": [f"{n}:1" for n in range(1, 52)], "action": "claim"})
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Select at most 50 issues at a time."
    ]


def test_a_ticked_issue_of_another_go_live_is_left_alone(
    alex: Client, three: list[Issue], lakeside: GoLive
) -> None:
    ensure_issue_setup(go_live=lakeside)
    unit: Unit = lakeside.sites.create(name="Lakeside", code="LK").units.create(name="ICU")
    theirs, _ = create_issue(
        go_live=lakeside,
        unit=unit,
        category_id=lakeside.issue_categories.get(name="Printing / labels").pk,
        title="Theirs",
        impact=Impact.ONE_USER,
        urgency=Urgency.QUESTION,
    )
    said = bulk(alex, ticked(three[0], theirs), action="claim")
    assert said == [f"Done: {three[0].code}.", "1 selected issue is no longer in your queue."]
    theirs.refresh_from_db()
    assert theirs.assignee is None


def test_a_bad_next_address_goes_back_to_the_queue(alex: Client, three: list[Issue]) -> None:
    response = alex.post(
        BULK, {"issue": ticked(three[0]), "action": "claim", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("issues:queue")


@pytest.mark.parametrize("who", ["super_sam", "manager_maria", "nurse_nina"])
def test_only_the_help_desk_and_the_command_center_act_in_bulk(
    request: pytest.FixtureRequest,
    who: str,
    client_for: Callable[[User], Client],
    three: list[Issue],
) -> None:
    client = client_for(request.getfixturevalue(who))
    response = client.post(BULK, {"issue": ticked(*three), "action": "claim"})
    assert response.status_code == 403
    assert not Issue.objects.filter(assignee__isnull=False).exists()


def test_a_visitor_is_sent_to_sign_in(client: Client, three: list[Issue]) -> None:
    response = client.post(BULK, {"issue": ticked(*three), "action": "claim"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get(BULK).status_code == 302


def test_the_lead_acts_in_bulk_too(
    client_for: Callable[[User], Client], lead_lena: User, three: list[Issue]
) -> None:
    said = bulk(client_for(lead_lena), ticked(*three), action="waiting_reporter", note="Which?")
    assert said == [f"Done: {', '.join(issue.code for issue in three)}."]
