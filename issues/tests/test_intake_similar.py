"""Similar issues while typing, and "this is my problem too"."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Site, Unit
from issues.access import Floor
from issues.intake import search_terms, similar_issues
from issues.models import Category, Impact, Issue, IssueReporter, KnownIssue, UnitTablet, Urgency
from issues.services import change_status, ensure_issue_setup
from issues.tests.conftest import LogIssue
from issues.tests.test_tablets import enrolled_device

HX = {"HX-Request": "true"}


@pytest.fixture
def tablet(four_west: Unit, manager_maria: User) -> tuple[UnitTablet, Client]:
    return enrolled_device(four_west, manager_maria)


@pytest.fixture
def device(tablet: tuple[UnitTablet, Client]) -> Client:
    return tablet[1]


def suggested(client: Client, title: str, description: str = "", **extra: object) -> str:
    response = client.get(
        reverse("issues:similar"), {"title": title, "description": description, **extra}, headers=HX
    )
    assert response.status_code == 200
    return response.content.decode()


def known(issue: Issue, *, units: list[Unit] = (), **fields: object) -> KnownIssue:  # type: ignore[assignment]
    """A published known issue anchored on `issue` (the known-issues pages make these)."""
    defaults: dict[str, object] = {
        "title": issue.title,
        "problem": issue.title,
        "workaround": "Print from the backup printer in the med room.",
        "status": KnownIssue.Status.WORKAROUND,
    }
    row = KnownIssue.objects.create(go_live=issue.go_live, issue=issue, **(defaults | fields))
    row.units.set(units)
    return row


def test_search_terms_keep_only_plain_words() -> None:
    assert search_terms("Labels' blank!! & | :* print-er 4W x") == [
        "labels",
        "blank",
        "print",
        "er",
        "4w",
    ]
    assert search_terms("") == []
    assert len(search_terms(" ".join(f"word{n}" for n in range(30)))) == 8


def test_it_finds_the_label_printer_for_labels_blank(
    device: Client, log_issue: LogIssue, agent_alex: User
) -> None:
    printer = log_issue(title="Label printer prints blank labels")
    log_issue(title="Blank screen after login")
    page = suggested(device, "labels blank")
    assert printer.code in page and "Label printer prints blank labels" in page
    # Every word matched one issue: the issue matching only "blank" is left out.
    assert "Blank screen after login" not in page
    assert "This is my problem too" in page
    assert "4 West Med/Surg" in page and "New" in page


def test_with_no_issue_holding_every_word_it_falls_back_to_any_word(
    device: Client, log_issue: LogIssue
) -> None:
    log_issue(title="Label printer prints blank labels")
    log_issue(title="Blank screen after login")
    page = suggested(device, "blank frozen")
    assert "Label printer prints blank labels" in page and "Blank screen after login" in page


def test_a_known_issue_with_every_word_leaves_out_issues_with_only_some(
    device: Client, log_issue: LogIssue
) -> None:
    anchor = log_issue(title="Label printer prints blank labels")
    known(anchor, title="Blank labels from the Zebra printers")
    log_issue(title="Blank screen after login")
    page = suggested(device, "blank labels")
    assert "Blank labels from the Zebra printers" in page
    assert "Blank screen after login" not in page


def test_words_match_as_they_are_being_typed(device: Client, log_issue: LogIssue) -> None:
    log_issue(title="Label printer prints blank labels")
    assert "Label printer" in suggested(device, "label prin")


def test_it_leaves_out_closed_issues_other_units_and_other_go_lives(
    device: Client,
    log_issue: LogIssue,
    agent_alex: User,
    ed: Unit,
    lakeside: GoLive,
) -> None:
    done = log_issue(title="Label printer prints blank labels in the med room")
    change_status(issue=done, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Driver")
    log_issue(unit=ed, title="Label printer prints blank labels in triage")
    ensure_issue_setup(go_live=lakeside)
    lake_unit = Unit.objects.create(
        site=Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM"), name="3 East"
    )
    log_issue(
        unit=lake_unit,
        category=Category.objects.get(go_live=lakeside, name="Printing / labels"),
        title="Label printer prints blank labels at Lakeside",
    )
    page = suggested(device, "labels blank")
    assert "Label printer" not in page


def test_a_nurse_sees_her_units_issues_and_not_others(
    client_for: Callable[[User], Client], nurse_nina: User, log_issue: LogIssue, ed: Unit
) -> None:
    log_issue(title="Label printer prints blank labels")
    log_issue(unit=ed, title="Label printer in triage prints blank labels")
    page = suggested(client_for(nurse_nina), "labels blank")
    assert "Label printer prints blank labels" in page
    assert "in triage" not in page


def test_known_issues_of_the_unit_show_with_their_workaround(
    device: Client, log_issue: LogIssue, four_west: Unit, ed: Unit
) -> None:
    ours = known(
        log_issue(unit=ed, title="Zebra label printers print blank labels"), units=[four_west]
    )
    everyone = known(log_issue(unit=ed, title="Blank labels from every printer"), workaround="")
    known(log_issue(unit=ed, title="Blank specimen labels in the ED"), units=[ed])
    known(
        log_issue(unit=ed, title="Blank labels after the update"),
        status=KnownIssue.Status.FIXED,
    )

    page = suggested(device, "blank labels")

    assert ours.issue.code in page and "Print from the backup printer in the med room." in page
    assert everyone.issue.code in page
    assert "Known issue · Workaround available" in page
    assert "specimen" not in page and "after the update" not in page


def test_suggestions_are_at_most_five(device: Client, log_issue: LogIssue) -> None:
    for n in range(7):
        log_issue(title=f"Label printer {n} prints blank labels")
    assert suggested(device, "labels blank").count('data-testid="suggestion"') == 5


def test_too_little_text_suggests_nothing(device: Client, log_issue: LogIssue) -> None:
    log_issue(title="Label printer prints blank labels")
    assert suggested(device, "a", "!").strip() == ""


@pytest.mark.parametrize(
    ("typed", "queries"),
    [
        # The tablet; the known issues and the issues with every word.
        ("labels blank printer", 3),
        # No issue has both words: then the known issues and the issues with any word.
        ("printer frozen", 5),
    ],
)
def test_a_tablet_search_costs_a_fixed_number_of_queries(
    tablet: tuple[UnitTablet, Client],
    log_issue: LogIssue,
    django_assert_num_queries: DjangoAssertNumQueries,
    typed: str,
    queries: int,
) -> None:
    _, device = tablet
    log_issue(title="Label printer prints blank labels")
    device.get(reverse("issues:similar"))  # last use written
    with django_assert_num_queries(queries):
        page = suggested(device, typed)
    assert "Label printer" in page


def test_the_search_is_served_by_the_open_issues_full_text_index(
    tablet: tuple[UnitTablet, Client], log_issue: LogIssue, printing: Category, four_west: Unit
) -> None:
    unit_tablet, _ = tablet
    log_issue(title="Label printer prints blank labels")
    now = timezone.now()
    words = ["scanner", "order", "login", "badge", "monitor", "eMAR", "flowsheet", "results"]
    Issue.objects.bulk_create(
        Issue(
            go_live=four_west.site.go_live,
            number=5000 + n,
            site=four_west.site,
            unit=four_west,
            category=printing,
            title=f"The {words[n % 8]} {words[(n // 8) % 8]} fails number {n}",
            impact=Impact.ONE_USER,
            urgency=Urgency.QUESTION,
            priority="P4",
            created_at=now - dt.timedelta(minutes=n),
            updated_at=now,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE issues_issue")
    floor = Floor(go_live=unit_tablet.go_live, tablet=unit_tablet)
    with CaptureQueriesContext(connection) as captured:
        found = similar_issues(floor=floor, text="labels blank", units=floor.units())
    assert [s.issue.title for s in found] == ["Label printer prints blank labels"]
    issue_sql = next(
        q["sql"] for q in captured.captured_queries if 'FROM "issues_issue"' in q["sql"]
    )
    # A few thousand rows are read faster by a scan; on a go-live's 60,000 the planner picks the
    # index by itself (bench/). Here the planner is told to avoid scans, to show that the query's
    # text condition is one the GIN index serves (a to_tsvector() on the fly would not be).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {issue_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "issue_open_search_idx" in plan, plan


# --- This is my problem too -----------------------------------------------------------------------


def test_a_tablet_joins_an_issue_once_with_the_name_and_number_typed_in_the_form(
    tablet: tuple[UnitTablet, Client], log_issue: LogIssue, four_west: Unit
) -> None:
    _, device = tablet
    issue = log_issue(title="Label printer prints blank labels")
    data = {"issue": issue.pk, "reporter_name": "Kim Rivera", "reporter_callback": "x4411"}

    first = device.post(reverse("issues:join"), data, headers=HX)
    again = device.post(reverse("issues:join"), data, headers=HX)

    reporter = IssueReporter.objects.get()
    assert (reporter.issue, reporter.name, reporter.callback, reporter.unit) == (
        issue,
        "Kim Rivera",
        "x4411",
        four_west,
    )
    assert first["HX-Retarget"] == "#intake-page"
    assert f"You are added to {issue.code}" in first.content.decode()
    assert f"You were already on {issue.code}" in again.content.decode()
    assert issue.events.filter(kind="reporter").count() == 1


def test_a_tablet_without_a_name_is_asked_for_it_and_nothing_is_added(
    device: Client, log_issue: LogIssue
) -> None:
    issue = log_issue()
    response = device.post(reverse("issues:join"), {"issue": issue.pk}, headers=HX)
    assert "HX-Retarget" not in response
    assert "Type your name and callback number in the form first" in response.content.decode()
    assert not IssueReporter.objects.exists()

    page = device.post(reverse("issues:join"), {"issue": issue.pk})
    assert page.status_code == 400
    assert 'name="reporter_name"' in page.content.decode()


def test_a_member_joins_once_as_themself(
    client_for: Callable[[User], Client], nurse_nina: User, log_issue: LogIssue, four_west: Unit
) -> None:
    issue = log_issue()
    client = client_for(nurse_nina)
    for _ in range(2):
        response = client.post(reverse("issues:join"), {"issue": issue.pk})
        assert response.status_code == 200
    reporter = IssueReporter.objects.get()
    assert reporter.user == nurse_nina and reporter.unit == four_west
    assert "you will be told when it is fixed" in response.content.decode()


def test_joining_a_known_issue_joins_its_anchor(
    device: Client, log_issue: LogIssue, ed: Unit, four_west: Unit
) -> None:
    anchor = known(log_issue(unit=ed, title="Zebra printers print blank"), units=[four_west]).issue
    response = device.post(
        reverse("issues:join"),
        {
            "known_issue": anchor.known_issue.pk,
            "reporter_name": "Kim",
            "reporter_callback": "x4411",
        },
        headers=HX,
    )
    assert f"You are added to {anchor.code}" in response.content.decode()
    assert IssueReporter.objects.get().issue == anchor


def test_nobody_joins_what_they_may_not_see(
    device: Client, log_issue: LogIssue, ed: Unit, lakeside: GoLive
) -> None:
    ed_issue = log_issue(unit=ed)
    ed_known = known(log_issue(unit=ed, title="ED only"), units=[ed])
    who = {"reporter_name": "Kim", "reporter_callback": "x4411"}
    assert device.post(reverse("issues:join"), {"issue": ed_issue.pk, **who}).status_code == 404
    assert (
        device.post(reverse("issues:join"), {"known_issue": ed_known.pk, **who}).status_code == 404
    )
    assert device.post(reverse("issues:join"), who).status_code == 404
    assert device.post(reverse("issues:join"), {"issue": "x", **who}).status_code == 404
    assert not IssueReporter.objects.exists()


def test_joining_a_resolved_issue_is_refused_with_the_reason(
    device: Client, log_issue: LogIssue, agent_alex: User
) -> None:
    issue = log_issue()
    change_status(issue=issue, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Driver")
    response = device.post(
        reverse("issues:join"),
        {"issue": issue.pk, "reporter_name": "Kim", "reporter_callback": "x4411"},
        headers=HX,
    )
    assert f"{issue.code} is already resolved." in response.content.decode()
    assert not IssueReporter.objects.exists()


def test_joining_is_a_post(device: Client, log_issue: LogIssue) -> None:
    assert device.get(reverse("issues:join"), {"issue": log_issue().pk}).status_code == 405
