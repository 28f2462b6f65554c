"""When an issue's escalation next wants attention, worked out from the issue alone: its targets
(`respond_by`, `due_at`), whether it is acknowledged, open or paused, the warnings sent
(`escalation_warned`), and its snapshot of its escalation path (`escalation_plan`) with the steps
performed (`escalation_done`).

A step of trigger "no response" falls due at `respond_by` plus the waits of the steps of that
trigger up to it, and never once the issue is acknowledged; an "unresolved" step counts from
`due_at`. Before any target is missed there is no snapshot: the escalation starts at the first
missed target, from the path that applies then. `services._record` sets `next_escalation_at`
from here on every change; the sweep (issues/escalation.py) does the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from issues.models import EscalationPath, EscalationStep, Issue

_T = EscalationStep.Trigger


# --- The plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanStep:
    """One step of an issue's snapshot of its escalation path."""

    position: int
    trigger: str
    wait: dt.timedelta
    tier_id: int | None
    tier_name: str
    contact_ids: tuple[int, ...]
    channels: tuple[str, ...]

    @property
    def trigger_label(self) -> str:
        return _T(self.trigger).label

    @property
    def channel_labels(self) -> str:
        return ", ".join(EscalationStep.Channel(c).label.lower() for c in self.channels)

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "trigger": self.trigger,
            "wait": int(self.wait.total_seconds()),
            "tier": self.tier_id,
            "tier_name": self.tier_name,
            "contacts": list(self.contact_ids),
            "channels": list(self.channels),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanStep:
        return cls(
            position=int(data["position"]),
            trigger=str(data["trigger"]),
            wait=dt.timedelta(seconds=int(data["wait"])),
            tier_id=data["tier"],
            tier_name=str(data["tier_name"]),
            contact_ids=tuple(data["contacts"]),
            channels=tuple(data["channels"]),
        )


def snapshot(path: EscalationPath) -> dict[str, Any]:
    """The path as an issue keeps it: its steps with their tier and contacts, by position."""
    steps = path.steps.select_related("tier").prefetch_related("contacts").order_by("position")
    return {
        "path": path.pk,
        "name": str(path),
        "steps": [
            PlanStep(
                position=step.position,
                trigger=step.trigger,
                wait=step.wait,
                tier_id=step.tier_id,
                tier_name=step.tier.name if step.tier is not None else "",
                contact_ids=tuple(contact.pk for contact in step.contacts.all()),
                channels=tuple(step.channels),
            ).as_json()
            for step in steps
        ],
    }


def path_for(issue: Issue) -> EscalationPath | None:
    return EscalationPath.objects.applying_to(
        go_live_id=issue.go_live_id,
        priority=issue.priority,
        category_id=issue.category_id,
        application_id=issue.application_id,
        site_id=issue.site_id,
    )


def plan_steps(plan: dict[str, Any] | None) -> list[PlanStep]:
    return [PlanStep.from_json(step) for step in (plan or {}).get("steps", [])]


def step_times(issue: Issue, steps: list[PlanStep]) -> list[tuple[PlanStep, dt.datetime | None]]:
    """When each step falls due: its trigger's missed target plus the waits of that trigger's
    steps up to it; None for a "no response" step once the issue is acknowledged."""
    elapsed = {_T.NO_RESPONSE: dt.timedelta(0), _T.UNRESOLVED: dt.timedelta(0)}
    times: list[tuple[PlanStep, dt.datetime | None]] = []
    for step in steps:
        elapsed[step.trigger] += step.wait
        base = issue.respond_by if step.trigger == _T.NO_RESPONSE else issue.due_at
        if base is None or (step.trigger == _T.NO_RESPONSE and issue.acknowledged_at is not None):
            times.append((step, None))
        else:
            times.append((step, base + elapsed[step.trigger]))
    return times


@dataclass(frozen=True)
class WarningPoint:
    """A point of a running target at which the people on the issue are warned."""

    key: str
    at: dt.datetime
    target: str  # "response" or "resolution"
    percent: int
    target_at: dt.datetime


