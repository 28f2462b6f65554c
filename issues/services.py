"""Issue workflows: the only place that creates or changes an issue.

Every change bumps the issue's `version`, writes an IssueEvent and the notifications it causes, in
one transaction. Races are settled in PostgreSQL: the client key is unique per go-live (a double
tap gives one issue), numbers come from a counter row updated under its lock, and a claim is a
conditional UPDATE whose row count says who won.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from golive import outbox
from golive.lib.users import signed_in
from golive.models import Application, Contact, GoLive, Notification, Unit
from golive.permissions import command_center_leads
from issues.models import (
    DEFAULT_CATEGORIES,
    DEFAULT_MATRIX,
    Category,
    Issue,
    IssueCounter,
    IssueEvent,
    Priority,
    PriorityRule,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

S = Issue.Status
OPEN = {S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_REPORTER, S.WAITING_VENDOR}
# Where each status may go next. Reopening takes a resolved or closed issue back to in progress.
TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_REPORTER, S.WAITING_VENDOR, S.RESOLVED},
    S.ACKNOWLEDGED: {S.IN_PROGRESS, S.WAITING_REPORTER, S.WAITING_VENDOR, S.RESOLVED},
    S.IN_PROGRESS: {S.WAITING_REPORTER, S.WAITING_VENDOR, S.RESOLVED},
    S.WAITING_REPORTER: {S.IN_PROGRESS, S.WAITING_VENDOR, S.RESOLVED},
    S.WAITING_VENDOR: {S.IN_PROGRESS, S.WAITING_REPORTER, S.RESOLVED},
    S.RESOLVED: {S.CLOSED, S.IN_PROGRESS},
    S.CLOSED: {S.IN_PROGRESS},
}
# The changes a reporter hears about.
TELL_REPORTER = {S.ACKNOWLEDGED, S.WAITING_REPORTER, S.RESOLVED}


# The first issue of a go-live is GL-1001.
FIRST_NUMBER = 1001


class IssueRefused(Exception):
    """The change is not allowed; the message says why, in words for the person who asked."""


def ensure_issue_setup(*, go_live: GoLive) -> None:
    """The default categories and priority matrix a go-live lacks (existing ones are kept)."""
    for position, (name, is_enhancement) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(
            go_live=go_live,
            name=name,
            defaults={"is_enhancement": is_enhancement, "position": position},
        )
    for (impact, urgency), priority in DEFAULT_MATRIX.items():
        PriorityRule.objects.get_or_create(
            go_live=go_live, impact=impact, urgency=urgency, defaults={"priority": priority}
        )


def derive_priority(*, go_live: GoLive, impact: str, urgency: str, patient_safety: bool) -> str:
    """The go-live's matrix decides; a patient-safety flag is always P1."""
    if patient_safety:
        return Priority.P1
    rule = PriorityRule.objects.filter(go_live=go_live, impact=impact, urgency=urgency).first()
    return rule.priority if rule is not None else DEFAULT_MATRIX[impact, urgency]


def _next_number(go_live: GoLive) -> int:
    """The go-live's next issue number, in one statement whose row lock lasts until commit, so
    two issues logged at once never get the same number."""
    # The table name is the model's own, not input; the values are parameters.
    table = IssueCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (go_live_id, last_number) VALUES (%s, %s) "
            "ON CONFLICT (go_live_id) DO UPDATE "
            f"SET last_number = {table}.last_number + 1 RETURNING last_number",
            [go_live.pk, FIRST_NUMBER],
        )
        return cursor.fetchone()[0]


def _event(
    issue: Issue,
    kind: str,
    actor: AbstractBaseUser | None,
    *,
    old: str = "",
    new: str = "",
    body: str = "",
    internal: bool = False,
) -> IssueEvent:
    return IssueEvent.objects.create(
        issue=issue,
        kind=kind,
        actor=signed_in(actor),
        old=old[:200],
        new=new[:200],
        body=body,
        internal=internal,
    )


