"""Staffing: the support roster, coverage requirements, shifts, assignments and what hangs off them.

Times are stored in UTC and shown in the go-live's zone. A shift's length comes from its real
instants, so a 19:00-07:00 night across a DST change lasts 11 or 13 hours.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from golive.models import Application, GoLive, Site, Unit, phone_validator, sms_validator


class SupportRole(models.TextChoices):
    SUPER_USER = "super_user", "Super user"
    AT_THE_ELBOW = "at_the_elbow", "At-the-elbow consultant"
    TRAINER = "trainer", "Credentialed trainer"
    VENDOR_CONSULTANT = "vendor_consultant", "Vendor consultant"
    ANALYST = "analyst", "Application analyst"
    HELP_DESK = "help_desk", "Help desk agent"
    TECHNICAL = "technical", "Technical / device support"
    PHYSICIAN_CHAMPION = "physician_champion", "Physician champion"
    NURSE_CHAMPION = "nurse_champion", "Nurse champion"
    COMMAND_CENTER_LEAD = "command_center_lead", "Command center lead"


HOURS_VALIDATORS = [MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("168"))]


class SupportPersonQuerySet(models.QuerySet["SupportPerson"]):
    def active(self) -> SupportPersonQuerySet:
        return self.filter(is_active=True)


class SupportPerson(models.Model):
    """Someone on the go-live's support roster. One row per go-live: consultants move between waves."""

    class Employer(models.TextChoices):
        IN_HOUSE = "in_house", "In-house"
        VENDOR = "vendor", "Vendor"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="support_people")
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=24, choices=SupportRole.choices)
    employer = models.CharField(max_length=8, choices=Employer.choices, default=Employer.IN_HOUSE)
    vendor_name = models.CharField(max_length=120, blank=True)
    skills = models.ManyToManyField(
        Application, blank=True, related_name="support_people", verbose_name="applications / skills"
    )
    home_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    home_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    sms_number = models.CharField(
        "SMS number", max_length=16, blank=True, validators=[sms_validator]
    )
    email = models.EmailField(help_text="Used to match people when a roster CSV is imported again.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_people",
        verbose_name="login",
    )
    max_hours_per_shift = models.DecimalField(
        max_digits=4, decimal_places=1, default=Decimal("12"), validators=HOURS_VALIDATORS
    )
    max_hours_per_day = models.DecimalField(
        max_digits=4, decimal_places=1, default=Decimal("12"), validators=HOURS_VALIDATORS
    )
    max_hours_per_week = models.DecimalField(
        "max hours per rolling 7 days",
        max_digits=4,
        decimal_places=1,
        default=Decimal("60"),
        validators=HOURS_VALIDATORS,
    )
    is_active = models.BooleanField("active", default=True)
    notes = models.CharField(max_length=240, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SupportPersonQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "support people"
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "go_live",
                name="supportperson_unique_email_per_golive",
                violation_error_message="Someone on this go-live's roster already has this email.",
            ),
            models.UniqueConstraint(
                fields=["go_live", "user"],
                condition=Q(user__isnull=False),
                name="supportperson_one_person_per_login",
                violation_error_message="This login already belongs to someone on the roster.",
            ),
            models.CheckConstraint(
                condition=~Q(employer="vendor") | ~Q(vendor_name=""),
                name="supportperson_vendor_has_name",
                violation_error_message="Name the vendor this person works for.",
            ),
        ]
        indexes = [models.Index(fields=["go_live", "role", "is_active"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("staffing:person_detail", args=[self.pk])

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.employer == self.Employer.VENDOR and not self.vendor_name.strip():
            errors["vendor_name"] = "Name the vendor this person works for."
        if self.home_unit_id and self.home_site_id and self.home_unit.site_id != self.home_site_id:
            errors["home_unit"] = "The home unit must belong to the home site."
        if (
            self.home_unit_id
            and self.go_live_id
            and self.home_unit.site.go_live_id != self.go_live_id
        ):
            errors["home_unit"] = "Choose a unit of this go-live."
        if (
            self.max_hours_per_day is not None
            and self.max_hours_per_shift is not None
            and self.max_hours_per_shift > self.max_hours_per_day
        ):
            errors["max_hours_per_shift"] = "A shift cannot be longer than the daily limit."
        if errors:
            raise ValidationError(errors)


class StaffingSettings(models.Model):
    """Per go-live settings of the staffing tools (created on first use with the defaults)."""

    go_live = models.OneToOneField(GoLive, on_delete=models.CASCADE, related_name="staffing")
    reminder_leads_minutes = ArrayField(
        models.PositiveIntegerField(),
        default=list,
        blank=True,
        help_text="Minutes before a shift when its people get a reminder, e.g. 720, 60.",
    )
    late_after_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="Minutes after the start before an absent person is reported late."
    )
    min_rest_hours = models.PositiveSmallIntegerField(default=10)
    # Support ratios the coverage helper proposes from (one support person per N users).
    ratio_physicians = models.PositiveSmallIntegerField("physicians per support person", default=2)
    ratio_critical_nurses = models.PositiveSmallIntegerField(
        "nurses per support person in ED/ICU/OR", default=4
    )
    ratio_other_nurses = models.PositiveSmallIntegerField(
        "other nurses per support person", default=6
    )
    ratio_clerical = models.PositiveSmallIntegerField(
        "clerical staff per support person", default=4
    )

    DEFAULT_REMINDER_LEADS = (720, 60)

    class Meta:
        verbose_name_plural = "staffing settings"

    def __str__(self) -> str:
        return f"Staffing settings of {self.go_live}"

    @classmethod
    def for_go_live(cls, go_live: GoLive) -> StaffingSettings:
        obj, _ = cls.objects.get_or_create(
            go_live=go_live, defaults={"reminder_leads_minutes": list(cls.DEFAULT_REMINDER_LEADS)}
        )
        return obj


class UnitMix(models.Model):
    """Who the end users of a unit are: the coverage helper's input for support ratios."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="mix")
    physicians = models.PositiveIntegerField(default=0)
    nurses = models.PositiveIntegerField(default=0)
    clerical = models.PositiveIntegerField(default=0)
    critical_care = models.BooleanField(
        "ED / ICU / OR", default=False, help_text="Nurses here need the tighter ratio."
    )

    def __str__(self) -> str:
        return f"Mix of {self.unit}"


class CoverageRequirement(models.Model):
    """How many people of a role a unit needs in one daily block over a range of dates."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="requirements")
    role = models.CharField(max_length=24, choices=SupportRole.choices)
    label = models.CharField(max_length=40, help_text="The block's name, e.g. Day or Night.")
    start_date = models.DateField()
    end_date = models.DateField()
    start_time = models.TimeField(help_text="Local time in the go-live's zone.")
    end_time = models.TimeField(help_text="An end at or before the start runs into the next day.")
    headcount = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    application = models.ForeignKey(
        Application,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The application people on this block must know, if one.",
    )
    allow_claim = models.BooleanField("support staff may claim open places", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["unit", "role", "start_date", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="requirement_dates_in_order",
                violation_error_message="The last day must not be before the first day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_role_display()} · {self.label}"


class ShiftQuerySet(models.QuerySet["Shift"]):
    def overlapping(self, start: dt.datetime, end: dt.datetime) -> ShiftQuerySet:
        return self.filter(start__lt=end, end__gt=start)


class Shift(models.Model):
    """A block of time on a unit that needs `needed` people of one role."""

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="shifts")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="shifts")
    role = models.CharField(max_length=24, choices=SupportRole.choices)
    label = models.CharField(max_length=40, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    needed = models.PositiveSmallIntegerField(default=1)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requirement = models.ForeignKey(
        CoverageRequirement, null=True, blank=True, on_delete=models.SET_NULL, related_name="shifts"
    )
    allow_claim = models.BooleanField("support staff may claim open places", default=False)
    # Bumped on every change people see in their calendars (iCal SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShiftQuerySet.as_manager()

    class Meta:
        ordering = ["start", "unit"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="shift_ends_after_start",
                violation_error_message="A shift must end after it starts.",
            ),
            # Generation is repeatable: one shift per requirement and start.
            models.UniqueConstraint(
                fields=["requirement", "start"],
                condition=Q(requirement__isnull=False),
                name="shift_one_per_requirement_start",
            ),
        ]
        indexes = [
            models.Index(fields=["go_live", "start"]),
            models.Index(fields=["unit", "start"]),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.start, self.go_live.tzinfo)
        return f"{self.unit.name} · {self.get_role_display()} · {local:%a %d %b %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("staffing:shift_detail", args=[self.pk])

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "A shift must end after it starts."})

    @property
    def hours(self) -> float:
        # In UTC: Python subtracts two datetimes of one ZoneInfo as wall-clock times, which
        # would make a night across a DST change last 12 h instead of 11 or 13.
        return (self.end.astimezone(dt.UTC) - self.start.astimezone(dt.UTC)).total_seconds() / 3600


