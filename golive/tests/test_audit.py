"""The audit log: sign-ins and failed ones (with the address), membership changes, exports and API
tokens are recorded; the command center sees its go-live's entries, nobody else's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import PASSWORD
from golive.audit import entries_for
from golive.models import AuditEntry, GoLive, Membership, Role, Site

A = AuditEntry.Action
SignIn = Callable[[User], Client]


def actions(go_live: GoLive) -> list[tuple[str, str, str]]:
    return [(e.action, e.username, e.detail) for e in entries_for(go_live).order_by("at", "pk")]


def test_signing_in_failing_and_signing_out_are_recorded_with_the_address(
    lead_lena: User, mercy: GoLive
) -> None:
    client = Client(REMOTE_ADDR="10.20.30.40")

    client.post(reverse("login"), {"username": "lead_lena", "password": "wrong"})
    client.post(reverse("login"), {"username": "nobody_at_all", "password": "x"})
    client.post(reverse("login"), {"username": "lead_lena", "password": PASSWORD})
    client.post(reverse("logout"))

    assert actions(mercy) == [
        (A.SIGN_IN_FAILED, "lead_lena", ""),
        (A.SIGN_IN, "lead_lena", ""),
        (A.SIGN_OUT, "lead_lena", ""),
    ]
    assert {e.address for e in entries_for(mercy)} == {"10.20.30.40"}
    # A name nobody has is kept in the log, for the admin; no go-live sees it.
    unknown = AuditEntry.objects.get(username="nobody_at_all")
    assert (unknown.action, unknown.user, unknown.go_live) == (A.SIGN_IN_FAILED, None, None)
    assert unknown.detail == "No account has this user name."


def test_a_membership_change_says_what_it_was_and_became(
    client_for: SignIn, lead_lena: User, agent_alex: User, mercy: GoLive, mercy_general: Site
) -> None:
    member = Membership.objects.get(user=agent_alex, go_live=mercy)
    client = client_for(lead_lena)

    client.post(
        reverse("golive:member_edit", args=[member.pk]),
        {"role": Role.CLINIC_MANAGER, "is_active": "on", "sites": [mercy_general.pk]},
    )

    entry = entries_for(mercy).get(action=A.MEMBER_CHANGED)
    assert entry.user == lead_lena
    assert entry.detail == (
        "Alex Agent: Help desk agent → Clinic manager, limited to Mercy General"
    )


def test_exports_and_tokens_are_recorded(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    client = client_for(lead_lena)

    client.get(reverse("issues:queue_export"), {"priority": "P1"})
    client.get(reverse("staffing:roster_export"))
    client.post(reverse("golive:api_tokens"), {"name": "ServiceNow sync", "lifetime": "30"})

    assert [(a, d) for a, _, d in actions(mercy) if a != A.SIGN_IN] == [
        (A.EXPORT, "Issues CSV priority=P1"),
        (A.EXPORT, "Roster CSV"),
        (A.TOKEN_CREATED, "ServiceNow sync"),
    ]


def test_the_log_shows_only_this_go_lives_entries_to_its_command_center(
    client_for: SignIn,
    lead_lena: User,
    outsider_oscar: User,
    mercy: GoLive,
    lakeside: GoLive,
) -> None:
    Client().post(reverse("login"), {"username": "outsider_oscar", "password": PASSWORD})
    client = client_for(lead_lena)
    client.get(reverse("staffing:roster_export"))

    page = client.get(reverse("golive:audit", args=[mercy.pk]))

    assert page.status_code == 200
    table = page.content.decode()
    assert "Roster CSV" in table and "lead_lena" not in table  # names, not user names
    assert "Lena Lead" in table
    assert "outsider_oscar" not in table and "Oscar Outsider" not in table
    assert client.get(reverse("golive:audit", args=[lakeside.pk])).status_code == 404


@pytest.mark.parametrize("who", ["manager_maria", "agent_alex", "super_sam", "nurse_nina"])
def test_only_the_command_center_reads_the_log(
    client_for: SignIn, mercy: GoLive, who: str, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(who))

    assert client.get(reverse("golive:audit", args=[mercy.pk])).status_code == 403


def test_the_log_filters_by_kind_and_refuses_an_unknown_one(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    client = client_for(lead_lena)
    client.get(reverse("staffing:roster_export"))
    url = reverse("golive:audit", args=[mercy.pk])

    exports = client.get(url, {"action": A.EXPORT}).content.decode()
    wrong = client.get(url, {"action": "hacked"}).content.decode()

    assert "Roster CSV" in exports and "Signed in" not in exports.split("<tbody>")[1]
    assert "Choose one of the listed kinds of entry." in wrong


def test_the_log_page_costs_the_same_queries_for_5_or_80_entries(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    client = client_for(lead_lena)
    url = reverse("golive:audit", args=[mercy.pk])
    client.get(url)
    counts = []
    for total in (5, 80):
        AuditEntry.objects.bulk_create(
            AuditEntry(action=A.EXPORT, user=lead_lena, go_live=mercy, detail=f"Export {n}")
            for n in range(total - entries_for(mercy).count())
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[1]
    # 80 entries are two pages; the next page's link keeps the filter.
    filtered = client.get(url, {"action": A.EXPORT}).content.decode()
    assert 'href="?action=export&amp;page=2">Older</a>' in filtered