def warnings_of(issue: Issue, warn_at: Iterable[int]) -> list[WarningPoint]:
    """Each warning point of the targets still running (the response until acknowledged). A key
    names the target's time, so a target that moves (a pause, a new priority) warns again."""
    targets: list[tuple[str, dt.datetime]] = []
    if issue.acknowledged_at is None and issue.respond_by is not None:
        targets.append(("response", issue.respond_by))
    if issue.due_at is not None:
        targets.append(("resolution", issue.due_at))
    return [
        WarningPoint(
            key=f"{name}:{percent}:{int(target_at.timestamp())}",
            at=issue.created_at + (target_at - issue.created_at) * percent / 100,
            target=name,
            percent=percent,
            target_at=target_at,
        )
        for name, target_at in targets
        for percent in sorted(set(warn_at))
    ]


def escalation_start(issue: Issue) -> dt.datetime | None:
    """When the first target still running is missed: the escalation starts then."""
    starts = [issue.due_at] if issue.due_at is not None else []
    if issue.acknowledged_at is None and issue.respond_by is not None:
        starts.append(issue.respond_by)
    return min(starts, default=None)


def next_escalation_time(issue: Issue, warn_at: Iterable[int] | None) -> dt.datetime | None:
    """The earliest warning or step still to do; None for an issue closed or paused, or without
    targets (`warn_at` None: an enhancement request)."""
    if not issue.is_open or issue.sla_paused_at is not None or warn_at is None:
        return None
    times = [w.at for w in warnings_of(issue, warn_at) if w.key not in issue.escalation_warned]
    if issue.escalation_plan is None:
        start = escalation_start(issue)
        times += [start] if start is not None else []
    elif issue.escalation_stopped_at is None:
        times += [
            at
            for step, at in step_times(issue, plan_steps(issue.escalation_plan))
            if at is not None and step.position not in issue.escalation_done
        ]
    return min(times, default=None)


def restart_escalation(issue: Issue) -> None:
    """Forget the snapshot, the steps done, the warnings sent and any acknowledgement of the
    round: the next missed target starts a new round, from the path that applies then."""
    issue.escalation_plan = None
    issue.escalation_done = []
    issue.escalation_warned = []
    issue.escalation_stopped_at = None


@dataclass(frozen=True)
class OutlineStep:
    step: PlanStep
    at: dt.datetime | None  # when it falls due (None: it will not, the issue is acknowledged)
    state: str  # "done", "next", "later", "skipped" or "stopped" (its round was acknowledged)


@dataclass(frozen=True)
class Outline:
    """An issue's escalation as its page shows it: the snapshot it escalates by, or, before a
    target is missed, the path that would apply now; each step with when and how it stands."""

    name: str
    escalating: bool
    round: int
    starts_at: dt.datetime | None
    stopped_at: dt.datetime | None
    steps: list[OutlineStep]


def outline(issue: Issue) -> Outline | None:
    """None for an issue without targets (an enhancement request)."""
    if issue.respond_by is None and issue.due_at is None:
        return None
    plan = issue.escalation_plan
    if plan is None:
        path = path_for(issue)
        plan = snapshot(path) if path is not None else {"name": "", "steps": []}
    timed = step_times(issue, plan_steps(plan))
    pending = [
        at for step, at in timed if at is not None and step.position not in issue.escalation_done
    ]
    stopped = issue.escalation_plan is not None and issue.escalation_stopped_at is not None
    first = min(pending, default=None) if issue.is_open and not stopped else None
    steps = []
    for step, at in timed:
        if step.position in issue.escalation_done:
            state = "done"
        elif at is None or not issue.is_open:
            state = "skipped"
        elif stopped:
            state = "stopped"
        else:
            state = "next" if at == first else "later"
        steps.append(OutlineStep(step=step, at=at, state=state))
    return Outline(
        name=str(plan.get("name", "")),
        escalating=issue.escalation_plan is not None,
        round=issue.escalation_round,
        starts_at=None if issue.escalation_plan is not None else escalation_start(issue),
        stopped_at=issue.escalation_stopped_at if stopped else None,
        steps=steps,
    )
