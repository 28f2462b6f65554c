"""Issue workflows: the only place that creates or changes an issue.

Every change bumps the issue's `version`, writes an IssueEvent and the notifications it causes, in
one transaction. Races are settled in PostgreSQL: the client key is unique per go-live (a double
tap gives one issue), numbers come from a counter row updated under its lock, and a claim is a
conditional UPDATE whose row count says who won.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import DEFERRED, F, Field, Q
from django.urls import reverse
from django.utils import timezone

from golive import outbox, webhooks
from golive.lib.rows import prepared_cursor, writable_fields
from golive.lib.urls import url_format
from golive.lib.users import display_name, signed_in
from golive.models import (
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Notification,
    Unit,
    WebhookEvent,
)
from golive.permissions import SUPPORT, command_center_leads
from issues import acks
from issues.access import WORKERS
from issues.models import (
    DEFAULT_ASSIGN_ROLES,
    DEFAULT_CATEGORIES,
    DEFAULT_MATRIX,
    DEFAULT_SLA,
    DEFAULT_SLA_WARNINGS,
    LATER_TIER_ROLES,
    TABLET_LAST_USED_EVERY,
    AssignmentRule,
    Category,
    EscalationAck,
    EscalationPath,
    EscalationStep,
    Issue,
    IssueCounter,
    IssueEvent,
    IssueReporter,
    IssueSettings,
    KnownIssue,
    Priority,
    PriorityRule,
    SlaPolicy,
    UnitTablet,
)
from issues.schedule import next_escalation_time, restart_escalation
from staffing.models import SupportPerson

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
# How long after its resolution a reporter may reopen an issue.
REOPEN_WINDOW = dt.timedelta(hours=72)


# The first issue of a go-live is GL-1001.
FIRST_NUMBER = 1001


class IssueRefused(Exception):
    """The change is not allowed; the message says why, in words for the person who asked.

    `field` names the form field the message belongs to, when it is about one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def ensure_issue_setup(*, go_live: GoLive) -> None:
    """The default categories, priority matrix, service levels and routing a go-live lacks
    (existing ones kept)."""
    IssueSettings.objects.get_or_create(go_live=go_live)
    for tier in EscalationTier.objects.filter(go_live=go_live, is_leadership=False):
        AssignmentRule.objects.get_or_create(
            go_live=go_live,
            tier=tier,
            defaults={"roles": DEFAULT_ASSIGN_ROLES.get(tier.level, LATER_TIER_ROLES)},
        )
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
    for priority, (response, resolution) in DEFAULT_SLA.items():
        SlaPolicy.objects.get_or_create(
            go_live=go_live,
            priority=priority,
            category=None,
            site=None,
            defaults={"response": response, "resolution": resolution},
        )
    _ensure_escalation_paths(go_live)


# A new go-live's escalation, per priority: (trigger, wait, tier index, channels) per step; tier
# index 0 is the first line, 1 the tier above it. Not acknowledged: the first line at once, then
# the tier above; not resolved: the tier above at once.
_C = EscalationStep.Channel
_NO_RESPONSE, _UNRESOLVED = EscalationStep.Trigger.NO_RESPONSE, EscalationStep.Trigger.UNRESOLVED
DEFAULT_PATHS: dict[str, list[tuple[str, dt.timedelta, int, list[str]]]] = {
    Priority.P1: [
        (_NO_RESPONSE, dt.timedelta(0), 0, [_C.IN_APP, _C.EMAIL, _C.SMS]),
        (_NO_RESPONSE, dt.timedelta(minutes=10), 1, [_C.IN_APP, _C.EMAIL, _C.SMS]),
        (_UNRESOLVED, dt.timedelta(0), 1, [_C.EMAIL, _C.SMS]),
    ],
    Priority.P2: [
        (_NO_RESPONSE, dt.timedelta(0), 0, [_C.IN_APP, _C.EMAIL]),
        (_NO_RESPONSE, dt.timedelta(minutes=20), 1, [_C.IN_APP, _C.EMAIL, _C.SMS]),
        (_UNRESOLVED, dt.timedelta(0), 1, [_C.EMAIL]),
    ],
    Priority.P3: [
        (_NO_RESPONSE, dt.timedelta(0), 0, [_C.IN_APP, _C.EMAIL]),
        (_NO_RESPONSE, dt.timedelta(hours=1), 1, [_C.EMAIL]),
        (_UNRESOLVED, dt.timedelta(0), 1, [_C.EMAIL]),
    ],
    Priority.P4: [
        (_NO_RESPONSE, dt.timedelta(0), 0, [_C.IN_APP]),
        (_UNRESOLVED, dt.timedelta(0), 1, [_C.EMAIL]),
    ],
}


def _ensure_escalation_paths(go_live: GoLive) -> None:
    """Each priority's own path, from the default steps, where the go-live has none (a go-live
    with a single tier escalates within it)."""
    tiers = list(EscalationTier.objects.filter(go_live=go_live, is_leadership=False)[:2])
    if not tiers:
        return
    for priority, steps in DEFAULT_PATHS.items():
        path, created = EscalationPath.objects.get_or_create(
            go_live=go_live, priority=priority, category=None, application=None, site=None
        )
        if not created:
            continue
        EscalationStep.objects.bulk_create(
            EscalationStep(
                path=path,
                position=position,
                trigger=trigger,
                wait=wait,
                tier=tiers[min(index, len(tiers) - 1)],
                channels=channels,
            )
            for position, (trigger, wait, index, channels) in enumerate(steps, start=1)
        )


@dataclass(frozen=True)
class SlaTargets:
    response: dt.timedelta
    resolution: dt.timedelta
    pause_while_waiting: bool
    # Percentages of each target's time at which the people on the issue are warned.
    warn_at: tuple[int, ...] = tuple(DEFAULT_SLA_WARNINGS)


