"""The current go-live of a request, and which units each role may plan for."""

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore
from django.http import Http404, HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from golive.middleware import CurrentGoLiveMiddleware
from golive.models import GoLive, Membership, Role, Site, Unit
from golive.permissions import (
    SESSION_KEY,
    can_create_go_live,
    can_edit_unit,
    home_units,
    managed_units,
    membership_for,
)


def _through_middleware(user: User | AnonymousUser, session_go_live: int | None = None) -> dict:
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    if session_go_live is not None:
        request.session[SESSION_KEY] = session_go_live
    seen: dict[str, object] = {}

    def view(req: HttpRequest) -> HttpResponse:
        seen["membership"] = req.membership  # type: ignore[attr-defined]
        seen["zone"] = timezone.get_current_timezone_name()
        return HttpResponse()

    CurrentGoLiveMiddleware(view)(request)
    seen["session"] = request.session.get(SESSION_KEY)
    seen["zone_after"] = timezone.get_current_timezone_name()
    return seen


def test_the_newest_go_live_is_current_and_its_zone_is_active(
    lead_lena: User, lakeside: GoLive, mercy: GoLive
) -> None:
    GoLive.objects.filter(pk=lakeside.pk).update(
        cutover_at=mercy.cutover_at.replace(year=2027),
        support_ends_at=mercy.support_ends_at.replace(year=2027),
    )
    Membership.objects.create(user=lead_lena, go_live=lakeside, role=Role.SUPPORT_STAFF)

    seen = _through_middleware(lead_lena)

    assert seen["membership"].go_live == lakeside
    assert seen["zone"] == "America/New_York"
    assert seen["session"] == lakeside.pk
    assert seen["zone_after"] == timezone.get_default_timezone_name()


def test_the_go_live_chosen_in_the_session_wins(lead_lena: User, lakeside: GoLive) -> None:
    Membership.objects.create(user=lead_lena, go_live=lakeside, role=Role.SUPPORT_STAFF)
    mercy_id = lead_lena.memberships.get(role=Role.COMMAND_CENTER_LEAD).go_live_id

    seen = _through_middleware(lead_lena, session_go_live=mercy_id)

    assert seen["membership"].go_live_id == mercy_id
    assert seen["zone"] == "America/Chicago"


def test_a_go_live_the_user_has_left_is_not_current_any_more(
    agent_alex: User, lakeside: GoLive, mercy: GoLive
) -> None:
    Membership.objects.create(user=agent_alex, go_live=lakeside, role=Role.HELP_DESK_AGENT)
    agent_alex.memberships.filter(go_live=mercy).update(is_active=False)

    seen = _through_middleware(agent_alex, session_go_live=mercy.pk)

    assert seen["membership"].go_live == lakeside
    assert seen["session"] == lakeside.pk


def test_a_stranger_has_no_current_go_live(db: None) -> None:
    assert _through_middleware(AnonymousUser())["membership"] is None
    loner = User.objects.create_user("loner")
    assert _through_middleware(loner)["membership"] is None


def test_membership_for_answers_404_for_a_go_live_the_user_is_not_in(
    outsider_oscar: User, mercy: GoLive
) -> None:
    request = RequestFactory().get("/")
    request.memberships = list(outsider_oscar.memberships.all())  # type: ignore[attr-defined]
    with pytest.raises(Http404):
        membership_for(request, mercy)
    assert membership_for(request, outsider_oscar.memberships.get().go_live).role == (
        Role.COMMAND_CENTER_LEAD
    )


def test_the_lead_manages_every_unit_and_a_limited_manager_only_her_site(
    lead_lena: User, manager_maria: User, ed: Unit, four_west: Unit, front_desk: Unit
) -> None:
    assert set(managed_units(lead_lena.memberships.get())) == {ed, four_west, front_desk}
    maria = manager_maria.memberships.get()
    assert set(managed_units(maria)) == {ed, four_west}
    assert can_edit_unit(maria, four_west)
    assert not can_edit_unit(maria, front_desk)


def test_a_manager_limited_to_one_unit_manages_that_unit_only(
    manager_maria: User, ed: Unit, four_west: Unit, front_desk: Unit
) -> None:
    maria = manager_maria.memberships.get()
    maria.sites.clear()
    maria.units.add(front_desk)
    assert list(managed_units(maria)) == [front_desk]


def test_a_manager_without_limits_manages_the_whole_go_live(
    manager_maria: User, ed: Unit, front_desk: Unit
) -> None:
    maria = manager_maria.memberships.get()
    maria.sites.clear()
    assert set(managed_units(maria)) == {ed, front_desk}


def test_agents_and_floor_staff_manage_no_unit(
    agent_alex: User, nurse_nina: User, ed: Unit, four_west: Unit
) -> None:
    assert not managed_units(agent_alex.memberships.get()).exists()
    assert not managed_units(nurse_nina.memberships.get()).exists()


def test_floor_staff_work_on_their_home_unit(nurse_nina: User, ed: Unit, four_west: Unit) -> None:
    assert list(home_units(nurse_nina.memberships.get())) == [four_west]


def test_home_units_are_the_unit_limits_else_the_site_limits_else_every_open_unit(
    super_sam: User,
    mercy_general: Site,
    ed: Unit,
    four_west: Unit,
    front_desk: Unit,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    sam = super_sam.memberships.get()
    closed = Unit.objects.create(site=mercy_general, name="Old Wing", is_active=False)
    assert set(home_units(sam)) == {ed, four_west, front_desk}
    sam.sites.add(mercy_general)
    assert set(home_units(sam)) == {ed, four_west}
    sam.units.add(front_desk)
    assert set(home_units(sam)) == {front_desk}
    sam.units.add(closed)
    # The limits are read inside the one query that lists the units.
    with django_assert_num_queries(1):
        assert list(home_units(sam)) == [front_desk]


def test_leads_and_staff_may_open_a_go_live_and_others_may_not(
    lead_lena: User, agent_alex: User
) -> None:
    assert can_create_go_live(lead_lena)
    assert not can_create_go_live(agent_alex)
    assert not can_create_go_live(AnonymousUser())
    agent_alex.is_staff = True
    assert can_create_go_live(agent_alex)
