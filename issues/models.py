"""The issue log: what floor staff report, how it is triaged, and the audit trail of every change."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from golive.models import Application, EscalationTier, GoLive, Site, Unit, phone_validator
from staffing.models import SupportRole


class Impact(models.TextChoices):
    ONE_USER = "one_user", "One person"
    SEVERAL = "several", "Several people"
    UNIT = "unit", "The whole unit or site"


class Urgency(models.TextChoices):
    BLOCKED = "blocked", "Patient care is blocked"
    WORKAROUND = "workaround", "There is a workaround"
    QUESTION = "question", "It is a question"


class Priority(models.TextChoices):
    P1 = "P1", "P1 · critical"
    P2 = "P2", "P2 · high"
    P3 = "P3", "P3 · medium"
    P4 = "P4", "P4 · low"


# The usual go-live matrix; each go-live can edit its own copy (PriorityRule).
DEFAULT_MATRIX: dict[tuple[str, str], str] = {
    (Impact.UNIT, Urgency.BLOCKED): Priority.P1,
    (Impact.SEVERAL, Urgency.BLOCKED): Priority.P1,
    (Impact.ONE_USER, Urgency.BLOCKED): Priority.P2,
    (Impact.UNIT, Urgency.WORKAROUND): Priority.P2,
    (Impact.SEVERAL, Urgency.WORKAROUND): Priority.P3,
    (Impact.ONE_USER, Urgency.WORKAROUND): Priority.P3,
    (Impact.UNIT, Urgency.QUESTION): Priority.P3,
    (Impact.SEVERAL, Urgency.QUESTION): Priority.P4,
    (Impact.ONE_USER, Urgency.QUESTION): Priority.P4,
}

# A new go-live's service levels (24x7 clock): (first response, resolution) per priority. Each
# go-live edits its own (SlaPolicy); enhancement requests have none.
DEFAULT_SLA: dict[str, tuple[dt.timedelta, dt.timedelta]] = {
    Priority.P1: (dt.timedelta(minutes=15), dt.timedelta(hours=4)),
    Priority.P2: (dt.timedelta(minutes=30), dt.timedelta(hours=8)),
    Priority.P3: (dt.timedelta(hours=2), dt.timedelta(hours=24)),
    Priority.P4: (dt.timedelta(hours=4), dt.timedelta(hours=72)),
}
DEFAULT_SLA_WARNINGS = [50, 100]

# Who takes a tier's new issues when nobody chose: the first line is the help desk and the floor
# support, later tiers the application experts.
DEFAULT_ASSIGN_ROLES: dict[int, list[str]] = {
    1: [
        SupportRole.HELP_DESK,
        SupportRole.SUPER_USER,
        SupportRole.AT_THE_ELBOW,
        SupportRole.TECHNICAL,
    ],
    2: [SupportRole.ANALYST, SupportRole.VENDOR_CONSULTANT],
}
LATER_TIER_ROLES: list[str] = [SupportRole.ANALYST, SupportRole.VENDOR_CONSULTANT]

DEFAULT_CATEGORIES: list[tuple[str, bool]] = [
    ("Login / access", False),
    ("Hardware / device", False),
    ("Printing / labels", False),
    ("Workflow / how-to", False),
    ("Build / configuration", False),
    ("Orders / results", False),
    ("Medication / pharmacy / eMAR", False),
    ("Registration / scheduling / ADT", False),
    ("Data conversion", False),
    ("Interfaces", False),
    ("Documentation", False),
    ("Charging / revenue", False),
    ("Performance / downtime", False),
    ("Enhancement request", True),
]


class Category(models.Model):
    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="issue_categories")
    name = models.CharField(max_length=60)
    is_enhancement = models.BooleanField(
        "enhancement request", default=False, help_text="Enhancement requests have no SLA."
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["go_live", "name"], name="category_unique_per_golive"),
        ]

    def __str__(self) -> str:
        return self.name


class PriorityRule(models.Model):
    """One cell of a go-live's impact x urgency -> priority matrix."""

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="priority_rules")
    impact = models.CharField(max_length=10, choices=Impact.choices)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)

    class Meta:
        ordering = ["impact", "urgency"]
        constraints = [
            models.UniqueConstraint(
                fields=["go_live", "impact", "urgency"], name="priorityrule_one_per_cell"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_impact_display()} + {self.get_urgency_display()} = {self.priority}"


def _default_warnings() -> list[int]:
    return list(DEFAULT_SLA_WARNINGS)


class SlaPolicy(models.Model):
    """A priority's service level: how soon an issue must be acknowledged (first response) and
    resolved, when to warn (percentages of the time allowed), and whether the clock stops while
    the help desk waits on the reporter.

    Each go-live has one per priority; a policy may be narrowed to a category, a site or both, and
    the most specific one that matches an issue applies (category and site, category, site, none).
    """

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="sla_policies")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    response = models.DurationField("first response within")
    resolution = models.DurationField("resolution within")
    warn_at = ArrayField(
        models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)]),
        default=_default_warnings,
        blank=True,
        help_text="Warn when this share of the time allowed has passed (percent).",
    )
    pause_while_waiting = models.BooleanField(
        "clock stops while waiting on the reporter", default=True
    )

    class Meta:
        ordering = ["priority", "category", "site"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["go_live", "priority", "category", "site"],
                nulls_distinct=False,
                name="slapolicy_one_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(response__gt=dt.timedelta(0)) & Q(resolution__gte=F("response")),
                name="slapolicy_targets_in_order",
                violation_error_message="The resolution target cannot come before the response.",
            ),
        ]

    def __str__(self) -> str:
        scope = " · ".join(str(part) for part in (self.category, self.site) if part is not None)
        return f"{self.priority}{f' ({scope})' if scope else ''}"


