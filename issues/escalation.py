"""The escalation sweep: warnings as an issue uses up its service level, then the steps of its
escalation path once a target is missed, each performed exactly once (the schedule itself is
issues/schedule.py).

The sweep claims due issues (`next_escalation_at` passed, through its partial index) with SELECT
... FOR UPDATE SKIP LOCKED, a batch per transaction, and writes each issue's new state, its
timeline events and its notifications (outbox rows whose dedupe key names the issue, the round,
the level, the recipient and the channel) in that transaction. So two sweeps never take the same
issue, a sweep killed half-way leaves nothing behind and repeats nothing, and after an outage
each level due is performed once, in one pass, with someone named on several of those levels
told once, of the highest. An issue the sweep cannot handle is logged and left due; the auditor
(every 5 minutes) tries such stuck issues again one by one.

Each email and SMS of a step carries its signed acknowledge link (an SMS also its one-time code,
issues/acks.py): its recipient can stop the escalation from the message.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from golive import outbox, webhooks
from golive.lib import heartbeat
from golive.lib.rows import prepared_cursor, unnest_insert
from golive.lib.urls import url_format
from golive.models import Contact, EscalationTier, GoLive, Notification, Unit, WebhookEvent
from golive.permissions import command_center_leads
from issues import acks
from issues.models import (
    Category,
    EscalationPath,
    EscalationStep,
    Issue,
    IssueEvent,
    most_specific_path,
)
from issues.reach import Reach, TierReach
from issues.schedule import (
    PlanStep,
    WarningPoint,
    escalation_start,
    next_escalation_time,
    plan_steps,
    snapshot,
    step_times,
    warnings_of,
)
from issues.services import SlaTargets, sla_targets, webhook_data

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# Issues claimed per transaction: a sweep holds their row locks only that long.
SWEEP_BATCH = 500
# A sweep stops taking new batches after this long (the task's time limit is far above it).
SWEEP_BUDGET_SECONDS = 20.0
# Of a tier's people on shift, the nearest this many are told (the unit's, then its site's...).
TIER_PEOPLE = 5
# An issue whose next escalation is this late is stuck: the auditor puts it back in the sweep.
STUCK_AFTER = dt.timedelta(minutes=5)
STUCK_LIMIT = 1000

_T = EscalationStep.Trigger
_CHANNEL_WORDS = {channel.value: channel.label.lower() for channel in EscalationStep.Channel}


# --- The sweep -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    key: str  # for the dedupe key: person<id>, contact<id> or user<id>
    name: str
    user_id: int | None
    email: str
    sms: str

    @classmethod
    def for_user(cls, user: User) -> Recipient:
        """A signed-in user: in the app, and by email if they have one."""
        return cls(
            key=f"user{user.pk}",
            name=user.get_full_name() or user.get_username(),
            user_id=user.pk,
            email=user.email,
            sms="",
        )

    def address(self, channel: str) -> str | None:
        """Where `channel` reaches them ("" for in-app), None when it cannot."""
        if channel == Notification.Channel.IN_APP:
            return "" if self.user_id is not None else None
        if channel == Notification.Channel.EMAIL:
            return self.email or None
        return self.sms or None


@dataclass
class _Sweep:
    """What one sweep looks up once and shares between the issues it handles."""

    now: dt.datetime
    reaches: dict[int, Reach] = field(default_factory=dict)
    targets: dict[tuple[int, str, int, int], SlaTargets | None] = field(default_factory=dict)
    paths: dict[int, list[EscalationPath]] = field(default_factory=dict)
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    leads: dict[int, list[Recipient]] = field(default_factory=dict)
    related: dict[str, dict[int, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (issue id, body) of each issue's timeline entry.
    events: list[tuple[int, str]] = field(default_factory=list)
    notifications: list[outbox.NotificationRow] = field(default_factory=list)
    # The "issue.escalated" events of the steps performed, for the go-lives' webhooks.
    hooks: list[webhooks.Occurrence] = field(default_factory=list)

    def attach(self, issues: list[Issue]) -> None:
        """Give the issues their go-live, unit (with its site), category and assignee, each read
        once a sweep: a batch shares a few of each, and joining them into every issue's row
        would build them again for each."""
        for name, queryset in (
            ("go_live", GoLive.objects.all()),
            ("unit", Unit.objects.select_related("site")),
            ("category", Category.objects.all()),
            ("assignee", get_user_model().objects.all()),
        ):
            known = self.related.setdefault(name, {})
            relation = Issue._meta.get_field(name)
            attname = relation.attname
            missing = {getattr(i, attname) for i in issues} - known.keys() - {None}
            if missing:
                known.update(queryset.in_bulk(missing))
            for issue in issues:
                pk = getattr(issue, attname)
                relation.set_cached_value(issue, known[pk] if pk is not None else None)

    def reach(self, issue: Issue) -> list[TierReach]:
        if issue.go_live_id not in self.reaches:
            self.reaches[issue.go_live_id] = Reach(go_live=issue.go_live, at=self.now)
        return self.reaches[issue.go_live_id].by_tier(
            unit=issue.unit, application_id=issue.application_id
        )

    def sla(self, issue: Issue) -> SlaTargets | None:
        key = (issue.go_live_id, issue.priority, issue.category_id, issue.site_id)
        if key not in self.targets:
            self.targets[key] = sla_targets(issue=issue)
        return self.targets[key]

    def plan(self, issue: Issue) -> dict[str, Any]:
        """The snapshot of the path that applies to the issue; the go-live's paths are read once
        and each is snapshotted once."""
        if issue.go_live_id not in self.paths:
            self.paths[issue.go_live_id] = list(
                EscalationPath.objects.filter(go_live_id=issue.go_live_id)
            )
        path = most_specific_path(
            (p for p in self.paths[issue.go_live_id] if p.priority == issue.priority),
            category_id=issue.category_id,
            application_id=issue.application_id,
            site_id=issue.site_id,
        )
        if path is None:
            return {"name": "", "steps": []}
        if path.pk not in self.snapshots:
            self.snapshots[path.pk] = snapshot(path)
        return self.snapshots[path.pk]

    def contact(self, pk: int) -> Contact | None:
        if pk not in self.contacts:
            found = Contact.objects.filter(pk=pk, is_active=True).first()
            if found is None:
                return None
            self.contacts[pk] = found
        return self.contacts[pk]

    def command_center(self, go_live: GoLive) -> list[Recipient]:
        if go_live.pk not in self.leads:
            self.leads[go_live.pk] = [
                Recipient.for_user(membership.user) for membership in command_center_leads(go_live)
            ]
        return self.leads[go_live.pk]

    def ack(self, issue: Issue, step: PlanStep, recipient: Recipient, channel: str) -> str:
        """The text that offers the message's acknowledge link (and an SMS's code)."""
        message = acks.Message(
            issue_id=issue.pk,
            round=issue.escalation_round,
            level=step.position,
            trigger=step.trigger,
            channel=channel,
            recipient_key=recipient.key,
            sent_at=acks.sent_minute(self.now),
        )
        if channel == Notification.Channel.SMS:
            return f"\nAcknowledge: {acks.link(message)} code {acks.code_for(message)}"
        return f"\n\nAcknowledge it (this stops the escalation): {acks.link(message)}"

    def event(self, issue: Issue, body: str) -> None:
        """A line of what this sweep did to the issue (its timeline gets one entry a sweep)."""
        self.notes.append(body)

    def flush(self, issue: Issue) -> None:
        if self.notes:
            self.events.append((issue.pk, "\n".join(self.notes)[:4000]))
        self.notes.clear()

    def notify(
        self,
        issue: Issue,
        recipient: Recipient,
        channel: str,
        *,
        dedupe_key: str,
        subject: str,
        body: str,
        step: PlanStep | None = None,
    ) -> bool:
        """Write a message if the recipient has an address for the channel; an email or SMS of
        a `step` carries its acknowledge link (and an SMS its one-time code)."""
        address = recipient.address(channel)
        if address is None:
            return False
        if step is not None and channel != Notification.Channel.IN_APP:
            body += self.ack(issue, step, recipient, channel)
        self.notifications.append(
            outbox.NotificationRow(
                go_live_id=issue.go_live_id,
                recipient_user_id=recipient.user_id,
                recipient_name=recipient.name[:120],
                recipient_address=address,
                channel=channel,
                subject=subject[:200],
                body=body,
                link=_issue_page(issue.pk),
                dedupe_key=dedupe_key[:200],
            )
        )
        return True


@cache
def _issue_page_format() -> str:
    return url_format("issues:detail")


def _issue_page(pk: int) -> str:
    """An issue's page (reversing its URL for each message cost more than writing the message)."""
    return _issue_page_format().format(pk)


