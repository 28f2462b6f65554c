"""Core models: the go-live, its sites and units, the escalation directory, memberships, the outbox,
webhooks."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from functools import cached_property

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{value}” is not a known time zone. Use a name such as America/Chicago or Europe/London."
        )


phone_validator = RegexValidator(
    r"^\+?[0-9 ()./x-]{3,32}$",
    "Enter a phone number using digits, spaces, dashes or brackets (an extension may follow “x”).",
)
sms_validator = RegexValidator(
    r"^\+[1-9][0-9]{7,14}$",
    "Enter the SMS number in international form: a plus sign and 8 to 15 digits, e.g. +13125550100.",
)


class GoLiveQuerySet(models.QuerySet["GoLive"]):
    def for_user(self, user: object) -> GoLiveQuerySet:
        """Go-lives the user is an active member of: the only ones any page may show them."""
        return self.filter(memberships__user=user, memberships__is_active=True).distinct()


class GoLive(models.Model):
    """A go-live wave: one cutover of one organization onto the new EHR."""

    class Phase(models.TextChoices):
        PLANNING = "planning", "Planning"
        LIVE = "live", "Live"
        STABILIZATION = "stabilization", "Stabilization"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=120)
    organization = models.CharField(max_length=160, help_text="The health system or clinic group.")
    cutover_at = models.DateTimeField("cutover", help_text="The moment the new system goes live.")
    support_ends_at = models.DateTimeField(
        "support window end", help_text="When go-live support (and this command center) ends."
    )
    time_zone = models.CharField(
        max_length=64, default="America/Chicago", validators=[validate_time_zone]
    )
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.PLANNING)
    command_center_phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    command_center_location = models.CharField(max_length=160, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GoLiveQuerySet.as_manager()

    class Meta:
        ordering = ["-cutover_at", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="golive_unique_name_per_organization"
            ),
            models.CheckConstraint(
                condition=Q(support_ends_at__gt=models.F("cutover_at")),
                name="golive_support_ends_after_cutover",
                violation_error_message="The support window must end after the cutover.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("golive:detail", args=[self.pk])

    def clean(self) -> None:
        if self.cutover_at and self.support_ends_at and self.support_ends_at <= self.cutover_at:
            raise ValidationError(
                {"support_ends_at": "The support window must end after the cutover."}
            )

    @cached_property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_now(self) -> dt.datetime:
        return timezone.localtime(timezone.now(), self.tzinfo)

    @property
    def file_stem(self) -> str:
        """The go-live in the name of a file downloaded from it: "mercy-wave-1-roster.csv"."""
        return slugify(self.name) or f"go-live-{self.pk}"

    def day_number(self, at: dt.datetime | None = None) -> int | None:
        """Go-live day: 1 on the cutover's local date; None before the cutover."""
        at = at or timezone.now()
        if at < self.cutover_at:
            return None
        start = timezone.localtime(self.cutover_at, self.tzinfo).date()
        return (timezone.localtime(at, self.tzinfo).date() - start).days + 1


class Site(models.Model):
    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital"
        CLINIC = "clinic", "Clinic"
        CRITICAL_ACCESS = "critical_access", "Critical-access hospital"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=120)
    code = models.SlugField(
        max_length=16, help_text="Short code shown on badges and in issue numbers, e.g. MERCY."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.HOSPITAL)
    address_line = models.CharField("address", max_length=200, blank=True)
    city = models.CharField(max_length=80, blank=True)
    region = models.CharField("state / region", max_length=80, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["go_live", "name"], name="site_unique_name_per_golive"),
            models.UniqueConstraint(fields=["go_live", "code"], name="site_unique_code_per_golive"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("golive:site_detail", args=[self.pk])

    @property
    def address(self) -> str:
        return ", ".join(
            p for p in [self.address_line, self.city, self.region, self.postal_code] if p
        )


class Unit(models.Model):
    """A department or area of a site that goes live: ED, 4 West, pharmacy, registration..."""

    class Kind(models.TextChoices):
        INPATIENT = "inpatient", "Inpatient"
        AMBULATORY = "ambulatory", "Ambulatory"
        ANCILLARY = "ancillary", "Ancillary"
        SUPPORT = "support", "Support"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="units")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INPATIENT)
    end_user_count = models.PositiveIntegerField(
        "end users going live",
        default=0,
        help_text="How many staff on this unit use the new system.",
    )
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="unit_unique_name_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.site.name} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("golive:unit_edit", args=[self.pk])