class EscalationPathQuerySet(models.QuerySet["EscalationPath"]):
    def applying_to(
        self,
        *,
        go_live_id: int,
        priority: str,
        category_id: int | None,
        application_id: int | None,
        site_id: int,
    ) -> EscalationPath | None:
        """The most specific path for an issue of this kind (by category, then application, then
        site), else the priority's own; None if the go-live has none."""
        return most_specific_path(
            self.filter(go_live_id=go_live_id, priority=priority),
            category_id=category_id,
            application_id=application_id,
            site_id=site_id,
        )


def most_specific_path(
    paths: Iterable[EscalationPath],
    *,
    category_id: int | None,
    application_id: int | None,
    site_id: int,
) -> EscalationPath | None:
    """Of one priority's paths, the one `applying_to` means: every scope it names matches, and it
    names the category, else the application, else the site (the escalation sweep chooses among
    paths it read once)."""
    matching = [
        path
        for path in paths
        if path.category_id in (None, category_id)
        and path.application_id in (None, application_id)
        and path.site_id in (None, site_id)
    ]
    return max(
        matching,
        key=lambda path: (
            path.category_id is not None,
            path.application_id is not None,
            path.site_id is not None,
        ),
        default=None,
    )


class EscalationPath(models.Model):
    """Whom to tell, in order, about an issue of a priority that misses its service level.

    One per priority; a path may be narrowed to a category, an application or a site, and the most
    specific one that matches an issue applies (category, then application, then site). Its steps
    run while the issue is still not acknowledged (counted from the missed response time) or
    still not resolved (from the missed resolution time).
    """

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="escalation_paths")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    objects = EscalationPathQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "category", "application", "site"]
        constraints = [
            models.UniqueConstraint(
                fields=["go_live", "priority", "category", "application", "site"],
                nulls_distinct=False,
                name="escalationpath_one_per_scope",
            ),
        ]

    def __str__(self) -> str:
        parts = (self.category, self.application, self.site)
        scope = " · ".join(str(part) for part in parts if part is not None)
        return f"{self.priority}{f' ({scope})' if scope else ''}"