def escalate_due_issues(
    *,
    now: dt.datetime | None = None,
    ids: list[int] | None = None,
    batch: int = SWEEP_BATCH,
    budget: float = SWEEP_BUDGET_SECONDS,
) -> int:
    """The beat sweep: perform what is due on every issue whose `next_escalation_at` has passed
    (only those of `ids` if given); how many issues it handled."""
    now = now or timezone.now()
    deadline = time.monotonic() + budget
    sweep = _Sweep(now=now)
    due = Issue.objects.filter(next_escalation_at__lte=now)
    if ids is not None:
        due = due.filter(pk__in=ids)
    failed: set[int] = set()
    handled = 0
    while True:
        with transaction.atomic():
            issues = list(
                due.exclude(pk__in=failed)
                .select_for_update(skip_locked=True)
                # Never read here, and the widest columns.
                .defer("description", "search", "resolution")
                .order_by("next_escalation_at")[:batch]
            )
            sweep.attach(issues)
            done = [issue for issue in issues if _escalated(issue, sweep, failed)]
            _write(done, sweep)
        handled += len(done)
        if len(issues) < batch or time.monotonic() >= deadline:
            break
    if ids is None:
        # /healthz turns 503 when this is too long ago.
        heartbeat.beat(heartbeat.ESCALATION_SWEEP, at=now)
    return handled