def create_issue(
    *,
    go_live: GoLive,
    unit: Unit,
    category: Category,
    title: str,
    impact: str,
    urgency: str,
    description: str = "",
    patient_safety: bool = False,
    workaround_in_use: bool = False,
    application: Application | None = None,
    location_detail: str = "",
    reporter_user: AbstractBaseUser | None = None,
    reporter_name: str = "",
    reporter_callback: str = "",
    client_key: str = "",
) -> tuple[Issue, bool]:
    """Log an issue; (issue, created). The same `client_key` again returns the first issue."""
    if unit.site.go_live_id != go_live.pk or category.go_live_id != go_live.pk:
        raise IssueRefused("Choose a unit and a category of this go-live.")
    if application is not None and application.go_live_id != go_live.pk:
        raise IssueRefused("Choose an application of this go-live.")
    if client_key:
        existing = Issue.objects.filter(go_live=go_live, client_key=client_key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            issue = Issue.objects.create(
                go_live=go_live,
                number=_next_number(go_live),
                site=unit.site,
                unit=unit,
                category=category,
                application=application,
                title=title.strip(),
                description=description.strip(),
                impact=impact,
                urgency=urgency,
                priority=derive_priority(
                    go_live=go_live, impact=impact, urgency=urgency, patient_safety=patient_safety
                ),
                patient_safety=patient_safety,
                workaround_in_use=workaround_in_use,
                location_detail=location_detail.strip(),
                reporter_user=signed_in(reporter_user),
                reporter_name=reporter_name.strip(),
                reporter_callback=reporter_callback.strip(),
                client_key=client_key,
            )
            _event(issue, IssueEvent.Kind.CREATED, reporter_user, new=issue.get_status_display())
            if patient_safety:
                _alert_patient_safety(issue)
    except IntegrityError as exc:
        # A retry of the same form that raced the first one: the first one won, return it.
        if client_key and "issue_unique_client_key" in str(exc):
            return Issue.objects.get(go_live=go_live, client_key=client_key), False
        raise
    return issue, True


def _alert_patient_safety(issue: Issue) -> None:
    """The leadership line and the command center leads are told at once, once."""
    subject = f"Patient safety: {issue.code} {issue.title}"
    body = f"{issue.unit} · {issue.category}. Reported as a patient-safety issue; it is P1."
    for contact in Contact.objects.filter(
        go_live=issue.go_live, tier__is_leadership=True, is_active=True
    ):
        if contact.email:
            outbox.notify(
                dedupe_key=f"patient_safety:{issue.pk}:contact{contact.pk}:email",
                channel=Notification.Channel.EMAIL,
                subject=subject,
                body=body,
                name=contact.name,
                address=contact.email,
                go_live=issue.go_live,
            )
        if contact.sms_number:
            outbox.notify(
                dedupe_key=f"patient_safety:{issue.pk}:contact{contact.pk}:sms",
                channel=Notification.Channel.SMS,
                subject=subject,
                name=contact.name,
                address=contact.sms_number,
                go_live=issue.go_live,
            )
    for membership in command_center_leads(issue.go_live):
        outbox.notify(
            dedupe_key=f"patient_safety:{issue.pk}:user{membership.user_id}",
            channel=Notification.Channel.IN_APP,
            subject=subject,
            body=body,
            user=membership.user,
            go_live=issue.go_live,
        )


def _locked(issue: Issue, expected_version: int | None) -> Issue:
    locked = (
        Issue.objects.select_for_update(of=("self",)).select_related("go_live").get(pk=issue.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise IssueRefused(
            f"{locked.code} was changed by someone else while you had it open. "
            "Look at it again and repeat your change."
        )
    return locked


@transaction.atomic
def change_status(
    *,
    issue: Issue,
    to: str,
    actor: AbstractBaseUser | None,
    resolution: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> Issue:
    """Move an issue along its workflow; illegal moves raise IssueRefused and change nothing."""
    issue = _locked(issue, expected_version)
    if to not in TRANSITIONS.get(issue.status, set()):
        raise IssueRefused(
            f"An issue that is {issue.get_status_display().lower()} cannot become "
            f"{S(to).label.lower() if to in S.values else to}."
        )
    resolution = resolution.strip()
    if to == S.RESOLVED and not (resolution or issue.resolution):
        raise IssueRefused("Say how the issue was resolved before resolving it.")
    now = timezone.now()
    old = issue.get_status_display()
    reopened = issue.status in {S.RESOLVED, S.CLOSED} and to == S.IN_PROGRESS
    issue.status = to
    # The first move out of "new" is the first response, whatever it is.
    issue.acknowledged_at = issue.acknowledged_at or now
    if to == S.RESOLVED:
        issue.resolution = resolution or issue.resolution
        issue.resolved_at = now
    if to == S.CLOSED:
        issue.closed_at = now
    if reopened:
        issue.resolved_at = None
        issue.closed_at = None
    issue.version += 1
    issue.updated_at = now
    issue.save()
    _event(issue, IssueEvent.Kind.STATUS, actor, old=old, new=issue.get_status_display(), body=note)
    if to in TELL_REPORTER:
        _tell_reporter(issue, to)
    return issue


def _tell_reporter(issue: Issue, status: str) -> None:
    if issue.reporter_user is None:
        return
    messages = {
        S.ACKNOWLEDGED: "The help desk has your issue and is on it.",
        S.WAITING_REPORTER: "The help desk needs something from you to go on.",
        S.RESOLVED: f"Resolved: {issue.resolution}",
    }
    outbox.notify(
        dedupe_key=f"issue:{issue.pk}:v{issue.version}:reporter",
        channel=Notification.Channel.IN_APP,
        subject=f"{issue.code} {issue.get_status_display().lower()}: {issue.title}",
        body=messages[status],
        user=issue.reporter_user,
        go_live=issue.go_live,
    )


def claim_issue(*, issue: Issue, agent: AbstractBaseUser) -> Issue:
    """Take an unassigned open issue. Two agents at once: one wins, the other is told who has it."""
    with transaction.atomic():
        won = Issue.objects.filter(pk=issue.pk, assignee__isnull=True, status__in=OPEN).update(
            assignee=agent, version=F("version") + 1, updated_at=timezone.now()
        )
        issue = Issue.objects.select_related("assignee", "go_live").get(pk=issue.pk)
        if not won:
            if issue.assignee is not None:
                holder = issue.assignee.get_full_name() or issue.assignee.get_username()
                raise IssueRefused(f"{holder} has {issue.code} already.")
            raise IssueRefused(
                f"{issue.code} is {issue.get_status_display().lower()}: nothing to claim."
            )
        _event(issue, IssueEvent.Kind.ASSIGNEE, agent, new=str(agent))
    return issue
