"""The REST API's common ground: tokens (made, used, revoked, expired), the error body, strict
parameters, pages, and the core's endpoints (go-lives, sites, units, contacts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from golive.models import ApiToken, Contact, EscalationTier, GoLive, Site, Unit
from golive.rest import hash_token_key
from golive.services import MAX_ACTIVE_TOKENS, create_api_token

Api = Callable[[User], Client]


def _bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "fields"}
    assert body["error"]["status"] == response.status_code  # type: ignore[attr-defined]
    return body["error"]


# --- Tokens ----------------------------------------------------------------------------------


def test_a_token_opens_the_api_as_its_user_and_only_its_hash_is_kept(
    lead_lena: User, mercy: GoLive
) -> None:
    token, key = create_api_token(
        user=lead_lena, name="ServiceNow sync", created_by=lead_lena, expires_at=None
    )
    assert key.startswith("glv_") and len(key) > 40
    assert token.key_hash == hash_token_key(key) and key not in token.key_hash
    assert token.prefix == key[:8]

    response = _bearer(key).get("/api/v1/go-lives/")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": mercy.pk,
            "name": "Mercy Health Wave 1",
            "organization": "Mercy Health",
            "cutover_at": "2026-11-01T11:00:00Z",
            "support_ends_at": "2026-11-29T11:00:00Z",
            "time_zone": "America/Chicago",
            "phase": "live",
            "command_center_phone": "312-555-0100",
            "command_center_location": "Mercy General, room B104",
            "role": "command_center_lead",
        }
    ]
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer glv_unknown", "Bearer two words", "Basic bGVuYTpwdw=="],
)
def test_no_usable_token_is_a_401_with_a_bearer_challenge(header: str, db: None) -> None:
    client = Client(headers={"Authorization": header} if header else {})

    response = client.get("/api/v1/go-lives/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="golive"'
    error = _error(response)
    assert error["code"] in {"not_authenticated", "authentication_failed"}


def test_a_revoked_token_opens_nothing_and_says_since_when(lead_lena: User, mercy: GoLive) -> None:
    token, key = create_api_token(user=lead_lena, name="Old", created_by=lead_lena, expires_at=None)
    client = _bearer(key)
    assert client.get("/api/v1/go-lives/").status_code == 200

    lead_lena_client = Client()
    lead_lena_client.force_login(lead_lena)
    lead_lena_client.post(f"/account/api-tokens/{token.pk}/revoke/")

    response = client.get("/api/v1/go-lives/")
    assert response.status_code == 401
    assert "was revoked on" in str(_error(response)["message"])


def test_an_expired_token_is_refused(lead_lena: User, mercy: GoLive) -> None:
    soon = timezone.now() + dt.timedelta(days=1)
    _token, key = create_api_token(
        user=lead_lena, name="Short", created_by=lead_lena, expires_at=soon
    )
    assert _bearer(key).get("/api/v1/go-lives/").status_code == 200

    with time_machine.travel(soon + dt.timedelta(seconds=1)):
        response = _bearer(key).get("/api/v1/go-lives/")

    assert response.status_code == 401
    assert "expired" in str(_error(response)["message"])


def test_a_deactivated_users_token_is_refused(lead_lena: User, mercy: GoLive) -> None:
    _token, key = create_api_token(
        user=lead_lena, name="Sync", created_by=lead_lena, expires_at=None
    )
    lead_lena.is_active = False
    lead_lena.save()

    assert _bearer(key).get("/api/v1/go-lives/").status_code == 401


def test_the_token_page_shows_a_new_key_once_and_lists_the_users_tokens_only(
    client_for: Callable[[User], Client], lead_lena: User, agent_alex: User
) -> None:
    create_api_token(user=agent_alex, name="Alex's bot", created_by=agent_alex, expires_at=None)
    client = client_for(lead_lena)

    response = client.post("/account/api-tokens/", {"name": "Data warehouse", "lifetime": "90"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.context["key"]
    assert key.startswith("glv_")
    page = response.content.decode()
    assert key in page and "Data warehouse" in page and "Alex&#x27;s bot" not in page
    token = ApiToken.objects.get(user=lead_lena)
    assert token.expires_at is not None
    assert token.expires_at - timezone.now() > dt.timedelta(days=89)
    # Shown once: the list page afterwards has the name, not the key.
    again = client.get("/account/api-tokens/").content.decode()
    assert "Data warehouse" in again and key not in again
    assert _bearer(key).get("/api/v1/go-lives/").status_code == 200


def test_the_token_page_refuses_a_missing_name_and_makes_nothing(
    client_for: Callable[[User], Client], lead_lena: User
) -> None:
    response = client_for(lead_lena).post("/account/api-tokens/", {"name": " ", "lifetime": "9"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Name what will use the token" in page
    assert "Choose one of the offered lifetimes" in page
    assert not ApiToken.objects.exists()


def test_a_user_has_at_most_ten_working_tokens(
    client_for: Callable[[User], Client], lead_lena: User
) -> None:
    for number in range(MAX_ACTIVE_TOKENS):
        create_api_token(
            user=lead_lena, name=f"Bot {number}", created_by=lead_lena, expires_at=None
        )

    response = client_for(lead_lena).post(
        "/account/api-tokens/", {"name": "One more", "lifetime": "30"}
    )

    assert response.status_code == 400
    assert "Revoke one you no longer use" in response.content.decode()
    assert ApiToken.objects.filter(user=lead_lena).count() == MAX_ACTIVE_TOKENS


def test_nobody_revokes_another_users_token(
    client_for: Callable[[User], Client], lead_lena: User, agent_alex: User
) -> None:
    token, _key = create_api_token(
        user=agent_alex, name="Bot", created_by=agent_alex, expires_at=None
    )

    response = client_for(lead_lena).post(f"/account/api-tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client_for(lead_lena).get(f"/account/api-tokens/{token.pk}/revoke/").status_code == 405


def test_staff_make_and_revoke_tokens_for_anyone_in_the_admin(
    client_for: Callable[[User], Client], agent_alex: User
) -> None:
    admin = User.objects.create_user("admin_ada", password="x", is_staff=True, is_superuser=True)
    client = client_for(admin)

    response = client.post(
        "/admin/golive/apitoken/add/",
        {"user": agent_alex.pk, "name": "Chat bot", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )

    token = ApiToken.objects.get(user=agent_alex)
    assert token.created_by == admin
    shown = [str(message) for message in response.context["messages"]]
    key = next(word for text in shown for word in text.split() if word.startswith("glv_"))
    assert hash_token_key(key) == token.key_hash

    client.post(
        "/admin/golive/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin
    assert _bearer(key).get("/api/v1/go-lives/").status_code == 401


# --- Errors, parameters and pages ---------------------------------------------------------------


def test_an_unknown_path_under_api_is_a_json_404_even_for_a_post(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/api/v1/nothing/here/", {})

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_an_unknown_parameter_is_a_400_naming_it(
    api_for: Api, lead_lena: User, mercy: GoLive
) -> None:
    response = api_for(lead_lena).get(f"/api/v1/go-lives/{mercy.pk}/units/", {"colour": "red"})

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["colour"]  # type: ignore[call-overload]
    assert "it takes: active, page, page_size, site" in error["fields"]["colour"][0]  # type: ignore[index]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page_size": "100000"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page": "-1"}, "page"),
        ({"page_size": "²"}, "page_size"),
        ({"page": "²"}, "page"),
        ({"site": "abc"}, "site"),
        ({"site": "²"}, "site"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_a_wrong_value_is_a_400_naming_the_parameter(
    api_for: Api, lead_lena: User, mercy: GoLive, query: dict[str, str], field: str
) -> None:
    response = api_for(lead_lena).get(f"/api/v1/go-lives/{mercy.pk}/units/", query)

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == [field]  # type: ignore[call-overload]


def test_pages_hold_fifty_by_default_and_link_to_the_next(
    api_for: Api, lead_lena: User, mercy: GoLive, mercy_general: Site
) -> None:
    Unit.objects.bulk_create(Unit(site=mercy_general, name=f"Unit {n:03}") for n in range(60))
    api = api_for(lead_lena)

    first = api.get(f"/api/v1/go-lives/{mercy.pk}/units/").json()
    second = api.get(first["next"]).json()

    assert first["count"] == 60
    assert [u["name"] for u in first["results"]] == [f"Unit {n:03}" for n in range(50)]
    assert [u["name"] for u in second["results"]] == [f"Unit {n:03}" for n in range(50, 60)]
    assert second["next"] is None
    past = api.get(f"/api/v1/go-lives/{mercy.pk}/units/", {"page": "3"})
    assert past.status_code == 404 and _error(past)["code"] == "not_found"


def test_malformed_json_and_a_wrong_content_type_are_refused_clearly(
    api_for: Api, lead_lena: User, mercy: GoLive
) -> None:
    api = api_for(lead_lena)
    url = f"/api/v1/go-lives/{mercy.pk}/issues/"

    broken = api.post(url, "{not json", content_type="application/json")
    form = api.post(url, {"title": "x"})

    assert broken.status_code == 400 and _error(broken)["code"] == "parse_error"
    assert form.status_code == 415 and _error(form)["code"] == "unsupported_media_type"


def test_the_session_works_for_the_docs_but_a_post_needs_its_csrf_token(
    lead_lena: User, mercy: GoLive
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead_lena)

    assert client.get("/api/v1/go-lives/").status_code == 200
    response = client.post(
        f"/api/v1/go-lives/{mercy.pk}/issues/", {}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in str(_error(response)["message"])


# --- The core's endpoints ------------------------------------------------------------------------


def test_a_go_live_of_which_one_is_not_a_member_does_not_exist(
    api_for: Api, outsider_oscar: User, mercy: GoLive
) -> None:
    api = api_for(outsider_oscar)

    for path in ["", "sites/", "units/", "contacts/", "issues/", "whos-on/"]:
        response = api.get(f"/api/v1/go-lives/{mercy.pk}/{path}")
        assert response.status_code == 404, path
        assert _error(response)["code"] == "not_found"
    assert [g["name"] for g in api.get("/api/v1/go-lives/").json()["results"]] == [
        "Lakeside Go-Live"
    ]


def test_an_inactive_membership_opens_nothing(
    api_for: Api, agent_alex: User, mercy: GoLive
) -> None:
    agent_alex.memberships.update(is_active=False)

    response = api_for(agent_alex).get(f"/api/v1/go-lives/{mercy.pk}/")

    assert response.status_code == 404


def test_units_filter_by_site_and_another_go_lives_unit_is_not_found(
    api_for: Api,
    lead_lena: User,
    mercy: GoLive,
    ed: Unit,
    four_west: Unit,
    front_desk: Unit,
    lakeside: GoLive,
) -> None:
    api = api_for(lead_lena)
    elsewhere = Unit.objects.create(
        site=Site.objects.create(go_live=lakeside, name="Lakeside", code="LK"), name="ICU"
    )

    at_mercy_general = api.get(f"/api/v1/go-lives/{mercy.pk}/units/", {"site": ed.site_id})

    assert [u["name"] for u in at_mercy_general.json()["results"]] == [
        "4 West Med/Surg",
        "Emergency Department",
    ]
    assert api.get(f"/api/v1/go-lives/{mercy.pk}/units/{front_desk.pk}/").json()["site"] == (
        front_desk.site_id
    )
    assert api.get(f"/api/v1/go-lives/{mercy.pk}/units/{elsewhere.pk}/").status_code == 404


def test_contacts_filter_by_coverage_and_say_whether_they_answer_now(
    api_for: Api,
    nurse_nina: User,
    mercy: GoLive,
    ed: Unit,
    four_west: Unit,
    tiers: dict[str, EscalationTier],
    help_desk_contact: Contact,
) -> None:
    pharmacist = Contact.objects.create(
        go_live=mercy,
        tier=tiers["command"],
        name="ED pharmacist",
        all_units=False,
        hours=Contact.Hours.DAILY,
        window_start=dt.time(7),
        window_end=dt.time(19),
    )
    pharmacist.units.add(ed)
    api = api_for(nurse_nina)
    url = f"/api/v1/go-lives/{mercy.pk}/contacts/"

    with time_machine.travel(dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)):  # 21:00 in Chicago
        on_four_west = api.get(url, {"unit": four_west.pk}).json()["results"]
        on_the_ed = api.get(url, {"unit": ed.pk}).json()["results"]
        answering = api.get(url, {"unit": ed.pk, "available_now": "true"}).json()["results"]

    assert [c["name"] for c in on_four_west] == ["Mercy help desk"]
    assert [(c["name"], c["available_now"]) for c in on_the_ed] == [
        ("Mercy help desk", True),
        ("ED pharmacist", False),
    ]
    assert on_the_ed[1]["units"] == [ed.pk] and on_the_ed[1]["all_units"] is False
    assert [c["name"] for c in answering] == ["Mercy help desk"]
    foreign = api.get(url, {"unit": 999999})
    assert foreign.status_code == 400 and "unit" in _error(foreign)["fields"]  # type: ignore[operator]


@pytest.mark.parametrize("path", ["contacts/", "people/"])
def test_a_search_with_a_null_character_is_refused_not_a_crash(
    api_for: Api, lead_lena: User, mercy: GoLive, path: str
) -> None:
    response = api_for(lead_lena).get(f"/api/v1/go-lives/{mercy.pk}/{path}", {"q": "a\x00b"})

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == ["q"]  # type: ignore[call-overload]


@pytest.mark.parametrize("rows", [2, 40])
def test_core_lists_read_a_constant_number_of_queries(
    api_for: Api,
    lead_lena: User,
    mercy: GoLive,
    mercy_general: Site,
    tiers: dict[str, EscalationTier],
    rows: int,
) -> None:
    units = Unit.objects.bulk_create(Unit(site=mercy_general, name=f"U{n}") for n in range(rows))
    for n in range(rows):
        contact = Contact.objects.create(go_live=mercy, tier=tiers["floor"], name=f"C{n}")
        contact.units.add(units[n])
    api = api_for(lead_lena)
    api.get("/api/v1/go-lives/")  # the token's first use writes its last-used time

    counts = {}
    for path in ["units/", "sites/", "contacts/", "tiers/"]:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/v1/go-lives/{mercy.pk}/{path}").status_code == 200
        counts[path] = len(queries.captured_queries)

    # Token, membership, count, page (+ the contacts' units and applications).
    assert counts == {"units/": 4, "sites/": 4, "contacts/": 6, "tiers/": 4}


def test_the_token_page_reads_the_same_queries_for_1_or_8_tokens(
    client_for: Callable[[User], Client], lead_lena: User, agent_alex: User
) -> None:
    client = client_for(lead_lena)
    client.get("/account/api-tokens/")
    counts = []
    for total in (1, 8):
        while ApiToken.objects.filter(user=lead_lena).count() < total:
            token, _key = create_api_token(
                user=lead_lena, name="Bot", created_by=lead_lena, expires_at=None
            )
            ApiToken.objects.filter(pk=token.pk).update(
                revoked_at=timezone.now(), revoked_by=agent_alex
            )
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/account/api-tokens/")
        counts.append(len(queries.captured_queries))
        assert page.content.decode().count("by Alex Agent") == total

    assert counts[0] == counts[1]