def sla_targets(*, issue: Issue, priority: str | None = None) -> SlaTargets | None:
    """The service level that applies to the issue (at `priority` if given): the most specific of
    its go-live's policies (category and site, category, site, the priority's own), else the
    defaults. None for an enhancement request, which has no targets."""
    if issue.category.is_enhancement:
        return None
    priority = priority or issue.priority
    policy = (
        SlaPolicy.objects.filter(go_live_id=issue.go_live_id, priority=priority)
        .filter(Q(category_id=issue.category_id) | Q(category=None))
        .filter(Q(site_id=issue.site_id) | Q(site=None))
        .order_by(F("category").asc(nulls_last=True), F("site").asc(nulls_last=True))
        .first()
    )
    if policy is None:
        response, resolution = DEFAULT_SLA[priority]
        return SlaTargets(response, resolution, pause_while_waiting=True)
    return SlaTargets(
        policy.response, policy.resolution, policy.pause_while_waiting, tuple(policy.warn_at)
    )


# Where an issue is logged: given by the caller, or taken from the tablet whose secret is given.
_PLACE = ("go_live_id", "site_id", "unit_id", "reporter_tablet_id")
# Columns a new issue leaves empty (NULL, their default): the INSERT does not name them, which
# keeps the statement short enough for psycopg to keep it parsed (see _create_statement).
_EMPTY_AT_INTAKE = (
    "assignee_id",
    "tier_id",
    "parent_id",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "sla_paused_at",
    "escalation_plan",
    "escalation_stopped_at",
)
# Columns a submission gives (create_issue's arguments, and the time); `updated_at` is written as
# `created_at`. Every other column the INSERT names starts with its default, written into the
# statement rather than sent with each submission.
_GIVEN_AT_INTAKE = (
    "category_id",
    "application_id",
    "title",
    "description",
    "impact",
    "urgency",
    "patient_safety",
    "workaround_in_use",
    "location_detail",
    "reporter_user_id",
    "reporter_name",
    "reporter_callback",
    "client_key",
    "created_at",
)


@dataclass(frozen=True)
class _IntakeStatement:
    sql: str
    fixed: list[Field[Any, Any]]  # the columns written with their default, as a literal
    # The issue's columns it returns: those the database decides, and the place.
    returned = ("id", "number", "priority", "respond_by", "due_at", "next_escalation_at", *_PLACE)

    def loaded(self, values: dict[str, Any]) -> Issue:
        """The stored issue from what was sent and what the database decided, without a reload:
        a value for every column in the model's order, as `from_db` takes them, but the generated
        search vector, left deferred (read if the issue is saved or loaded again)."""
        values = (
            dict.fromkeys(_EMPTY_AT_INTAKE)
            | {field.attname: field.get_default() for field in self.fixed}
            | values
        )
        values["updated_at"] = values["created_at"]
        names, generated = _issue_columns()
        row = [DEFERRED if name in generated else values[name] for name in names]
        return Issue.from_db(DEFAULT_DB_ALIAS, names, row)


@cache
def _issue_columns() -> tuple[list[str], frozenset[str]]:
    """The issue's columns in the model's order, and those the database generates."""
    fields = Issue._meta.concrete_fields
    return [f.attname for f in fields], frozenset(f.attname for f in fields if f.generated)


