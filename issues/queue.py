"""The help desk's triage queue: which issues a filter shows and in what order, how a row reads,
saved views, and bulk actions.

The order is the issue's own (priority, due time with none last, created time), which the partial
index `issue_open_queue_idx` serves for the default "open issues" filter. Bulk actions send every
issue through its own service call, so each one commits or is refused on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.contrib.postgres.search import SearchQuery
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import dateformat, timezone

from golive.lib.urls import url_format
from golive.lib.users import display_name
from golive.models import Application, EscalationTier, GoLive, Membership, Unit
from golive.permissions import SUPPORT
from issues.forms_desk import (
    ANY_STATUS,
    ME,
    NOBODY,
    OPEN_STATUS,
    BulkForm,
    QueueFilterForm,
    code_number,
)
from issues.models import Category, Issue, SavedView
from issues.services import (
    OPEN,
    IssueRefused,
    assign_issue,
    change_status,
    claim_issue,
    link_issue,
    set_priority,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

S = Issue.Status
PER_PAGE = 50
# How often an open queue asks for its rows again (seconds).
POLL_SECONDS = 10
DONE = [S.RESOLVED, S.CLOSED]
# What each row shows besides the issue itself: one query for the page, whatever its length.
ROW_RELATED = ("unit__site", "category", "application", "assignee", "tier")


# --- Filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueChoices:
    """What the filters (and the assign menus) offer: the go-live's own rows."""

    units: list[Unit]
    categories: list[Category]
    applications: list[Application]
    tiers: list[EscalationTier]
    people: list[AbstractBaseUser]

    def filter_form(self, data: object) -> QueueFilterForm:
        return QueueFilterForm(
            data,
            units=self.units,
            categories=self.categories,
            applications=self.applications,
            tiers=self.tiers,
            people=self.people,
        )


