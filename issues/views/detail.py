"""An issue's page for the help desk, and the changes made from it and from the queue.

Every change is a POST view that validates a form and calls exactly one service function, with
the version the form was shown at so a stale form is refused. With htmx it answers with what
changed (the queue row, or the issue's body); without htmx it redirects back with a message.
Support staff work the issues they may see (comment, claim, move along); clinic managers read
and comment; assigning, priority, tier and links are the help desk's and the command center's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from golive.lib.users import display_name
from golive.models import EscalationTier, Membership
from golive.permissions import DESK, role_required
from golive.views.golives import posted_next
from issues.access import VIEWERS, WORKERS, get_issue_for_user
from issues.forms_desk import (
    AssignForm,
    ClaimForm,
    CommentForm,
    ExternalRefForm,
    IssueForm,
    LinkForm,
    PriorityForm,
    StatusForm,
    TierForm,
    UnlinkForm,
)
from issues.models import Issue, IssueEvent, KnownIssue
from issues.queue import due_label, duration_label, resolution_label, support_people
from issues.schedule import outline
from issues.services import (
    TRANSITIONS,
    IssueRefused,
    add_comment,
    assign_issue,
    change_status,
    claim_issue,
    link_issue,
    set_external_ref,
    set_priority,
    set_tier,
    unlink_issue,
)
from issues.views.queue import row_context

S = Issue.Status
WAITING = (S.WAITING_REPORTER, S.WAITING_VENDOR)
# The plain moves offered as buttons; waiting and resolving have their own forms.
MOVES = {S.ACKNOWLEDGED: "Acknowledge", S.IN_PROGRESS: "Start work", S.CLOSED: "Close"}
# Events whose value is not a change from one thing to another.
SAID_ALONE = {IssueEvent.Kind.CREATED, IssueEvent.Kind.REPORTER, IssueEvent.Kind.ESCALATION}
WAITING_LABELS = {
    S.WAITING_REPORTER: "On the reporter (they are told what you need)",
    S.WAITING_VENDOR: "On the vendor",
}


@dataclass(frozen=True)
class Abilities:
    comment: bool
    # Claim, move along the workflow, external ticket.
    work: bool
    # Assign, priority, tier, links.
    triage: bool
    publish: bool


def abilities(membership: Membership) -> Abilities:
    return Abilities(
        comment=membership.role in VIEWERS,
        work=membership.role in WORKERS,
        triage=membership.role in DESK,
        # The desk sees repeated reports first; it publishes known issues with the command center.
        publish=membership.role in DESK,
    )


@dataclass(frozen=True)
class Move:
    to: str
    label: str
    checked: bool = False


def moves(issue: Issue) -> list[Move]:
    allowed = TRANSITIONS.get(issue.status, set())
    return [
        Move(to, "Reopen" if to == S.IN_PROGRESS and not issue.is_open else label)
        for to, label in MOVES.items()
        if to in allowed
    ]


def waiting_choices(issue: Issue, form: IssueForm) -> list[Move]:
    """The waiting states the issue may go to; the one sent last time (else the first) ticked."""
    offered = [to for to in WAITING if to in TRANSITIONS.get(issue.status, set())]
    sent = form.data.get("to") if form.is_bound else None
    chosen = sent if sent in offered else next(iter(offered), None)
    return [Move(to, WAITING_LABELS[to], checked=to == chosen) for to in offered]


@dataclass(frozen=True)
class Entry:
    event: IssueEvent
    who: str
    change: str


def timeline(issue: Issue) -> list[Entry]:
    """The issue's events, oldest first, each with who did it and what changed."""
    reporter = _reporter_label(issue)
    entries = []
    for event in issue.events.select_related("actor"):
        if event.actor is not None:
            who = display_name(event.actor)
        elif event.kind == IssueEvent.Kind.CREATED:
            who = reporter
        elif event.kind == IssueEvent.Kind.REPORTER:
            who = "A reporter"
        else:
            who = "golive (automatic)"
        if not (event.old or event.new):
            change = ""
        elif event.kind in SAID_ALONE:
            change = event.new or event.old
        else:
            change = f"{event.old or '—'} → {event.new or '—'}"
        entries.append(Entry(event=event, who=who, change=change))
    return entries


def _reporter_label(issue: Issue) -> str:
    if issue.reporter_user is not None:
        return display_name(issue.reporter_user)
    return issue.reporter_name or "The reporter"


def _status_key(to: str | None) -> str:
    if to == S.RESOLVED:
        return "resolve"
    if to in WAITING:
        return "waiting"
    return "move"


