"""The home page: one page per role, each showing what that role needs first on a go-live day.

Every page loads a fixed number of queries whatever the size of the go-live: rows come in with
select_related/prefetch_related and are grouped in Python, never queried per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby

from django.db.models import Count, Min, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.timesince import timeuntil

from golive.models import (
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Notification,
    Role,
    Site,
    Unit,
)
from golive.permissions import ALL_ROLES, home_units, managed_units, role_required

RECENT_NOTIFICATIONS = 5


@dataclass
class TierCover:
    """One escalation tier with its contacts split by whether their hours cover now."""

    tier_name: str
    is_leadership: bool
    on_now: list[Contact] = field(default_factory=list)
    off_now: list[Contact] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.on_now) + len(self.off_now)


@dataclass
class UnitCover:
    """A unit and the contacts that cover it now, in tier order."""

    unit: Unit
    contacts: list[Contact]


def go_live_clock(go_live: GoLive, now: dt.datetime) -> str:
    """“Day 3”, “Cutover in 2 days” or “Support window ended”: where the go-live stands now."""
    if now < go_live.cutover_at:
        return f"Cutover in {timeuntil(go_live.cutover_at, now, depth=1)}"
    if now >= go_live.support_ends_at:
        return "Support window ended"
    return f"Day {go_live.day_number(now)}"


def active_contacts(
    go_live: GoLive, *, units: bool = False, applications: bool = False
) -> list[Contact]:
    """The go-live's active contacts in tier order, with the coverage lists a page shows."""
    contacts = Contact.objects.filter(go_live=go_live, is_active=True).select_related(
        "go_live", "tier"
    )
    if units:
        contacts = contacts.prefetch_related(
            Prefetch("units", queryset=Unit.objects.order_by("name"))
        )
    if applications:
        contacts = contacts.prefetch_related("applications")
    return list(contacts)


def group_by_tier(
    contacts: Iterable[Contact], now: dt.datetime, *, tiers: Iterable[EscalationTier] = ()
) -> list[TierCover]:
    """Contacts by tier, in tier order; `tiers` are listed even when no contact is in them."""
    covers = {tier.pk: TierCover(str(tier), tier.is_leadership) for tier in tiers}
    for contact in contacts:
        cover = covers.setdefault(
            contact.tier_id, TierCover(str(contact.tier), contact.tier.is_leadership)
        )
        (cover.on_now if contact.is_available_at(now) else cover.off_now).append(contact)
    return list(covers.values())


def covers_unit(contact: Contact, unit: Unit) -> bool:
    """Reads the prefetched units: no query per contact."""
    return contact.all_units or any(covered.pk == unit.pk for covered in contact.units.all())


def by_site(rows: list[UnitCover]) -> list[tuple[Site, list[UnitCover]]]:
    """Rows ordered by site, grouped under their site."""
    groups = groupby(rows, key=lambda row: row.unit.site)
    return [(site, list(site_rows)) for site, site_rows in groups]


def lead_home(request: HttpRequest, membership: Membership) -> HttpResponse:
    go_live = membership.go_live
    now = timezone.now()
    sites = list(
        Site.objects.filter(go_live=go_live).prefetch_related(
            Prefetch("units", queryset=Unit.objects.order_by("name"))
        )
    )
    live_units = [unit for site in sites for unit in site.units.all() if unit.is_active]
    contacts = active_contacts(go_live)
    tiers = group_by_tier(contacts, now, tiers=go_live.tiers.all())
    outbox = Notification.objects.filter(go_live=go_live).aggregate(
        pending=Count("pk", filter=Q(status=Notification.Status.PENDING)),
        sending=Count("pk", filter=Q(status=Notification.Status.SENDING)),
        failed=Count("pk", filter=Q(status=Notification.Status.FAILED)),
        oldest_pending=Min("created_at", filter=Q(status=Notification.Status.PENDING)),
    )
    return render(
        request,
        "golive/home_lead.html",
        {
            "go_live": go_live,
            "clock": go_live_clock(go_live, now),
            "support_left": timeuntil(go_live.support_ends_at, now, depth=1)
            if now < go_live.support_ends_at
            else "",
            "sites": sites,
            "counts": {
                "sites": len(sites),
                "units": len(live_units),
                "end_users": sum(unit.end_user_count for unit in live_units),
                "contacts": len(contacts),
            },
            "tiers": tiers,
            "gaps": [tier for tier in tiers if not tier.on_now],
            "outbox": outbox,
        },
    )


def manager_home(request: HttpRequest, membership: Membership) -> HttpResponse:
    go_live = membership.go_live
    now = timezone.now()
    units = list(managed_units(membership).select_related("site").order_by("site__name", "name"))
    contacts = active_contacts(go_live, units=True)
    on_now = [contact for contact in contacts if contact.is_available_at(now)]
    unit_rows = [
        UnitCover(unit, [c for c in on_now if not c.all_units and covers_unit(c, unit)])
        for unit in units
    ]
    return render(
        request,
        "golive/home_manager.html",
        {
            "go_live": go_live,
            "clock": go_live_clock(go_live, now),
            "site_groups": by_site(unit_rows),
            "end_users": sum(unit.end_user_count for unit in units if unit.is_active),
            "go_live_wide": group_by_tier((c for c in on_now if c.all_units), now),
        },
    )


def desk_home(request: HttpRequest, membership: Membership) -> HttpResponse:
    go_live = membership.go_live
    now = timezone.now()
    return render(
        request,
        "golive/home_desk.html",
        {
            "go_live": go_live,
            "clock": go_live_clock(go_live, now),
            "tiers": group_by_tier(
                active_contacts(go_live, units=True, applications=True),
                now,
                tiers=go_live.tiers.all(),
            ),
            # As in the inbox: the current go-live's notifications and those of no go-live.
            "notifications": list(
                Notification.objects.in_app_for(request.user)
                .filter(Q(go_live=go_live) | Q(go_live__isnull=True))
                .order_by("-created_at", "-pk")[:RECENT_NOTIFICATIONS]
            ),
        },
    )


def floor_home(request: HttpRequest, membership: Membership) -> HttpResponse:
    go_live = membership.go_live
    now = timezone.now()
    units = list(home_units(membership).select_related("site").order_by("site__name", "name"))
    # The leadership line is reached through the command center, not called from the unit:
    # the floor's list is the people who fix problems.
    on_now = [
        c
        for c in active_contacts(go_live, units=True)
        if not c.tier.is_leadership and c.is_available_at(now)
    ]
    return render(
        request,
        "golive/home_floor.html",
        {
            "go_live": go_live,
            "clock": go_live_clock(go_live, now),
            "unit_covers": [
                UnitCover(unit, [c for c in on_now if covers_unit(c, unit)]) for unit in units
            ],
        },
    )


HOME_PAGES: dict[str, Callable[[HttpRequest, Membership], HttpResponse]] = {
    Role.COMMAND_CENTER_LEAD: lead_home,
    Role.CLINIC_MANAGER: manager_home,
    Role.HELP_DESK_AGENT: desk_home,
    Role.SUPPORT_STAFF: desk_home,
    Role.FLOOR_STAFF: floor_home,
}


def home(request: HttpRequest) -> HttpResponse:
    # An enrolled unit tablet has no login: its home is the tablet page (named, not imported).
    if not request.user.is_authenticated and getattr(request, "tablet", None) is not None:
        return redirect("issues:tablet_home")
    return member_home(request)


@role_required(ALL_ROLES)
def member_home(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return HOME_PAGES[membership.role](request, membership)


urlpatterns = [
    path("", home, name="home"),
]
