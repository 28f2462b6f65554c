"""Unit tablets: the managers' page, the one-time code (claim, reuse, expiry, revocation, a fresh
code), the rate limits, what an enrolled tablet may reach, and its home page."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from conftest import closed_port
from golive.models import GoLive, Unit
from issues import tablets
from issues.access import TABLET_COOKIE, hash_secret
from issues.models import Issue, UnitTablet
from issues.services import change_status
from issues.tests.conftest import LogIssue


def enroll(unit: Unit, manager: User, label: str = "Nurses' station") -> tuple[UnitTablet, str]:
    """An enrolled tablet of `unit` and its device secret, made the way the pages make them."""
    enrollment = tablets.create_enrollment(
        go_live=unit.site.go_live, unit=unit, label=label, actor=manager
    )
    return tablets.claim_enrollment(code=enrollment.code)


def tablet_client(secret: str) -> Client:
    client = Client()
    client.cookies[TABLET_COOKIE] = secret
    return client


def enrolled_device(unit: Unit, manager: User) -> tuple[UnitTablet, Client]:
    """An enrolled tablet of `unit` and a test client holding its cookie."""
    tablet, secret = enroll(unit, manager)
    return tablet, tablet_client(secret)


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    """Rate-limit counters live in Redis: each test starts with none."""
    cache.clear()


@pytest.fixture
def four_west_tablet(four_west: Unit, manager_maria: User) -> tuple[UnitTablet, Client]:
    return enrolled_device(four_west, manager_maria)


# --- The managers' page ---------------------------------------------------------------------------


def test_a_manager_sees_her_units_tablets_with_status_and_last_use(
    client_for: Callable[[User], Client],
    manager_maria: User,
    lead_lena: User,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
) -> None:
    enrolled, _ = enroll(four_west, manager_maria)
    waiting = tablets.create_enrollment(
        go_live=ed.site.go_live, unit=ed, label="Triage desk", actor=manager_maria
    ).tablet
    tablets.create_enrollment(
        go_live=front_desk.site.go_live, unit=front_desk, label="Check-in", actor=lead_lena
    )

    response = client_for(manager_maria).get(reverse("issues:tablets"))

    assert response.status_code == 200
    rows = {row.tablet.pk: row for row in response.context["rows"]}
    # Northside's front desk is not hers to manage.
    assert set(rows) == {enrolled.pk, waiting.pk}
    assert rows[enrolled.pk].status_label == "Enrolled"
    assert rows[waiting.pk].status_label == "Waiting to be enrolled"
    assert "Check-in" not in response.content.decode()
    assert enrolled.last_used_at is not None


def test_the_lead_sees_every_units_tablets(
    client_for: Callable[[User], Client], lead_lena: User, four_west: Unit, front_desk: Unit
) -> None:
    enroll(four_west, lead_lena)
    enroll(front_desk, lead_lena, label="Check-in")
    response = client_for(lead_lena).get(reverse("issues:tablets"))
    assert len(response.context["rows"]) == 2


def test_a_tablet_whose_enroller_left_is_still_listed(
    client_for: Callable[[User], Client],
    lead_lena: User,
    manager_maria: User,
    four_west: Unit,
) -> None:
    enroll(four_west, manager_maria)
    manager_maria.delete()
    response = client_for(lead_lena).get(reverse("issues:tablets"))
    assert response.status_code == 200
    [row] = response.context["rows"]
    assert row.tablet.created_by is None


def test_floor_staff_cannot_open_the_tablets_page_and_another_go_live_sees_none_of_ours(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    outsider_oscar: User,
    manager_maria: User,
    four_west: Unit,
) -> None:
    tablet, _ = enroll(four_west, manager_maria)
    assert client_for(nurse_nina).get(reverse("issues:tablets")).status_code == 403
    oscar = client_for(outsider_oscar)
    assert oscar.get(reverse("issues:tablets")).context["rows"] == []
    assert oscar.post(reverse("issues:tablet_revoke", args=[tablet.pk])).status_code == 404


def test_the_tablets_page_costs_the_same_queries_for_three_or_thirty_tablets(
    client_for: Callable[[User], Client],
    lead_lena: User,
    four_west: Unit,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(lead_lena)
    for n in range(3):
        enroll(four_west, lead_lena, label=f"Tablet {n}")
    with django_assert_max_num_queries(9) as small:
        client.get(reverse("issues:tablets"))
    for n in range(27):
        enroll(four_west, lead_lena, label=f"More {n}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("issues:tablets"))
    assert len(response.context["rows"]) == 30


def test_enrolling_shows_the_code_once_and_stores_only_its_hash(
    client_for: Callable[[User], Client], manager_maria: User, four_west: Unit
) -> None:
    response = client_for(manager_maria).post(
        reverse("issues:tablets"), {"unit": four_west.pk, "label": "Nurses' station"}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    enrollment = response.context["enrollment"]
    tablet = UnitTablet.objects.get()
    assert (tablet.unit, tablet.label, tablet.created_by) == (
        four_west,
        "Nurses' station",
        manager_maria,
    )
    assert tablet.code_hash == hash_secret(enrollment.code)
    assert enrollment.code not in str(UnitTablet.objects.values().get())
    assert tablet.code_expires_at - tablet.created_at == dt.timedelta(minutes=15)
    page = response.content.decode()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", enrollment.code)
    assert enrollment.display_code in page
    assert f"/issues/tablets/enroll/{enrollment.code}/" in page
    assert "<svg" in page and "<path" in page  # the QR code, drawn inline


def test_a_manager_cannot_enroll_a_tablet_for_a_unit_she_does_not_manage(
    client_for: Callable[[User], Client], manager_maria: User, front_desk: Unit
) -> None:
    response = client_for(manager_maria).post(
        reverse("issues:tablets"), {"unit": front_desk.pk, "label": "Check-in"}
    )
    assert response.status_code == 400
    assert "Choose one of the units you manage." in response.content.decode()
    assert not UnitTablet.objects.exists()


def test_a_label_is_required_and_short(
    client_for: Callable[[User], Client], manager_maria: User, four_west: Unit
) -> None:
    client = client_for(manager_maria)
    response = client.post(reverse("issues:tablets"), {"unit": four_west.pk, "label": ""})
    assert "Say where the tablet lives" in response.content.decode()
    response = client.post(reverse("issues:tablets"), {"unit": four_west.pk, "label": "x" * 61})
    assert "Keep the label to 60 characters." in response.content.decode()
    assert not UnitTablet.objects.exists()


# --- Claiming the code on the tablet --------------------------------------------------------------


def test_the_landing_asks_before_enrolling_and_the_post_enrolls_the_device(
    client: Client, manager_maria: User, four_west: Unit, settings: Settings
) -> None:
    settings.SESSION_COOKIE_SECURE = True
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Nurses' station", actor=manager_maria
    )
    url = reverse("issues:tablet_enroll", args=[enrollment.code])

    page = client.get(url)
    assert page.status_code == 200
    assert "Enroll this device as the tablet for 4 West Med/Surg · Nurses&#x27; station?" in (
        page.content.decode()
    )
    assert not UnitTablet.objects.filter(enrolled_at__isnull=False).exists()

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("issues:tablet_home")
    cookie = response.cookies[TABLET_COOKIE]
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    tablet = UnitTablet.objects.get()
    assert tablet.code_hash == ""
    assert tablet.secret_hash == hash_secret(cookie.value)
    assert tablet.enrolled_at is not None
    home = tablet_client(cookie.value).get(reverse("issues:tablet_home"))
    assert home.status_code == 200
    assert home.context["tablet"] == tablet


def test_enrolling_signs_out_whoever_was_signed_in_on_that_browser(
    client_for: Callable[[User], Client], manager_maria: User, four_west: Unit
) -> None:
    client = client_for(manager_maria)
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    url = reverse("issues:tablet_enroll", args=[enrollment.code])
    assert "Enrolling signs you out" in client.get(url).content.decode()

    enrolled = client.post(url)

    assert "_auth_user_id" not in client.session
    # Nothing the browser kept for her stays on the unit's device.
    assert enrolled["Clear-Site-Data"] == '"cache", "storage"'
    home = client.get(reverse("issues:tablet_home"))
    assert home.status_code == 200
    assert home.context["floor"].membership is None


def test_the_code_can_be_typed_by_hand_in_any_case_with_dashes(
    client: Client, manager_maria: User, four_west: Unit
) -> None:
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    typed = enrollment.display_code.lower().replace("0", "o")
    response = client.get(reverse("issues:tablet_enter_code"), {"code": typed})
    assert response["Location"] == reverse("issues:tablet_enroll", args=[enrollment.code])


def test_a_used_code_does_not_work_twice(
    client: Client, manager_maria: User, four_west: Unit
) -> None:
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    url = reverse("issues:tablet_enroll", args=[enrollment.code])
    client.post(url)
    first_secret = UnitTablet.objects.get().secret_hash

    again = Client().post(url)

    assert again.status_code == 404
    assert "not valid or was already used" in again.content.decode()
    assert UnitTablet.objects.get().secret_hash == first_secret
    assert TABLET_COOKIE not in again.cookies


def test_an_expired_code_is_refused_with_its_reason(
    client: Client,
    manager_maria: User,
    four_west: Unit,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    time_machine.shift(dt.timedelta(minutes=15, seconds=1))
    url = reverse("issues:tablet_enroll", args=[enrollment.code])

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert "has expired" in response.content.decode()
    assert UnitTablet.objects.get().enrolled_at is None


def test_a_fresh_code_replaces_an_expired_one(
    client_for: Callable[[User], Client],
    manager_maria: User,
    four_west: Unit,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    first = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    time_machine.shift(dt.timedelta(minutes=20))
    response = client_for(manager_maria).post(
        reverse("issues:tablet_new_code", args=[first.tablet.pk])
    )
    fresh = response.context["enrollment"]
    assert fresh.code != first.code

    assert Client().post(reverse("issues:tablet_enroll", args=[first.code])).status_code == 404
    claimed = Client().post(reverse("issues:tablet_enroll", args=[fresh.code]))
    assert claimed.status_code == 302


def test_an_enrolled_tablet_gets_no_fresh_code(
    client_for: Callable[[User], Client],
    manager_maria: User,
    four_west_tablet: tuple[UnitTablet, Client],
) -> None:
    tablet, _ = four_west_tablet
    response = client_for(manager_maria).post(
        reverse("issues:tablet_new_code", args=[tablet.pk]), follow=True
    )
    assert "already enrolled or revoked" in response.content.decode()
    assert UnitTablet.objects.get().code_hash == ""


def test_revoking_stops_the_tablet_at_once(
    client_for: Callable[[User], Client],
    manager_maria: User,
    four_west_tablet: tuple[UnitTablet, Client],
) -> None:
    tablet, device = four_west_tablet
    assert device.get(reverse("issues:new")).status_code == 200

    response = client_for(manager_maria).post(reverse("issues:tablet_revoke", args=[tablet.pk]))

    assert response.status_code == 302
    tablet.refresh_from_db()
    assert tablet.revoked_at is not None and tablet.revoked_by == manager_maria
    for name in ("issues:new", "issues:tablet_home"):
        refused = device.get(reverse(name))
        assert refused.status_code == 403
        assert "This tablet is no longer enrolled" in refused.content.decode()
    assert device.post(reverse("issues:new"), {"title": "x"}).status_code == 403


def test_a_revoked_tablets_unused_code_is_refused(
    client_for: Callable[[User], Client], manager_maria: User, four_west: Unit
) -> None:
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    client_for(manager_maria).post(reverse("issues:tablet_revoke", args=[enrollment.tablet.pk]))

    response = Client().post(reverse("issues:tablet_enroll", args=[enrollment.code]))

    assert response.status_code == 410
    assert "cancelled by a manager" in response.content.decode()


def test_a_manager_cannot_revoke_another_units_tablet(
    client_for: Callable[[User], Client], manager_maria: User, lead_lena: User, front_desk: Unit
) -> None:
    tablet, _ = enroll(front_desk, lead_lena)
    response = client_for(manager_maria).post(reverse("issues:tablet_revoke", args=[tablet.pk]))
    assert response.status_code == 404
    tablet.refresh_from_db()
    assert tablet.revoked_at is None


def test_two_devices_racing_for_one_code_enroll_one(manager_maria: User, four_west: Unit) -> None:
    enrollment = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    tablets.claim_enrollment(code=enrollment.code)
    with pytest.raises(tablets.TabletRefused):
        tablets.claim_enrollment(code=enrollment.code)


# --- Rate limits ----------------------------------------------------------------------------------


def test_a_manager_may_make_thirty_codes_an_hour(
    client_for: Callable[[User], Client], manager_maria: User, four_west: Unit
) -> None:
    client = client_for(manager_maria)
    for n in range(tablets.ENROLLMENTS_PER_HOUR):
        ok = client.post(reverse("issues:tablets"), {"unit": four_west.pk, "label": f"T{n}"})
        assert ok.status_code == 200

    refused = client.post(reverse("issues:tablets"), {"unit": four_west.pk, "label": "One more"})

    assert refused.status_code == 429
    assert "the most allowed" in refused.content.decode()
    assert UnitTablet.objects.count() == tablets.ENROLLMENTS_PER_HOUR


def test_ten_wrong_codes_lock_the_landing_for_that_address(
    client: Client, manager_maria: User, four_west: Unit
) -> None:
    good = tablets.create_enrollment(
        go_live=four_west.site.go_live, unit=four_west, label="Station", actor=manager_maria
    )
    for n in range(tablets.WRONG_CODES_LIMIT):
        guess = f"{n:012d}"
        response = client.post(reverse("issues:tablet_enroll", args=[guess]))
        assert response.status_code == 404

    locked = client.post(reverse("issues:tablet_enroll", args=[good.code]))

    assert locked.status_code == 429
    assert "Too many wrong enrollment codes" in locked.content.decode()
    assert UnitTablet.objects.get().enrolled_at is None
    other_address = Client(REMOTE_ADDR="10.1.2.3")
    assert other_address.post(reverse("issues:tablet_enroll", args=[good.code])).status_code == 302


def test_rate_limits_fail_open_when_the_cache_is_down(
    client_for: Callable[[User], Client], manager_maria: User, four_west: Unit, settings: Settings
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    client = client_for(manager_maria)
    response = client.post(reverse("issues:tablets"), {"unit": four_west.pk, "label": "Station"})
    assert response.status_code == 200
    for n in range(tablets.WRONG_CODES_LIMIT + 1):
        Client().post(reverse("issues:tablet_enroll", args=[f"{n:012d}"]))
    code = response.context["enrollment"].code
    assert Client().post(reverse("issues:tablet_enroll", args=[code])).status_code == 302


# --- What a tablet may reach ----------------------------------------------------------------------

# The pages of the floor: everything else of the go-live is closed to a tablet.
TABLET_PAGES = {
    "new",
    "similar",
    "join",
    "confirmation",
    "photo",
    "tablet_home",
    "floor_issue",
    "floor_reopen",
    "known",
    "call_now",
    # The service worker, the app's manifest and the offline page: open to anyone, nobody's data.
    "service_worker",
    "manifest",
    "offline",
    # The enrollment landing is open to anyone holding a code (it is how a tablet gets enrolled).
    "tablet_enroll",
    "tablet_enter_code",
}


def _issue_routes() -> list[tuple[str, dict[str, object]]]:
    from issues import urls

    routes = []
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern | URLResolver)
        if isinstance(pattern, URLPattern) and pattern.name not in TABLET_PAGES:
            routes.append((pattern.name or "", dict(pattern.pattern.converters)))
    return routes


def test_a_tablet_reaches_no_desk_manager_or_member_page_of_the_issues_app(
    four_west_tablet: tuple[UnitTablet, Client], log_issue: LogIssue
) -> None:
    issue = log_issue()
    _, device = four_west_tablet
    routes = _issue_routes()
    assert "tablets" in dict(routes) and "mine" in dict(routes)
    for name, converters in routes:
        kwargs = {key: issue.pk if key == "pk" else "x" for key in converters}
        url = reverse(f"issues:{name}", kwargs=kwargs)
        for response in (device.get(url), device.post(url)):
            assert response.status_code in {302, 403, 404, 405}, (name, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(reverse("login")), name


def test_a_tablet_reaches_its_floor_pages(
    four_west_tablet: tuple[UnitTablet, Client], log_issue: LogIssue
) -> None:
    _, device = four_west_tablet
    issue = log_issue()
    for url in (
        reverse("issues:new"),
        reverse("issues:tablet_home"),
        reverse("issues:known"),
        reverse("issues:call_now"),
        reverse("issues:floor_issue", args=[issue.pk]),
        reverse("issues:confirmation", args=[issue.pk]),
        reverse("issues:similar") + "?title=labels",
    ):
        assert device.get(url).status_code == 200, url


def test_a_tablet_reaches_no_page_of_the_core_or_staffing(
    four_west_tablet: tuple[UnitTablet, Client], mercy: GoLive
) -> None:
    _, device = four_west_tablet
    # The home page sends a tablet to its own page; nothing else of the core opens.
    assert device.get(reverse("home"))["Location"] == reverse("issues:tablet_home")
    for url in (
        reverse("golive:directory", args=[mercy.pk]),
        reverse("golive:detail", args=[mercy.pk]),
        reverse("staffing:grid"),
        reverse("staffing:whos_on"),
        reverse("staffing:my_shifts"),
    ):
        response = device.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_tablet_sees_its_units_issues_only(
    four_west_tablet: tuple[UnitTablet, Client], log_issue: LogIssue, ed: Unit
) -> None:
    _, device = four_west_tablet
    mine = log_issue()
    other = log_issue(unit=ed, title="ED tracking board is slow")
    assert device.get(reverse("issues:floor_issue", args=[mine.pk])).status_code == 200
    assert device.get(reverse("issues:floor_issue", args=[other.pk])).status_code == 404
    assert device.get(reverse("issues:confirmation", args=[other.pk])).status_code == 404


# --- The tablet's home ----------------------------------------------------------------------------


def test_the_home_lists_open_issues_and_those_resolved_in_the_last_72_hours(
    four_west_tablet: tuple[UnitTablet, Client],
    log_issue: LogIssue,
    ed: Unit,
    agent_alex: User,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    _, device = four_west_tablet
    time_machine.move_to(timezone.now(), tick=False)
    old = log_issue(title="Old fixed printer")
    change_status(issue=old, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="New driver")
    time_machine.shift(dt.timedelta(hours=73))
    recent = log_issue(title="Badge tap fails")
    change_status(issue=recent, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Reset")
    open_issue = log_issue(title="Labels print blank")
    log_issue(unit=ed, title="ED board frozen")

    response = device.get(reverse("issues:tablet_home"))

    assert response.status_code == 200
    assert response.context["open_issues"] == [open_issue]
    assert response.context["resolved_issues"] == [recent]
    page = response.content.decode()
    assert 'hx-trigger="every 30s"' in page
    assert reverse("issues:floor_issue", args=[open_issue.pk]) in page
    assert "ED board frozen" not in page and "Old fixed printer" not in page
    assert 'href="tel:312-555-0100"' in page

    partial = device.get(reverse("issues:tablet_home"), headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert "Labels print blank" in partial.content.decode()


def test_the_home_costs_the_same_queries_for_few_or_many_issues(
    four_west_tablet: tuple[UnitTablet, Client],
    log_issue: LogIssue,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    _, device = four_west_tablet
    device.get(reverse("issues:tablet_home"))  # last use written: not part of the budget
    for n in range(2):
        log_issue(title=f"Issue {n}")
    with django_assert_max_num_queries(8) as small:
        device.get(reverse("issues:tablet_home"))
    for n in range(20):
        log_issue(title=f"More {n}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = device.get(reverse("issues:tablet_home"))
    assert len(response.context["open_issues"]) == 22


def test_a_member_opening_the_tablet_home_is_sent_to_my_issues(
    client_for: Callable[[User], Client], nurse_nina: User
) -> None:
    response = client_for(nurse_nina).get(reverse("issues:tablet_home"))
    assert response["Location"] == reverse("issues:mine")
