"""Who's on now (board, JSON, token wall screen), share links, calendar feeds and printed rosters.

The board is open to every member of the current go-live; a ShareLink token opens the same board
on a wall screen without a login, and calendar feeds likewise. Token pages answer 404 for a
revoked or unknown token, are never cached or indexed, and link to nothing that needs a login.
Printed rosters follow the planning rules: a clinic manager prints only the units she manages,
support staff only their own shifts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, re_path, reverse
from django.utils import dateformat, timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from golive.forms import PlaceFilterForm
from golive.lib.urls import url_format
from golive.lib.widgets import QuickSelect
from golive.models import GoLive, Membership, Role, Site, Unit
from golive.permissions import ALL_ROLES, MANAGERS, managed_units, role_required
from golive.views.golives import go_live_membership, posted
from staffing import feeds
from staffing.models import (
    ACTIVE_STATUSES,
    Assignment,
    ShareLink,
    Shift,
    SupportPerson,
    SupportRole,
)
from staffing.whos_on import OnShift, now_and_next

# Who may print a unit's sign-in sheet or anyone's shifts (a clinic manager: her units only).
PRINT_ROLES = frozenset({Role.COMMAND_CENTER_LEAD, Role.CLINIC_MANAGER, Role.HELP_DESK_AGENT})
PERSON_PRINT_DAYS = 14


# --- The board ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardEntry:
    """One person on a unit's card, as it reads: the words are made here once rather than by a
    template per person (a go-live's board lists a hundred people or more, and wall screens
    refresh it every minute). Times are in the go-live's time zone, `tz`."""

    on: OnShift
    name: str
    role: str
    hours: str
    badge: str  # the status badge's colour class
    icon: str
    status: str
    phone: str
    sms_number: str

    @classmethod
    def of(cls, entry: OnShift, *, upcoming: bool, tz: dt.tzinfo) -> BoardEntry:
        start, end = timezone.localtime(entry.start, tz), timezone.localtime(entry.end, tz)
        # An upcoming shift may start tomorrow: it names its day, as the date filter's "D" does.
        begins = dateformat.format(start, "D H:i") if upcoming else f"{start:%H:%M}"
        if entry.checked_in:
            at = timezone.localtime(entry.checked_in_at, tz) if entry.checked_in_at else None
            badge, icon = "text-bg-success", "✓"
            status = f"Checked in {at:%H:%M}" if at else "Checked in"
        elif entry.late:
            badge, icon, status = "text-bg-danger", "⚠", "Late: not checked in"
        elif upcoming:
            badge, icon, status = "text-bg-light border", "", entry.status_label
        else:
            badge, icon, status = "text-bg-secondary", "○", "Not checked in"
        return cls(
            on=entry,
            name=entry.person.name,
            role=entry.person.role_label,
            hours=f"{begins}–{end:%H:%M}",
            badge=badge,
            icon=icon,
            status=status,
            phone=entry.person.phone,
            sms_number=entry.person.sms_number,
        )


@dataclass
class UnitBoard:
    id: int
    name: str
    phone: str
    site_id: int
    site_name: str
    on_now: list[BoardEntry] = field(default_factory=list)
    next_on: list[BoardEntry] = field(default_factory=list)
    # Today's sign-in sheet, for whoever may print this unit's.
    print_url: str = ""


@dataclass
class SiteBoard:
    id: int
    name: str
    units: list[UnitBoard] = field(default_factory=list)


@dataclass(frozen=True)
class Board:
    at: dt.datetime
    sites: list[SiteBoard]
    on_now_count: int
    next_count: int


def build_board(
    go_live: GoLive,
    *,
    site: Site | None = None,
    unit: Unit | None = None,
    role: str = "",
) -> Board:
    """The go-live's units (or one site's, or one unit) with who is on now and who comes next.

    Every active unit in scope is listed, so a unit with nobody on shift shows as such.
    """
    units = Unit.objects.filter(site__go_live=go_live).select_related("site")
    units = units.filter(pk=unit.pk) if unit else units.filter(is_active=True)
    if site:
        units = units.filter(site=site)
    snapshot = now_and_next(
        go_live=go_live,
        sites=[site] if site else None,
        units=[unit] if unit else None,
        roles=[role] if role else None,
    )
    boards = {
        row.pk: UnitBoard(row.pk, row.name, row.phone, row.site_id, row.site.name) for row in units
    }

    def board_of(entry: OnShift) -> UnitBoard:
        # An inactive unit still shows while someone works a shift on it.
        return boards.setdefault(
            entry.unit.id,
            UnitBoard(entry.unit.id, entry.unit.name, "", entry.site.id, entry.site.name),
        )

    tz = go_live.tzinfo
    for entry in snapshot.on_now:
        board_of(entry).on_now.append(BoardEntry.of(entry, upcoming=False, tz=tz))
    for entry in snapshot.next_on:
        board_of(entry).next_on.append(BoardEntry.of(entry, upcoming=True, tz=tz))
    sites: dict[int, SiteBoard] = {}
    for unit_board in sorted(boards.values(), key=lambda b: (b.site_name, b.name)):
        site_board = sites.setdefault(
            unit_board.site_id, SiteBoard(unit_board.site_id, unit_board.site_name)
        )
        site_board.units.append(unit_board)
    return Board(
        at=snapshot.at,
        sites=list(sites.values()),
        on_now_count=len(snapshot.on_now),
        next_count=len(snapshot.next_on),
    )