def support_people(go_live_id: int) -> list[AbstractBaseUser]:
    """Members who may hold issues: the go-live's active members with a support role."""
    memberships = (
        Membership.objects.filter(go_live_id=go_live_id, is_active=True, role__in=SUPPORT)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    return [membership.user for membership in memberships]


def queue_choices(go_live: GoLive) -> QueueChoices:
    return QueueChoices(
        units=list(
            Unit.objects.filter(site__go_live=go_live)
            .select_related("site")
            .order_by("site__name", "name")
        ),
        categories=list(Category.objects.filter(go_live=go_live)),
        applications=list(Application.objects.filter(go_live=go_live)),
        tiers=list(EscalationTier.objects.filter(go_live=go_live)),
        people=support_people(go_live.pk),
    )


@dataclass(frozen=True)
class QueueFilters:
    # None: any status.
    statuses: frozenset[str] | None = frozenset(OPEN)
    priorities: frozenset[str] = frozenset()
    site_id: int | None = None
    unit_id: int | None = None
    category_id: int | None = None
    application_id: int | None = None
    # "" anyone, "me", "nobody", or a user's id.
    assignee: str = ""
    tier_id: int | None = None
    overdue: bool = False
    patient_safety: bool = False
    q: str = ""


def read_filters(form: QueueFilterForm) -> QueueFilters:
    """The filters to apply: the valid values, the defaults for anything missing or wrong."""
    data = form.valid_data()
    chosen = set(data.get("status") or [])
    statuses: frozenset[str] | None
    if ANY_STATUS in chosen:
        statuses = None
    elif not chosen or chosen == {OPEN_STATUS}:
        statuses = frozenset(OPEN)
    else:
        statuses = frozenset(chosen - {OPEN_STATUS}) | (
            frozenset(OPEN) if OPEN_STATUS in chosen else frozenset()
        )
    return QueueFilters(
        statuses=statuses,
        priorities=frozenset(data.get("priority") or []),
        site_id=data.get("site"),
        unit_id=data.get("unit"),
        category_id=data.get("category"),
        application_id=data.get("application"),
        assignee=data.get("assignee") or "",
        tier_id=data.get("tier"),
        overdue=bool(data.get("overdue")),
        patient_safety=bool(data.get("patient_safety")),
        q=(data.get("q") or "").strip(),
    )


def filter_query(form: QueueFilterForm) -> str:
    """The valid filters as a query string, in one spelling: saved views and links compare equal."""
    data = form.valid_data()
    pairs: list[tuple[str, str]] = []
    for name in form.fields:
        value = data.get(name)
        if value in (None, "", [], False, [OPEN_STATUS]):
            continue
        if isinstance(value, list):
            pairs.extend((name, item) for item in value)
        elif value is True:
            pairs.append((name, "1"))
        else:
            pairs.append((name, str(value).strip()))
    return urlencode(pairs)


def filter_issues(
    issues: QuerySet[Issue], filters: QueueFilters, *, user_id: int, now: dt.datetime
) -> QuerySet[Issue]:
    f = filters
    if f.statuses == frozenset(OPEN):
        # Spelled as the partial index's own condition, so PostgreSQL can use it.
        issues = issues.exclude(status__in=DONE)
    elif f.statuses is not None:
        issues = issues.filter(status__in=sorted(f.statuses))
    if f.priorities:
        issues = issues.filter(priority__in=sorted(f.priorities))
    exact = {
        "site_id": f.site_id,
        "unit_id": f.unit_id,
        "category_id": f.category_id,
        "application_id": f.application_id,
        "tier_id": f.tier_id,
    }
    issues = issues.filter(**{name: value for name, value in exact.items() if value is not None})
    if f.assignee == ME:
        issues = issues.filter(assignee_id=user_id)
    elif f.assignee == NOBODY:
        issues = issues.filter(assignee__isnull=True)
    elif f.assignee:
        issues = issues.filter(assignee_id=int(f.assignee))
    if f.overdue:
        issues = issues.filter(missed_target(now)).exclude(status__in=DONE)
    if f.patient_safety:
        issues = issues.filter(patient_safety=True)
    if f.q:
        match = Q(search=SearchQuery(f.q, config="english", search_type="websearch"))
        number = code_number(f.q)
        if number is not None:
            match |= Q(number=number)
        issues = issues.filter(match)
    return issues


# --- Rows -----------------------------------------------------------------------------------------


def duration_label(delta: dt.timedelta) -> str:
    """A short span for a busy screen: "12 min", "3 h 5 min", "2 d 4 h"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def missed_target(now: dt.datetime) -> Q:
    """Issues past their service level: not acknowledged in time, or not resolved in time (a
    stopped clock misses nothing)."""
    return Q(sla_paused_at=None) & (Q(acknowledged_at=None, respond_by__lt=now) | Q(due_at__lt=now))


def due_label(issue: Issue, now: dt.datetime) -> tuple[str, bool]:
    """(where the issue stands against its service level, is it missed): the first response
    until someone acknowledges it, then the resolution."""
    resolution, missed = resolution_label(issue, now)
    if missed or issue.acknowledged_at is not None or issue.respond_by is None:
        return resolution, missed
    if not issue.is_open or issue.sla_paused_at is not None:
        return resolution, False
    if issue.respond_by <= now:
        return f"no response yet, {duration_label(now - issue.respond_by)} late", True
    return f"respond within {duration_label(issue.respond_by - now)}", False


def resolution_label(issue: Issue, now: dt.datetime) -> tuple[str, bool]:
    """(time left to resolve or overdue, is it overdue)."""
    if not issue.is_open:
        return "done", False
    if issue.due_at is None:
        return "no target", False
    if issue.sla_paused_at is not None:
        return "clock stopped: waiting on the reporter", False
    if issue.due_at <= now:
        return f"overdue {duration_label(now - issue.due_at)}", True
    return f"{duration_label(issue.due_at - now)} left", False


@dataclass(frozen=True)
class QueueRow:
    """One issue as its row reads: the words are made here once, not looked up by the template
    (a page has 50 rows, refreshed every few seconds by every agent)."""

    issue: Issue
    url: str
    claim_url: str
    priority: str
    status: str
    assignee: str
    place: str
    kind: str
    logged: str
    label: str
    age: str
    due: str
    overdue: bool
    is_new: bool
    can_claim: bool


def queue_rows(
    issues: Iterable[Issue], *, now: dt.datetime, since: dt.datetime | None, may_claim: bool
) -> list[QueueRow]:
    """The rows of `issues`, read with ROW_RELATED."""
    detail, claim = url_format("issues:detail"), url_format("issues:claim")
    rows = []
    for issue in issues:
        due, overdue = due_label(issue, now)
        priority, status = issue.get_priority_display(), issue.get_status_display()
        assignee = display_name(issue.assignee) if issue.assignee is not None else ""
        safety = ", patient safety" if issue.patient_safety else ""
        application = f" · {issue.application.name}" if issue.application is not None else ""
        rows.append(
            QueueRow(
                issue=issue,
                url=detail.format(issue.pk),
                claim_url=claim.format(issue.pk),
                priority=priority,
                status=status,
                assignee=assignee,
                place=f"{issue.unit.name} · {issue.unit.site.name}",
                kind=f"{issue.category.name}{application}",
                logged=dateformat.format(timezone.localtime(issue.created_at), "D j M, H:i"),
                label=f"{issue.code}, {priority}{safety}: {issue.title}. {status}, "
                f"{assignee or 'unassigned'}.",
                age=duration_label(now - issue.created_at),
                due=due,
                overdue=overdue,
                is_new=since is not None and issue.created_at > since,
                can_claim=may_claim and issue.assignee_id is None and issue.is_open,
            )
        )
    return rows


# --- Saved views ----------------------------------------------------------------------------------


class ViewRefused(Exception):
    """The view cannot be saved; the message says why."""


@dataclass(frozen=True)
class ViewLink:
    label: str
    query: str
    active: bool
    saved: SavedView | None = None


def builtin_views(applications: Sequence[Application]) -> list[tuple[str, str]]:
    """(label, query) of the views every agent has, one per application of the go-live."""
    return [
        ("All open", ""),
        ("Mine", urlencode({"assignee": ME})),
        ("Unassigned", urlencode({"assignee": NOBODY})),
        ("Overdue", urlencode({"overdue": "1"})),
        ("Patient safety", urlencode({"patient_safety": "1"})),
        *(
            (application.name, urlencode({"application": application.pk}))
            for application in applications
        ),
    ]


def view_links(
    *, applications: Sequence[Application], saved: Iterable[SavedView], current: str
) -> tuple[list[ViewLink], list[ViewLink]]:
    """The built-in and the user's own views, the one matching the current filters marked."""
    builtins = [
        ViewLink(label, query, query == current) for label, query in builtin_views(applications)
    ]
    own = [ViewLink(view.name, view.query, view.query == current, view) for view in saved]
    return builtins, own


def save_view(*, go_live: GoLive, user: AbstractBaseUser, name: str, query: str) -> SavedView:
    name = name.strip()
    if len(query) > SavedView._meta.get_field("query").max_length:  # type: ignore[operator]
        raise ViewRefused("These filters are too long to save: leave some out.")
    try:
        with transaction.atomic():
            return SavedView.objects.create(go_live=go_live, user=user, name=name, query=query)
    except IntegrityError as exc:
        raise ViewRefused(
            f"You already have a view named “{name}”: choose another name or delete that one."
        ) from exc


def delete_view(*, view: SavedView) -> None:
    view.delete()


# --- Bulk actions ---------------------------------------------------------------------------------


@dataclass
class BulkOutcome:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def refusal_line(code: str, message: str) -> str:
    """ "GL-1043: Alex Agent has it already.", however the service worded its refusal."""
    if message.startswith(code):
        return message
    return f"{code}: {message.replace(code, 'it')}"


Change = Callable[[Issue, int], object]


def bulk_change(form: BulkForm, *, actor: AbstractBaseUser) -> Change:
    """The one service call a valid bulk form asks of each selected issue (with its version)."""
    data = form.cleaned_data
    action = data["action"]
    if action == BulkForm.CLAIM:
        return lambda issue, version: claim_issue(issue=issue, agent=actor)
    if action == BulkForm.ASSIGN:
        assignee = form.assignee_user()
        return lambda issue, version: assign_issue(
            issue=issue, assignee=assignee, actor=actor, expected_version=version
        )
    if action == BulkForm.PRIORITY:
        return lambda issue, version: set_priority(
            issue=issue,
            priority=data["priority"],
            actor=actor,
            note=data["note"],
            expected_version=version,
        )
    if action == BulkForm.DUPLICATE:
        return lambda issue, version: link_issue(
            issue=issue,
            parent=data["parent_issue"],
            kind=Issue.Link.DUPLICATE,
            actor=actor,
            expected_version=version,
        )
    to = S.RESOLVED if action == BulkForm.RESOLVE else action
    return lambda issue, version: change_status(
        issue=issue,
        to=to,
        actor=actor,
        resolution=data["resolution"],
        note=data["note"],
        expected_version=version,
    )


def run_bulk(
    *, issues: Sequence[Issue], versions: dict[int, int], change: Change, missing: int
) -> BulkOutcome:
    """Apply `change` to each issue in its own transaction; say which went through and why not."""
    outcome = BulkOutcome()
    for issue in issues:
        try:
            change(issue, versions[issue.pk])
        except IssueRefused as exc:
            outcome.refused.append(refusal_line(issue.code, str(exc)))
        else:
            outcome.done.append(issue.code)
    if missing:
        outcome.refused.append(
            f"{missing} selected issue{'s are' if missing > 1 else ' is'} no longer in your queue."
        )
    return outcome