def _forms(issue: Issue, able: Abilities) -> dict[str, IssueForm]:
    """Fresh action forms with fields, the ones the role may use (buttons need no form)."""
    forms: dict[str, IssueForm] = {}
    if able.comment:
        forms["comment"] = CommentForm(issue=issue, key="comment")
    if able.work:
        forms["waiting"] = StatusForm(issue=issue, key="waiting")
        forms["resolve"] = StatusForm(issue=issue, key="resolve")
        forms["external"] = ExternalRefForm(issue=issue, key="external")
    if able.triage:
        forms["assign"] = AssignForm(
            issue=issue, key="assign", people=support_people(issue.go_live_id)
        )
        forms["priority"] = PriorityForm(issue=issue, key="priority")
        forms["tier"] = TierForm(
            issue=issue,
            key="tier",
            tiers=list(EscalationTier.objects.filter(go_live_id=issue.go_live_id)),
        )
        forms["link"] = LinkForm(issue=issue, key="link")
    return forms


def _detail_context(
    membership: Membership, issue: Issue, *, failed: IssueForm | None = None
) -> dict[str, Any]:
    able = abilities(membership)
    forms = _forms(issue, able)
    if failed is not None and failed.key in forms:
        # What was typed stays; the page sends the issue's current version with it next time.
        forms[failed.key] = failed
    now = timezone.now()
    due, overdue = due_label(issue, now)
    parent = Issue.objects.filter(pk=issue.parent_id).first() if issue.parent_id else None
    known_on = [issue.pk, issue.parent_id] if issue.parent_id else [issue.pk]
    return {
        "issue": issue,
        "able": able,
        "forms": forms,
        "moves": moves(issue) if able.work else [],
        "waiting_choices": waiting_choices(issue, forms["waiting"]) if able.work else [],
        "can_resolve": able.work and S.RESOLVED in TRANSITIONS.get(issue.status, set()),
        "can_claim": able.work and issue.assignee_id is None and issue.is_open,
        "age": duration_label(now - issue.created_at),
        "due": due,
        "overdue": overdue,
        "resolve": resolution_label(issue, now)[0],
        "parent": parent,
        "children": list(issue.children.select_related("unit")),
        "extra_reporters": list(issue.extra_reporters.select_related("user", "unit")),
        "photos": list(issue.photos.all()),
        "known": KnownIssue.objects.filter(issue_id__in=known_on).first(),
        "tablet": issue.reporter_tablet if issue.reporter_tablet_id else None,
        "entries": timeline(issue),
        "escalation": outline(issue),
    }


@role_required(VIEWERS)
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    issue = get_issue_for_user(request, pk)
    return render(request, "issues/detail.html", _detail_context(membership, issue))


# --- Changes --------------------------------------------------------------------------------------

MakeForm = Callable[[QueryDict, Issue], IssueForm]
Apply = Callable[[Issue, Any], str]


def _first_error(form: IssueForm) -> str:
    return next(iter(form.errors.values()))[0]


def _answer(
    request: HttpRequest,
    issue: Issue,
    *,
    message: str = "",
    error: str = "",
    failed: IssueForm | None = None,
) -> HttpResponse:
    """The queue row or the issue's body again (htmx), else a redirect back with the message."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    fresh = get_issue_for_user(request, issue.pk)
    back = posted_next(request, reverse("issues:detail", args=[issue.pk]))
    if request.htmx and request.htmx.target == f"row-{issue.pk}":  # type: ignore[attr-defined]
        context = row_context(membership, fresh, back_url=back, message=message, error=error)
        return render(request, "issues/queue_row.html", context)
    if request.htmx:  # type: ignore[attr-defined]
        context = _detail_context(membership, fresh, failed=failed)
        context.update({"message": message, "error": error})
        return render(request, "issues/detail_update.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return redirect(back)


def _change(request: HttpRequest, pk: int, make_form: MakeForm, apply: Apply) -> HttpResponse:
    """Load the issue the user may see, validate the form, make the one change it asks for."""
    issue = get_issue_for_user(request, pk)
    form = make_form(request.POST, issue)
    if not form.is_valid():
        return _answer(request, issue, error=_first_error(form), failed=form)
    try:
        message = apply(issue, form)
    except IssueRefused as exc:
        return _answer(request, issue, error=str(exc), failed=form)
    return _answer(request, issue, message=message)


@role_required(WORKERS)
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(issue: Issue, form: ClaimForm) -> str:
        claim_issue(issue=issue, agent=request.user)
        return f"You have {issue.code} now."

    return _change(
        request, pk, lambda data, issue: ClaimForm(data, issue=issue, key="claim"), apply
    )


@role_required(DESK)
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    def make(data: QueryDict, issue: Issue) -> AssignForm:
        return AssignForm(data, issue=issue, key="assign", people=support_people(issue.go_live_id))

    def apply(issue: Issue, form: AssignForm) -> str:
        assignee = form.assignee_user()
        assign_issue(
            issue=issue,
            assignee=assignee,
            actor=request.user,
            expected_version=form.cleaned_data["expected_version"],
        )
        if assignee is None:
            return f"{issue.code} is back in the queue, unassigned."
        return f"{issue.code} is assigned to {display_name(assignee)}."

    return _change(request, pk, make, apply)


@role_required(DESK)
@require_POST
def priority(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(issue: Issue, form: PriorityForm) -> str:
        changed = set_priority(
            issue=issue,
            priority=form.cleaned_data["priority"],
            actor=request.user,
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["expected_version"],
        )
        return f"{changed.code} is {changed.priority} now."

    return _change(
        request, pk, lambda data, issue: PriorityForm(data, issue=issue, key="priority"), apply
    )


@role_required(VIEWERS)
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(issue: Issue, form: CommentForm) -> str:
        add_comment(
            issue=issue,
            actor=request.user,
            body=form.cleaned_data["body"],
            internal=form.internal,
            expected_version=form.cleaned_data["expected_version"],
        )
        if form.internal:
            return "Internal note added."
        return "Reply sent: the reporter is told."

    return _change(
        request, pk, lambda data, issue: CommentForm(data, issue=issue, key="comment"), apply
    )


@role_required(WORKERS)
@require_POST
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge, start, set waiting, resolve, close or reopen: the service says what is legal."""

    def make(data: QueryDict, issue: Issue) -> StatusForm:
        return StatusForm(data, issue=issue, key=_status_key(data.get("to")))

    def apply(issue: Issue, form: StatusForm) -> str:
        changed = change_status(
            issue=issue,
            to=form.cleaned_data["to"],
            actor=request.user,
            resolution=form.cleaned_data["resolution"],
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["expected_version"],
        )
        return f"{changed.code} is {changed.get_status_display().lower()} now."

    return _change(request, pk, make, apply)