def _escalated(issue: Issue, sweep: _Sweep, failed: set[int]) -> bool:
    """Work out the issue's due warnings and steps; False (logged, nothing of it kept) if that
    fails, so one bad issue does not hold up the others."""
    notifications = len(sweep.notifications)
    hooks = len(sweep.hooks)
    try:
        _escalate(issue, sweep)
    except (OperationalError, InterfaceError):
        # The database cannot answer: stop here; the next sweep starts again.
        raise
    except Exception:
        logger.exception("Could not escalate issue %s", issue.pk)
        sweep.notes.clear()
        del sweep.notifications[notifications:]
        del sweep.hooks[hooks:]
        failed.add(issue.pk)
        return False
    sweep.flush(issue)
    return True


# The escalation state of a batch's issues, in one statement of constant text: a column's values
# go as one array (the ORM's bulk_update builds a CASE per column and row, which took longer than
# everything else the sweep does). The two array columns go as their text, cast back per row.
_STATE_SQL = f"""
    UPDATE {Issue._meta.db_table} AS i
    SET next_escalation_at = v.next_at, escalation_plan = v.plan, escalation_round = v.round,
        escalation_done = v.done::smallint[], escalation_warned = v.warned::varchar(40)[]
    FROM unnest(%b::bigint[], %b::timestamptz[], %b::jsonb[], %b::smallint[], %b::text[],
                %b::text[]) AS v (id, next_at, plan, round, done, warned)
    WHERE i.id = v.id
"""


def _array_text(values: list[Any]) -> str:
    """A PostgreSQL array literal of numbers or of keys made of letters, digits and colons."""
    return "{" + ",".join(f'"{value}"' for value in values) + "}"