class EscalationStep(models.Model):
    """One step of a path: who is told, how, and how long after the step before it."""

    class Trigger(models.TextChoices):
        NO_RESPONSE = "no_response", "Still not acknowledged"
        UNRESOLVED = "unresolved", "Still not resolved"

    class Channel(models.TextChoices):
        IN_APP = "in_app", "In the app"
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    path = models.ForeignKey(EscalationPath, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    # After the step before it of the same trigger; the first counts from the missed target and
    # may be zero ("at once").
    wait = models.DurationField()
    # A tier (its people on shift now and its directory contacts), or named contacts, or both.
    tier = models.ForeignKey(
        EscalationTier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contacts = models.ManyToManyField("golive.Contact", blank=True, related_name="+")
    channels = ArrayField(models.CharField(max_length=8, choices=Channel.choices))

    class Meta:
        ordering = ["path", "position"]
        constraints = [
            models.UniqueConstraint(fields=["path", "position"], name="escalationstep_position"),
            models.CheckConstraint(
                condition=Q(wait__gte=dt.timedelta(0)), name="escalationstep_wait_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(channels__len__gt=0), name="escalationstep_has_a_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.path} step {self.position}"


class IssueSettings(models.Model):
    """How a go-live routes its new issues."""

    go_live = models.OneToOneField(GoLive, on_delete=models.CASCADE, related_name="issue_settings")
    auto_assign = models.BooleanField(
        "assign new issues automatically",
        default=True,
        help_text="To the checked-in person on shift with the fewest open issues.",
    )
    assignee_cap = models.PositiveSmallIntegerField(
        "most open issues per person",
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Auto-assignment never gives anyone more open issues than this.",
    )

    class Meta:
        verbose_name_plural = "issue settings"

    def __str__(self) -> str:
        return f"Issue settings of {self.go_live}"


class AssignmentRule(models.Model):
    """Which support roles take the new issues of one tier."""

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="assignment_rules")
    tier = models.ForeignKey(EscalationTier, on_delete=models.CASCADE, related_name="+")
    roles = ArrayField(
        models.CharField(max_length=32, choices=SupportRole.choices),
        default=list,
        blank=True,
        help_text="Nobody in these roles on shift and checked in: the issue waits in the queue.",
    )

    class Meta:
        ordering = ["tier__level"]
        constraints = [
            models.UniqueConstraint(fields=["go_live", "tier"], name="assignmentrule_one_per_tier"),
        ]

    def __str__(self) -> str:
        return f"{self.tier}: {', '.join(self.roles) or 'nobody'}"


# A tablet's "last used" is written at most this often, so browsing costs no write per request.
TABLET_LAST_USED_EVERY = dt.timedelta(minutes=1)


class UnitTablet(models.Model):
    """A shared device on a unit, enrolled by a manager with a one-time link: no personal login.

    Only hashes are stored. The enrollment code is shown once (link and QR code) and works once;
    the device then keeps a secret in a long-lived cookie, and revoking the tablet makes it
    worthless at once.
    """

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="tablets")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="tablets")
    label = models.CharField(
        max_length=60, help_text="Where the tablet lives, e.g. the nurses' station."
    )
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField()
    secret_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["unit__name", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["code_hash"], condition=~Q(code_hash=""), name="tablet_unique_code"
            ),
            models.UniqueConstraint(
                fields=["secret_hash"], condition=~Q(secret_hash=""), name="tablet_unique_secret"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.label}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IssueCounter(models.Model):
    """The last issue number of a go-live; written only by issues.services.create_issue."""

    go_live = models.OneToOneField(GoLive, on_delete=models.CASCADE, related_name="issue_counter")
    last_number = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.go_live}: {self.last_number}"


# Issue's optional references, each indexed where set (see Issue.Meta.indexes).
_SET_ONLY = [
    ("application", "issue_application_idx"),
    ("reporter_user", "issue_reporter_user_idx"),
    ("assignee", "issue_assignee_idx"),
    ("tier", "issue_tier_idx"),
    ("parent", "issue_parent_idx"),
    ("reporter_tablet", "issue_reporter_tablet_idx"),
]