class Application(models.Model):
    """A module of the EHR being switched on (ADT/registration, orders, pharmacy/eMAR...)."""

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="applications")
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["go_live", "name"], name="application_unique_name_per_golive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EscalationTier(models.Model):
    """One level of the support structure; the leadership line is told of patient-safety events."""

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="tiers")
    level = models.PositiveSmallIntegerField(help_text="1 is the first line; higher numbers later.")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=240, blank=True)
    is_leadership = models.BooleanField(
        "leadership line",
        default=False,
        help_text="Told at once of patient-safety issues, outside the normal order.",
    )

    class Meta:
        ordering = ["is_leadership", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["go_live", "level"], name="tier_unique_level_per_golive"
            ),
            models.UniqueConstraint(
                fields=["go_live"],
                condition=Q(is_leadership=True),
                name="tier_one_leadership_line_per_golive",
                violation_error_message="This go-live already has a leadership line.",
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.is_leadership else f"Tier {self.level} · {self.name}"


class ContactQuerySet(models.QuerySet["Contact"]):
    def covering(
        self, *, unit: Unit | None = None, application: Application | int | None = None
    ) -> ContactQuerySet:
        """Contacts whose coverage includes the unit and the application (given or by id;
        None: any)."""
        qs = self.filter(is_active=True)
        if unit is not None:
            qs = qs.filter(Q(all_units=True) | Q(units=unit))
        if application is not None:
            qs = qs.filter(Q(all_applications=True) | Q(applications=application))
        return qs.distinct()


class Contact(models.Model):
    """A person or team in the escalation directory."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        TEAM = "team", "Team"

    class Employer(models.TextChoices):
        IN_HOUSE = "in_house", "In-house"
        VENDOR = "vendor", "Vendor"

    class Hours(models.TextChoices):
        ALWAYS = "always", "Always (24/7)"
        DAILY = "daily", "A daily window"

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="contacts")
    tier = models.ForeignKey(EscalationTier, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSON)
    title = models.CharField("role or title", max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    pager = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    sms_number = models.CharField(
        "SMS number", max_length=16, blank=True, validators=[sms_validator]
    )
    email = models.EmailField(blank=True)
    employer = models.CharField(max_length=8, choices=Employer.choices, default=Employer.IN_HOUSE)
    vendor_name = models.CharField(max_length=120, blank=True)
    all_applications = models.BooleanField("covers all applications", default=True)
    applications = models.ManyToManyField(Application, blank=True, related_name="contacts")
    all_units = models.BooleanField("covers all units", default=True)
    units = models.ManyToManyField(Unit, blank=True, related_name="contacts")
    hours = models.CharField(max_length=8, choices=Hours.choices, default=Hours.ALWAYS)
    window_start = models.TimeField(
        null=True, blank=True, help_text="Local time in the go-live's zone, e.g. 07:00."
    )
    window_end = models.TimeField(
        null=True, blank=True, help_text="May be earlier than the start for overnight windows."
    )
    notes = models.CharField(max_length=240, blank=True)
    is_active = models.BooleanField("active", default=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["tier__is_leadership", "tier__level", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours="always")
                | Q(window_start__isnull=False, window_end__isnull=False),
                name="contact_daily_window_has_times",
                violation_error_message="A daily window needs a start and an end time.",
            ),
            models.CheckConstraint(
                condition=~Q(employer="vendor") | ~Q(vendor_name=""),
                name="contact_vendor_has_name",
                violation_error_message="Name the vendor this contact works for.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.hours == self.Hours.DAILY:
            if self.window_start is None:
                errors["window_start"] = "Give the time the daily window starts."
            if self.window_end is None:
                errors["window_end"] = "Give the time the daily window ends."
            if self.window_start is not None and self.window_start == self.window_end:
                errors["window_end"] = (
                    "Start and end are the same; choose “Always” for round-the-clock cover."
                )
        if self.employer == self.Employer.VENDOR and not self.vendor_name.strip():
            errors["vendor_name"] = "Name the vendor this contact works for."
        if not (self.phone or self.pager or self.sms_number or self.email):
            errors["phone"] = (
                "Give at least one way to reach this contact: phone, pager, SMS or email."
            )
        if self.go_live_id and self.tier_id and self.tier.go_live_id != self.go_live_id:
            errors["tier"] = "Choose a tier of this go-live."
        if errors:
            raise ValidationError(errors)

    def is_available_at(self, at: dt.datetime) -> bool:
        """Whether the contact's hours cover the instant `at` (in the go-live's time zone)."""
        if self.hours == self.Hours.ALWAYS:
            return True
        assert self.window_start is not None and self.window_end is not None
        local = timezone.localtime(at, self.go_live.tzinfo).time()
        if self.window_start < self.window_end:
            return self.window_start <= local < self.window_end
        # An overnight window (19:00-07:00) covers the evening and the early morning.
        return local >= self.window_start or local < self.window_end

    @property
    def hours_label(self) -> str:
        if self.hours == self.Hours.ALWAYS:
            return "24/7"
        assert self.window_start is not None and self.window_end is not None
        return f"{self.window_start:%H:%M}–{self.window_end:%H:%M}"


class Role(models.TextChoices):
    COMMAND_CENTER_LEAD = "command_center_lead", "Command center lead"
    CLINIC_MANAGER = "clinic_manager", "Clinic manager"
    HELP_DESK_AGENT = "help_desk_agent", "Help desk agent"
    SUPPORT_STAFF = "support_staff", "Support staff"
    FLOOR_STAFF = "floor_staff", "Floor staff"


class Membership(models.Model):
    """A user's role in one go-live. A user may belong to several go-lives (consultants move)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=24, choices=Role.choices)
    sites = models.ManyToManyField(
        Site, blank=True, related_name="+", help_text="Limit a clinic manager to these sites."
    )
    units = models.ManyToManyField(
        Unit,
        blank=True,
        related_name="+",
        help_text="Limit to these units (floor staff: home unit).",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["go_live", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "go_live"], name="membership_one_per_user_golive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.go_live}"


class AuditEntry(models.Model):
    """What a security review asks about: sign-ins (and failed ones), membership changes,
    exports and API tokens; who, when, from where. Append-only: nothing edits or deletes a row
    (golive/audit.py writes them)."""

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        LOCKED_OUT = "locked_out", "Locked out"
        SIGN_OUT = "sign_out", "Signed out"
        MEMBER_ADDED = "member_added", "Member added"
        MEMBER_CHANGED = "member_changed", "Membership changed"
        EXPORT = "export", "Exported"
        TOKEN_CREATED = "token_created", "API token made"
        TOKEN_REVOKED = "token_revoked", "API token revoked"

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=20, choices=Action.choices)
    # Who acted (for a failed sign-in: the account whose name was typed, if there is one).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The user name as typed or as it was: kept when the account is deleted later.
    username = models.CharField(max_length=150, blank=True)
    # The go-live the action was in; none for signing in and out, which are the user's.
    go_live = models.ForeignKey(
        GoLive,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_entries",
        db_index=False,
    )
    detail = models.CharField(max_length=300, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["go_live", "-at"], name="auditentry_golive_idx"),
            models.Index(fields=["user", "-at"], name="auditentry_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} · {self.username}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self, now: dt.datetime) -> ApiTokenQuerySet:
        """Tokens that still open the API: not revoked, not expired."""
        return self.filter(revoked_at=None).filter(Q(expires_at=None) | Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A key to the REST API that acts as its user, with that user's memberships and roles.

    Only a SHA-256 of the key is kept (the key is a random 32-byte secret, shown once when made);
    `prefix` lets the user tell their tokens apart. A token is revoked, never deleted, so the
    record of who made it and when stays.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(
        max_length=80, help_text="What uses it, e.g. “ServiceNow sync” or “Data warehouse”."
    )
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class WebhookEvent(models.TextChoices):
    """What a webhook endpoint may subscribe to; the value is the `event` of each delivery."""

    ISSUE_CREATED = "issue.created", "Issue created"
    ISSUE_PRIORITY_CHANGED = "issue.priority_changed", "Issue priority changed"
    ISSUE_ESCALATED = "issue.escalated", "Issue escalated"
    ISSUE_RESOLVED = "issue.resolved", "Issue resolved"
    SHIFT_GAP_OPENED = "shift.gap_opened", "Shift gap opened"


def new_webhook_secret() -> str:
    """The key a receiver checks each delivery's signature with: 32 random bytes."""
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL of another system that the command center has golive tell about events.

    The secret is kept as it is (not hashed): golive signs every delivery with it. A lead or too
    many failed deliveries in a row disable an endpoint; a lead enables it again.
    """

    go_live = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField("URL", max_length=500)
    description = models.CharField(
        max_length=120, blank=True, help_text="What receives it, e.g. “ServiceNow incident sync”."
    )
    events = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices))
    secret = models.CharField(max_length=64, default=new_webhook_secret)
    is_active = models.BooleanField("active", default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=240, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True, disabled_at__isnull=True)
                | Q(is_active=False, disabled_at__isnull=False),
                name="webhook_endpoint_disabled_has_time",
                violation_error_message="A disabled endpoint needs the time it was disabled.",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def get_absolute_url(self) -> str:
        return reverse("golive:webhook_deliveries", args=[self.pk])


class WebhookDelivery(models.Model):
    """One attempt to deliver an event to an endpoint: the endpoint's delivery log."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Kept when old outbox rows are cleared away: the log is the endpoint's history.
    notification = models.ForeignKey(
        "Notification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_attempts",
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The log page (latest first) and the endpoints list's "last delivery".
            models.Index(
                fields=["endpoint", "-attempted_at", "-id"], name="webhook_delivery_log_idx"
            ),
        ]

    def __str__(self) -> str:
        outcome = self.status_code if self.status_code is not None else self.error
        return f"{self.get_event_display()} to {self.endpoint_id}: {outcome}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class NotificationQuerySet(models.QuerySet["Notification"]):
    def due(self, now: dt.datetime) -> NotificationQuerySet:
        """Rows a delivery sweep should offer to a worker now."""
        lease = dt.timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS)
        return self.filter(
            Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Notification.Status.SENDING, claimed_at__lt=now - lease)
        )

    def in_app_for(self, user: object) -> NotificationQuerySet:
        return self.filter(channel=Notification.Channel.IN_APP, recipient_user=user)