@cache
def _create_statement(*, by_tablet: bool) -> _IntakeStatement:
    """The one statement that logs an issue (built once; every submission pays one round trip).

    In order: the place is the caller's go-live, site and unit, or, `by_tablet`, those of the
    tablet whose secret is given, if it is enrolled, not revoked and its unit open (its "last
    used" is written at most once a minute); the category (active, of the go-live) and the
    application (if any, of the go-live) are checked; the go-live's counter gives the number, its
    row lock held until commit so two issues logged at once never share one; the priority is P1
    for a patient-safety issue, else the go-live's matrix cell, else the usual matrix; the response
    and resolution times come from the most specific service level (as `sla_targets`), none for an
    enhancement request, and the sweep first looks at it at the level's first warning (as
    `escalation.next_escalation_time`); the issue and its "created" event are written, and a
    webhook delivery for each endpoint of the go-live subscribed to new issues (by a function,
    issues/migrations/0010: its SQL would not fit in the statement). A tablet
    or reference that fails its check writes nothing, counter included: the statement returns
    no row and `create_issue` says which failed.
    """
    named = [
        field
        for field in writable_fields(Issue)
        if field.attname not in (*_IntakeStatement.returned, *_EMPTY_AT_INTAKE)
    ]
    fixed = [f for f in named if f.attname not in (*_GIVEN_AT_INTAKE, "updated_at")]
    values = {field.attname: f"%({field.attname})s" for field in named}
    values["updated_at"] = "%(created_at)s"
    for field in fixed:
        value = field.get_db_prep_save(field.get_default(), connection)
        values[field.attname] = (
            f"{connection.ops.compose_sql('%s', [value])}::{field.db_type(connection)}"
        )
    defaults = ", ".join(
        f"('{priority}', '{int(response.total_seconds())}s'::interval, "
        f"'{int(resolution.total_seconds())}s'::interval)"
        for priority, (response, resolution) in DEFAULT_SLA.items()
    )
    tablets = UnitTablet._meta.db_table
    warnings = ", ".join(str(int(percent)) for percent in DEFAULT_SLA_WARNINGS)
    if by_tablet:
        place = f"""
            SELECT t.go_live_id, u.site_id, t.unit_id, t.id AS reporter_tablet_id
            FROM {tablets} t JOIN {Unit._meta.db_table} u ON u.id = t.unit_id
            WHERE t.secret_hash = %(tablet_secret_hash)s AND t.revoked_at IS NULL AND u.is_active
        ), touched AS (
            UPDATE {tablets} AS t SET last_used_at = %(created_at)s FROM place
            WHERE t.id = place.reporter_tablet_id AND (t.last_used_at IS NULL
              OR t.last_used_at < %(created_at)s - interval '{int(TABLET_LAST_USED_EVERY.total_seconds())} seconds')
        """
    else:
        place = ", ".join(f"%({column})s::bigint AS {column}" for column in _PLACE)
        place = f"SELECT {place}"
    statement = f"""
        WITH place AS ({place}
        ), allowed AS (
            SELECT c.is_enhancement FROM {Category._meta.db_table} c, place
            WHERE c.id = %(category_id)s AND c.go_live_id = place.go_live_id AND c.is_active
              AND (%(application_id)s::bigint IS NULL OR EXISTS (
                  SELECT FROM {Application._meta.db_table} a
                  WHERE a.id = %(application_id)s AND a.go_live_id = place.go_live_id))
        ), counter AS (
            INSERT INTO {IssueCounter._meta.db_table} AS n (go_live_id, last_number)
            SELECT place.go_live_id, {FIRST_NUMBER} FROM allowed, place
            ON CONFLICT (go_live_id) DO UPDATE SET last_number = n.last_number + 1
            RETURNING n.last_number
        ), ranked AS MATERIALIZED (
            SELECT counter.last_number AS number, allowed.is_enhancement,
                   COALESCE(%(forced_priority)s, (
                       SELECT r.priority FROM {PriorityRule._meta.db_table} r
                       WHERE r.go_live_id = place.go_live_id AND r.impact = %(impact)s
                         AND r.urgency = %(urgency)s
                   ), %(usual_priority)s) AS priority
            FROM counter, allowed, place
        ), sla AS MATERIALIZED (
            SELECT COALESCE(p.response, d.response) AS response,
                   COALESCE(p.resolution, d.resolution) AS resolution,
                   COALESCE((
                       SELECT min(w) FROM unnest(COALESCE(p.warn_at, ARRAY[{warnings}])) w
                   ), 100) AS first_warning
            FROM ranked
            JOIN (VALUES {defaults}) AS d (priority, response, resolution)
              ON d.priority = ranked.priority
            LEFT JOIN LATERAL (
                SELECT p.response, p.resolution, p.warn_at FROM {SlaPolicy._meta.db_table} p, place
                WHERE p.go_live_id = place.go_live_id AND p.priority = ranked.priority
                  AND (p.category_id = %(category_id)s OR p.category_id IS NULL)
                  AND (p.site_id = place.site_id OR p.site_id IS NULL)
                ORDER BY p.category_id IS NULL, p.site_id IS NULL
                LIMIT 1
            ) p ON true
        ), issue AS (
            INSERT INTO {Issue._meta.db_table} AS i
                ({", ".join(field.column for field in named)},
                 {", ".join(_PLACE)}, number, priority, respond_by, due_at, next_escalation_at)
            SELECT {", ".join(values[field.attname] for field in named)},
                   {", ".join(f"place.{column}" for column in _PLACE)},
                   ranked.number, ranked.priority,
                   CASE WHEN NOT ranked.is_enhancement THEN %(created_at)s + sla.response END,
                   CASE WHEN NOT ranked.is_enhancement THEN %(created_at)s + sla.resolution END,
                   CASE WHEN NOT ranked.is_enhancement
                     THEN %(created_at)s + sla.response * sla.first_warning / 100.0 END
            FROM place, ranked, sla
            RETURNING {", ".join(f"i.{column}" for column in _IntakeStatement.returned)}
        ), event AS (
            INSERT INTO {IssueEvent._meta.db_table}
                (issue_id, actor_id, at, kind, old, new, body, internal)
            SELECT issue.id, %(reporter_user_id)s, %(created_at)s, '{IssueEvent.Kind.CREATED}',
                   '', {connection.ops.compose_sql("%s", [str(Issue.Status.NEW.label)])}, '', false
            FROM issue
        )
        SELECT issue.*, issue_created_webhooks(
            issue, %(title)s, %(created_at)s, %(webhook_issue_url)s
        ) FROM issue
    """
    # Without its indentation the statement is short enough for psycopg to keep its parsed form
    # (MAX_CACHED_STATEMENT_LENGTH) instead of splitting it again on every submission. No
    # literal in it holds two spaces in a row, so joining words with one space changes nothing.
    return _IntakeStatement(sql=" ".join(statement.split()), fixed=fixed)


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
    go_live: GoLive | None = None,
    unit: Unit | None = None,
    tablet_secret_hash: str = "",
    category_id: int,
    title: str,
    impact: str,
    urgency: str,
    description: str = "",
    patient_safety: bool = False,
    workaround_in_use: bool = False,
    application_id: int | None = None,
    location_detail: str = "",
    reporter_user: AbstractBaseUser | None = None,
    reporter_name: str = "",
    reporter_callback: str = "",
    client_key: str = "",
) -> tuple[Issue, bool]:
    """Log an issue; (issue, created). The same `client_key` again returns the first issue.

    The place is the `go_live` and `unit` given, or the go-live and unit of the tablet whose secret
    hash is given (`tablet_secret_hash`): the statement that writes the issue checks that tablet
    itself, so a tablet's submission needs no lookup before it, and a tablet revoked meanwhile
    writes nothing. The category and application are given by id and checked the same way.
    """
    if tablet_secret_hash:
        place: dict[str, Any] = {"tablet_secret_hash": tablet_secret_hash}
    elif go_live is None or unit is None:
        raise TypeError("create_issue needs the go-live and the unit, or a tablet's secret hash.")
    elif unit.site.go_live_id != go_live.pk:
        raise IssueRefused("Choose a unit of this go-live.", field="unit")
    else:
        place = {
            "go_live_id": go_live.pk,
            "site_id": unit.site_id,
            "unit_id": unit.pk,
            "reporter_tablet_id": None,
        }
    # The usual matrix has a cell for every known impact and urgency, and for nothing else.
    usual_priority = DEFAULT_MATRIX.get((impact, urgency))
    if usual_priority is None:
        raise IssueRefused("Say who is affected and how bad it is.")
    intake = _create_statement(by_tablet=bool(tablet_secret_hash))
    now = timezone.now()
    # Plain values that psycopg sends as they are (see _GIVEN_AT_INTAKE).
    given = {
        "category_id": category_id,
        "application_id": application_id,
        "title": title.strip(),
        "description": description.strip(),
        "impact": impact,
        "urgency": urgency,
        "patient_safety": patient_safety,
        "workaround_in_use": workaround_in_use,
        "location_detail": location_detail.strip(),
        "reporter_user_id": getattr(signed_in(reporter_user), "pk", None),
        "reporter_name": reporter_name.strip(),
        "reporter_callback": reporter_callback.strip(),
        "client_key": client_key,
        "created_at": now,
    }
    params = given | place
    params |= {
        "forced_priority": Priority.P1 if patient_safety else None,
        "usual_priority": usual_priority,
        "webhook_issue_url": settings.SITE_URL + _issue_page_format(),
    }
    # One statement is atomic by itself. A transaction is opened only when more must commit with
    # it (the patient-safety alerts), or as a savepoint inside the caller's, so that a refused
    # duplicate leaves the caller's transaction usable.
    atomic = patient_safety or connection.in_atomic_block
    try:
        with transaction.atomic() if atomic else nullcontext():
            with prepared_cursor() as cursor:
                cursor.execute(intake.sql, params)
                row = cursor.fetchone()
            if row is None:
                raise _refusal(go_live, tablet_secret_hash, category_id, application_id)
            *stored, webhook_ids = row
            issue = intake.loaded(given | dict(zip(intake.returned, stored, strict=True)))
            webhooks.enqueue_after_commit(webhook_ids)
            if patient_safety:
                _alert_patient_safety(issue)
    except IntegrityError as exc:
        # A retry of the same form (a double tap, a resend after a timeout): the first one stands.
        # Left to the unique index rather than looked up first, which saves the common case a query.
        if client_key and "issue_unique_client_key" in str(exc):
            first = Issue.objects.filter(client_key=client_key)
            if tablet_secret_hash:
                return first.get(go_live__tablets__secret_hash=tablet_secret_hash), False
            return first.get(go_live=go_live), False
        raise
    return issue, True