class Issue(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING_REPORTER = "waiting_reporter", "Waiting on the reporter"
        WAITING_VENDOR = "waiting_vendor", "Waiting on the vendor"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Link(models.TextChoices):
        DUPLICATE = "duplicate", "Duplicate of"
        PART_OF = "part_of", "Part of"

    # No index of its own: every index below that needs it starts with it (and each insert pays
    # for every index the table has).
    go_live = models.ForeignKey(
        GoLive, on_delete=models.CASCADE, related_name="issues", db_index=False
    )
    number = models.PositiveIntegerField()
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="issues")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="issues")
    location_detail = models.CharField("room / workstation / device", max_length=120, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="issues")
    application = models.ForeignKey(
        Application,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issues",
        db_index=False,
    )
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=4000, blank=True)
    impact = models.CharField(max_length=10, choices=Impact.choices)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    patient_safety = models.BooleanField(
        "patient safety", default=False, help_text="Forces P1 and tells the leadership line."
    )
    workaround_in_use = models.BooleanField(default=False)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_issues",
        db_index=False,
    )
    reporter_name = models.CharField(max_length=120, blank=True)
    reporter_callback = models.CharField(
        "callback number", max_length=32, blank=True, validators=[phone_validator]
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_issues",
        db_index=False,
    )
    # When the current assignee was given it: routing gives the next issue, among people with
    # as few open issues, to whoever got one longest ago.
    assigned_at = models.DateTimeField(null=True, blank=True)
    tier = models.ForeignKey(
        EscalationTier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issues",
        db_index=False,
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        db_index=False,
    )
    parent_link = models.CharField(max_length=10, choices=Link.choices, blank=True)
    resolution = models.TextField(max_length=4000, blank=True)
    external_ref = models.CharField("external ticket", max_length=64, blank=True)
    # The key the intake form was opened with: a double tap or a resend returns the same issue.
    client_key = models.CharField(max_length=64, blank=True)
    reporter_tablet = models.ForeignKey(
        UnitTablet,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issues",
        db_index=False,
    )
    # Its service level (SlaPolicy), as times: acknowledged by `respond_by`, resolved by `due_at`
    # (none for enhancement requests). While the clock is stopped (waiting on the reporter)
    # `sla_paused_at` says since when; on resuming, the time stopped moves `due_at` on and is added
    # to `sla_paused_for`, which a priority change keeps.
    respond_by = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_for = models.DurationField(default=dt.timedelta(0))
    # Escalation (issues/escalation.py): when the sweep must next look at the issue (a warning or
    # a step due), none when nothing is left to do. When a target is first missed the issue keeps
    # a snapshot of its escalation path (`escalation_plan`, one `escalation_round` per snapshot),
    # so editing a path never changes an issue already escalating; `escalation_done` holds the
    # positions of the steps performed and `escalation_warned` the warnings sent. Someone who
    # acknowledges a "still not resolved" message stops the rest of its round
    # (`escalation_stopped_at`; "still not acknowledged" steps stop with the issue's first response).
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    escalation_plan = models.JSONField(null=True, blank=True)
    escalation_round = models.PositiveSmallIntegerField(default=0)
    escalation_done = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    escalation_warned = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    escalation_stopped_at = models.DateTimeField(null=True, blank=True)
    # Still to be offered to auto-assignment (a task after commit, a sweep if the broker was down).
    routing_pending = models.BooleanField(default=True)
    # Bumped on every change, so a form opened before someone else's change is refused as stale.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Computed by PostgreSQL on every write (title weighs more than the description).
    search = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("description", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["priority", F("due_at").asc(nulls_last=True), "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["go_live", "number"], name="issue_unique_number"),
            models.UniqueConstraint(
                fields=["go_live", "client_key"],
                condition=~Q(client_key=""),
                name="issue_unique_client_key",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"]) | ~Q(resolution=""),
                name="issue_resolved_has_resolution",
                violation_error_message="Say how the issue was resolved.",
            ),
            models.CheckConstraint(
                condition=Q(patient_safety=False) | Q(priority="P1"),
                name="issue_patient_safety_is_p1",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True, parent_link="")
                | Q(parent__isnull=False) & ~Q(parent_link=""),
                name="issue_parent_has_link_kind",
            ),
        ]
        indexes = [
            # The triage queue: open issues of a go-live by priority and age.
            models.Index(
                "go_live",
                "priority",
                F("due_at").asc(nulls_last=True),
                "created_at",
                condition=~Q(status__in=["resolved", "closed"]),
                name="issue_open_queue_idx",
            ),
            # The escalation sweep: only issues with something due, by when.
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(next_escalation_at__isnull=False),
                name="issue_escalation_due_idx",
            ),
            # The auto-assignment sweep: only issues still waiting to be routed.
            models.Index(
                fields=["created_at"], condition=Q(routing_pending=True), name="issue_routing_idx"
            ),
            # The dashboard's percentiles read the durations in order from these (an index-only
            # scan: the columns the durations are made of are included). Partial: a new issue has
            # neither time, so the intake writes no entry to them.
            *(
                models.Index(
                    F("go_live"),
                    F("priority"),
                    F(f"{done}_at") - F("created_at"),
                    include=["created_at", f"{done}_at", "site", "unit"],
                    condition=Q(**{f"{done}_at__isnull": False}),
                    name=f"issue_{done}_time_idx",
                )
                for done in ("acknowledged", "resolved")
            ),
            models.Index(fields=["go_live", "assignee", "status"]),
            # Routing's "who got an issue longest ago": each person's latest in one index probe.
            models.Index(
                fields=["go_live", "assignee", "assigned_at"],
                condition=Q(assignee__isnull=False, assigned_at__isnull=False),
                name="issue_assigned_at_idx",
            ),
            models.Index(fields=["go_live", "unit", "status"]),
            GinIndex(fields=["search"], name="issue_search_idx"),
            # Similar issues while a reporter types and the queue's search of open issues: a
            # sixth of the rows at the start of a go-live, far fewer later.
            GinIndex(
                fields=["search"],
                condition=~Q(status__in=["resolved", "closed"]),
                name="issue_open_search_idx",
            ),
            # The optional references are indexed only where set: most issues leave most of them
            # empty, and an issue logged then skips those indexes (lookups are by a value).
            *(
                models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=index)
                for name, index in _SET_ONLY
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def code(self) -> str:
        return f"GL-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status not in {self.Status.RESOLVED, self.Status.CLOSED}


