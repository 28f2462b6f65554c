"""The service levels on the issue settings page: the table of policies, narrowed policies, and
every refusal saving nothing."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from golive.models import GoLive, Site, Unit
from issues.forms_sla import SpanField, span_text
from issues.models import Category, Priority, SlaPolicy
from issues.tests.conftest import LogIssue
from issues.tests.test_setup import SignIn, page_messages

SETUP = reverse("issues:setup")
TABLE = reverse("issues:setup_sla")
ADD = reverse("issues:setup_sla_add")


@pytest.fixture
def lena(setup: None, client_for: SignIn, lead_lena: User) -> Client:
    return client_for(lead_lena)


def policies(go_live: GoLive) -> dict[str, SlaPolicy]:
    return {
        policy.priority: policy
        for policy in SlaPolicy.objects.filter(go_live=go_live, category=None, site=None)
    }


def table_post(go_live: GoLive, **changes: str) -> dict[str, str]:
    """The table as the page sends it, with `P1_response="20 min"`-style changes."""
    data: dict[str, str] = {}
    for policy in SlaPolicy.objects.filter(go_live=go_live):
        prefix = f"p{policy.pk}_"
        data[f"{prefix}response"] = span_text(policy.response)
        data[f"{prefix}resolution"] = span_text(policy.resolution)
        data[f"{prefix}warn_at"] = ", ".join(str(n) for n in policy.warn_at)
        if policy.pause_while_waiting:
            data[f"{prefix}pause_while_waiting"] = "on"
    for key, value in changes.items():
        priority, name = key.split("_", 1)
        prefix = f"p{policies(go_live)[priority].pk}_"
        if value == "":
            data.pop(f"{prefix}{name}", None)
        else:
            data[f"{prefix}{name}"] = value
    return data


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("15 min", 15), ("4 h", 240), ("1 h 30 min", 90), ("2 d", 2880), ("90", 90), ("1h30m", 90)],
)
def test_times_are_typed_as_people_say_them(typed: str, minutes: int) -> None:
    assert SpanField().clean(typed) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("typed", ["soon", "0 min", "31 d", "4 hours and a bit", "-5"])
def test_a_time_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(Exception, match="Give a time such as"):
        SpanField().clean(typed)


def test_the_table_shows_each_priority_in_words(lena: Client) -> None:
    page = lena.get(SETUP).content.decode()
    assert "Service levels" in page
    for text in ("15 min", "4 h", "30 min", "8 h", "2 h", "1 d", "3 d", "50, 100"):
        assert f'value="{text}"' in page, text


def test_the_lead_changes_the_times_and_new_issues_get_them(
    lena: Client, mercy: GoLive, log_issue: LogIssue
) -> None:
    response = lena.post(
        TABLE,
        table_post(
            mercy,
            P3_response="45 min",
            P3_resolution="12 h",
            P3_warn_at="75, 50, 100",
            P3_pause_while_waiting="",
        ),
    )

    assert response.status_code == 302
    p3 = policies(mercy)["P3"]
    assert (p3.response, p3.resolution, p3.warn_at) == (
        dt.timedelta(minutes=45),
        dt.timedelta(hours=12),
        [50, 75, 100],
    )
    assert p3.pause_while_waiting is False
    assert policies(mercy)["P1"].response == dt.timedelta(minutes=15)
    issue = log_issue(title="Labels print blank")  # P3
    assert issue.respond_by == issue.created_at + dt.timedelta(minutes=45)
    assert issue.due_at == issue.created_at + dt.timedelta(hours=12)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"P2_response": "soon"}, "Give a time such as"),
        ({"P2_resolution": ""}, "Say how soon it must be resolved."),
        ({"P2_resolution": "10 min"}, "cannot be shorter than the first-response time"),
        ({"P2_warn_at": "50, 150"}, "percentages from 1 to 100"),
    ],
)
def test_a_bad_time_refuses_the_whole_table(
    lena: Client, mercy: GoLive, changes: dict[str, str], message: str
) -> None:
    before = {p.pk: (p.response, p.resolution, p.warn_at) for p in SlaPolicy.objects.all()}
    response = lena.post(TABLE, table_post(mercy, P1_response="5 min", **changes))

    assert response.status_code == 200
    page = response.content.decode()
    assert "nothing was saved" in page
    assert message in page
    after = {p.pk: (p.response, p.resolution, p.warn_at) for p in SlaPolicy.objects.all()}
    assert after == before


def test_a_policy_for_a_category_at_a_site_is_added_and_wins(
    lena: Client, mercy: GoLive, mercy_general: Site, log_issue: LogIssue, four_west: Unit
) -> None:
    printing = Category.objects.get(go_live=mercy, name="Printing / labels")
    response = lena.post(
        ADD,
        {
            "priority": Priority.P3,
            "category": printing.pk,
            "site": mercy_general.pk,
            "response": "10 min",
            "resolution": "2 h",
            "warn_at": "50",
            "pause_while_waiting": "on",
        },
    )

    assert response.status_code == 302
    added = SlaPolicy.objects.get(go_live=mercy, category=printing, site=mercy_general)
    assert (added.priority, added.warn_at) == ("P3", [50])
    follow = lena.get(SETUP)
    assert "The P3 (Printing / labels · Mercy General) service level is added." in page_messages(
        follow
    )
    issue = log_issue(unit=four_west, category=printing)
    assert issue.due_at == issue.created_at + dt.timedelta(hours=2)
    # Its row in the table can be removed; the priorities' own rows cannot.
    page = follow.content.decode()
    assert f'name="p{added.pk}_remove"' in page
    assert f'name="p{policies(mercy)["P3"].pk}_remove"' not in page
    assert lena.post(TABLE, table_post(mercy) | {f"p{added.pk}_remove": "on"}).status_code == 302
    assert not SlaPolicy.objects.filter(pk=added.pk).exists()
    assert len(policies(mercy)) == 4


def test_a_narrowed_policy_needs_a_scope_of_its_own_go_live_and_a_new_one(
    lena: Client, mercy: GoLive, lakeside: GoLive, mercy_general: Site
) -> None:
    printing = Category.objects.get(go_live=mercy, name="Printing / labels")
    wish = Category.objects.get(go_live=mercy, name="Enhancement request")
    theirs = Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM")
    base = {"priority": "P2", "response": "10 min", "resolution": "2 h", "warn_at": "50, 100"}
    SlaPolicy.objects.create(
        go_live=mercy,
        priority="P2",
        site=mercy_general,
        response=dt.timedelta(minutes=5),
        resolution=dt.timedelta(hours=1),
    )
    count = SlaPolicy.objects.count()
    for data, message in [
        ({}, "Choose a category, a site or both"),
        ({"site": mercy_general.pk}, "There is already a policy for this priority"),
        ({"site": theirs.pk}, "Choose a site from the list."),
        ({"category": wish.pk}, "Choose a category from the list."),
        ({"category": printing.pk, "resolution": "5 min"}, "cannot be shorter"),
        ({"category": printing.pk, "priority": "P9"}, "Choose P1, P2, P3 or P4."),
    ]:
        response = lena.post(ADD, base | data)
        assert response.status_code == 200, data
        assert message in response.content.decode(), data
    assert SlaPolicy.objects.count() == count


def test_the_category_names_in_the_table_are_shown_as_text(lena: Client, mercy: GoLive) -> None:
    category = Category.objects.create(go_live=mercy, name="<script>alert(1)</script>")
    SlaPolicy.objects.create(
        go_live=mercy,
        priority="P4",
        category=category,
        response=dt.timedelta(hours=1),
        resolution=dt.timedelta(days=1),
    )
    page = lena.get(SETUP).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert re.search(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", page)
