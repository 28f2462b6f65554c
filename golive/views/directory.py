"""The escalation directory ("Who to call"): open to every member, edited by the command center lead."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from golive.forms import ContactForm, DirectoryFilterForm, EscalationTierForm
from golive.models import Contact, EscalationTier, Membership, Unit
from golive.permissions import ALL_ROLES, LEADS
from golive.views.golives import go_live_membership, go_live_page, posted, save_or_show


@dataclass(frozen=True)
class DirectoryRow:
    contact: Contact
    available_now: bool


@dataclass(frozen=True)
class TierSection:
    tier: EscalationTier
    rows: list[DirectoryRow]


def _get_tier_for(request: HttpRequest, pk: int) -> tuple[EscalationTier, Membership]:
    tier = get_object_or_404(EscalationTier, pk=pk)
    membership = go_live_membership(request, tier.go_live_id, LEADS)
    tier.go_live = membership.go_live
    return tier, membership


def _get_contact_for(request: HttpRequest, pk: int) -> tuple[Contact, Membership]:
    contact = get_object_or_404(Contact, pk=pk)
    membership = go_live_membership(request, contact.go_live_id, LEADS)
    contact.go_live = membership.go_live
    return contact, membership


@login_required
def directory(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, ALL_ROLES)
    go_live = membership.go_live
    form = DirectoryFilterForm(request.GET or None, go_live=go_live)
    filters = form.cleaned_data if form.is_valid() else {}

    # Contacts read through the go-live's manager carry it already: availability costs no query.
    contacts = go_live.contacts.filter(is_active=True).prefetch_related(
        "applications", Prefetch("units", queryset=Unit.objects.select_related("site"))
    )
    if filters.get("tier"):
        contacts = contacts.filter(tier=filters["tier"])
    if filters.get("unit") or filters.get("application"):
        contacts = contacts.covering(
            unit=filters.get("unit"), application=filters.get("application")
        )
    if filters.get("q"):
        query = filters["q"]
        contacts = contacts.filter(
            Q(name__icontains=query) | Q(title__icontains=query) | Q(vendor_name__icontains=query)
        )
    now = timezone.now()
    rows = [DirectoryRow(contact, contact.is_available_at(now)) for contact in contacts]
    if filters.get("available_now"):
        rows = [row for row in rows if row.available_now]

    filtering = any(filters.values())
    sections = [
        TierSection(tier, [row for row in rows if row.contact.tier_id == tier.pk])
        for tier in go_live.tiers.all()
    ]
    if filtering:
        sections = [section for section in sections if section.rows]
    is_lead = membership.role in LEADS
    context = go_live_page(
        membership,
        "golive:directory",
        form=form,
        sections=sections,
        filtering=filtering,
        match_count=len(rows),
        inactive=go_live.contacts.filter(is_active=False) if is_lead else [],
    )
    return render(request, "golive/directory.html", context)


@login_required
def tier_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    form = EscalationTierForm(posted(request), instance=EscalationTier(go_live=membership.go_live))
    return save_or_show(
        request,
        membership,
        form,
        done=lambda tier: (f"{tier} is added.", reverse("golive:directory", args=[pk])),
        title="New escalation tier",
        submit_label="Add tier",
        cancel_url=reverse("golive:directory", args=[pk]),
    )


@login_required
def tier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tier, membership = _get_tier_for(request, pk)
    form = EscalationTierForm(posted(request), instance=tier)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (
            f"{saved} is saved.",
            reverse("golive:directory", args=[saved.go_live_id]),
        ),
        title="Edit escalation tier",
        submit_label="Save tier",
        cancel_url=reverse("golive:directory", args=[tier.go_live_id]),
    )


@login_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    form = ContactForm(
        posted(request),
        instance=Contact(go_live=membership.go_live),
        initial={"tier": request.GET.get("tier")},
    )
    return save_or_show(
        request,
        membership,
        form,
        done=lambda contact: (
            f"{contact.name} is added to the directory.",
            reverse("golive:directory", args=[pk]),
        ),
        title="New contact",
        submit_label="Add contact",
        cancel_url=reverse("golive:directory", args=[pk]),
        intro="Hours are local times at the go-live; an end earlier than the start runs overnight.",
    )


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact, membership = _get_contact_for(request, pk)
    title = f"Edit {contact.name}"  # before the form writes the posted values onto the contact
    form = ContactForm(posted(request), instance=contact)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (
            f"{saved.name} is saved.",
            reverse("golive:directory", args=[saved.go_live_id]),
        ),
        title=title,
        submit_label="Save contact",
        cancel_url=reverse("golive:directory", args=[contact.go_live_id]),
        intro="Hours are local times at the go-live; an end earlier than the start runs overnight.",
    )


urlpatterns: list[URLPattern] = [
    path("go-lives/<int:pk>/directory/", directory, name="directory"),
    path("go-lives/<int:pk>/tiers/new/", tier_create, name="tier_create"),
    path("tiers/<int:pk>/edit/", tier_edit, name="tier_edit"),
    path("go-lives/<int:pk>/contacts/new/", contact_create, name="contact_create"),
    path("contacts/<int:pk>/edit/", contact_edit, name="contact_edit"),
]
