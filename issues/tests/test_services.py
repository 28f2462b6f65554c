"""The issue workflow at the service level: numbers, priority, idempotent intake, transitions, claims."""

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.contrib.postgres.search import SearchQuery
from django.db import IntegrityError, connection, transaction
from pytest_django import DjangoAssertNumQueries

from golive.models import Application, Contact, EscalationTier, GoLive, Notification, Unit
from issues.models import Category, Impact, Issue, IssueEvent, PriorityRule, Urgency
from issues.services import (
    IssueRefused,
    change_status,
    claim_issue,
    create_issue,
    ensure_issue_setup,
)


@pytest.fixture
def setup(mercy: GoLive) -> None:
    ensure_issue_setup(go_live=mercy)


@pytest.fixture
def printing(setup: None, mercy: GoLive) -> Category:
    return Category.objects.get(go_live=mercy, name="Printing / labels")


def log(unit: Unit, category: Category, **fields: object) -> Issue:
    defaults: dict[str, object] = {
        "title": "Labels print blank",
        "impact": Impact.SEVERAL,
        "urgency": Urgency.WORKAROUND,
    }
    issue, created = create_issue(
        go_live=unit.site.go_live, unit=unit, category_id=category.pk, **(defaults | fields)
    )
    assert created
    return issue


def resend(unit: Unit, category: Category, client_key: str) -> tuple[Issue, bool]:
    """The form `log` sent, sent again with the same key."""
    return create_issue(
        go_live=unit.site.go_live,
        unit=unit,
        category_id=category.pk,
        title="Labels print blank",
        impact=Impact.SEVERAL,
        urgency=Urgency.WORKAROUND,
        client_key=client_key,
    )


def test_setup_is_repeatable_and_seeds_fourteen_categories_and_nine_matrix_cells(
    setup: None, mercy: GoLive
) -> None:
    ensure_issue_setup(go_live=mercy)
    assert Category.objects.filter(go_live=mercy).count() == 14
    assert Category.objects.get(go_live=mercy, name="Enhancement request").is_enhancement
    assert PriorityRule.objects.filter(go_live=mercy).count() == 9


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        (Impact.UNIT, Urgency.BLOCKED, "P1"),
        (Impact.ONE_USER, Urgency.BLOCKED, "P2"),
        (Impact.SEVERAL, Urgency.WORKAROUND, "P3"),
        (Impact.ONE_USER, Urgency.QUESTION, "P4"),
    ],
)
def test_the_matrix_derives_the_priority(
    four_west: Unit, printing: Category, impact: str, urgency: str, priority: str
) -> None:
    assert log(four_west, printing, impact=impact, urgency=urgency).priority == priority


def test_an_edited_matrix_is_used_and_patient_safety_is_always_p1(
    four_west: Unit, printing: Category, mercy: GoLive
) -> None:
    PriorityRule.objects.filter(
        go_live=mercy, impact=Impact.ONE_USER, urgency=Urgency.QUESTION
    ).update(priority="P3")
    question = {"impact": Impact.ONE_USER, "urgency": Urgency.QUESTION}
    assert log(four_west, printing, **question).priority == "P3"
    assert log(four_west, printing, **question, patient_safety=True).priority == "P1"
    # A go-live without a matrix of its own uses the usual one.
    PriorityRule.objects.filter(go_live=mercy).delete()
    assert log(four_west, printing, **question).priority == "P4"


def test_an_unknown_impact_or_urgency_is_refused(four_west: Unit, printing: Category) -> None:
    with pytest.raises(IssueRefused, match="who is affected and how bad"):
        log(four_west, printing, impact="everyone")
    assert not Issue.objects.exists()


def test_the_issue_returned_is_the_stored_row_column_for_column(
    four_west: Unit, printing: Category
) -> None:
    """create_issue builds the issue from what it sent and what the database decided (without a
    reload), and writes the columns a new issue always starts with as literals: both must agree
    with the row."""
    issue = log(four_west, printing, description="Since the driver update", reporter_name="Kim")
    stored = Issue.objects.get(pk=issue.pk)
    for field in Issue._meta.concrete_fields:
        if not field.generated:
            assert getattr(issue, field.attname) == getattr(stored, field.attname), field.name
    assert stored.status == Issue.Status.NEW
    assert (stored.escalation_done, stored.escalation_warned) == ([], [])
    assert stored.updated_at == stored.created_at
    assert stored.version == 1
    assert stored.routing_pending
    assert IssueEvent.objects.get(issue=issue).new == Issue.Status.NEW.label


