"""The command center's set-up pages: go-lives, their sites and units, applications and members.

Every object is loaded through a helper that checks access: an object of a go-live the user is
not a member of is answered 404 (its existence does not leak), a member without the role gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, Prefetch
from django.forms import BaseForm, ModelForm
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from golive import audit, services
from golive.forms import (
    ApplicationForm,
    GoLiveForm,
    MemberAddForm,
    MembershipForm,
    SiteForm,
    UnitForm,
)
from golive.lib.users import display_name
from golive.models import Application, AuditEntry, GoLive, Membership, Role, Site, Unit
from golive.permissions import (
    ALL_ROLES,
    LEADS,
    MANAGERS,
    SESSION_KEY,
    can_create_go_live,
    can_edit_site,
    can_edit_unit,
    check_role,
    managed_units,
    membership_for,
)


@dataclass(frozen=True)
class Tab:
    label: str
    url: str
    active: bool


def posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST, None on GET: an empty POST is still a (failing) submission."""
    return request.POST if request.method == "POST" else None


def posted_next(request: HttpRequest, default: str) -> str:
    """Where a form asked to go back to (its `next` field) if that is a page of this site, else
    `default`: a crafted link cannot send anyone elsewhere."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def go_live_membership(request: HttpRequest, go_live_id: int, roles: frozenset[str]) -> Membership:
    """The user's membership of the go-live: 404 for a non-member, 403 without one of `roles`."""
    membership = membership_for(request, go_live_id)
    check_role(membership, roles)
    return membership


def go_live_tabs(membership: Membership, active: str) -> list[Tab]:
    """The go-live's own pages that the member's role opens, for the tabs above each of them."""
    pk = membership.go_live_id
    pages = [
        ("Sites & units", "golive:detail", [pk], MANAGERS),
        ("Applications", "golive:applications", [pk], MANAGERS),
        ("Who to call", "golive:directory", [pk], ALL_ROLES),
        ("Members", "golive:members", [pk], LEADS),
        # The issue log's set-up pages act on the current go-live (named, not imported).
        ("Unit tablets", "issues:tablets", [], MANAGERS),
        ("Issue settings", "issues:setup", [], LEADS),
        ("Records archive", "issues:archive", [], LEADS),
        ("Webhooks", "golive:webhooks", [pk], LEADS),
        ("Audit log", "golive:audit", [pk], LEADS),
    ]
    return [
        Tab(label, reverse(name, args=args), name == active)
        for label, name, args, roles in pages
        if membership.role in roles
    ]


def go_live_page(membership: Membership, active: str, **context: object) -> dict[str, object]:
    return {
        "go_live": membership.go_live,
        "is_lead": membership.role == Role.COMMAND_CENTER_LEAD,
        "tabs": go_live_tabs(membership, active),
        **context,
    }


def form_page(
    request: HttpRequest,
    membership: Membership | None,
    form: BaseForm,
    *,
    title: str,
    submit_label: str,
    cancel_url: str,
    intro: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "title": title,
        "submit_label": submit_label,
        "cancel_url": cancel_url,
        "intro": intro,
        "go_live": membership.go_live if membership else None,
    }
    return render(request, "golive/form_page.html", context)


def save_or_show(
    request: HttpRequest,
    membership: Membership,
    form: ModelForm,
    *,
    done: Callable[[Model], tuple[str, str | Model]],
    title: str,
    submit_label: str,
    cancel_url: str,
    intro: str = "",
) -> HttpResponse:
    """Save a valid form (with its many-to-many rows, in one transaction), say so and move on to
    where `done(saved object)` points; otherwise show the form again with its messages."""
    if form.is_valid():
        with transaction.atomic():
            saved = form.save()
        message, then = done(saved)
        messages.success(request, message)
        return redirect(then)
    return form_page(
        request,
        membership,
        form,
        title=title,
        submit_label=submit_label,
        cancel_url=cancel_url,
        intro=intro,
    )


def _get_site_for(request: HttpRequest, pk: int, roles: frozenset[str]) -> tuple[Site, Membership]:
    site = get_object_or_404(Site, pk=pk)
    membership = go_live_membership(request, site.go_live_id, roles)
    site.go_live = membership.go_live
    return site, membership


def _get_unit_for(request: HttpRequest, pk: int) -> tuple[Unit, Membership]:
    unit = get_object_or_404(Unit.objects.select_related("site"), pk=pk)
    membership = go_live_membership(request, unit.site.go_live_id, ALL_ROLES)
    if not can_edit_unit(membership, unit):
        raise PermissionDenied("You may edit only the units you manage.")
    return unit, membership


def _get_application_for(request: HttpRequest, pk: int) -> tuple[Application, Membership]:
    application = get_object_or_404(Application, pk=pk)
    membership = go_live_membership(request, application.go_live_id, LEADS)
    application.go_live = membership.go_live
    return application, membership


def _get_member_for(request: HttpRequest, pk: int) -> tuple[Membership, Membership]:
    """The membership to edit and the requesting lead's own membership."""
    member = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    membership = go_live_membership(request, member.go_live_id, LEADS)
    member.go_live = membership.go_live
    return member, membership