# Each issue's entry on its timeline: what this sweep did, for the support team.
_EVENTS_SQL = unnest_insert(
    IssueEvent,
    ("issue_id", "body"),
    constants={"at": "%s", "kind": "%s", "old": "''", "new": "''", "internal": "true"},
)


def _write(issues: list[Issue], sweep: _Sweep) -> None:
    """Everything the batch decided, in its transaction: the issues' state, their events, and
    their notifications (a dedupe key already taken writes nothing)."""
    plan = Issue._meta.get_field("escalation_plan")
    # Bound on the server, the arrays in binary (%b): see outbox.notify_many.
    with prepared_cursor() as cursor:
        if issues:
            cursor.execute(
                _STATE_SQL,
                [
                    [issue.pk for issue in issues],
                    [issue.next_escalation_at for issue in issues],
                    [plan.get_db_prep_save(issue.escalation_plan, connection) for issue in issues],
                    [issue.escalation_round for issue in issues],
                    [_array_text(issue.escalation_done) for issue in issues],
                    [_array_text(issue.escalation_warned) for issue in issues],
                ],
            )
        if sweep.events:
            issue_ids, bodies = zip(*sweep.events, strict=True)
            cursor.execute(
                _EVENTS_SQL,
                [sweep.now, IssueEvent.Kind.ESCALATION.value, list(issue_ids), list(bodies)],
            )
    outbox.notify_many(sweep.notifications)
    webhooks.emit_many(sweep.hooks)
    sweep.events.clear()
    sweep.notifications.clear()
    sweep.hooks.clear()


def _escalate(issue: Issue, sweep: _Sweep) -> None:
    targets = sweep.sla(issue)
    now = sweep.now
    if issue.is_open and issue.sla_paused_at is None and targets is not None:
        _warn(issue, targets, sweep)
        start = escalation_start(issue)
        if issue.escalation_plan is None and start is not None and start <= now:
            issue.escalation_plan = sweep.plan(issue)
            issue.escalation_round += 1
            issue.escalation_done = []
            name = issue.escalation_plan["name"]
            sweep.event(
                issue,
                f"Escalation started (round {issue.escalation_round}): the "
                f"{'response' if start == issue.respond_by else 'resolution'} target was missed. "
                + (f"Path {name}." if name else "No escalation path applies."),
            )
        # A round someone acknowledged from a message performs no more steps.
        steps = plan_steps(issue.escalation_plan) if issue.escalation_stopped_at is None else []
        due = [
            step
            for step, at in step_times(issue, steps)
            if at is not None and at <= now and step.position not in issue.escalation_done
        ]
        reached = [(step, *_recipients(issue, step, sweep)) for step in due]
        # Levels due together (after an outage, or steps without a wait) are all performed, but
        # someone named on several is told once, of the highest that can reach them.
        highest = {
            recipient.key: step.position
            for step, recipients, _ in reached
            for recipient in recipients
            if any(recipient.address(channel) is not None for channel in step.channels)
        }
        for step, recipients, notes in reached:
            _perform(issue, step, recipients, notes, sweep, highest)
        issue.escalation_done = [*issue.escalation_done, *(step.position for step in due)]
    issue.next_escalation_at = next_escalation_time(
        issue, targets.warn_at if targets is not None else None
    )


