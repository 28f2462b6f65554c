"""The issue settings page: routing, the priority matrix, categories, and who may open it."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from golive.models import EscalationTier, GoLive
from issues.models import (
    AssignmentRule,
    Category,
    Impact,
    IssueSettings,
    PriorityRule,
    SlaPolicy,
    Urgency,
)
from issues.tests.conftest import LogIssue
from staffing.models import SupportRole

SETUP = reverse("issues:setup")
SignIn = Callable[[User], Client]


@pytest.fixture
def lena(setup: None, client_for: SignIn, lead_lena: User) -> Client:
    return client_for(lead_lena)


def routing_post(tiers: dict[str, EscalationTier], **fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "auto_assign": "on",
        "assignee_cap": "8",
        f"tier_{tiers['floor'].pk}": [SupportRole.HELP_DESK, SupportRole.SUPER_USER],
        f"tier_{tiers['command'].pk}": [SupportRole.ANALYST],
    }
    return {key: value for key, value in (data | fields).items() if value is not None}


def matrix_post(**cells: str) -> dict[str, str]:
    data = {f"{impact}__{urgency}": "P3" for impact in Impact for urgency in Urgency}
    return data | cells


def names(go_live: GoLive) -> list[str]:
    return list(Category.objects.filter(go_live=go_live).values_list("name", flat=True))


def page_messages(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


# --- Who may --------------------------------------------------------------------------------------


def _post_urls(category: Category) -> list[str]:
    return [
        reverse("issues:setup_routing"),
        reverse("issues:setup_matrix"),
        reverse("issues:setup_sla"),
        reverse("issues:setup_sla_add"),
        reverse("issues:setup_category_add"),
        reverse("issues:setup_category_edit", args=[category.pk]),
        reverse("issues:setup_category_move", args=[category.pk]),
        reverse("issues:setup_category_active", args=[category.pk]),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(setup: None, mercy: GoLive, client: Client) -> None:
    category = Category.objects.filter(go_live=mercy).first()
    assert category is not None
    for url in [SETUP, *_post_urls(category)]:
        response = client.post(url) if url != SETUP else client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{reverse('login')}?next=")


@pytest.mark.parametrize("who", ["agent_alex", "manager_maria", "super_sam", "nurse_nina"])
def test_only_the_command_center_lead_opens_the_settings(
    who: str,
    setup: None,
    mercy: GoLive,
    request: pytest.FixtureRequest,
    client_for: SignIn,
    tiers: dict[str, EscalationTier],
) -> None:
    client = client_for(request.getfixturevalue(who))
    category = Category.objects.get(go_live=mercy, name="Interfaces")

    assert client.get(SETUP).status_code == 403
    for url in _post_urls(category):
        data = {"name": "Renamed", "direction": "up", "active": "0"} | routing_post(
            tiers, assignee_cap="2"
        )
        assert client.post(url, data).status_code == 403, url

    assert IssueSettings.objects.get(go_live=mercy).assignee_cap == 8
    category.refresh_from_db()
    assert (category.name, category.is_active) == ("Interfaces", True)


def test_the_lead_of_another_go_live_never_reaches_mercy_settings(
    setup: None, mercy: GoLive, lakeside: GoLive, client_for: SignIn, outsider_oscar: User
) -> None:
    Category.objects.filter(go_live=mercy, name="Interfaces").update(name="Mercy interfaces")
    category = Category.objects.get(go_live=mercy, name="Mercy interfaces")
    client = client_for(outsider_oscar)

    page = client.get(SETUP)
    assert page.status_code == 200
    assert page.context["go_live"] == lakeside
    assert "Mercy interfaces" not in page.content.decode()
    for url in _post_urls(category)[5:]:
        assert (
            client.post(url, {"name": "Oscar", "direction": "up", "active": "0"}).status_code == 404
        )

    assert client.post(reverse("issues:setup_routing"), {"assignee_cap": "3"}).status_code == 302
    assert IssueSettings.objects.get(go_live=lakeside).assignee_cap == 3
    assert IssueSettings.objects.get(go_live=mercy).assignee_cap == 8
    category.refresh_from_db()
    assert (category.name, category.is_active, category.position) == ("Mercy interfaces", True, 9)


def test_the_page_reads_as_the_leads_go_live_is_set_up(
    lena: Client, tiers: dict[str, EscalationTier]
) -> None:
    response = lena.get(SETUP)

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Routing", "Priority matrix", "Categories", "Tier 1 · Floor support"):
        assert text in page
    assert "Leadership line" not in page
    assert response.context["routing"]["assignee_cap"].value() == 8


def test_the_first_visit_seeds_a_go_live_that_had_no_issue_settings(
    mercy: GoLive, tiers: dict[str, EscalationTier], client_for: SignIn, lead_lena: User
) -> None:
    assert client_for(lead_lena).get(SETUP).status_code == 200
    assert IssueSettings.objects.filter(go_live=mercy).exists()
    assert len(names(mercy)) == 14


def test_the_page_costs_the_same_queries_with_more_categories_and_tiers(
    lena: Client, mercy: GoLive
) -> None:
    lena.get(SETUP)
    counts = []
    for more in (0, 30):
        for n in range(more):
            Category.objects.create(go_live=mercy, name=f"Extra {n}", position=20 + n)
        for n in range(1 + more // 10):
            tier = EscalationTier.objects.create(go_live=mercy, level=3 + n + more, name="Vendor")
            AssignmentRule.objects.create(go_live=mercy, tier=tier, roles=[SupportRole.ANALYST])
        for category in Category.objects.filter(go_live=mercy, name__startswith="Extra")[:more]:
            SlaPolicy.objects.create(
                go_live=mercy,
                priority="P2",
                category=category,
                response=dt.timedelta(minutes=10),
                resolution=dt.timedelta(hours=2),
            )
        with CaptureQueriesContext(connection) as queries:
            assert lena.get(SETUP).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 16


# --- Routing --------------------------------------------------------------------------------------


def test_the_lead_turns_auto_assignment_off_sets_the_cap_and_the_roles_per_tier(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    data = routing_post(
        tiers,
        auto_assign=None,
        assignee_cap="3",
        **{f"tier_{tiers['command'].pk}": [SupportRole.VENDOR_CONSULTANT, SupportRole.ANALYST]},
    )

    response = lena.post(reverse("issues:setup_routing"), data, follow=True)

    assert page_messages(response) == ["Routing is saved: auto-assignment is off."]
    settings = IssueSettings.objects.get(go_live=mercy)
    assert (settings.auto_assign, settings.assignee_cap) == (False, 3)
    rules = {rule.tier_id: rule.roles for rule in AssignmentRule.objects.filter(go_live=mercy)}
    assert rules == {
        tiers["floor"].pk: [SupportRole.SUPER_USER, SupportRole.HELP_DESK],
        tiers["command"].pk: [SupportRole.VENDOR_CONSULTANT, SupportRole.ANALYST],
    }


def test_a_tier_can_be_left_with_no_role(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    data = routing_post(tiers, **{f"tier_{tiers['command'].pk}": None})

    assert lena.post(reverse("issues:setup_routing"), data).status_code == 302
    assert AssignmentRule.objects.get(go_live=mercy, tier=tiers["command"]).roles == []


def test_a_tier_added_later_routes_by_the_defaults_until_saved(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    vendor = EscalationTier.objects.create(go_live=mercy, level=3, name="Vendor")

    form = lena.get(SETUP).context["routing"]
    assert form[f"tier_{vendor.pk}"].value() == [SupportRole.ANALYST, SupportRole.VENDOR_CONSULTANT]

    data = routing_post(tiers, **{f"tier_{vendor.pk}": [SupportRole.VENDOR_CONSULTANT]})
    assert lena.post(reverse("issues:setup_routing"), data).status_code == 302
    assert AssignmentRule.objects.get(tier=vendor).roles == [SupportRole.VENDOR_CONSULTANT]


@pytest.mark.parametrize("cap", ["0", "51", "many", "", "2.5", "-1"])
def test_a_cap_outside_one_to_fifty_is_refused_and_nothing_is_saved(
    cap: str, lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    data = routing_post(tiers, auto_assign=None, assignee_cap=cap)

    response = lena.post(reverse("issues:setup_routing"), data)

    assert response.status_code == 200
    assert response.context["routing"].errors["assignee_cap"] == [
        "Give the cap as a whole number of open issues from 1 to 50."
    ]
    settings = IssueSettings.objects.get(go_live=mercy)
    assert (settings.auto_assign, settings.assignee_cap) == (True, 8)
    assert AssignmentRule.objects.get(tier=tiers["command"]).roles == [
        SupportRole.ANALYST,
        SupportRole.VENDOR_CONSULTANT,
    ]


def test_an_unknown_role_is_refused_and_nothing_is_saved(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    data = routing_post(tiers, assignee_cap="4", **{f"tier_{tiers['floor'].pk}": ["wizard"]})

    response = lena.post(reverse("issues:setup_routing"), data)

    assert response.status_code == 200
    assert "Choose support roles from the list." in response.content.decode()
    assert IssueSettings.objects.get(go_live=mercy).assignee_cap == 8


# --- Priority matrix ------------------------------------------------------------------------------


def test_the_whole_matrix_is_saved_at_once_and_used_for_new_issues(
    lena: Client, mercy: GoLive, log_issue: LogIssue
) -> None:
    data = matrix_post(
        **{
            f"{Impact.UNIT}__{Urgency.BLOCKED}": "P1",
            f"{Impact.ONE_USER}__{Urgency.QUESTION}": "P4",
        }
    )

    response = lena.post(reverse("issues:setup_matrix"), data, follow=True)

    assert "The priority matrix is saved." in page_messages(response)[0]
    rules = dict(
        PriorityRule.objects.filter(go_live=mercy, impact=Impact.UNIT).values_list(
            "urgency", "priority"
        )
    )
    assert rules == {Urgency.BLOCKED: "P1", Urgency.WORKAROUND: "P3", Urgency.QUESTION: "P3"}
    assert PriorityRule.objects.filter(go_live=mercy).count() == 9
    blocked = log_issue(impact=Impact.SEVERAL, urgency=Urgency.BLOCKED)
    unsafe = log_issue(impact=Impact.ONE_USER, urgency=Urgency.QUESTION, patient_safety=True)
    assert (blocked.priority, unsafe.priority) == ("P3", "P1")


@pytest.mark.parametrize(
    ("cell", "value", "message"),
    [
        (f"{Impact.SEVERAL}__{Urgency.BLOCKED}", "P9", "Choose P1, P2, P3 or P4."),
        (f"{Impact.SEVERAL}__{Urgency.BLOCKED}", "", "Choose a priority for every cell."),
    ],
)
def test_a_bad_cell_refuses_the_whole_matrix(
    cell: str, value: str, message: str, lena: Client, mercy: GoLive
) -> None:
    before = list(PriorityRule.objects.filter(go_live=mercy).values_list("priority", flat=True))

    response = lena.post(reverse("issues:setup_matrix"), matrix_post(**{cell: value}))

    assert response.status_code == 200
    assert response.context["matrix"].errors[cell] == [message]
    assert "the matrix was not saved" in response.content.decode()
    after = list(PriorityRule.objects.filter(go_live=mercy).values_list("priority", flat=True))
    assert after == before


# --- Categories -----------------------------------------------------------------------------------


def test_a_new_category_is_added_at_the_end(lena: Client, mercy: GoLive) -> None:
    response = lena.post(
        reverse("issues:setup_category_add"),
        {"name": "  Blood bank  ", "is_enhancement": ""},
        follow=True,
    )

    assert page_messages(response) == ["The category “Blood bank” is added."]
    assert names(mercy)[-1] == "Blood bank"
    assert Category.objects.get(go_live=mercy, name="Blood bank").is_active


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("printing / LABELS", "There is already a category called “printing / LABELS”."),
        ("", "Give the category a name."),
        ("   ", "Give the category a name."),
        ("x" * 61, "A category name has at most 60 characters."),
    ],
)
def test_a_category_name_must_be_new_and_fit(
    name: str, message: str, lena: Client, mercy: GoLive
) -> None:
    response = lena.post(reverse("issues:setup_category_add"), {"name": name})

    assert response.status_code == 200
    assert message in " ".join(response.context["new_category"].errors["name"])
    assert len(names(mercy)) == 14


def test_the_same_name_on_another_go_live_is_fine(
    lena: Client, mercy: GoLive, lakeside: GoLive
) -> None:
    Category.objects.create(go_live=lakeside, name="Blood bank")

    assert (
        lena.post(reverse("issues:setup_category_add"), {"name": "Blood bank"}).status_code == 302
    )
    assert "Blood bank" in names(mercy)


def test_a_category_is_renamed_and_a_taken_name_refused_on_its_row(
    lena: Client, mercy: GoLive
) -> None:
    category = Category.objects.get(go_live=mercy, name="Interfaces")
    url = reverse("issues:setup_category_edit", args=[category.pk])

    assert lena.post(url, {"name": "INTERFACES"}).status_code == 302
    assert lena.post(url, {"name": "Interfaces / HL7", "is_enhancement": ""}).status_code == 302
    refused = lena.post(url, {"name": "Documentation"})

    assert refused.status_code == 200
    [row] = [row for row in refused.context["rows"] if row.category.pk == category.pk]
    assert row.form.errors["name"] == [
        "There is already a category called “Documentation”. Choose another name."
    ]
    category.refresh_from_db()
    assert category.name == "Interfaces / HL7"


def test_categories_move_up_and_down(lena: Client, mercy: GoLive) -> None:
    first, second, third = names(mercy)[:3]
    second_pk = Category.objects.get(go_live=mercy, name=second).pk
    move = reverse("issues:setup_category_move", args=[second_pk])

    lena.post(move, {"direction": "up"})
    assert names(mercy)[:3] == [second, first, third]
    lena.post(move, {"direction": "up"})
    assert names(mercy)[:3] == [second, first, third]
    lena.post(move, {"direction": "down"})
    lena.post(move, {"direction": "down"})
    assert names(mercy)[:3] == [first, third, second]

    response = lena.post(move, {"direction": "sideways"}, follow=True)
    assert page_messages(response) == ["Move a category up or down."]
    assert names(mercy)[:3] == [first, third, second]


def test_categories_are_deactivated_but_the_last_active_one_stays(
    lena: Client, mercy: GoLive
) -> None:
    categories = list(Category.objects.filter(go_live=mercy))
    for category in categories[1:]:
        url = reverse("issues:setup_category_active", args=[category.pk])
        assert lena.post(url, {"active": "0"}).status_code == 302
    last = categories[0]

    response = lena.post(
        reverse("issues:setup_category_active", args=[last.pk]), {"active": "0"}, follow=True
    )

    assert "is the last active category" in page_messages(response)[-1]
    assert list(Category.objects.filter(go_live=mercy, is_active=True)) == [last]
    assert 'disabled title="The last active category stays' in response.content.decode()

    again = categories[1]
    lena.post(reverse("issues:setup_category_active", args=[again.pk]), {"active": "1"})
    assert Category.objects.filter(go_live=mercy, is_active=True).count() == 2


def test_script_in_a_category_name_is_shown_as_text(lena: Client, mercy: GoLive) -> None:
    lena.post(reverse("issues:setup_category_add"), {"name": "<script>alert(1)</script>"})

    page = lena.get(SETUP).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_get_on_a_change_url_changes_nothing(lena: Client, mercy: GoLive) -> None:
    category = Category.objects.get(go_live=mercy, name="Interfaces")
    assert lena.get(reverse("issues:setup_category_active", args=[category.pk])).status_code == 405
    assert lena.get(reverse("issues:setup_routing")).status_code == 405