@role_required(DESK)
@require_POST
def link(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(issue: Issue, form: LinkForm) -> str:
        parent = form.cleaned_data["parent"]
        kind = form.cleaned_data["kind"]
        link_issue(
            issue=issue,
            parent=parent,
            kind=kind,
            actor=request.user,
            expected_version=form.cleaned_data["expected_version"],
        )
        return f"{issue.code} is linked: {Issue.Link(kind).label.lower()} {parent.code}."

    return _change(request, pk, lambda data, issue: LinkForm(data, issue=issue, key="link"), apply)


@role_required(DESK)
@require_POST
def unlink(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(issue: Issue, form: UnlinkForm) -> str:
        unlink_issue(
            issue=issue,
            actor=request.user,
            expected_version=form.cleaned_data["expected_version"],
        )
        return f"{issue.code} is no longer linked to another issue."

    return _change(
        request, pk, lambda data, issue: UnlinkForm(data, issue=issue, key="unlink"), apply
    )


@role_required(DESK)
@require_POST
def tier(request: HttpRequest, pk: int) -> HttpResponse:
    def make(data: QueryDict, issue: Issue) -> TierForm:
        tiers = list(EscalationTier.objects.filter(go_live_id=issue.go_live_id))
        return TierForm(data, issue=issue, key="tier", tiers=tiers)

    def apply(issue: Issue, form: TierForm) -> str:
        chosen = form.tier_object()
        set_tier(
            issue=issue,
            tier=chosen,
            actor=request.user,
            expected_version=form.cleaned_data["expected_version"],
        )
        return f"{issue.code} is with {chosen or 'the first line'} now."

    return _change(request, pk, make, apply)


@role_required(WORKERS)
@require_POST
def external_ref(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(issue: Issue, form: ExternalRefForm) -> str:
        reference = form.cleaned_data["external_ref"].strip()
        set_external_ref(
            issue=issue,
            external_ref=reference,
            actor=request.user,
            expected_version=form.cleaned_data["expected_version"],
        )
        if reference:
            return f"External ticket {reference} noted on {issue.code}."
        return f"{issue.code} has no external ticket now."

    return _change(
        request, pk, lambda data, issue: ExternalRefForm(data, issue=issue, key="external"), apply
    )


urlpatterns: list[URLPattern] = [
    path("<int:pk>/", detail, name="detail"),
    path("<int:pk>/claim/", claim, name="claim"),
    path("<int:pk>/assign/", assign, name="assign"),
    path("<int:pk>/priority/", priority, name="priority"),
    path("<int:pk>/comment/", comment, name="comment"),
    path("<int:pk>/status/", status, name="status"),
    path("<int:pk>/link/", link, name="link"),
    path("<int:pk>/unlink/", unlink, name="unlink"),
    path("<int:pk>/tier/", tier, name="tier"),
    path("<int:pk>/external-ticket/", external_ref, name="external_ref"),
]
