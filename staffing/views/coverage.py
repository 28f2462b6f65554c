"""Coverage planning: requirements per unit and role, the ratio helper, shift generation,
auto-fill and the go-live's staffing settings.

Planning is for command center leads (the whole go-live) and clinic managers (only the units in
`managed_units`); the settings are the lead's. Objects are loaded through helpers that check
access: another go-live's object is a 404, a member without the role or the unit a 403.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from golive.models import GoLive, Membership, Role, Unit
from golive.permissions import LEADS, MANAGERS, can_edit_unit, managed_units, role_required
from golive.views.golives import go_live_membership, posted
from staffing import autofill as autofill_service
from staffing import coverage
from staffing.forms_coverage import (
    AutoFillForm,
    BaseProposalFormSet,
    GenerateForm,
    ProposalFormSet,
    ProposalRoleForm,
    ProposalRowForm,
    RequirementCreateForm,
    RequirementEditForm,
    RequirementFilterForm,
    StaffingSettingsForm,
    unit_choices,
)
from staffing.models import (
    AutoFillProposal,
    AutoFillRun,
    CoverageRequirement,
    StaffingSettings,
    SupportRole,
)
from staffing.rules import SOFT_CODES

RACE_MESSAGE = (
    "Someone changed these shifts at the same moment, so nothing was saved. Please try again."
)
RUNS_SHOWN = 50


def _membership(request: HttpRequest) -> Membership:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return membership


def _get_requirement_for(request: HttpRequest, pk: int) -> tuple[CoverageRequirement, Membership]:
    requirement = get_object_or_404(
        CoverageRequirement.objects.select_related("unit__site", "application"), pk=pk
    )
    membership = go_live_membership(request, requirement.unit.site.go_live_id, MANAGERS)
    if not can_edit_unit(membership, requirement.unit):
        raise PermissionDenied("You plan only the units you manage.")
    return requirement, membership


def _get_run_for(request: HttpRequest, pk: int) -> tuple[AutoFillRun, Membership]:
    run = get_object_or_404(AutoFillRun, pk=pk)
    membership = go_live_membership(request, run.go_live_id, MANAGERS)
    run.go_live = membership.go_live
    if membership.role != Role.COMMAND_CENTER_LEAD:
        outside = run.units.exclude(pk__in=managed_units(membership))
        if outside.exists():
            raise PermissionDenied("This auto-fill covers units you do not manage.")
    return run, membership


def _visible_runs(membership: Membership, units: QuerySet[Unit]) -> QuerySet[AutoFillRun]:
    """Runs the member may open: for a manager, those within the units she manages."""
    runs = AutoFillRun.objects.filter(go_live_id=membership.go_live_id)
    if membership.role != Role.COMMAND_CENTER_LEAD:
        others = Unit.objects.filter(site__go_live_id=membership.go_live_id).exclude(pk__in=units)
        runs = runs.exclude(units__in=others)
    return runs


@dataclass(frozen=True)
class PlanningTab:
    name: str
    label: str


def planning_page(membership: Membership, active: str, **context: object) -> dict[str, object]:
    """The context of a planning page: its go-live and the tabs between the planning pages."""
    tabs = [
        PlanningTab("staffing:requirements", "Requirements"),
        PlanningTab("staffing:requirements_propose", "Ratio helper"),
        PlanningTab("staffing:autofill", "Auto-fill"),
        PlanningTab("staffing:grid", "Coverage grid"),
    ]
    is_lead = membership.role == Role.COMMAND_CENTER_LEAD
    if is_lead:
        tabs.append(PlanningTab("staffing:settings", "Settings"))
    return {
        "go_live": membership.go_live,
        "planning_tabs": tabs,
        "active_tab": active,
        "is_lead": is_lead,
        **context,
    }


def _requirements_url(unit: Unit | None = None) -> str:
    url = reverse("staffing:requirements")
    return f"{url}?unit={unit.pk}" if unit is not None else url


# --- Requirements ---------------------------------------------------------------------------------


@dataclass
class UnitGroup:
    unit: Unit
    requirements: list[CoverageRequirement] = field(default_factory=list)


@role_required(MANAGERS)
def requirements(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    go_live = membership.go_live
    units = managed_units(membership)
    unit_list = list(unit_choices(units))
    filters = RequirementFilterForm(request.GET, units=unit_list)
    rows = (
        CoverageRequirement.objects.filter(unit__in=units)
        .select_related("unit__site", "application")
        .annotate(shift_count=Count("shifts"))
        .order_by("unit__site__name", "unit__name", "role", "start_date", "start_time", "pk")
    )
    if site := filters.value("site"):
        rows = rows.filter(unit__site_id=site)
    if unit := filters.value("unit"):
        rows = rows.filter(unit_id=unit)
    if role := filters.value("role"):
        rows = rows.filter(role=role)
    groups: dict[int, UnitGroup] = {}
    for requirement in rows:
        group = groups.setdefault(requirement.unit_id, UnitGroup(requirement.unit))
        group.requirements.append(requirement)
    first, last = coverage.support_window(go_live)
    context = planning_page(
        membership,
        "staffing:requirements",
        groups=list(groups.values()),
        filters=filters,
        filtered=any(filters.value(name) for name in ("site", "unit", "role")),
        generate_form=GenerateForm(go_live=go_live, units=units),
        window=(first, last),
    )
    return render(request, "staffing/requirements.html", context)


@role_required(MANAGERS)
def requirement_create(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    go_live = membership.go_live
    form = RequirementCreateForm(
        posted(request),
        go_live=go_live,
        units=managed_units(membership),
        initial={"unit": request.GET.get("unit")},
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = coverage.create_requirements(
                unit=data["unit"],
                role=data["role"],
                blocks=form.blocks(),
                start_date=data["start_date"],
                end_date=data["end_date"],
                headcount=data["headcount"],
                application=data["application"],
                allow_claim=data["allow_claim"],
            )
        except IntegrityError:
            form.add_error(None, RACE_MESSAGE)
        else:
            blocks = ", ".join(requirement.label for requirement in created)
            messages.success(
                request,
                f"{data['unit'].name}: {blocks} added. Generate shifts to put them on the grid.",
            )
            return redirect(_requirements_url(data["unit"]))
    return render(
        request,
        "staffing/requirement_form.html",
        {"form": form, "go_live": go_live, "title": "New coverage requirement"},
    )


@login_required
def requirement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    requirement, membership = _get_requirement_for(request, pk)
    go_live = membership.go_live
    form = RequirementEditForm(posted(request), instance=requirement, go_live=go_live)
    if form.is_valid():
        try:
            form.save()
        except IntegrityError:
            form.add_error(None, RACE_MESSAGE)
        else:
            messages.success(
                request,
                f"{requirement.unit.name} {requirement.label} is saved. Generate shifts again "
                "to bring its future shifts up to date.",
            )
            return redirect(_requirements_url(requirement.unit))
    return render(
        request,
        "staffing/requirement_form.html",
        {
            "form": form,
            "go_live": go_live,
            "requirement": requirement,
            "title": f"Edit {requirement.unit.name} · {requirement.get_role_display()} · "
            f"{requirement.label}",
        },
    )


@require_POST
@login_required
def requirement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    requirement, membership = _get_requirement_for(request, pk)
    name = f"{requirement.unit.name} {requirement.label}"
    result = coverage.delete_requirement(requirement=requirement, actor=request.user)
    return render(
        request,
        "staffing/requirements_result.html",
        {
            "go_live": membership.go_live,
            "title": f"{name} is deleted",
            "result": result,
            "back_url": _requirements_url(requirement.unit),
        },
    )


@require_POST
@role_required(MANAGERS)
def generate_shifts(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    go_live = membership.go_live
    units = managed_units(membership)
    form = GenerateForm(request.POST, go_live=go_live, units=units)
    if not form.is_valid():
        return render(
            request, "staffing/requirements_generate.html", {"form": form, "go_live": go_live}
        )
    unit = form.cleaned_data["unit"]
    # Every requirement of the units, also those whose dates moved out of the range: their
    # leftover shifts in it must go.
    chosen = CoverageRequirement.objects.filter(unit__in=[unit] if unit else units)
    try:
        result = coverage.generate_shifts(
            go_live=go_live,
            requirements=chosen,
            first_date=form.cleaned_data["start_date"],
            last_date=form.cleaned_data["end_date"],
            actor=request.user,
        )
    except IntegrityError:
        form.add_error(None, RACE_MESSAGE)
        return render(
            request, "staffing/requirements_generate.html", {"form": form, "go_live": go_live}
        )
    start, end = form.cleaned_data["start_date"], form.cleaned_data["end_date"]
    scope = unit.name if unit else "your units"
    return render(
        request,
        "staffing/requirements_result.html",
        {
            "go_live": go_live,
            "title": f"Shifts for {scope}, {coverage.short_date(start)} to "
            f"{coverage.short_date(end)}",
            "result": result,
            "back_url": _requirements_url(unit),
        },
    )


# --- The ratio helper -----------------------------------------------------------------------------


def _row_initial(
    unit: Unit, mix: coverage.Mix, ratios: coverage.Ratios, phases: list[coverage.Phase]
) -> dict[str, object]:
    full = coverage.full_headcount(mix, ratios)
    initial: dict[str, object] = {
        "unit": unit.pk,
        "include": full > 0,
        "physicians": mix.physicians,
        "nurses": mix.nurses,
        "clerical": mix.clerical,
        "critical_care": mix.critical_care,
    }
    for index, phase in enumerate(phases):
        initial[f"phase_{index}"] = coverage.phase_headcount(full, phase.percent)
    return initial


def _saved_mix(unit: Unit) -> coverage.Mix:
    try:
        mix = unit.mix
    except Unit.mix.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return coverage.default_mix(unit.end_user_count)
    return coverage.Mix(mix.physicians, mix.nurses, mix.clerical, mix.critical_care)


@dataclass(frozen=True)
class ProposalTableRow:
    form: ProposalRowForm
    full: int | None


@role_required(MANAGERS)
def requirements_propose(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    go_live = membership.go_live
    ratios = coverage.Ratios.of(StaffingSettings.for_go_live(go_live))
    phases = coverage.taper(*coverage.support_window(go_live))
    all_units = list(unit_choices(managed_units(membership)).select_related("mix"))
    sites = sorted({unit.site for unit in all_units}, key=lambda site: site.name)
    site_id = request.GET.get("site", "")
    shown = [unit for unit in all_units if not site_id or str(unit.site_id) == site_id]
    by_id = {unit.pk: unit for unit in shown}
    role_form = ProposalRoleForm(posted(request))
    formset = ProposalFormSet(posted(request), phases=phases, units=by_id)
    notice = ""
    if request.method == "POST" and formset.is_valid():
        rows = [
            coverage.ProposalRow(by_id[form.cleaned_data["unit"]], form.mix(), form.headcounts())
            for form in formset.forms
        ]
        if request.POST.get("action") == "create":
            if role_form.is_valid() and _check_no_requirements(
                formset, role_form.cleaned_data["role"], go_live
            ):
                chosen = [
                    row
                    for row, form in zip(rows, formset.forms, strict=True)
                    if form.cleaned_data["include"] and any(row.headcounts)
                ]
                if chosen:
                    created = coverage.create_proposed_requirements(
                        go_live=go_live, rows=chosen, role=role_form.cleaned_data["role"]
                    )
                    units = f"{len(chosen)} unit{'s' if len(chosen) != 1 else ''}"
                    messages.success(
                        request,
                        f"{len(created)} requirements added for {units}. "
                        "Generate shifts to put them on the grid.",
                    )
                    return redirect("staffing:requirements")
                messages.error(
                    request,
                    "Tick at least one unit with a headcount above 0 to create its requirements.",
                )
        else:
            coverage.save_unit_mixes(rows=rows)
            formset = ProposalFormSet(
                initial=[
                    _row_initial(row.unit, row.mix, ratios, phases)
                    | {"include": form.cleaned_data["include"]}
                    for row, form in zip(rows, formset.forms, strict=True)
                ],
                phases=phases,
                units=by_id,
            )
            notice = "The mixes are saved and the headcounts recalculated."
    elif request.method != "POST":
        formset = ProposalFormSet(
            initial=[_row_initial(unit, _saved_mix(unit), ratios, phases) for unit in shown],
            phases=phases,
            units=by_id,
        )
    context = planning_page(
        membership,
        "staffing:requirements_propose",
        phases=phases,
        ratios=ratios,
        sites=sites,
        site_id=site_id,
        role_form=role_form,
        formset=formset,
        rows=[ProposalTableRow(form, _full(form, ratios)) for form in formset.forms],
        notice=notice,
    )
    template = "staffing/requirements_propose.html"
    if request.htmx:  # type: ignore[attr-defined]
        template = "staffing/requirements_propose_table.html"
    return render(request, template, context)


def _full(form: ProposalRowForm, ratios: coverage.Ratios) -> int | None:
    """The row's full headcount from the mix shown (None when the mix does not validate)."""
    if form.is_bound:
        if not form.is_valid():
            return None
        return coverage.full_headcount(form.mix(), ratios)
    initial = form.initial
    mix = coverage.Mix(
        int(initial["physicians"]),
        int(initial["nurses"]),
        int(initial["clerical"]),
        bool(initial["critical_care"]),
    )
    return coverage.full_headcount(mix, ratios)