def _editable_unit_ids(membership: Membership) -> set[int]:
    """Ids of the units the member may edit, in one query whatever the number of units."""
    return set(managed_units(membership).values_list("pk", flat=True))


# --- Go-lives -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoLiveRow:
    membership: Membership
    day: int | None
    is_current: bool
    links: list[Tab]


@login_required
def golive_list(request: HttpRequest) -> HttpResponse:
    current: Membership | None = request.membership  # type: ignore[attr-defined]
    rows = [
        GoLiveRow(
            membership=m,
            day=m.go_live.day_number(),
            is_current=current is not None and m.pk == current.pk,
            links=go_live_tabs(m, active=""),
        )
        for m in request.memberships  # type: ignore[attr-defined]
    ]
    context = {"rows": rows, "can_create": can_create_go_live(request.user)}
    return render(request, "golive/golive_list.html", context)


@login_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    try:
        go_live_id = int(request.POST.get("go_live", ""))
    except ValueError as exc:
        raise Http404("No such go-live.") from exc
    membership = membership_for(request, go_live_id)
    request.session[SESSION_KEY] = go_live_id
    messages.success(request, f"You are now working on {membership.go_live.name}.")
    return redirect(posted_next(request, "/"))


@login_required
def golive_create(request: HttpRequest) -> HttpResponse:
    if not can_create_go_live(request.user):
        raise PermissionDenied("Only command center leads and administrators open new go-lives.")
    form = GoLiveForm(posted(request))
    if form.is_valid():
        assert isinstance(request.user, User)
        go_live = services.create_go_live(creator=request.user, **form.cleaned_data)
        # The creator came here to set it up: make it their current go-live.
        request.session[SESSION_KEY] = go_live.pk
        messages.success(
            request,
            f"{go_live.name} is open, with the usual escalation tiers and applications. "
            "Add its sites and units next.",
        )
        return redirect(go_live)
    return form_page(
        request,
        None,
        form,
        title="New go-live",
        submit_label="Create go-live",
        cancel_url=reverse("golive:list"),
        intro="You will lead its command center. Times are the local times of the zone you choose.",
    )


@login_required
def golive_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, MANAGERS)
    go_live = membership.go_live
    sites = list(go_live.sites.prefetch_related("units"))
    active_units = [unit for site in sites for unit in site.units.all() if unit.is_active]
    context = go_live_page(
        membership,
        "golive:detail",
        sites=sites,
        day=go_live.day_number(),
        unit_count=len(active_units),
        end_user_count=sum(unit.end_user_count for unit in active_units),
        editable_unit_ids=_editable_unit_ids(membership),
    )
    return render(request, "golive/golive_detail.html", context)


@login_required
def golive_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    # A fresh copy: a refused edit must not leak into the header, which shows membership.go_live.
    go_live = GoLive.objects.get(pk=pk)
    form = GoLiveForm(posted(request), instance=go_live)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (f"{saved.name} is saved.", saved),
        title=f"Edit {membership.go_live.name}",
        submit_label="Save go-live",
        cancel_url=go_live.get_absolute_url(),
    )


# --- Sites and units ------------------------------------------------------------------------------


@login_required
def site_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    form = SiteForm(posted(request), instance=Site(go_live=membership.go_live))
    return save_or_show(
        request,
        membership,
        form,
        done=lambda site: (f"{site.name} is added. Add its units next.", site),
        title="New site",
        submit_label="Add site",
        cancel_url=membership.go_live.get_absolute_url(),
    )


@login_required
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    site, membership = _get_site_for(request, pk, MANAGERS)
    units = list(site.units.all())
    context = go_live_page(
        membership,
        "golive:detail",
        site=site,
        units=units,
        end_user_count=sum(unit.end_user_count for unit in units if unit.is_active),
        can_edit=can_edit_site(membership, site),
        editable_unit_ids=_editable_unit_ids(membership),
    )
    return render(request, "golive/site_detail.html", context)


@login_required
def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    site, membership = _get_site_for(request, pk, ALL_ROLES)
    if not can_edit_site(membership, site):
        raise PermissionDenied("Only the command center lead edits sites.")
    form = SiteForm(posted(request), instance=site)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (f"{saved.name} is saved.", saved),
        title="Edit site",
        submit_label="Save site",
        cancel_url=reverse("golive:site_detail", args=[site.pk]),
    )


@login_required
def unit_create(request: HttpRequest, pk: int) -> HttpResponse:
    site, membership = _get_site_for(request, pk, ALL_ROLES)
    if not can_edit_site(membership, site):
        raise PermissionDenied("Only the command center lead adds units.")
    form = UnitForm(posted(request), instance=Unit(site=site))
    return save_or_show(
        request,
        membership,
        form,
        done=lambda unit: (f"{unit.name} is added to {site.name}.", site),
        title=f"New unit at {site.name}",
        submit_label="Add unit",
        cancel_url=site.get_absolute_url(),
    )


@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit, membership = _get_unit_for(request, pk)
    form = UnitForm(posted(request), instance=unit)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (f"{saved.name} is saved.", saved.site),
        title=f"Edit unit at {unit.site.name}",
        submit_label="Save unit",
        cancel_url=unit.site.get_absolute_url(),
    )


