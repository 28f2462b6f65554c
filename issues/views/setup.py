"""The issue settings page of the command center: routing, the priority matrix, the service
levels, the categories.

Command center leads only. Everything is the current go-live's; a category of another go-live is
answered 404. Each section posts to its own URL and saves in one transaction; a refused form is
shown again in place, with its messages, and nothing of it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from golive.models import EscalationTier, Membership
from golive.permissions import LEADS, role_required
from golive.views.golives import go_live_membership
from issues.forms_setup import CategoryForm, MatrixForm, RoutingForm
from issues.forms_sla import NarrowedSlaForm, SlaTableForm
from issues.models import AssignmentRule, Category, IssueSettings, PriorityRule, SlaPolicy
from issues.services import ensure_issue_setup


@dataclass(frozen=True)
class CategoryRow:
    category: Category
    form: CategoryForm
    first: bool
    last: bool


def _routing_form(membership: Membership, data: object = None) -> RoutingForm:
    go_live = membership.go_live
    settings = IssueSettings.objects.filter(go_live=go_live).first()
    if settings is None:
        # The first visit of a go-live made before issues existed: seed its defaults once.
        ensure_issue_setup(go_live=go_live)
        settings = IssueSettings.objects.get(go_live=go_live)
    settings.go_live = go_live
    return RoutingForm(
        data,
        settings=settings,
        tiers=list(EscalationTier.objects.filter(go_live=go_live, is_leadership=False)),
        rules=list(AssignmentRule.objects.filter(go_live=go_live)),
    )


def _matrix_form(membership: Membership, data: object = None) -> MatrixForm:
    go_live = membership.go_live
    return MatrixForm(
        data, go_live=go_live, rules=list(PriorityRule.objects.filter(go_live=go_live))
    )


def _sla_policies(membership: Membership) -> list[SlaPolicy]:
    return list(
        SlaPolicy.objects.filter(go_live=membership.go_live).select_related("category", "site")
    )


def _page(
    request: HttpRequest,
    membership: Membership,
    *,
    routing: RoutingForm | None = None,
    matrix: MatrixForm | None = None,
    sla: SlaTableForm | None = None,
    new_sla: NarrowedSlaForm | None = None,
    new_category: CategoryForm | None = None,
    failed: CategoryForm | None = None,
) -> HttpResponse:
    """The whole page; a refused form (if any) takes the place of its fresh copy."""
    go_live = membership.go_live
    routing = routing or _routing_form(membership)
    categories = list(Category.objects.filter(go_live=go_live))
    rows = [
        CategoryRow(
            category=category,
            form=failed
            if failed is not None and failed.instance.pk == category.pk
            else CategoryForm(
                instance=category, go_live=go_live, auto_id=f"id_category{category.pk}_%s"
            ),
            first=index == 0,
            last=index == len(categories) - 1,
        )
        for index, category in enumerate(categories)
    ]
    context = {
        "go_live": go_live,
        "routing": routing,
        "matrix": matrix or _matrix_form(membership),
        "sla": sla or SlaTableForm(policies=_sla_policies(membership)),
        "new_sla": new_sla or NarrowedSlaForm(go_live=go_live),
        "rows": rows,
        "active_count": sum(category.is_active for category in categories),
        "new_category": new_category or CategoryForm(go_live=go_live, auto_id="id_new_category_%s"),
    }
    return render(request, "issues/setup.html", context)


def _membership(request: HttpRequest) -> Membership:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return membership


def _get_category_for(request: HttpRequest, pk: int) -> tuple[Category, Membership]:
    category = get_object_or_404(Category, pk=pk)
    membership = go_live_membership(request, category.go_live_id, LEADS)
    return category, membership


@role_required(LEADS)
def setup(request: HttpRequest) -> HttpResponse:
    return _page(request, _membership(request))


@role_required(LEADS)
@require_POST
def routing(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = _routing_form(membership, request.POST)
    if not form.is_valid():
        return _page(request, membership, routing=form)
    with transaction.atomic():
        form.save()
    state = "on" if form.cleaned_data["auto_assign"] else "off"
    messages.success(request, f"Routing is saved: auto-assignment is {state}.")
    return redirect("issues:setup")


@role_required(LEADS)
@require_POST
def matrix(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = _matrix_form(membership, request.POST)
    if not form.is_valid():
        return _page(request, membership, matrix=form)
    with transaction.atomic():
        form.save()
    messages.success(
        request,
        "The priority matrix is saved. New issues get these priorities; logged ones keep theirs.",
    )
    return redirect("issues:setup")


@role_required(LEADS)
@require_POST
def sla(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    with transaction.atomic():
        # Locked: two leads saving the table at once take turns, and neither re-creates a policy
        # the other removed.
        policies = list(
            SlaPolicy.objects.select_for_update(of=("self",))
            .filter(go_live=membership.go_live)
            .select_related("category", "site")
        )
        form = SlaTableForm(request.POST, policies=policies)
        if form.is_valid():
            form.save()
    if not form.is_valid():
        return _page(request, membership, sla=form)
    messages.success(
        request,
        "The service levels are saved. New issues get these times; logged ones keep theirs until "
        "their priority changes.",
    )
    return redirect("issues:setup")


@role_required(LEADS)
@require_POST
def sla_add(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = NarrowedSlaForm(request.POST, go_live=membership.go_live)
    if form.is_valid():
        try:
            # A savepoint: a lead adding the same scope at the same instant loses to the constraint.
            with transaction.atomic():
                policy = form.save()
        except IntegrityError:
            form.add_error(
                None, "There is already a policy for this priority, category and site: edit it."
            )
        else:
            messages.success(request, f"The {policy} service level is added.")
            return redirect("issues:setup")
    return _page(request, membership, new_sla=form)


@role_required(LEADS)
@require_POST
def category_add(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = CategoryForm(request.POST, go_live=membership.go_live, auto_id="id_new_category_%s")
    return _save_category(request, membership, form, done="is added", new=True)


@login_required
@require_POST
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category, membership = _get_category_for(request, pk)
    form = CategoryForm(
        request.POST, instance=category, go_live=membership.go_live, auto_id=f"id_category{pk}_%s"
    )
    return _save_category(request, membership, form, done="is saved", new=False)


def _save_category(
    request: HttpRequest, membership: Membership, form: CategoryForm, *, done: str, new: bool
) -> HttpResponse:
    if form.is_valid():
        try:
            # A savepoint: a lead adding the same name at the same instant loses to the constraint.
            with transaction.atomic():
                category = form.save()
        except IntegrityError:
            form.add_error(
                "name", "There is already a category with this name. Choose another name."
            )
        else:
            messages.success(request, f"The category “{category.name}” {done}.")
            return redirect("issues:setup")
    if new:
        return _page(request, membership, new_category=form)
    return _page(request, membership, failed=form)


@login_required
@require_POST
def category_move(request: HttpRequest, pk: int) -> HttpResponse:
    category, _ = _get_category_for(request, pk)
    step = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if step is None:
        messages.error(request, "Move a category up or down.")
        return redirect("issues:setup")
    with transaction.atomic():
        # Every category of the go-live, locked: two leads reordering at once take turns.
        ordered = list(Category.objects.select_for_update().filter(go_live_id=category.go_live_id))
        index = next(i for i, row in enumerate(ordered) if row.pk == category.pk)
        other = index + step
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
            for position, row in enumerate(ordered):
                row.position = position
            Category.objects.bulk_update(ordered, ["position"])
    return redirect("issues:setup")


@login_required
@require_POST
def category_active(request: HttpRequest, pk: int) -> HttpResponse:
    category, _ = _get_category_for(request, pk)
    active = request.POST.get("active") == "1"
    with transaction.atomic():
        # Locked together, so two leads deactivating the last two at once cannot leave none.
        rows = list(Category.objects.select_for_update().filter(go_live_id=category.go_live_id))
        others_active = sum(row.is_active for row in rows if row.pk != category.pk)
        if not active and not others_active:
            messages.error(
                request,
                f"“{category.name}” is the last active category: keep it, or activate another "
                "first. Floor staff need at least one to log an issue.",
            )
            return redirect("issues:setup")
        Category.objects.filter(pk=category.pk).update(is_active=active)
    if active:
        messages.success(request, f"“{category.name}” is offered again on the issue form.")
    else:
        messages.success(
            request,
            f"“{category.name}” is no longer offered on the issue form; its issues keep it.",
        )
    return redirect("issues:setup")


urlpatterns: list[URLPattern] = [
    path("setup/", setup, name="setup"),
    path("setup/routing/", routing, name="setup_routing"),
    path("setup/matrix/", matrix, name="setup_matrix"),
    path("setup/service-levels/", sla, name="setup_sla"),
    path("setup/service-levels/add/", sla_add, name="setup_sla_add"),
    path("setup/categories/", category_add, name="setup_category_add"),
    path("setup/categories/<int:pk>/", category_edit, name="setup_category_edit"),
    path("setup/categories/<int:pk>/move/", category_move, name="setup_category_move"),
    path("setup/categories/<int:pk>/active/", category_active, name="setup_category_active"),
]
