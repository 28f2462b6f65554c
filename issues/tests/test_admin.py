"""The issue admin pages render for a superuser; the workflow fields are read-only there."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from golive.models import GoLive, Unit
from issues.models import Category, Impact, Issue, Urgency
from issues.services import create_issue, ensure_issue_setup


@pytest.fixture
def issue(mercy: GoLive, four_west: Unit) -> Issue:
    ensure_issue_setup(go_live=mercy)
    created, _ = create_issue(
        go_live=mercy,
        unit=four_west,
        category_id=Category.objects.get(go_live=mercy, name="Printing / labels").pk,
        title="Labels print blank",
        impact=Impact.SEVERAL,
        urgency=Urgency.WORKAROUND,
    )
    return created


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("issue", "q=Labels&status__exact=new&priority__exact=P3"),
        ("category", "q=Printing&is_enhancement__exact=0"),
        ("priorityrule", "priority__exact=P1"),
        ("issuereporter", ""),
    ],
)
def test_each_changelist_renders(client: Client, issue: Issue, model: str, query: str) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    response = client.get(f"{reverse(f'admin:issues_{model}_changelist')}?{query}")
    assert response.status_code == 200


def test_the_issue_page_shows_its_timeline_and_keeps_the_status_read_only(
    client: Client, issue: Issue
) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    response = client.get(reverse("admin:issues_issue_change", args=[issue.pk]))
    assert response.status_code == 200
    assert b"Created" in response.content
    assert b'name="status"' not in response.content