def test_issues_are_numbered_in_order_per_go_live_and_logged(
    four_west: Unit, printing: Category, nurse_nina: User
) -> None:
    first = log(four_west, printing, reporter_user=nurse_nina)
    second = log(four_west, printing)
    assert (first.code, second.code) == ("GL-1001", "GL-1002")
    assert first.site == four_west.site
    assert first.priority == "P3"
    event = IssueEvent.objects.get(issue=first)
    assert (event.kind, event.actor) == ("created", nurse_nina)
    # The server's default search configuration varies; the vector is English, so is the query.
    assert Issue.objects.filter(search=SearchQuery("label", config="english")).count() == 2


def test_the_same_form_key_twice_gives_one_issue(four_west: Unit, printing: Category) -> None:
    first = log(four_west, printing, client_key="tab-1:abc")
    again, created = resend(four_west, printing, "tab-1:abc")
    assert (again, created) == (first, False)
    assert Issue.objects.count() == 1


def test_another_go_lives_unit_is_refused(
    printing: Category, lakeside: GoLive, mercy: GoLive
) -> None:
    other_unit = Unit.objects.create(
        site=lakeside.sites.create(name="Lake", code="LK"), name="Lake ED"
    )
    with pytest.raises(IssueRefused, match="unit of this go-live"):
        create_issue(
            go_live=mercy,
            unit=other_unit,
            category_id=printing.pk,
            title="x",
            impact=Impact.ONE_USER,
            urgency=Urgency.QUESTION,
        )
    assert not Issue.objects.exists()


def test_another_go_lives_or_a_retired_category_is_refused_and_uses_no_number(
    four_west: Unit, printing: Category, lakeside: GoLive
) -> None:
    ensure_issue_setup(go_live=lakeside)
    theirs = Category.objects.get(go_live=lakeside, name="Printing / labels")
    retired = Category.objects.create(go_live=printing.go_live, name="Old", is_active=False)
    for category in (theirs, retired):
        with pytest.raises(IssueRefused, match="kinds of problem shown") as refused:
            log(four_west, category)
        assert refused.value.field == "category"
    assert not Issue.objects.exists() and not IssueEvent.objects.exists()
    # The refused ones took no number: the next issue is still the first.
    assert log(four_west, printing).code == "GL-1001"


def test_another_go_lives_application_is_refused(
    four_west: Unit, printing: Category, orders_app: Application, lakeside: GoLive
) -> None:
    theirs = Application.objects.create(go_live=lakeside, name="Orders")
    with pytest.raises(IssueRefused, match="application from the list") as refused:
        log(four_west, printing, application_id=theirs.pk)
    assert refused.value.field == "application"
    assert not Issue.objects.exists()
    assert log(four_west, printing, application_id=orders_app.pk).application == orders_app


@pytest.mark.parametrize(("urgency", "hours"), [(Urgency.BLOCKED, 4), (Urgency.QUESTION, 72)])
def test_the_due_time_is_the_priority_target_and_none_for_an_enhancement(
    four_west: Unit, printing: Category, urgency: str, hours: int
) -> None:
    issue = log(
        four_west, printing, impact=Impact.UNIT if hours == 4 else Impact.ONE_USER, urgency=urgency
    )
    assert issue.due_at == issue.created_at + dt.timedelta(hours=hours)
    issue.refresh_from_db()
    assert issue.due_at == issue.created_at + dt.timedelta(hours=hours)
    wish = Category.objects.get(go_live=printing.go_live, name="Enhancement request")
    assert log(four_west, wish, urgency=urgency).due_at is None