# --- Applications ---------------------------------------------------------------------------------


@login_required
def applications(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, MANAGERS)
    go_live = membership.go_live
    form = None
    if membership.role == Role.COMMAND_CENTER_LEAD:
        form = ApplicationForm(posted(request), instance=Application(go_live=go_live))
        if form.is_valid():
            application = form.save()
            messages.success(request, f"{application.name} is added.")
            return redirect("golive:applications", pk=go_live.pk)
    elif request.method == "POST":
        raise PermissionDenied("Only the command center lead adds applications.")
    context = go_live_page(
        membership, "golive:applications", applications=go_live.applications.all(), form=form
    )
    return render(request, "golive/applications.html", context)


@login_required
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    application, membership = _get_application_for(request, pk)
    form = ApplicationForm(posted(request), instance=application)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (
            f"The application is now called {saved.name}.",
            reverse("golive:applications", args=[saved.go_live_id]),
        ),
        title="Rename application",
        submit_label="Save name",
        cancel_url=reverse("golive:applications", args=[application.go_live_id]),
    )


# --- Members --------------------------------------------------------------------------------------


@login_required
def members(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    go_live = membership.go_live
    form = MemberAddForm(posted(request), go_live=go_live)
    if form.is_valid():
        user = form.cleaned_data["user"]
        with transaction.atomic():
            # Someone who left and comes back keeps their one membership row (and its history).
            member, _ = Membership.objects.update_or_create(
                user=user,
                go_live=go_live,
                defaults={"role": form.cleaned_data["role"], "is_active": True},
            )
            member.sites.set(form.cleaned_data["sites"])
            member.units.set(form.cleaned_data["units"])
            audit.record(
                action=AuditEntry.Action.MEMBER_ADDED,
                request=request,
                go_live=go_live,
                detail=f"{display_name(user)} as {member.get_role_display().lower()}",
            )
        messages.success(
            request,
            f"{user.get_full_name() or user.username} is in {go_live.name} as "
            f"{member.get_role_display().lower()}.",
        )
        return redirect("golive:members", pk=go_live.pk)
    rows = (
        go_live.memberships.select_related("user")
        .prefetch_related("sites", Prefetch("units", queryset=Unit.objects.select_related("site")))
        .order_by("-is_active", "user__last_name", "user__first_name", "user__username")
    )
    return render(
        request,
        "golive/members.html",
        go_live_page(membership, "golive:members", rows=rows, form=form),
    )


@login_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member, membership = _get_member_for(request, pk)
    # What it was, for the audit log, read before the form changes the instance.
    before = _membership_summary(member) if request.method == "POST" else ""
    form = MembershipForm(posted(request), instance=member)
    if form.is_valid():
        with transaction.atomic():
            member = form.save()
            after = _membership_summary(member)
            if after != before:
                audit.record(
                    action=AuditEntry.Action.MEMBER_CHANGED,
                    request=request,
                    go_live=member.go_live_id,
                    detail=f"{display_name(member.user)}: {before} → {after}",
                )
        name = member.user.get_full_name() or member.user.username
        messages.success(request, f"{name}'s membership is saved.")
        if member.user_id == request.user.pk and not (
            member.is_active and member.role == Role.COMMAND_CENTER_LEAD
        ):
            # They just gave up leading this go-live: its members page is no longer theirs.
            return redirect("golive:list")
        return redirect("golive:members", pk=member.go_live_id)
    return form_page(
        request,
        membership,
        form,
        title=f"{member.user.get_full_name() or member.user.username} in {member.go_live.name}",
        submit_label="Save membership",
        cancel_url=reverse("golive:members", args=[member.go_live_id]),
    )


def _membership_summary(member: Membership) -> str:
    """A membership as the audit log shows a change to it: role, active or not, limits."""
    limits = [site.name for site in member.sites.all()] + [unit.name for unit in member.units.all()]
    state = member.get_role_display() + ("" if member.is_active else " (inactive)")
    return state + (f", limited to {', '.join(sorted(limits))}" if limits else "")


urlpatterns: list[URLPattern] = [
    path("go-lives/", golive_list, name="list"),
    path("go-lives/switch/", switch, name="switch"),
    path("go-lives/new/", golive_create, name="create"),
    path("go-lives/<int:pk>/", golive_detail, name="detail"),
    path("go-lives/<int:pk>/edit/", golive_edit, name="edit"),
    path("go-lives/<int:pk>/sites/new/", site_create, name="site_create"),
    path("sites/<int:pk>/", site_detail, name="site_detail"),
    path("sites/<int:pk>/edit/", site_edit, name="site_edit"),
    path("sites/<int:pk>/units/new/", unit_create, name="unit_create"),
    path("units/<int:pk>/edit/", unit_edit, name="unit_edit"),
    path("go-lives/<int:pk>/applications/", applications, name="applications"),
    path("applications/<int:pk>/edit/", application_edit, name="application_edit"),
    path("go-lives/<int:pk>/members/", members, name="members"),
    path("memberships/<int:pk>/edit/", member_edit, name="member_edit"),
]