ACTIVE_STATUSES = ("scheduled", "confirmed", "checked_in")


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def active(self) -> AssignmentQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class Assignment(models.Model):
    """A person on a shift. Active assignments of one person never overlap (PostgreSQL says so)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="assignments")
    person = models.ForeignKey(SupportPerson, on_delete=models.CASCADE, related_name="assignments")
    # A copy of the shift's [start, end): the exclusion constraint cannot reach through a join.
    period = DateTimeRangeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    override_reason = models.CharField(
        max_length=240, blank=True, help_text="Why soft warnings were overridden."
    )
    warnings = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    late_at = models.DateTimeField(null=True, blank=True, help_text="When reported late.")
    # Sweeps: the next reminder due, and when to check for a late arrival (partial indexes).
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    late_check_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(default=0)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["shift__start", "person__name"]
        constraints = [
            ExclusionConstraint(
                name="assignment_no_overlap_per_person",
                expressions=[("person", RangeOperators.EQUAL), ("period", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES),
                violation_error_message="This person already works a shift at that time.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_reminder_at"],
                condition=Q(next_reminder_at__isnull=False),
                name="assignment_reminder_due_idx",
            ),
            models.Index(
                fields=["late_check_at"],
                condition=Q(late_check_at__isnull=False),
                name="assignment_late_check_idx",
            ),
            models.Index(fields=["person", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.shift}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ShiftEvent(models.Model):
    """Append-only audit of a shift and its assignments: who did what, when, from what to what."""

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="events")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32)
    old = models.CharField(max_length=240, blank=True)
    new = models.CharField(max_length=240, blank=True)
    note = models.CharField(max_length=240, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["shift", "at"])]

    def __str__(self) -> str:
        return f"{self.action} on {self.shift_id} at {self.at:%Y-%m-%d %H:%M}"


class Unavailability(models.Model):
    """A window in which a person cannot work (leave, travel, another commitment)."""

    person = models.ForeignKey(
        SupportPerson, on_delete=models.CASCADE, related_name="unavailabilities"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["start"]
        verbose_name_plural = "unavailabilities"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="unavailability_ends_after_start",
                violation_error_message="The window must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} unavailable from {self.start:%Y-%m-%d %H:%M}"


class ShiftRequest(models.Model):
    """A support person asks to drop a shift or swap it with someone; a manager decides."""

    class Kind(models.TextChoices):
        DROP = "drop", "Drop"
        SWAP = "swap", "Swap"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a manager"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        WITHDRAWN = "withdrawn", "Withdrawn"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    swap_with = models.ForeignKey(
        SupportPerson,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Who would take the shift (swap only).",
    )
    reason = models.CharField(max_length=240, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=240, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(status="pending"),
                name="shiftrequest_one_pending_per_assignment",
                violation_error_message="This shift already has a request waiting for a manager.",
            ),
            models.CheckConstraint(
                condition=Q(kind="drop", swap_with__isnull=True)
                | Q(kind="swap", swap_with__isnull=False),
                name="shiftrequest_swap_names_a_person",
                violation_error_message="A swap names the person who would take the shift.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request for {self.assignment}"


def new_token() -> str:
    return secrets.token_urlsafe(24)


class ShareLink(models.Model):
    """A secret, revocable URL: a calendar feed (person or unit) or a wall-screen board."""

    class Kind(models.TextChoices):
        PERSON_FEED = "person_feed", "Calendar feed of a person"
        UNIT_FEED = "unit_feed", "Calendar feed of a unit"
        BOARD = "board", "Who's-on-now board"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="share_links")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    person = models.ForeignKey(
        SupportPerson, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="person_feed", person__isnull=False)
                | Q(kind="unit_feed", unit__isnull=False)
                | Q(kind="board"),
                name="sharelink_names_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class RosterImport(models.Model):
    """One uploaded roster CSV: checked row by row, then imported all or nothing."""

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking"
        READY = "ready", "Ready to import"
        INVALID = "invalid", "Has errors"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="roster_imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=200)
    content = models.TextField(help_text="The uploaded CSV, decoded as UTF-8.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    # [{"line": 7, "column": "email", "message": "..."}]
    errors = models.JSONField(default=list, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class AutoFillRun(models.Model):
    """One auto-fill: a proposal computed by a worker, reviewed, then published or discarded."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PROPOSED = "proposed", "Proposal ready"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        DISCARDED = "discarded", "Discarded"
        FAILED = "failed", "Failed"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="autofill_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    start_date = models.DateField()
    end_date = models.DateField()
    units = models.ManyToManyField(Unit, blank=True, related_name="+")
    roles = ArrayField(models.CharField(max_length=24), default=list, blank=True)
    respect_soft_rules = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # [{"shift": 12, "missing": 1, "reasons": ["..."]}]
    unfilled = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Proposals on the schedule once published, and the ones it no longer allowed:
    # [{"shift": 12, "person": 34, "message": "...", "text": "4 West Day Wed 4 Nov — Ann: ..."}]
    published_count = models.PositiveIntegerField(default=0)
    publish_failures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="autofill_dates_in_order",
                violation_error_message="The last day must not be before the first day.",
            ),
        ]

    def __str__(self) -> str:
        return f"Auto-fill {self.start_date}–{self.end_date} ({self.get_status_display()})"


class AutoFillProposal(models.Model):
    run = models.ForeignKey(AutoFillRun, on_delete=models.CASCADE, related_name="proposals")
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(SupportPerson, on_delete=models.CASCADE, related_name="+")
    warnings = ArrayField(models.CharField(max_length=32), default=list, blank=True)

    class Meta:
        ordering = ["shift__start", "shift__unit", "person__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "shift", "person"], name="autofill_one_proposal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} for {self.shift}"