@pytest.mark.django_db(transaction=True)
def test_the_intake_is_one_statement_and_returns_the_stored_issue(
    four_west: Unit, printing: Category, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(1):
        issue = log(four_west, printing, title="  Printer jams  ", client_key="k-1")
    stored = Issue.objects.get()
    assert issue == stored
    fields = ("number", "title", "priority", "status", "version", "created_at", "routing_pending")
    assert [getattr(issue, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert issue.title == "Printer jams" and issue.routing_pending


@pytest.mark.django_db(transaction=True)
def test_the_intake_statement_is_prepared_once_per_connection_or_not_at_all_when_told(
    four_west: Unit, printing: Category
) -> None:
    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if "issues_issuecounter" in row[0]]

    for n in range(4):
        log(four_west, printing, title=f"Printer {n}")
    # PostgreSQL parses and plans it once, then runs it with new parameters each time.
    assert len(prepared()) == 1
    # Behind a pooler that cannot keep prepared statements (DB_PREPARED_STATEMENTS=false), the
    # same statement runs unprepared.
    connection.close()
    connection.ensure_connection()
    connection.connection.prepare_threshold = None
    for n in range(4):
        log(four_west, printing, title=f"Scanner {n}")
    assert prepared() == []
    assert Issue.objects.count() == 8
    connection.close()  # the next test gets a connection as the settings make it


@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ("parent_id", "issue_parent_idx"),
        ("reporter_user_id", "issue_reporter_user_idx"),
        ("assignee_id", "issue_assignee_idx"),
        ("application_id", "issue_application_idx"),
    ],
)
def test_an_optional_reference_indexed_only_where_set_still_serves_its_lookups(
    four_west: Unit, printing: Category, lookup: str, index: str
) -> None:
    """Issues without the reference stay out of its index (an issue logged skips it), and a
    lookup by a value can still use it: PostgreSQL proves the value is not null."""
    log(four_west, printing)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM issues_issue WHERE {lookup} = %s", [1])
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [index])
        (definition,) = cursor.fetchone()
    assert index in plan
    assert definition.endswith(f"WHERE ({lookup} IS NOT NULL)")


def test_a_resend_inside_the_callers_transaction_leaves_it_usable(
    four_west: Unit, printing: Category
) -> None:
    first = log(four_west, printing, client_key="k-2")
    with transaction.atomic():
        again, created = resend(four_west, printing, "k-2")
        # The refused INSERT was inside a savepoint: the transaction goes on.
        assert Issue.objects.count() == 1
    assert (again, created) == (first, False)


def test_a_patient_safety_issue_is_p1_and_tells_the_leadership_line_once(
    four_west: Unit,
    printing: Category,
    tiers: dict[str, EscalationTier],
    lead_lena: User,
    mercy: GoLive,
) -> None:
    Contact.objects.create(
        go_live=mercy,
        tier=tiers["leadership"],
        name="Dr. Helen Park",
        email="cmio@mercy.example",
        sms_number="+13125550161",
    )
    issue = log(four_west, printing, urgency=Urgency.QUESTION, patient_safety=True)

    assert issue.priority == "P1"
    assert set(
        Notification.objects.values_list("channel", "recipient_address", "recipient_user")
    ) == {
        ("email", "cmio@mercy.example", None),
        ("sms", "+13125550161", None),
        ("in_app", "", lead_lena.pk),
    }


def test_the_database_refuses_a_patient_safety_issue_below_p1(
    four_west: Unit, printing: Category
) -> None:
    issue = log(four_west, printing)
    with pytest.raises(IntegrityError):
        Issue.objects.filter(pk=issue.pk).update(patient_safety=True)


# --- Workflow -------------------------------------------------------------------------------------