def _check_no_requirements(formset: BaseProposalFormSet, role: str, go_live: GoLive) -> bool:
    """A unit that has requirements of the role already would get a second set: refuse it."""
    first, last = coverage.support_window(go_live)
    included = {
        form.cleaned_data["unit"]: form for form in formset.forms if form.cleaned_data["include"]
    }
    taken = set(
        CoverageRequirement.objects.filter(
            unit__in=included, role=role, start_date__lte=last, end_date__gte=first
        ).values_list("unit", flat=True)
    )
    for pk in taken:
        form = included[pk]
        form.add_error(
            "include",
            f"{form.units[pk].name} already has {SupportRole(role).label.lower()} requirements. "
            "Untick it, or change them on the requirements page.",
        )
    return not taken


# --- Auto-fill ------------------------------------------------------------------------------------


@role_required(MANAGERS)
def autofill(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    go_live = membership.go_live
    units = managed_units(membership)
    form = AutoFillForm(posted(request), go_live=go_live, units=units)
    if form.is_valid():
        data = form.cleaned_data
        run = autofill_service.start_autofill(
            go_live=go_live,
            actor=request.user,
            start_date=data["start_date"],
            end_date=data["end_date"],
            units=data["units"],
            roles=data["roles"],
            respect_soft_rules=data["respect_soft_rules"],
        )
        messages.success(request, "The auto-fill has started; this page follows its progress.")
        return redirect("staffing:autofill_detail", pk=run.pk)
    runs = (
        _visible_runs(membership, units)
        .select_related("created_by")
        .annotate(
            unit_count=Count("units", distinct=True),
            proposal_count=Count("proposals", distinct=True),
        )
        .order_by("-created_at", "-pk")[:RUNS_SHOWN]
    )
    return render(
        request,
        "staffing/autofill.html",
        planning_page(membership, "staffing:autofill", form=form, runs=runs),
    )


@dataclass(frozen=True)
class WarningLabel:
    code: str
    label: str


@dataclass(frozen=True)
class ProposalLine:
    proposal: AutoFillProposal
    warnings: list[WarningLabel]


@dataclass
class UnitProposals:
    unit: Unit
    lines: list[ProposalLine] = field(default_factory=list)


@dataclass
class DayProposals:
    day: dt.date
    units: dict[int, UnitProposals] = field(default_factory=dict)


def _grouped(proposals: QuerySet[AutoFillProposal], tz: zoneinfo.ZoneInfo) -> list[DayProposals]:
    """Proposals by local day, then unit, in the order of the query."""
    days: dict[dt.date, DayProposals] = {}
    for proposal in proposals:
        day = timezone.localtime(proposal.shift.start, tz).date()
        unit = proposal.shift.unit
        group = days.setdefault(day, DayProposals(day)).units.setdefault(
            unit.pk, UnitProposals(unit)
        )
        warnings = [WarningLabel(code, SOFT_CODES.get(code, code)) for code in proposal.warnings]
        group.lines.append(ProposalLine(proposal, warnings))
    return list(days.values())


# While the run is in one of these, its page polls the progress partial.
WORKING = (AutoFillRun.Status.QUEUED, AutoFillRun.Status.RUNNING, AutoFillRun.Status.PUBLISHING)


@require_http_methods(["GET", "POST"])
@login_required
def autofill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run, membership = _get_run_for(request, pk)
    go_live = membership.go_live
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "publish":
                autofill_service.start_publishing(run=run, actor=request.user)
                messages.success(request, "Publishing has started; this page follows its progress.")
            elif action == "discard":
                autofill_service.discard_run(run=run)
                messages.success(request, "The proposal is discarded; nobody was assigned.")
            else:
                messages.error(request, "Choose Publish or Discard.")
        except autofill_service.AutoFillError as exc:
            messages.error(request, str(exc))
        return redirect("staffing:autofill_detail", pk=run.pk)
    working = run.status in WORKING
    if request.htmx:  # type: ignore[attr-defined]
        if not working:
            # The proposal is ready (or the run ended): show the whole page with it.
            return HttpResponseClientRefresh()
        return render(request, "staffing/autofill_progress.html", {"run": run})
    proposals = run.proposals.select_related("shift__unit__site", "person").order_by(
        "shift__start", "shift__unit__name", "shift__role", "shift__pk", "person__name"
    )
    day = request.GET.get("day", "")
    days = _grouped(proposals, go_live.tzinfo)
    shown = [group for group in days if not day or group.day.isoformat() == day]
    context = {
        "go_live": go_live,
        "run": run,
        "working": working,
        "units": list(run.units.select_related("site").order_by("site__name", "name")),
        "days": days,
        "shown": shown,
        "day": day,
        "proposal_count": sum(len(unit.lines) for group in days for unit in group.units.values()),
    }
    return render(request, "staffing/autofill_detail.html", context)


# --- Settings -------------------------------------------------------------------------------------


@role_required(LEADS)
def staffing_settings(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    instance = StaffingSettings.for_go_live(membership.go_live)
    form = StaffingSettingsForm(posted(request), instance=instance)
    if form.is_valid():
        form.save()
        messages.success(request, "The staffing settings are saved.")
        return redirect("staffing:settings")
    return render(
        request, "staffing/settings.html", planning_page(membership, "staffing:settings", form=form)
    )


urlpatterns: list[URLPattern] = [
    path("requirements/", requirements, name="requirements"),
    path("requirements/new/", requirement_create, name="requirement_create"),
    path("requirements/propose/", requirements_propose, name="requirements_propose"),
    path("requirements/generate/", generate_shifts, name="generate_shifts"),
    path("requirements/<int:pk>/edit/", requirement_edit, name="requirement_edit"),
    path("requirements/<int:pk>/delete/", requirement_delete, name="requirement_delete"),
    path("autofill/", autofill, name="autofill"),
    path("autofill/<int:pk>/", autofill_detail, name="autofill_detail"),
    path("settings/", staffing_settings, name="settings"),
]