class Notification(models.Model):
    """The outbox: one message to one recipient on one channel, written with the event causing it."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        IN_APP = "in_app", "In-app"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    go_live = models.ForeignKey(
        GoLive, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    recipient_name = models.CharField(max_length=120, blank=True)
    webhook_endpoint = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    recipient_address = models.CharField(
        max_length=254,
        blank=True,
        help_text="Email address or SMS number for people without a login.",
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="Path inside golive to open.")
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The retry sweep reads only unfinished rows: keep its index to those.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="notification_unfinished_idx",
            ),
            models.Index(
                fields=["recipient_user", "channel", "-created_at"], name="notification_inbox_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient_user__isnull=False)
                | ~Q(recipient_address="")
                | Q(webhook_endpoint__isnull=False),
                name="notification_has_recipient",
                violation_error_message="A notification needs a user, an address or an endpoint.",
            ),
            models.CheckConstraint(
                condition=~Q(channel="webhook") | Q(webhook_endpoint__isnull=False),
                name="notification_webhook_needs_endpoint",
                violation_error_message="A webhook notification needs its endpoint.",
            ),
            models.CheckConstraint(
                condition=~Q(channel="in_app") | Q(recipient_user__isnull=False),
                name="notification_in_app_needs_user",
                violation_error_message="An in-app notification needs a user.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient_label}: {self.subject}"

    @property
    def recipient_label(self) -> str:
        if self.webhook_endpoint_id is not None:
            return self.recipient_name or f"webhook endpoint {self.webhook_endpoint_id}"
        if self.recipient_user_id is not None:
            return self.recipient_name or str(self.recipient_user)
        return self.recipient_name or self.recipient_address