class IssueReporter(models.Model):
    """Someone else who has the same problem ("this is my problem too"): told like the reporter."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="extra_reporters")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=120, blank=True)
    callback = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "user"],
                condition=Q(user__isnull=False),
                name="issuereporter_once_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.user} on {self.issue_id}"


class IssueEvent(models.Model):
    """Append-only audit of an issue: every change, comment and link, with who and when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status"
        ASSIGNEE = "assignee", "Assignee"
        PRIORITY = "priority", "Priority"
        COMMENT = "comment", "Comment"
        LINK = "link", "Link"
        REPORTER = "reporter", "Reporter added"
        TIER = "tier", "Tier"
        REFERENCE = "reference", "External ticket"
        ESCALATION = "escalation", "Escalation"

    # Indexed by (issue, at) below.
    issue = models.ForeignKey(
        Issue, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    old = models.CharField(max_length=200, blank=True)
    new = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=4000, blank=True)
    # Internal notes are for the support team; the rest the reporter may see.
    internal = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["issue", "at"]),
            # Tablets' and the system's events have no actor: only the others are indexed.
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="issueevent_actor_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.issue_id}"


class EscalationAck(models.Model):
    """What became of the acknowledge link of one escalation message (an email or an SMS to one
    recipient): the codes typed for it, and who used it, how and from where.

    The link itself is stateless (issues/acks.py): it names the message and is signed, so the
    sweep writes nothing for it. A row appears when a link is first used or given a wrong code;
    its key is the message's, so a link is used once and the codes typed for it add up.
    """

    class Via(models.TextChoices):
        SIGN_IN = "sign_in", "signed in"
        CODE = "code", "one-time code"

    # Indexed by the constraint below (it starts with the issue).
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="acks", db_index=False)
    round = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=EscalationStep.Channel.choices)
    # person<id>, contact<id> or user<id>, as in the message's dedupe key.
    recipient_key = models.CharField(max_length=40)
    # Codes typed for it, counted before each is compared: five lock it.
    code_tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    used_via = models.CharField(max_length=8, choices=Via.choices, blank=True)
    used_from = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            # One per message: the same parts as the message's dedupe key.
            models.UniqueConstraint(
                fields=["issue", "round", "level", "recipient_key", "channel"],
                name="escalationack_one_per_message",
            ),
        ]

    def __str__(self) -> str:
        return f"L{self.level} {self.get_channel_display()} to {self.recipient_key}"


def photo_path(attachment: IssuePhoto, filename: str) -> str:
    """A random name: the reporter's file name is not kept (it can hold a patient's name)."""
    return f"issues/{attachment.issue.go_live_id}/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


class IssuePhoto(models.Model):
    """A photo of the screen, checked, re-encoded without its metadata, and served only to people
    who may see the issue."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.issue_id}"


class KnownIssue(models.Model):
    """A problem the command center has published, with its workaround, for every floor to see.

    It is anchored on one issue; the other reports are linked to that issue as "part of", so
    resolving the known issue resolves them all and tells every reporter.
    """

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Being investigated"
        WORKAROUND = "workaround", "Workaround available"
        FIX_PLANNED = "fix_planned", "Fix planned"
        FIXED = "fixed", "Fixed"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="known_issues")
    issue = models.OneToOneField(Issue, on_delete=models.PROTECT, related_name="known_issue")
    title = models.CharField(max_length=120)
    problem = models.TextField(max_length=4000)
    workaround = models.TextField(max_length=4000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVESTIGATING)
    units = models.ManyToManyField(
        Unit, blank=True, related_name="known_issues", help_text="None chosen: every unit."
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    fixed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    search = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("problem", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["go_live", "status", "-updated_at"]),
            GinIndex(fields=["search"], name="knownissue_search_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """A queue filter someone named, to open again with one click."""

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queue_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500, help_text="The queue's filter, as its query string.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["go_live", "user", "name"], name="savedview_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