def _warn(issue: Issue, targets: SlaTargets, sweep: _Sweep) -> None:
    """Warn the people on the issue at the latest warning point reached of each target; earlier
    points passed meanwhile (an outage) are marked done without a message of their own."""
    due = [w for w in warnings_of(issue, targets.warn_at) if w.key not in issue.escalation_warned]
    due = [w for w in due if w.at <= sweep.now]
    latest: dict[str, WarningPoint] = {}
    for warning in due:
        if warning.target not in latest or warning.percent > latest[warning.target].percent:
            latest[warning.target] = warning
    for warning in latest.values():
        missed = warning.percent >= 100
        due_at = _clock(issue, warning.target_at)
        if missed and issue.assignee is None:
            # Nobody has it: the escalation path's first step tells its tier, not a warning too.
            sweep.event(
                issue,
                f"Warning: {issue.code} missed its {warning.target} target (due {due_at}) "
                "and nobody has it: its escalation path tells the tier.",
            )
            continue
        told = _warning_recipients(issue, sweep)
        if missed:
            what = f"missed its {warning.target} target"
        else:
            what = f"has used {warning.percent}% of its {warning.target} time"
        subject = f"{issue.code} {what}: {issue.title}"
        body = f"{issue.priority} · {issue.unit} · {warning.target.capitalize()} due {due_at}."
        names = [
            recipient.name
            for recipient in told
            if sweep.notify(
                issue,
                recipient,
                Notification.Channel.IN_APP,
                dedupe_key=f"warning:{issue.pk}:{warning.key}:{recipient.key}",
                subject=subject,
                body=body,
            )
        ]
        sweep.event(
            issue,
            f"Warning: {issue.code} {what} (due {due_at}). "
            + (f"Told {', '.join(names)} in the app." if names else "Nobody to tell in the app."),
        )
    issue.escalation_warned = [*issue.escalation_warned, *(w.key for w in due)]


def _clock(issue: Issue, when: dt.datetime) -> str:
    """A time as the go-live's people read it: in its own zone (a worker has no request to take
    the zone from)."""
    return f"{timezone.localtime(when, issue.go_live.tzinfo):%H:%M}"


def _warning_recipients(issue: Issue, sweep: _Sweep) -> list[Recipient]:
    """The assignee; for an unassigned issue, its tier's people on shift nearest to it."""
    if issue.assignee is not None:
        return [Recipient.for_user(issue.assignee)]
    rows = sweep.reach(issue)
    row = next((r for r in rows if r.tier.pk == issue.tier_id), rows[0] if rows else None)
    return _people(row, issue.unit) if row is not None else []


def _people(row: TierReach, unit: Unit) -> list[Recipient]:
    """The tier's people on shift nearest the unit (its list is nearest first)."""
    return [
        Recipient(
            key=f"person{entry.person.id}",
            name=entry.person.name,
            user_id=entry.person.user_id,
            email=entry.person.email,
            sms=entry.person.sms_number,
        )
        for entry in row.people[:TIER_PEOPLE]
    ]


def _contacts(contacts: Iterable[Contact]) -> list[Recipient]:
    return [
        Recipient(
            key=f"contact{contact.pk}",
            name=contact.name,
            user_id=None,
            email=contact.email,
            sms=contact.sms_number,
        )
        for contact in contacts
    ]


def _recipients(issue: Issue, step: PlanStep, sweep: _Sweep) -> tuple[list[Recipient], list[str]]:
    """Whom the step tells: its tier's people and contacts (or those of the next tier anyone can
    be reached in, the command center alerted of the gap) and its named contacts; and the notes
    for the timeline."""
    notes: list[str] = []
    recipients: list[Recipient] = []
    if step.tier_id is not None:
        rows = sweep.reach(issue)
        index = next((i for i, r in enumerate(rows) if r.tier.pk == step.tier_id), None)
        reached = None
        if index is not None:
            reached = next((r for r in rows[index:] if r.reachable), None)
        if reached is None or reached.tier.pk != step.tier_id:
            _coverage_gap(issue, step, reached.tier if reached else None, sweep)
            notes.append(
                f"Nobody in {step.tier_name} could be reached"
                + (f"; moved on to {reached.tier.name}" if reached else "; nor in any later tier")
                + "; the command center was alerted."
            )
        if reached is not None:
            recipients += _people(reached, issue.unit) + _contacts(reached.contacts)
    named = [c for pk in step.contact_ids if (c := sweep.contact(pk)) is not None]
    return recipients + _contacts(named), notes


