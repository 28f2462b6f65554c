"""Who may see and do what. Every view asks here; templates never decide access.

The rule everything rests on: a user sees a go-live's data only through an active membership of
that go-live, and the membership's role decides which pages and actions are open.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from golive.models import GoLive, Membership, Role, Site, Unit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

SESSION_KEY = "current_go_live_id"

ALL_ROLES = frozenset(Role)
LEADS = frozenset({Role.COMMAND_CENTER_LEAD})
MANAGERS = frozenset({Role.COMMAND_CENTER_LEAD, Role.CLINIC_MANAGER})
DESK = frozenset({Role.COMMAND_CENTER_LEAD, Role.HELP_DESK_AGENT})
SUPPORT = frozenset(
    {Role.COMMAND_CENTER_LEAD, Role.CLINIC_MANAGER, Role.HELP_DESK_AGENT, Role.SUPPORT_STAFF}
)

View = Callable[..., HttpResponse]


def active_memberships(user: AbstractBaseUser | AnonymousUser) -> list[Membership]:
    """The user's active memberships, newest go-live first (one query)."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, is_active=True)
        .select_related("go_live")
        .order_by("-go_live__cutover_at", "go_live__name")
    )


def choose_membership(memberships: list[Membership], go_live_id: object) -> Membership | None:
    """The membership of the go-live chosen in the session, else the newest one."""
    for membership in memberships:
        if membership.go_live_id == go_live_id:
            return membership
    return memberships[0] if memberships else None


def membership_for(request: HttpRequest, go_live: GoLive | int) -> Membership:
    """The request user's membership of `go_live`; 404 when they are not a member.

    A go-live the user does not belong to is answered as if it did not exist, so its name and
    existence do not leak.
    """
    go_live_id = go_live if isinstance(go_live, int) else go_live.pk
    for membership in request.memberships:  # type: ignore[attr-defined]
        if membership.go_live_id == go_live_id:
            return membership
    raise Http404("No such go-live.")


def check_role(membership: Membership, roles: frozenset[str]) -> None:
    if membership.role not in roles:
        raise PermissionDenied("Your role in this go-live does not open this page.")


def role_required(roles: frozenset[str]) -> Callable[[View], View]:
    """Sign-in plus a membership of the current go-live with one of `roles`.

    A signed-in user with no go-live at all sees a page that says so (status 403).
    """

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership: Membership | None = request.membership  # type: ignore[attr-defined]
            if membership is None:
                return render(request, "golive/no_go_live.html", status=403)
            check_role(membership, roles)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def can_create_go_live(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Staff, and command center leads of any go-live, may open a new go-live."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(
        user=user, is_active=True, role=Role.COMMAND_CENTER_LEAD
    ).exists()


def managed_units(membership: Membership) -> QuerySet[Unit]:
    """Units a membership may plan for: the whole go-live for a lead, else the allowed sites/units.

    A clinic manager with no site or unit limits manages the whole go-live. The limits are read
    inside the units' query (no query until it is evaluated).
    """
    units = Unit.objects.filter(site__go_live_id=membership.go_live_id)
    if membership.role == Role.COMMAND_CENTER_LEAD:
        return units
    if membership.role != Role.CLINIC_MANAGER:
        return units.none()
    sites, chosen = _limits(membership)
    return units.filter(
        Q(site_id__in=sites.values("site_id"))
        | Q(pk__in=chosen.values("unit_id"))
        | ~Exists(sites) & ~Exists(chosen)
    )


def can_edit_site(membership: Membership, site: Site) -> bool:
    """Sites are the command center's to create and edit; they hold every unit below them."""
    return membership.role == Role.COMMAND_CENTER_LEAD and site.go_live_id == membership.go_live_id


def can_edit_unit(membership: Membership, unit: Unit) -> bool:
    return managed_units(membership).filter(pk=unit.pk).exists()


def home_units(membership: Membership) -> QuerySet[Unit]:
    """Units a membership works on: its unit limits, else its site limits, else every unit (open
    ones). The limits are read inside the units' query (no query until it is evaluated)."""
    sites, chosen = _limits(membership)
    return Unit.objects.filter(site__go_live_id=membership.go_live_id, is_active=True).filter(
        Q(pk__in=chosen.values("unit_id"))
        | ~Exists(chosen) & (Q(site_id__in=sites.values("site_id")) | ~Exists(sites))
    )


def _limits(membership: Membership) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """The membership's site limits and unit limits (rows of the two link tables)."""
    return (
        Membership.sites.through.objects.filter(membership_id=membership.pk),
        Membership.units.through.objects.filter(membership_id=membership.pk),
    )


def unit_managers(unit: Unit) -> QuerySet[Membership]:
    """Active clinic-manager memberships whose limits include `unit` (no limits: every unit)."""
    managers = Membership.objects.filter(
        go_live_id=unit.site.go_live_id, role=Role.CLINIC_MANAGER, is_active=True
    )
    unlimited = Q(sites__isnull=True, units__isnull=True)
    return (
        managers.filter(unlimited | Q(sites=unit.site_id) | Q(units=unit.pk))
        .select_related("user")
        .distinct()
    )


def command_center_leads(go_live: GoLive) -> QuerySet[Membership]:
    return Membership.objects.filter(
        go_live=go_live, role=Role.COMMAND_CENTER_LEAD, is_active=True
    ).select_related("user")
