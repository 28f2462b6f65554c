"""The issue log: what floor staff report, how it is triaged, and the audit trail of every change."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from golive.models import Application, EscalationTier, GoLive, Site, Unit, phone_validator


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


class IssueCounter(models.Model):
    """The last issue number of a go-live; written only by issues.services._next_number."""

    go_live = models.OneToOneField(GoLive, on_delete=models.CASCADE, related_name="issue_counter")
    last_number = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.go_live}: {self.last_number}"


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

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="issues")
    number = models.PositiveIntegerField()
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="issues")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="issues")
    location_detail = models.CharField("room / workstation / device", max_length=120, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="issues")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="issues"
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
    )
    tier = models.ForeignKey(
        EscalationTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="issues"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    parent_link = models.CharField(max_length=10, choices=Link.choices, blank=True)
    resolution = models.TextField(max_length=4000, blank=True)
    external_ref = models.CharField("external ticket", max_length=64, blank=True)
    # The key the intake form was opened with: a double tap or a resend returns the same issue.
    client_key = models.CharField(max_length=64, blank=True)
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
        ordering = ["priority", "created_at"]
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
                fields=["go_live", "priority", "created_at"],
                condition=~Q(status__in=["resolved", "closed"]),
                name="issue_open_queue_idx",
            ),
            models.Index(fields=["go_live", "assignee", "status"]),
            models.Index(fields=["go_live", "unit", "status"]),
            GinIndex(fields=["search"], name="issue_search_idx"),
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
        ESCALATION = "escalation", "Escalation"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        indexes = [models.Index(fields=["issue", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.issue_id}"