def _perform(
    issue: Issue,
    step: PlanStep,
    recipients: list[Recipient],
    notes: list[str],
    sweep: _Sweep,
    highest: dict[str, int],
) -> None:
    """Tell the recipients on each of the step's channels, but those whose `highest` level due now
    (by recipient key) is above this one; write what was done on the timeline."""
    level = step.position
    why = (
        f"not acknowledged since {_clock(issue, issue.respond_by)}"
        if step.trigger == _T.NO_RESPONSE and issue.respond_by is not None
        else f"not resolved since {_clock(issue, issue.due_at)}"
        if issue.due_at is not None
        else "past its target"
    )
    subject = f"Escalation L{level}: {issue.code} {issue.priority} {issue.title}"
    body = f"{issue.unit} · {issue.category}. {issue.code} is {why}."
    ways: dict[str, list[str]] = {}
    higher: list[str] = []
    seen: set[str] = set()
    for recipient in recipients:
        if recipient.key in seen:
            continue
        seen.add(recipient.key)
        if highest.get(recipient.key, level) > level:
            higher.append(f"{recipient.name} (L{highest[recipient.key]})")
            continue
        for channel in step.channels:
            sent = sweep.notify(
                issue,
                recipient,
                channel,
                dedupe_key=(
                    f"escalation:{issue.pk}:r{issue.escalation_round}:l{level}:"
                    f"{recipient.key}:{channel}"
                ),
                subject=subject,
                body=body,
                step=step,
            )
            if sent:
                ways.setdefault(recipient.name, []).append(_CHANNEL_WORDS[channel])
    who = "; ".join(f"{name} ({', '.join(channels)})" for name, channels in ways.items())
    said = [f"told {who}."] if who else [] if higher else ["nobody could be told."]
    if higher:
        said.append(f"Told of a higher level at once: {', '.join(higher)}.")
    sweep.hooks.append(
        webhooks.Occurrence(
            go_live_id=issue.go_live_id,
            event=WebhookEvent.ISSUE_ESCALATED,
            key=f"{issue.pk}:r{issue.escalation_round}:l{level}",
            data=webhook_data(
                issue,
                escalation={
                    "round": issue.escalation_round,
                    "level": level,
                    "trigger": step.trigger,
                    "tier": step.tier_name,
                },
            ),
            occurred_at=sweep.now,
        )
    )
    sweep.event(
        issue,
        f"Level {level} ({_T(step.trigger).label.lower()}): " + " ".join([*said, *notes]),
    )


def _coverage_gap(
    issue: Issue, step: PlanStep, instead: EscalationTier | None, sweep: _Sweep
) -> None:
    subject = f"Coverage gap: nobody in {step.tier_name} for {issue.code}"
    body = (
        f"{issue.code} ({issue.priority}, {issue.unit}) reached escalation level {step.position}, "
        f"but nobody in {step.tier_name} is on shift or in the directory for it now. "
        + (f"It went to {instead.name} instead." if instead else "Nobody in a later tier either.")
    )
    for lead in sweep.command_center(issue.go_live):
        sweep.notify(
            issue,
            lead,
            Notification.Channel.IN_APP,
            dedupe_key=(
                f"coverage_gap:{issue.pk}:r{issue.escalation_round}:l{step.position}:{lead.key}"
            ),
            subject=subject,
            body=body,
        )


# --- The auditor -----------------------------------------------------------------------------


def requeue_stuck_escalations(*, now: dt.datetime | None = None) -> int:
    """The auditor: open issues whose next escalation is more than STUCK_AFTER late (the sweep
    stopped, or keeps failing on them) are logged and escalated again here, one transaction
    each; how many were handled."""
    now = now or timezone.now()
    stuck = list(
        Issue.objects.filter(next_escalation_at__lt=now - STUCK_AFTER)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)[:STUCK_LIMIT]
    )
    if not stuck:
        return 0
    logger.warning(
        "Escalation is stuck on %d issue(s), due more than %s ago; escalating them again: %s",
        len(stuck),
        STUCK_AFTER,
        stuck[:20],
    )
    return escalate_due_issues(now=now, ids=stuck, batch=1)