class BoardFilterForm(PlaceFilterForm):
    """The board's filters (GET): a site, a unit and a role; an unknown one is refused like any
    other bad choice."""

    role = forms.ChoiceField(
        choices=[("", "All roles"), *SupportRole.choices],
        required=False,
        widget=QuickSelect,
        error_messages={"invalid_choice": "Choose a role from the list."},
    )


def _link_sign_in_sheets(membership: Membership, board: Board) -> None:
    """Give each unit whose sheet this member may print today's link (a clinic manager: her
    units only)."""
    if membership.role not in PRINT_ROLES:
        return
    managed = (
        set(managed_units(membership).values_list("pk", flat=True))
        if membership.role == Role.CLINIC_MANAGER
        else None
    )
    today = membership.go_live.local_now().date().isoformat()
    sheet = url_format("staffing:print_unit_day", today)
    for site in board.sites:
        for unit in site.units:
            if managed is None or unit.id in managed:
                unit.print_url = sheet.format(unit.id)


@role_required(ALL_ROLES)
@require_GET
def whos_on(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    form = BoardFilterForm(request.GET, go_live=go_live)
    filters = form.cleaned_data if form.is_valid() else {}
    snapshot = build_board(
        go_live, site=filters.get("site"), unit=filters.get("unit"), role=filters.get("role", "")
    )
    wall = request.GET.get("wall") == "1"
    if not wall:
        _link_sign_in_sheets(membership, snapshot)
    wall_query = request.GET.copy()
    wall_query["wall"] = "1"
    context = {
        "go_live": go_live,
        "board": snapshot,
        "form": form,
        "wall": wall,
        "wall_url": f"{request.path}?{wall_query.urlencode()}",
        "refresh_url": request.get_full_path(),
        "can_share": membership.role in MANAGERS,
        "can_share_own": membership.role == Role.SUPPORT_STAFF,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "staffing/board_content.html", context)
    return render(request, "staffing/board.html", context)


def _iso(value: dt.datetime | None, go_live: GoLive) -> str | None:
    return timezone.localtime(value, go_live.tzinfo).isoformat() if value else None


def _entry_json(entry: OnShift, go_live: GoLive) -> dict[str, object]:
    person = entry.person
    return {
        "assignment_id": entry.assignment_id,
        "shift_id": entry.shift_id,
        "person": {
            "id": person.id,
            "name": person.name,
            "role": person.role,
            "role_label": person.role_label,
            "phone": person.phone,
            "sms_number": person.sms_number,
            "email": person.email,
            "user_id": person.user_id,
            "skills": list(person.skills),
        },
        "unit": {"id": entry.unit.id, "name": entry.unit.name},
        "site": {"id": entry.site.id, "name": entry.site.name},
        "shift_label": entry.shift.label,
        "shift_role": entry.shift.role,
        "start": _iso(entry.start, go_live),
        "end": _iso(entry.end, go_live),
        "hours": entry.hours,
        "status": entry.status,
        "status_label": entry.status_label,
        "checked_in": entry.checked_in,
        "checked_in_at": _iso(entry.checked_in_at, go_live),
        "late": entry.late,
    }


@role_required(ALL_ROLES)
@require_GET
def whos_on_json(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    form = BoardFilterForm(request.GET, go_live=go_live)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    filters = form.cleaned_data
    snapshot = build_board(
        go_live, site=filters.get("site"), unit=filters.get("unit"), role=filters.get("role", "")
    )
    data = {
        "go_live": {"id": go_live.pk, "name": go_live.name, "time_zone": go_live.time_zone},
        "at": _iso(snapshot.at, go_live),
        "sites": [
            {
                "id": site.id,
                "name": site.name,
                "units": [
                    {
                        "id": unit.id,
                        "name": unit.name,
                        "phone": unit.phone,
                        "on_now": [_entry_json(entry.on, go_live) for entry in unit.on_now],
                        "next": [_entry_json(entry.on, go_live) for entry in unit.next_on],
                    }
                    for unit in site.units
                ],
            }
            for site in snapshot.sites
        ],
    }
    return JsonResponse(data)


def _secret_page(response: HttpResponse) -> HttpResponse:
    """Token pages carry the token in their URL: keep them out of caches and search engines."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _scope_label(link: ShareLink) -> str:
    if link.unit is not None:
        return str(link.unit)
    if link.site is not None:
        return link.site.name
    return link.go_live.name


@require_GET
def token_board(request: HttpRequest, token: str) -> HttpResponse:
    link = feeds.live_share_link(token=token, kind=ShareLink.Kind.BOARD)
    if link is None:
        response = render(request, "staffing/board_gone.html", status=404)
        if request.htmx:  # type: ignore[attr-defined]
            # The screen refreshes itself: reload it so the revoked board disappears at once.
            response["HX-Refresh"] = "true"
        return _secret_page(response)
    context = {
        "go_live": link.go_live,
        "board": build_board(link.go_live, site=link.site, unit=link.unit),
        "wall": True,
        "refresh_url": request.get_full_path(),
        "scope_label": _scope_label(link),
    }
    template = "staffing/board_content.html" if request.htmx else "staffing/board_public.html"  # type: ignore[attr-defined]
    return _secret_page(render(request, template, context))


# --- Share links ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanningScope:
    """The units a planner may share boards and feeds of, loaded once for a whole page."""

    is_lead: bool
    managed: frozenset[int]
    sites: list[Site]
    units: list[Unit]

    @classmethod
    def of(cls, membership: Membership) -> PlanningScope:
        go_live_id = membership.go_live_id
        return cls(
            is_lead=membership.role == Role.COMMAND_CENTER_LEAD,
            managed=frozenset(managed_units(membership).values_list("pk", flat=True)),
            sites=list(Site.objects.filter(go_live_id=go_live_id)),
            units=list(Unit.objects.filter(site__go_live_id=go_live_id).select_related("site")),
        )

    def covers(self, *, site_id: int | None, unit_id: int | None) -> bool:
        """A clinic manager shares a site or the go-live only when she manages all its units."""
        if self.is_lead:
            return True
        if unit_id is not None:
            return unit_id in self.managed
        units = {unit.pk for unit in self.units if site_id is None or unit.site_id == site_id}
        return bool(units) and units <= self.managed

    def choices(self) -> list[tuple[str, str]]:
        choices = []
        if self.covers(site_id=None, unit_id=None):
            choices.append(("go-live", "The whole go-live"))
        choices += [
            (f"site:{site.pk}", f"Site: {site.name}")
            for site in self.sites
            if self.covers(site_id=site.pk, unit_id=None)
        ]
        choices += [
            (f"unit:{unit.pk}", f"Unit: {unit}")
            for unit in self.units
            if unit.is_active and self.covers(site_id=None, unit_id=unit.pk)
        ]
        return choices


class ShareLinkForm(forms.Form):
    kind = forms.ChoiceField(
        label="What to share",
        choices=[
            (ShareLink.Kind.BOARD, "Who's-on-now board, for a wall screen without a login"),
            (ShareLink.Kind.UNIT_FEED, "Calendar feed of a unit's shifts"),
        ],
        widget=forms.RadioSelect,
        initial=ShareLink.Kind.BOARD,
        error_messages={
            "required": "Choose a board or a unit calendar.",
            "invalid_choice": "Choose a board or a unit calendar.",
        },
    )
    scope = forms.ChoiceField(
        label="For",
        error_messages={
            "required": "Choose what the link shows.",
            "invalid_choice": "Choose one of the sites or units you plan for.",
        },
    )

    def __init__(self, *args: Any, scope: PlanningScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planning = scope
        self.fields["scope"].choices = [("", "Choose…"), *scope.choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = data.get("scope")
        if not chosen:
            return data
        data["site"] = next((s for s in self.planning.sites if f"site:{s.pk}" == chosen), None)
        data["unit"] = next((u for u in self.planning.units if f"unit:{u.pk}" == chosen), None)
        if data.get("kind") == ShareLink.Kind.UNIT_FEED and data["unit"] is None:
            self.add_error(
                "scope", "A unit calendar needs a unit: choose one of the “Unit:” entries."
            )
        return data


@dataclass(frozen=True)
class LinkRow:
    link: ShareLink
    subject: str
    url: str
    subscribe_url: str


LINK_URL_NAMES = {
    ShareLink.Kind.BOARD: "staffing:board",
    ShareLink.Kind.PERSON_FEED: "staffing:person_feed",
    ShareLink.Kind.UNIT_FEED: "staffing:unit_feed",
}


def _link_row(request: HttpRequest, link: ShareLink) -> LinkRow:
    url = request.build_absolute_uri(reverse(LINK_URL_NAMES[link.kind], args=[link.token]))
    # The webcal scheme opens the calendar app's subscribe dialog; a board is opened as a page.
    subscribe_url = "" if link.kind == ShareLink.Kind.BOARD else f"webcal://{url.split('://')[1]}"
    return LinkRow(link=link, subject=_subject(link), url=url, subscribe_url=subscribe_url)


def _subject(link: ShareLink) -> str:
    if link.kind == ShareLink.Kind.PERSON_FEED:
        assert link.person is not None
        return f"Calendar of {link.person.name}"
    prefix = "Calendar of " if link.kind == ShareLink.Kind.UNIT_FEED else "Board of "
    if link.unit is not None:
        return f"{prefix}{link.unit}"
    if link.site is not None:
        return f"{prefix}{link.site.name}"
    return f"{prefix}the whole go-live"


def _may_manage(
    link: ShareLink, membership: Membership, user_id: int, scope: PlanningScope | None
) -> bool:
    """Own calendar feeds for everyone; boards and unit feeds for planners of their scope."""
    if link.kind == ShareLink.Kind.PERSON_FEED:
        assert link.person is not None
        return link.person.user_id == user_id or membership.role == Role.COMMAND_CENTER_LEAD
    return scope is not None and scope.covers(site_id=link.site_id, unit_id=link.unit_id)


def _own_person(membership: Membership) -> SupportPerson | None:
    return SupportPerson.objects.filter(
        go_live_id=membership.go_live_id, user_id=membership.user_id
    ).first()


@role_required(ALL_ROLES)
def share_links(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    person = _own_person(membership)
    planner = membership.role in MANAGERS
    if not planner and person is None:
        raise PermissionDenied(
            "Share links are for planners, and for people on the support roster (their own calendar)."
        )
    scope = PlanningScope.of(membership) if planner else None
    form = None
    if scope is not None:
        form = ShareLinkForm(posted(request), scope=scope)
        if form.is_valid():
            link = feeds.create_share_link(
                go_live=go_live,
                kind=form.cleaned_data["kind"],
                actor=request.user,
                site=form.cleaned_data["site"],
                unit=form.cleaned_data["unit"],
            )
            messages.success(request, f"The link is ready: {_subject(link)}.")
            return redirect("staffing:share_links")
    elif request.method == "POST":
        raise PermissionDenied("Only planners share boards and unit calendars.")

    links = ShareLink.objects.filter(go_live=go_live).select_related(
        "person", "site", "unit__site", "created_by"
    )
    if not planner:
        links = links.filter(kind=ShareLink.Kind.PERSON_FEED, person=person)
    rows = [
        _link_row(request, link)
        for link in links
        if _may_manage(link, membership, request.user.pk, scope)
    ]
    context = {
        "go_live": go_live,
        "form": form,
        "person": person,
        "active_rows": [row for row in rows if row.link.revoked_at is None],
        "revoked_rows": [row for row in rows if row.link.revoked_at is not None],
    }
    return render(request, "staffing/share_links.html", context)


@role_required(ALL_ROLES)
@require_POST
def my_feed_link(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    person = _own_person(membership)
    if person is None:
        raise PermissionDenied(
            "You are not on this go-live's support roster, so you have no shifts to share."
        )
    feeds.create_share_link(
        go_live=membership.go_live,
        kind=ShareLink.Kind.PERSON_FEED,
        actor=request.user,
        person=person,
    )
    messages.success(request, "Your calendar link is ready: add it to your calendar app.")
    return redirect("staffing:share_links")


@login_required
@require_POST
def share_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(
        ShareLink.objects.select_related("person", "site", "unit__site"), pk=pk
    )
    membership = go_live_membership(request, link.go_live_id, ALL_ROLES)
    scope = PlanningScope.of(membership) if membership.role in MANAGERS else None
    if not _may_manage(link, membership, request.user.pk, scope):
        raise PermissionDenied(
            "You may revoke only your own calendar link, or links of units you plan for."
        )
    if feeds.revoke_share_link(link=link):
        messages.success(request, f"Revoked: {_subject(link)}. The link stopped working.")
    else:
        messages.info(request, f"{_subject(link)}: this link was already revoked.")
    return redirect("staffing:share_links")


# --- Calendar feeds -------------------------------------------------------------------------------


def _feed_gone() -> HttpResponse:
    return _secret_page(
        HttpResponseNotFound(
            "This calendar link was revoked or never existed. Ask the command center for a new one.",
            content_type="text/plain; charset=utf-8",
        )
    )


def _calendar_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _secret_page(response)


@require_GET
def person_feed(request: HttpRequest, token: str) -> HttpResponse:
    link = feeds.live_share_link(token=token, kind=ShareLink.Kind.PERSON_FEED)
    if link is None or link.person is None:
        return _feed_gone()
    return _calendar_response(
        feeds.person_calendar(person=link.person), f"{slugify(link.person.name)}-shifts.ics"
    )


@require_GET
def unit_feed(request: HttpRequest, token: str) -> HttpResponse:
    link = feeds.live_share_link(token=token, kind=ShareLink.Kind.UNIT_FEED)
    if link is None or link.unit is None:
        return _feed_gone()
    unit = link.unit
    return _calendar_response(
        feeds.unit_calendar(unit=unit), f"{slugify(f'{unit.site.code} {unit.name}')}-shifts.ics"
    )


# --- Printing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintBlock:
    shift: Shift
    assignments: list[Assignment]
    blank_rows: range


@login_required
@require_GET
def print_unit_day(request: HttpRequest, pk: str, day: str) -> HttpResponse:
    unit = get_object_or_404(Unit.objects.select_related("site__go_live"), pk=pk)
    membership = go_live_membership(request, unit.site.go_live_id, PRINT_ROLES)
    if (
        membership.role == Role.CLINIC_MANAGER
        and not managed_units(membership).filter(pk=unit.pk).exists()
    ):
        raise PermissionDenied("You may print only the units you manage.")
    try:
        date = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise Http404("No such date.") from exc
    go_live = unit.site.go_live
    tz = go_live.tzinfo
    # The local day's shifts are those starting between its two local midnights.
    start = dt.datetime.combine(date, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    people = Prefetch(
        "assignments",
        queryset=Assignment.objects.exclude(status=Assignment.Status.CANCELLED)
        .select_related("person")
        .order_by("person__name"),
        to_attr="listed",
    )
    shifts = unit.shifts.filter(start__gte=start, start__lt=end).prefetch_related(people)
    blocks = []
    for shift in shifts:
        active = sum(1 for a in shift.listed if a.status in ACTIVE_STATUSES)
        blocks.append(PrintBlock(shift, shift.listed, range(max(shift.needed - active, 0))))
    context = {
        "go_live": go_live,
        "unit": unit,
        "date": date,
        "blocks": blocks,
        "previous_day": (date - dt.timedelta(days=1)).isoformat(),
        "next_day": (date + dt.timedelta(days=1)).isoformat(),
    }
    return render(request, "staffing/print_unit_day.html", context)


@login_required
@require_GET
def print_person(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(SupportPerson.objects.select_related("go_live"), pk=pk)
    membership = go_live_membership(request, person.go_live_id, ALL_ROLES)
    if membership.role not in PRINT_ROLES and person.user_id != request.user.pk:
        raise PermissionDenied("You may print only your own shifts.")
    now = timezone.now()
    until = now + dt.timedelta(days=PERSON_PRINT_DAYS)
    assignments = (
        person.assignments.active()
        .filter(shift__end__gt=now, shift__start__lt=until)
        .select_related("shift__unit__site")
        .order_by("shift__start")
    )
    context = {
        "go_live": person.go_live,
        "person": person,
        "assignments": assignments,
        "now": now,
        "until": until,
        "days": PERSON_PRINT_DAYS,
    }
    return render(request, "staffing/print_person.html", context)


urlpatterns: list[URLPattern] = [
    path("whos-on/", whos_on, name="whos_on"),
    path("whos-on.json", whos_on_json, name="whos_on_json"),
    path("board/<slug:token>/", token_board, name="board"),
    path("share-links/", share_links, name="share_links"),
    path("share-links/my-calendar/", my_feed_link, name="my_feed_link"),
    path("share-links/<int:pk>/revoke/", share_link_revoke, name="share_link_revoke"),
    path("feeds/people/<slug:token>.ics", person_feed, name="person_feed"),
    path("feeds/units/<slug:token>.ics", unit_feed, name="unit_feed"),
    re_path(
        r"^print/units/(?P<pk>[0-9]+)/(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})/$",
        print_unit_day,
        name="print_unit_day",
    ),
    path("print/people/<int:pk>/", print_person, name="print_person"),
]
