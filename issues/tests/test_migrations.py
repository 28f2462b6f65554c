"""Data migrations, run backwards and forwards on real rows."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from issues.models import Issue, IssueEvent
from issues.services import assign_issue
from issues.tests.conftest import LogIssue

BEFORE_ASSIGNED_AT = ("issues", "0011_dashboard_time_indexes")
ASSIGNED_AT = ("issues", "0012_issue_assigned_at")


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


@pytest.mark.django_db(transaction=True)
def test_an_issue_given_before_assigned_at_existed_is_dated_by_the_entry_that_gave_it(
    log_issue: LogIssue, agent_alex: User, super_sam: User, lead_lena: User
) -> None:
    first_given = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)
    handed_on = first_given + dt.timedelta(hours=2)
    held, given_back, never = log_issue(), log_issue(), log_issue()
    for issue in (held, given_back):
        assign_issue(issue=issue, assignee=agent_alex, actor=lead_lena)
    assign_issue(issue=held, assignee=super_sam, actor=lead_lena)
    assign_issue(issue=given_back, assignee=None, actor=lead_lena)
    # The timeline entries at known times: the held issue went to Alex, then on to Sam.
    alex, sam = IssueEvent.objects.filter(issue=held, kind="assignee").order_by("pk")
    IssueEvent.objects.filter(pk=alex.pk).update(at=first_given)
    IssueEvent.objects.filter(pk=sam.pk).update(at=handed_on)

    migrate(BEFORE_ASSIGNED_AT)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'issues_issue' AND column_name = 'assigned_at'"
            )
            assert cursor.fetchone() is None
    finally:
        migrate(ASSIGNED_AT)

    dated = dict(
        Issue.objects.filter(pk__in=[held.pk, given_back.pk, never.pk]).values_list(
            "pk", "assigned_at"
        )
    )
    assert dated == {held.pk: handed_on, given_back.pk: None, never.pk: None}
