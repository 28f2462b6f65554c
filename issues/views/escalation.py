"""The escalation paths of the command center: whom golive tells, in order, about an issue that
misses its response or resolution target.

Command center leads only. One page lists every path of the current go-live in plain words and
adds paths narrowed to a category, an application or a site. Each path's steps are edited on a
page of their own as one ordered list: adding, removing and moving a step shows the list again
unsaved, and "Save path" writes all of it in one transaction, under a lock on the path. A path of
another go-live is answered 404. Each priority keeps its own path; narrowed ones can be deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from golive.models import GoLive, Membership
from golive.permissions import LEADS, role_required
from golive.views.golives import go_live_membership
from issues.forms_escalation import (
    MAX_STEPS,
    TAKEN_SCOPE,
    BaseStepFormSet,
    Channel,
    NarrowedPathForm,
    StepChoices,
    StepFormSet,
    Trigger,
    names_and,
    step_row,
)
from issues.forms_sla import span_text
from issues.models import EscalationPath, EscalationStep, Priority
from issues.services import ensure_issue_setup

TRIGGER_WORDS = {
    Trigger.NO_RESPONSE: "After the response target is missed",
    Trigger.UNRESOLVED: "After the resolution target is missed",
}
CHANNEL_WORDS = {Channel.IN_APP: "in-app", Channel.EMAIL: "email", Channel.SMS: "SMS"}
# Ordered by position alone: the model's ordering starts with the path's and would join it.
STEPS = (
    EscalationStep.objects.select_related("tier").prefetch_related("contacts").order_by("position")
)


@dataclass(frozen=True)
class PathRow:
    path: EscalationPath
    scope: str
    lines: list[str]
    warnings: list[str]


def path_words(steps: list[EscalationStep]) -> list[str]:
    """Each trigger's steps in plain words, e.g. "After the response target is missed: at once,
    tier 1 (Floor support) by in-app and email; 10 min later, tier 2 (Command center) by SMS."."""
    lines = []
    for trigger, opening in TRIGGER_WORDS.items():
        chosen = [step for step in steps if step.trigger == trigger]
        if chosen:
            said = "; ".join(_step_words(step, first=n == 0) for n, step in enumerate(chosen))
            lines.append(f"{opening}: {said}.")
    return lines


def _step_words(step: EscalationStep, *, first: bool) -> str:
    if not step.wait:
        when = "at once"
    elif first:
        when = f"after {span_text(step.wait)}"
    else:
        when = f"{span_text(step.wait)} later"
    whom = [f"tier {step.tier.level} ({step.tier.name})"] if step.tier else []
    whom += [contact.name for contact in step.contacts.all()]
    return f"{when}, {names_and(whom)} by {names_and(CHANNEL_WORDS[c] for c in step.channels)}"


def _scope(path: EscalationPath) -> str:
    parts = [str(part) for part in (path.category, path.application, path.site) if part]
    return " · ".join(parts) or "Every issue of this priority"


def _is_narrowed(path: EscalationPath) -> bool:
    return any((path.category_id, path.application_id, path.site_id))


def steps_version(steps: list[EscalationStep]) -> str:
    """A digest of the steps as a lead was shown them: a save made from an older copy is refused
    rather than silently undoing what another lead saved meanwhile."""
    rows = repr([step_row(step) for step in steps])
    return hashlib.sha256(rows.encode()).hexdigest()[:16]


def _steps_of(path: EscalationPath) -> list[EscalationStep]:
    return list(STEPS.filter(path=path))


def _path_rows(go_live: GoLive, choices: StepChoices) -> list[PathRow]:
    paths = list(
        EscalationPath.objects.filter(go_live=go_live)
        .select_related("category", "application", "site")
        .prefetch_related(Prefetch("steps", queryset=STEPS))
    )
    rows = [
        PathRow(
            path=path,
            scope=_scope(path),
            lines=path_words(list(path.steps.all())),
            warnings=[
                f"Step {step.position}: nobody can be reached in {step.tier} now. Edit the step, "
                "or give the tier contacts in the directory or roles under Routing."
                for step in path.steps.all()
                if step.tier_id in choices.tiers and step.tier_id not in choices.reachable
            ],
        )
        for path in paths
    ]
    # Each priority's own path first, then the narrowed ones by name.
    return sorted(rows, key=lambda row: (row.path.priority, _is_narrowed(row.path), row.scope))


def _list_page(
    request: HttpRequest, membership: Membership, *, new_path: NarrowedPathForm | None = None
) -> HttpResponse:
    go_live = membership.go_live
    choices = StepChoices.load(go_live)
    rows = _path_rows(go_live, choices)
    if not rows and choices.tiers:
        # A go-live whose tiers came after its issue set-up: its paths are seeded once.
        ensure_issue_setup(go_live=go_live)
        rows = _path_rows(go_live, choices)
    context = {
        "go_live": go_live,
        "groups": [
            (label, chosen)
            for priority, label in Priority.choices
            if (chosen := [row for row in rows if row.path.priority == priority])
        ],
        # Narrowed paths start from the priority's own: none to offer before there are paths.
        "new_path": new_path or (NarrowedPathForm(go_live=go_live) if rows else None),
    }
    return render(request, "issues/setup_escalation.html", context)