def _refusal(
    go_live: GoLive | None, tablet_secret_hash: str, category_id: int, application_id: int | None
) -> IssueRefused:
    """Why the intake statement wrote nothing: the tablet, or which reference is not of the
    go-live."""
    if tablet_secret_hash:
        go_live_id = (
            UnitTablet.objects.filter(
                secret_hash=tablet_secret_hash, revoked_at=None, unit__is_active=True
            )
            .values_list("go_live_id", flat=True)
            .first()
        )
        if go_live_id is None:
            return IssueRefused(
                "This tablet is no longer enrolled, so nothing was logged. Call the help desk, "
                "or ask your manager to enroll the tablet again."
            )
    else:
        assert go_live is not None
        go_live_id = go_live.pk
    if (
        application_id is not None
        and not Application.objects.filter(pk=application_id, go_live_id=go_live_id).exists()
    ):
        return IssueRefused(
            "Choose an application from the list, or “Not sure”.", field="application"
        )
    return IssueRefused("Tap one of the kinds of problem shown.", field="category")


@cache
def _issue_page_format() -> str:
    return url_format("issues:detail")


def webhook_data(issue: Issue, **extra: Any) -> dict[str, Any]:
    """An issue as webhook payloads give it (`data`), with what the event adds; its unit and
    the unit's site should be loaded with it. The intake statement builds the same in SQL."""
    unit = issue.unit
    return {
        "id": issue.pk,
        "number": issue.number,
        "code": issue.code,
        "title": issue.title,
        "priority": issue.priority,
        "status": issue.status,
        "unit": {"id": unit.pk, "name": unit.name},
        "site": {"id": unit.site_id, "name": unit.site.name},
        "url": settings.SITE_URL + _issue_page_format().format(issue.pk),
        **extra,
    }