def test_the_workflow_runs_from_new_to_closed_and_reopens(
    four_west: Unit, printing: Category, agent_alex: User, nurse_nina: User
) -> None:
    issue = log(four_west, printing, reporter_user=nurse_nina)
    issue = change_status(issue=issue, to="acknowledged", actor=agent_alex)
    assert issue.acknowledged_at is not None
    issue = change_status(
        issue=issue, to="waiting_reporter", actor=agent_alex, note="Which printer?"
    )
    issue = change_status(issue=issue, to="in_progress", actor=agent_alex)
    issue = change_status(
        issue=issue, to="resolved", actor=agent_alex, resolution="Printer driver reinstalled."
    )
    issue = change_status(issue=issue, to="closed", actor=agent_alex)
    issue = change_status(issue=issue, to="in_progress", actor=nurse_nina, note="Blank again")

    assert (issue.resolved_at, issue.closed_at, issue.version) == (None, None, 7)
    assert list(issue.events.values_list("kind", flat=True)) == ["created"] + ["status"] * 6
    # The reporter hears of the changes that matter to them, each once.
    subjects = list(
        Notification.objects.filter(recipient_user=nurse_nina).values_list("subject", flat=True)
    )
    assert [s.split(":")[0] for s in subjects] == [
        "GL-1001 resolved",
        "GL-1001 waiting on the reporter",
        "GL-1001 acknowledged",
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["closed"], "GL-1001 is new: it cannot become closed"),
        (["resolved"], "Say how GL-1001 was resolved"),
        (["acknowledged", "new"], "cannot become new"),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(
    four_west: Unit, printing: Category, agent_alex: User, steps: list[str], message: str
) -> None:
    issue = log(four_west, printing)
    with pytest.raises(IssueRefused, match=message):
        for step in steps:
            issue = change_status(issue=issue, to=step, actor=agent_alex)
    issue.refresh_from_db()
    assert issue.status in {"new", "acknowledged"}
    assert issue.events.filter(kind="status").count() == len(steps) - 1


def test_a_change_from_a_stale_form_is_refused(
    four_west: Unit, printing: Category, agent_alex: User
) -> None:
    issue = log(four_west, printing)
    seen = issue.version
    change_status(issue=issue, to="acknowledged", actor=agent_alex)
    with pytest.raises(IssueRefused, match="changed by someone else"):
        change_status(issue=issue, to="in_progress", actor=agent_alex, expected_version=seen)


# --- Claims ---------------------------------------------------------------------------------------


def test_a_claimed_issue_cannot_be_claimed_again(
    four_west: Unit, printing: Category, agent_alex: User, lead_lena: User
) -> None:
    issue = log(four_west, printing)
    assert claim_issue(issue=issue, agent=agent_alex).assignee == agent_alex
    with pytest.raises(IssueRefused, match="Alex Agent has GL-1001 already"):
        claim_issue(issue=issue, agent=lead_lena)


def _in_thread(work: Callable[[], object], results: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_one_wins_and_the_other_is_told_who(
    four_west: Unit, agent_alex: User, lead_lena: User, mercy: GoLive
) -> None:
    ensure_issue_setup(go_live=mercy)
    issue = log(four_west, Category.objects.get(go_live=mercy, name="Login / access"))
    barrier = threading.Barrier(2)
    results: list[object] = []

    def claim(agent: User) -> str:
        barrier.wait(10)
        claim_issue(issue=issue, agent=agent)
        return agent.username

    threads = [_in_thread(lambda a=a: claim(a), results) for a in (agent_alex, lead_lena)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    winners = [r for r in results if isinstance(r, str)]
    [refused] = [r for r in results if isinstance(r, IssueRefused)]
    assert len(winners) == 1
    issue.refresh_from_db()
    assert issue.assignee.username == winners[0]
    assert "has GL-1001 already" in str(refused)
    assert issue.events.filter(kind="assignee").count() == 1


def test_psycopg_parses_the_intake_statement_once(four_west: Unit, printing: Category) -> None:
    # psycopg keeps the parsed form of a statement only when it is short enough (see
    # _create_statement); the second issue must not pay for parsing again.
    from psycopg import _queries

    log(four_west, printing)
    before = _queries._query2pg.cache_info()
    log(four_west, printing)
    after = _queries._query2pg.cache_info()
    assert after.misses == before.misses
    assert after.hits > before.hits


def test_logging_an_issue_costs_a_handful_of_queries_however_many_exist(
    four_west: Unit, printing: Category, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for _ in range(20):
        log(four_west, printing)
    # Priority, number, insert, event, and the savepoint around them.
    with django_assert_max_num_queries(6):
        issue = log(four_west, printing, client_key="tab:late")
    assert issue.code == "GL-1021"