def _edit_page(
    request: HttpRequest,
    path: EscalationPath,
    steps: BaseStepFormSet,
    *,
    saved: list[EscalationStep],
    seen: str,
    stale: bool = False,
) -> HttpResponse:
    context = {
        "go_live": path.go_live,
        "path": path,
        "scope": _scope(path),
        "narrowed": _is_narrowed(path),
        "now": path_words(saved),
        "steps": steps,
        "refused": steps.is_bound and not steps.is_valid(),
        "can_add": len(steps.forms) < MAX_STEPS,
        "seen": seen,
        "stale": stale,
        "edit_url": reverse("issues:setup_escalation_path", args=[path.pk]),
    }
    template = "issues/setup_escalation_path.html"
    if request.htmx:  # type: ignore[attr-defined]
        template = "issues/setup_escalation_steps.html"
    return render(request, template, context)


def _membership(request: HttpRequest) -> Membership:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return membership


def _get_path_for(request: HttpRequest, pk: int) -> tuple[EscalationPath, Membership]:
    path = get_object_or_404(
        EscalationPath.objects.select_related("go_live", "category", "application", "site"), pk=pk
    )
    membership = go_live_membership(request, path.go_live_id, LEADS)
    return path, membership


@role_required(LEADS)
def escalation(request: HttpRequest) -> HttpResponse:
    return _list_page(request, _membership(request))


@role_required(LEADS)
@require_POST
def path_add(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = NarrowedPathForm(request.POST, go_live=membership.go_live)
    if form.is_valid():
        try:
            # A savepoint: a lead adding the same scope at the same instant loses to the constraint.
            with transaction.atomic():
                added = form.save()
        except IntegrityError:
            form.add_error(None, TAKEN_SCOPE)
        else:
            messages.success(
                request,
                f"The {added} path is added with the steps of {added.priority}'s own path: "
                "change them here.",
            )
            return redirect("issues:setup_escalation_path", added.pk)
    return _list_page(request, membership, new_path=form)


@login_required
@require_http_methods(["GET", "POST"])
def path_edit(request: HttpRequest, pk: int) -> HttpResponse:
    escalation_path, membership = _get_path_for(request, pk)
    choices = StepChoices.load(membership.go_live)
    if request.method == "GET":
        saved = _steps_of(escalation_path)
        return _edit_page(
            request,
            escalation_path,
            StepFormSet.of(saved, choices=choices),
            saved=saved,
            seen=steps_version(saved),
        )
    do = request.POST.get("do", "save")
    if do != "save":
        return _edit_page(
            request,
            escalation_path,
            StepFormSet.rearranged(request.POST, do, choices=choices),
            saved=_steps_of(escalation_path),
            seen=request.POST.get("seen", ""),
        )
    formset = StepFormSet(request.POST, choices=choices)
    with transaction.atomic():
        # Locked: two leads saving this path at once take turns, and the second is checked
        # against what the first saved.
        locked = get_object_or_404(EscalationPath.objects.select_for_update(), pk=pk)
        current = _steps_of(locked)
        stale = request.POST.get("seen") != steps_version(current)
        done = not stale and formset.is_valid()
        if done:
            formset.save(locked)
    if not done:
        if stale:
            # Nothing is saved: the lead sees what was saved meanwhile, above their own steps.
            formset = StepFormSet.rearranged(request.POST, "", choices=choices)
        return _edit_page(
            request,
            escalation_path,
            formset,
            saved=current,
            seen=steps_version(current),
            stale=stale,
        )
    count = len(formset.forms)
    messages.success(
        request, f"The {escalation_path} path is saved: {count} step{'s' * (count != 1)}."
    )
    return redirect(reverse("issues:setup_escalation") + f"#path-{pk}")


@login_required
@require_POST
def path_delete(request: HttpRequest, pk: int) -> HttpResponse:
    escalation_path, _ = _get_path_for(request, pk)
    if not _is_narrowed(escalation_path):
        messages.error(
            request,
            f"{escalation_path.priority} keeps its own path: change its steps instead.",
        )
        return redirect("issues:setup_escalation_path", pk)
    escalation_path.delete()
    messages.success(
        request,
        f"The {escalation_path} path is deleted. Its issues follow the next path that fits them, "
        f"at least {escalation_path.priority}'s own.",
    )
    return redirect("issues:setup_escalation")


urlpatterns: list[URLPattern] = [
    path("setup/escalation/", escalation, name="setup_escalation"),
    path("setup/escalation/add/", path_add, name="setup_escalation_add"),
    path("setup/escalation/<int:pk>/", path_edit, name="setup_escalation_path"),
    path("setup/escalation/<int:pk>/delete/", path_delete, name="setup_escalation_delete"),
]