def _emit(issue: Issue, event: str, **extra: Any) -> None:
    """Tell the go-live's webhooks of a change just recorded (the issue's version names it)."""
    webhooks.emit(
        go_live_id=issue.go_live_id,
        event=event,
        key=f"{issue.pk}:v{issue.version}",
        data=webhook_data(issue, **extra),
    )


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
        Issue.objects.select_for_update(of=("self",))
        .select_related("go_live", "category", "reporter_user", "unit__site")
        .get(pk=issue.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise IssueRefused(
            f"{locked.code} was changed by someone else while you had it open. "
            "Look at it again and repeat your change."
        )
    return locked


def _record(
    issue: Issue,
    kind: str,
    actor: AbstractBaseUser | None,
    *,
    old: str = "",
    new: str = "",
    body: str = "",
    internal: bool = False,
) -> IssueEvent:
    """Save a locked issue's changes and write their event: every change to an issue ends here
    (or in `apply_routing`)."""
    _save(issue)
    return _event(issue, kind, actor, old=old, new=new, body=body, internal=internal)


def _save(issue: Issue, fields: list[str] | None = None) -> None:
    """Save a locked issue's changes (all its fields, or `fields`), a new version, and move its
    escalation schedule with them (acknowledged, paused, resolved, new targets)."""
    issue.version += 1
    issue.updated_at = timezone.now()
    targets = sla_targets(issue=issue)
    issue.next_escalation_at = next_escalation_time(
        issue, targets.warn_at if targets is not None else None
    )
    issue.save(
        update_fields=None
        if fields is None
        else [*fields, "version", "updated_at", "next_escalation_at"]
    )


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
    """Move an issue along its workflow; illegal moves raise IssueRefused and change nothing.

    Resolving or closing a parent does the same to its open children with the parent's
    resolution, and every reporter of each is told.
    """
    issue = _locked(issue, expected_version)
    _move(issue, to, actor, resolution=resolution.strip(), note=note.strip())
    if to == S.RESOLVED:
        # The report a known issue is anchored on is fixed: so is the known issue on the board.
        now = timezone.now()
        KnownIssue.objects.filter(issue=issue).exclude(status=KnownIssue.Status.FIXED).update(
            status=KnownIssue.Status.FIXED, fixed_at=now, updated_at=now, version=F("version") + 1
        )
    if to in {S.RESOLVED, S.CLOSED}:
        for child in issue.children.select_for_update(of=("self",)).select_related(
            "go_live", "category", "reporter_user", "unit__site"
        ):
            if to in TRANSITIONS.get(child.status, set()):
                _move(
                    child,
                    to,
                    actor,
                    resolution=f"With {issue.code}: {issue.resolution}",
                    note=f"{issue.code} was {S(to).label.lower()}.",
                )
    return issue


def _move(
    issue: Issue, to: str, actor: AbstractBaseUser | None, *, resolution: str, note: str
) -> None:
    if to not in TRANSITIONS.get(issue.status, set()):
        raise IssueRefused(
            f"{issue.code} is {issue.get_status_display().lower()}: it cannot become "
            f"{S(to).label.lower() if to in S.values else to}."
        )
    if to == S.RESOLVED and not (resolution or issue.resolution):
        raise IssueRefused(f"Say how {issue.code} was resolved before resolving it.")
    now = timezone.now()
    old = issue.get_status_display()
    reopened = issue.status in {S.RESOLVED, S.CLOSED} and to == S.IN_PROGRESS
    _stop_or_restart_clock(issue, to, now)
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
        # Its fix did not hold: a target it misses now starts a new round of escalation.
        restart_escalation(issue)
    _record(
        issue, IssueEvent.Kind.STATUS, actor, old=old, new=issue.get_status_display(), body=note
    )
    if to == S.RESOLVED:
        _emit(issue, WebhookEvent.ISSUE_RESOLVED, resolution=issue.resolution)
    if to in TELL_REPORTER:
        messages = {
            S.ACKNOWLEDGED: "The help desk has your issue and is on it.",
            S.WAITING_REPORTER: "The help desk needs something from you to go on."
            + (f" {note}" if note else ""),
            S.RESOLVED: f"Resolved: {issue.resolution}",
        }
        _tell_reporters(
            issue,
            subject=f"{issue.code} {issue.get_status_display().lower()}: {issue.title}",
            body=messages[to],
        )


def _stop_or_restart_clock(issue: Issue, to: str, now: dt.datetime) -> None:
    """Waiting on the reporter stops the resolution clock where the service level says so;
    leaving that state starts it again, the due time moved on by the time it stood still."""
    if issue.sla_paused_at is not None and to != S.WAITING_REPORTER:
        stopped = now - issue.sla_paused_at
        issue.sla_paused_for += stopped
        if issue.due_at is not None:
            issue.due_at += stopped
        issue.sla_paused_at = None
    elif to == S.WAITING_REPORTER and issue.due_at is not None and issue.sla_paused_at is None:
        targets = sla_targets(issue=issue)
        if targets is not None and targets.pause_while_waiting:
            issue.sla_paused_at = now


def _tell_reporters(issue: Issue, *, subject: str, body: str) -> None:
    """The reporter and everyone who said "my problem too", in the app, once per issue version."""
    users = {issue.reporter_user_id} if issue.reporter_user_id else set()
    users |= set(issue.extra_reporters.filter(user__isnull=False).values_list("user_id", flat=True))
    for user in Membership.objects.filter(
        go_live=issue.go_live_id, user_id__in=users, is_active=True
    ).select_related("user"):
        outbox.notify(
            dedupe_key=f"issue:{issue.pk}:v{issue.version}:reporter{user.user_id}",
            channel=Notification.Channel.IN_APP,
            subject=subject,
            body=body,
            user=user.user,
            go_live=issue.go_live,
            # Reporters follow their issue on the floor view, which every role may open.
            link=reverse("issues:floor_issue", args=[issue.pk]),
        )


def reopen_as_reporter(
    *, issue: Issue, actor: AbstractBaseUser | None, reason: str, tablet: UnitTablet | None = None
) -> Issue:
    """A reporter says the fix did not hold: allowed within 72 hours of the resolution."""
    reason = reason.strip()
    if not reason:
        raise IssueRefused("Say what is still wrong, so the help desk knows where to start.")
    with transaction.atomic():
        locked = _locked(issue, None)
        if locked.status not in {S.RESOLVED, S.CLOSED} or locked.resolved_at is None:
            raise IssueRefused(f"{locked.code} is still open: the help desk is on it.")
        if timezone.now() - locked.resolved_at > REOPEN_WINDOW:
            raise IssueRefused(
                f"{locked.code} was resolved more than 72 hours ago. Log a new issue instead; "
                "it can be linked to this one."
            )
        who = f" (from {tablet})" if tablet is not None else ""
        _move(
            locked,
            S.IN_PROGRESS,
            actor,
            resolution="",
            note=f"Reopened by the reporter{who}: {reason}",
        )
    return locked


@transaction.atomic
def assign_issue(
    *,
    issue: Issue,
    assignee: AbstractBaseUser | None,
    actor: AbstractBaseUser | None,
    expected_version: int | None = None,
) -> Issue:
    """Give an issue to a support member of its go-live, or take it back to the queue (None)."""
    issue = _locked(issue, expected_version)
    if (
        assignee is not None
        and not Membership.objects.filter(
            go_live=issue.go_live_id, user=assignee, is_active=True, role__in=SUPPORT
        ).exists()
    ):
        raise IssueRefused(f"{display_name(assignee)} does not work on this go-live's issues.")
    if issue.assignee_id == (assignee.pk if assignee is not None else None):
        return issue
    old = display_name(issue.assignee) if issue.assignee is not None else ""
    issue.assignee = assignee
    issue.assigned_at = timezone.now() if assignee is not None else None
    _record(
        issue,
        IssueEvent.Kind.ASSIGNEE,
        actor,
        old=old,
        new=display_name(assignee) if assignee else "",
    )
    if assignee is not None and assignee != signed_in(actor):
        _tell_assignee(issue, assignee)
    return issue


def _tell_assignee(issue: Issue, assignee: AbstractBaseUser) -> None:
    outbox.notify_many(
        [
            outbox.NotificationRow(
                go_live_id=issue.go_live_id,
                recipient_user_id=assignee.pk,
                recipient_name="",
                recipient_address="",
                channel=Notification.Channel.IN_APP,
                subject=f"{issue.code} is yours: {issue.title}"[:200],
                body=f"{issue.get_priority_display()} · {issue.unit}",
                link=reverse("issues:detail", args=[issue.pk]),
                dedupe_key=f"issue:{issue.pk}:v{issue.version}:assigned",
            )
        ]
    )


def apply_routing(
    *, issue: Issue, tier: EscalationTier | None, assignee: AbstractBaseUser | None, note: str
) -> Issue:
    """Auto-assignment's outcome in one write: the first-line `tier` for an issue that had none,
    and the person routing chose (told in-app), or `note` for the team: why the issue waits.

    Only for issues.assignment, which holds the issue's row (its claim locked it), read it with
    what a change needs (see `_locked`), and chose `assignee` among the go-live's active support
    members under its routing lock.
    """
    fields: list[str] = []
    events: list[IssueEvent] = []
    if tier is not None and issue.tier_id != tier.pk:
        events.append(
            IssueEvent(kind=IssueEvent.Kind.TIER, old=str(issue.tier or ""), new=str(tier))
        )
        issue.tier = tier
        fields.append("tier")
    if assignee is not None:
        issue.assignee = assignee
        issue.assigned_at = timezone.now()
        fields += ["assignee", "assigned_at"]
        events.append(IssueEvent(kind=IssueEvent.Kind.ASSIGNEE, new=display_name(assignee)))
    else:
        events.append(IssueEvent(kind=IssueEvent.Kind.COMMENT, body=note, internal=True))
    _save(issue, fields)
    for event in events:
        event.issue = issue
    IssueEvent.objects.bulk_create(events)
    if assignee is not None:
        _tell_assignee(issue, assignee)
    return issue


def claim_issue(*, issue: Issue, agent: AbstractBaseUser) -> Issue:
    """Take an unassigned open issue. Two agents at once: one wins, the other is told who has it."""
    with transaction.atomic():
        now = timezone.now()
        won = Issue.objects.filter(pk=issue.pk, assignee__isnull=True, status__in=OPEN).update(
            assignee=agent, assigned_at=now, version=F("version") + 1, updated_at=now
        )
        if not won:
            taken = Issue.objects.select_related("assignee").get(pk=issue.pk)
            if taken.assignee is not None:
                raise IssueRefused(f"{display_name(taken.assignee)} has {taken.code} already.")
            raise IssueRefused(
                f"{taken.code} is {taken.get_status_display().lower()}: nothing to claim."
            )
        # The winning UPDATE holds the row's lock already: this reads it back.
        issue = _locked(issue, None)
        _event(issue, IssueEvent.Kind.ASSIGNEE, agent, new=display_name(agent))
        # Taking a new issue is its first response: the reporter hears that someone has it.
        if issue.status == S.NEW:
            _move(issue, S.ACKNOWLEDGED, agent, resolution="", note="")
    return issue


@transaction.atomic
def set_priority(
    *,
    issue: Issue,
    priority: str,
    actor: AbstractBaseUser | None,
    note: str = "",
    expected_version: int | None = None,
) -> Issue:
    """Override the matrix; the response and resolution times move with the priority. Patient
    safety stays P1."""
    if priority not in Priority.values:
        raise IssueRefused("Choose a priority from P1 to P4.")
    issue = _locked(issue, expected_version)
    if issue.patient_safety and priority != Priority.P1:
        raise IssueRefused(f"{issue.code} is a patient-safety issue: it stays P1.")
    if issue.priority == priority:
        return issue
    old = issue.priority
    targets = sla_targets(issue=issue, priority=priority)
    issue.priority = priority
    # The new priority's path, from its first step, once a new target is missed.
    restart_escalation(issue)
    if targets is not None:
        # Counted from the report, as if it had always had this priority; time stopped stays off.
        if issue.acknowledged_at is None:
            issue.respond_by = issue.created_at + targets.response
        issue.due_at = issue.created_at + targets.resolution + issue.sla_paused_for
    _record(issue, IssueEvent.Kind.PRIORITY, actor, old=old, new=priority, body=note.strip())
    _emit(issue, WebhookEvent.ISSUE_PRIORITY_CHANGED, previous_priority=old)
    return issue


@transaction.atomic
def add_comment(
    *,
    issue: Issue,
    actor: AbstractBaseUser | None,
    body: str,
    internal: bool,
    expected_version: int | None = None,
) -> IssueEvent:
    """An internal note for the support team, or a reply the reporters see and are told of."""
    body = body.strip()
    if not body:
        raise IssueRefused("Write the comment before sending it.")
    issue = _locked(issue, expected_version)
    event = _record(issue, IssueEvent.Kind.COMMENT, actor, body=body, internal=internal)
    if not internal:
        _tell_reporters(issue, subject=f"Reply on {issue.code}: {issue.title}", body=body)
    return event


@transaction.atomic
def link_issue(
    *,
    issue: Issue,
    parent: Issue,
    kind: str,
    actor: AbstractBaseUser | None,
    expected_version: int | None = None,
) -> Issue:
    """Link an issue under a parent ("duplicate of" or "part of"); its children follow it.

    The child stays open and is resolved and closed with its parent, whose reporters it joins in
    hearing the outcome.
    """
    if kind not in Issue.Link.values:
        raise IssueRefused("Choose duplicate of or part of.")
    issue = _locked(issue, expected_version)
    parent = Issue.objects.select_for_update(of=("self",)).get(pk=parent.pk)
    if parent.go_live_id != issue.go_live_id:
        raise IssueRefused("Link only to an issue of this go-live.")
    if parent.pk == issue.pk:
        raise IssueRefused("An issue cannot be linked to itself.")
    if parent.parent_id is not None:
        raise IssueRefused(
            f"{parent.code} is itself linked to another issue: link to that one instead."
        )
    if not parent.is_open:
        raise IssueRefused(
            f"{parent.code} is {parent.get_status_display().lower()}: reopen it first."
        )
    old = str(issue.parent.code) if issue.parent_id else ""
    issue.parent = parent
    issue.parent_link = kind
    _record(
        issue, IssueEvent.Kind.LINK, actor, old=old, new=f"{Issue.Link(kind).label} {parent.code}"
    )
    # Links are one level deep: this issue's own children now hang from the new parent.
    for child in issue.children.select_for_update(of=("self",)).select_related("go_live"):
        old_parent = issue.code
        child.parent = parent
        _record(
            child,
            IssueEvent.Kind.LINK,
            actor,
            old=old_parent,
            new=f"{child.get_parent_link_display()} {parent.code}",
        )
    return issue


@transaction.atomic
def unlink_issue(
    *, issue: Issue, actor: AbstractBaseUser | None, expected_version: int | None = None
) -> Issue:
    issue = _locked(issue, expected_version)
    if issue.parent_id is None:
        return issue
    old = f"{issue.get_parent_link_display()} {issue.parent.code}"
    issue.parent = None
    issue.parent_link = ""
    _record(issue, IssueEvent.Kind.LINK, actor, old=old, new="")
    return issue


def add_reporter(
    *,
    issue: Issue,
    user: AbstractBaseUser | None = None,
    name: str = "",
    callback: str = "",
    unit: Unit | None = None,
) -> tuple[IssueReporter, bool]:
    """ "This is my problem too": the person joins the issue's reporters instead of filing a
    duplicate, and hears what its reporter hears. The same person twice is one entry."""
    user = signed_in(user)
    if user is None and not name.strip():
        raise IssueRefused("Give your name so the help desk knows who else has this problem.")
    with transaction.atomic():
        issue = _locked(issue, None)
        if not issue.is_open:
            raise IssueRefused(f"{issue.code} is already {issue.get_status_display().lower()}.")
        if user is not None:
            existing = IssueReporter.objects.filter(issue=issue, user=user).first()
            if existing is not None or issue.reporter_user_id == user.pk:
                return existing or IssueReporter(issue=issue, user=user), False
        else:
            # Checked under the issue's row lock, so a double tap cannot add the name twice.
            existing = IssueReporter.objects.filter(
                issue=issue, user__isnull=True, name__iexact=name.strip(), callback=callback.strip()
            ).first()
            if existing is not None:
                return existing, False
        reporter = IssueReporter.objects.create(
            issue=issue, user=user, name=name.strip(), callback=callback.strip(), unit=unit
        )
        who = display_name(user) if user is not None else name.strip()
        where = f" on {unit}" if unit is not None else ""
        _record(issue, IssueEvent.Kind.REPORTER, user, new=f"{who}{where}"[:200])
    return reporter, True


@transaction.atomic
def set_tier(
    *,
    issue: Issue,
    tier: EscalationTier | None,
    actor: AbstractBaseUser | None,
    expected_version: int | None = None,
) -> Issue:
    """Move an issue to another support tier (None: back to the first line)."""
    issue = _locked(issue, expected_version)
    if tier is not None and tier.go_live_id != issue.go_live_id:
        raise IssueRefused("Choose a tier of this go-live.")
    if issue.tier_id == (tier.pk if tier is not None else None):
        return issue
    old = str(issue.tier) if issue.tier_id else ""
    issue.tier = tier
    _record(issue, IssueEvent.Kind.TIER, actor, old=old, new=str(tier or ""))
    return issue


@transaction.atomic
def set_external_ref(
    *,
    issue: Issue,
    external_ref: str,
    actor: AbstractBaseUser | None,
    expected_version: int | None = None,
) -> Issue:
    """The vendor's or the hospital's own ticket number for the same problem."""
    external_ref = external_ref.strip()
    if len(external_ref) > 64:
        raise IssueRefused("An external ticket reference has at most 64 characters.")
    issue = _locked(issue, expected_version)
    if issue.external_ref == external_ref:
        return issue
    old = issue.external_ref
    issue.external_ref = external_ref
    _record(issue, IssueEvent.Kind.REFERENCE, actor, old=old, new=external_ref)
    return issue


# --- Acknowledging from an escalation message ----------------------------------------------------


class AckRefused(IssueRefused):
    """An acknowledge link or code that cannot be used; `status` is the page's HTTP answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class AckLink:
    """An acknowledge link as its page shows it: the message it came in, that message's issue
    and recipient, and what became of it so far (None: nothing yet)."""

    message: acks.Message
    issue: Issue
    recipient_name: str
    recipient_user_id: int | None
    record: EscalationAck | None

    @property
    def trigger_label(self) -> str:
        return EscalationStep.Trigger(self.message.trigger).label

    @property
    def channel_label(self) -> str:
        return "SMS" if self.message.channel == EscalationStep.Channel.SMS else "email"


def ack_link(message: acks.Message) -> AckLink | None:
    """The link's issue, recipient and record; None when its issue no longer exists."""
    issue = (
        Issue.objects.select_related("go_live", "unit__site", "category")
        .filter(pk=message.issue_id)
        .first()
    )
    if issue is None:
        return None
    kind, number = acks.recipient_of(message)
    return AckLink(message, issue, *_recipient(kind, number, issue.go_live_id), _record_of(message))


def _recipient(kind: str, pk: int, go_live_id: int) -> tuple[str, int | None]:
    """The recipient's name and user id, as the sweep addressed them."""
    if kind == "contact":
        contact = Contact.objects.filter(pk=pk, go_live_id=go_live_id).first()
        return (contact.name if contact else "a directory contact"), None
    if kind == "person":
        person = SupportPerson.objects.filter(pk=pk, go_live_id=go_live_id).first()
        return (person.name, person.user_id) if person else ("a support person", None)
    user = get_user_model().objects.filter(pk=pk).first()
    return (display_name(user) if user else "a golive user"), pk


def _ack_key(message: acks.Message) -> dict[str, Any]:
    """What names a message's EscalationAck (its unique key)."""
    return {
        "issue_id": message.issue_id,
        "round": message.round,
        "level": message.level,
        "recipient_key": message.recipient_key,
        "channel": message.channel,
    }


def _record_of(message: acks.Message) -> EscalationAck | None:
    return EscalationAck.objects.select_related("used_by").filter(**_ack_key(message)).first()


def acknowledge_from_message(
    *,
    link: AckLink,
    user: AbstractBaseUser | None,
    code: str = "",
    address: str = "",
) -> str:
    """Act on an escalation message's acknowledge link, for `user` signed in (who works on the
    go-live's issues or is the message's recipient) or with the SMS's one-time `code`.

    A "still not acknowledged" message acknowledges the issue (its first response, which stops
    those steps); a "still not resolved" one stops the rest of its round. Then the link is used
    up, and the timeline says who acknowledged and from where (`address`). Returns what to tell
    the person; AckRefused, changing nothing but a wrong code's count, when the link cannot be
    used.
    """
    message = link.message
    user = signed_in(user)
    if user is not None and not may_acknowledge(link, user):
        if not code:
            raise AckRefused(
                f"You are signed in as {display_name(user)}, who does not work on this "
                "go-live's issues. Sign in as the person the message was sent to"
                + (", or type the code from the SMS." if message.channel == "sms" else "."),
                status=403,
            )
        user = None
    check_ack_usable(link, timezone.now())
    if user is None:
        _check_code(link, code)
    with transaction.atomic():
        # The issue's lock orders everyone acknowledging it: of two people using one link at
        # once, the second finds it used.
        issue = _locked(link.issue, None)
        link = replace(link, issue=issue, record=_record_of(message))
        now = timezone.now()
        check_ack_usable(link, now)
        if not issue.is_open:
            raise AckRefused(
                f"{issue.code} is {issue.get_status_display().lower()} already: "
                "there is nothing to acknowledge.",
                status=409,
            )
        first_response = issue.status == S.NEW
        stops_round = (
            message.trigger == EscalationStep.Trigger.UNRESOLVED
            and message.round == issue.escalation_round
            and issue.escalation_plan is not None
            and issue.escalation_stopped_at is None
        )
        if not (first_response or stops_round):
            # Someone acknowledged it meanwhile: the link stays as it is, nothing to record.
            return f"{issue.code} was acknowledged already: this message's escalation has stopped."
        actor = user or (
            get_user_model().objects.filter(pk=link.recipient_user_id).first()
            if link.recipient_user_id
            else None
        )
        via = EscalationAck.Via.SIGN_IN if user is not None else EscalationAck.Via.CODE
        # Read under the issue's lock above; made now if no code was typed for it before.
        record = link.record or _record_row(message)
        EscalationAck.objects.filter(pk=record.pk).update(
            used_at=now, used_by=actor, used_via=via, used_from=address or None
        )
        note = _acknowledged_how(link, user, address)
        if stops_round:
            issue.escalation_stopped_at = now
            note += f" The rest of escalation round {issue.escalation_round} is stopped."
        if first_response:
            _move(issue, S.ACKNOWLEDGED, actor, resolution="", note=note)
        else:
            _record(issue, IssueEvent.Kind.ESCALATION, actor, body=note, internal=True)
    if first_response:
        return f"{issue.code} is acknowledged: its escalation has stopped and the reporter is told."
    return f"Escalation of {issue.code} stopped: nobody further is paged for it in this round."


def _record_row(message: acks.Message) -> EscalationAck:
    """The message's record, made if it has none yet (two at once: one is made, both get it)."""
    record, _ = EscalationAck.objects.get_or_create(**_ack_key(message))
    return record


def may_acknowledge(link: AckLink, user: AbstractBaseUser) -> bool:
    return (
        user.pk == link.recipient_user_id
        or Membership.objects.filter(
            go_live=link.issue.go_live_id, user=user, is_active=True, role__in=WORKERS
        ).exists()
    )


def check_ack_usable(link: AckLink, now: dt.datetime) -> None:
    issue, record = link.issue, link.record
    if record is not None and record.used_at is not None:
        by = f" by {display_name(record.used_by)}" if record.used_by is not None else ""
        raise AckRefused(
            f"This link was used already, at {_local(issue, record.used_at)}{by} "
            f"({record.get_used_via_display()}): {issue.code} is acknowledged. A code works once.",
            status=409,
        )
    if link.message.expires_at <= now:
        raise AckRefused(
            f"This link expired at {_local(issue, link.message.expires_at)}. Open {issue.code} "
            "in golive to acknowledge it there.",
            status=410,
        )


def _check_code(link: AckLink, code: str) -> None:
    """The SMS's code, or AckRefused. Each code typed is counted before it is compared, in one
    conditional UPDATE, so codes typed at once (a script) cannot get past MAX_CODE_TRIES: then
    the link is locked."""
    message = link.message
    if message.channel != EscalationStep.Channel.SMS:
        raise AckRefused(
            "The link of an email works after signing in: sign in with your golive account.",
            status=403,
        )
    record = _record_row(message)
    counted = EscalationAck.objects.filter(
        pk=record.pk, used_at__isnull=True, code_tries__lt=acks.MAX_CODE_TRIES
    ).update(code_tries=F("code_tries") + 1)
    if not counted:
        # Not counted: someone used the link a moment ago (their code was right; say so), or
        # too many wrong codes have locked it.
        used = EscalationAck.objects.select_related("used_by").get(pk=record.pk)
        check_ack_usable(replace(link, record=used), timezone.now())
        raise AckRefused(
            "Too many wrong codes were typed for this link: it is locked. Sign in to "
            "acknowledge, or call the command center.",
            status=429,
        )
    if acks.code_matches(message, code):
        return
    tries = EscalationAck.objects.values_list("code_tries", flat=True).get(pk=record.pk)
    left = acks.MAX_CODE_TRIES - tries
    raise AckRefused(
        "That is not the code in the SMS. "
        + (f"{left} more tr{'y' if left == 1 else 'ies'} before" if left else "Now")
        + " the link is locked.",
        status=400,
    )


def _acknowledged_how(link: AckLink, user: AbstractBaseUser | None, address: str) -> str:
    message = f"the {link.channel_label} of escalation level {link.message.level}"
    if user is None:
        how = f"by {link.recipient_name}, with the one-time code of {message}"
    else:
        name = display_name(user)
        sent_to = f" sent to {link.recipient_name}" if link.recipient_name != name else ""
        how = f"by {name}, signed in, from the link in {message}{sent_to}"
    return f"Acknowledged {how}" + (f", from {address}." if address else ".")


def _local(issue: Issue, when: dt.datetime) -> str:
    return f"{timezone.localtime(when, issue.go_live.tzinfo):%a %d %b %H:%M}"
