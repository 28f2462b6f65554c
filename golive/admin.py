"""Admin pages for the core: staff set-up and repair work, not the go-live's day-to-day pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from golive import audit
from golive.models import (
    ApiToken,
    Application,
    AuditEntry,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Notification,
    Site,
    Unit,
    WebhookEndpoint,
)
from golive.services import TokenRefused, create_api_token, revoke_api_tokens


class SiteInline(admin.TabularInline):
    model = Site
    fields = ["name", "code", "kind", "city", "phone"]
    extra = 0
    show_change_link = True


class EscalationTierInline(admin.TabularInline):
    model = EscalationTier
    fields = ["level", "name", "description", "is_leadership"]
    extra = 0


class UnitInline(admin.TabularInline):
    model = Unit
    fields = ["name", "kind", "end_user_count", "phone", "is_active"]
    extra = 0
    show_change_link = True


@admin.register(GoLive)
class GoLiveAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "phase",
        "cutover_at",
        "support_ends_at",
        "time_zone",
        "command_center_phone",
    ]
    list_filter = ["phase", "time_zone", "organization"]
    search_fields = ["name", "organization", "command_center_location"]
    date_hierarchy = "cutover_at"
    inlines = [SiteInline, EscalationTierInline]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "go_live", "city", "region", "phone"]
    list_filter = ["kind", "go_live"]
    list_select_related = ["go_live"]
    search_fields = ["name", "code", "city", "go_live__name"]
    autocomplete_fields = ["go_live"]
    inlines = [UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "kind", "end_user_count", "phone", "is_active"]
    list_filter = ["site__go_live", "kind", "is_active"]
    list_select_related = ["site"]
    search_fields = ["name", "site__name", "site__code", "phone"]
    autocomplete_fields = ["site"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "go_live"]
    list_filter = ["go_live"]
    list_select_related = ["go_live"]
    search_fields = ["name", "go_live__name"]
    autocomplete_fields = ["go_live"]


@admin.register(EscalationTier)
class EscalationTierAdmin(admin.ModelAdmin):
    list_display = ["__str__", "level", "is_leadership", "go_live"]
    list_filter = ["is_leadership", "go_live"]
    list_select_related = ["go_live"]
    search_fields = ["name", "description", "go_live__name"]
    autocomplete_fields = ["go_live"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tier",
        "go_live",
        "kind",
        "employer",
        "vendor_name",
        "phone",
        "sms_number",
        "hours_display",
        "is_active",
    ]
    # Tiers are listed by level: a filter of tier rows would repeat every go-live's tier names.
    list_filter = ["go_live", "tier__level", "employer", "hours", "kind", "is_active"]
    list_select_related = ["go_live", "tier"]
    search_fields = ["name", "title", "phone", "pager", "sms_number", "email", "vendor_name"]
    autocomplete_fields = ["go_live", "tier", "applications", "units"]
    fieldsets = [
        (None, {"fields": ["go_live", "tier", "name", "kind", "title", "notes", "is_active"]}),
        ("Reach", {"fields": ["phone", "pager", "sms_number", "email"]}),
        ("Employer", {"fields": ["employer", "vendor_name"]}),
        (
            "Coverage",
            {"fields": ["all_applications", "applications", "all_units", "units"]},
        ),
        ("Hours", {"fields": ["hours", "window_start", "window_end"]}),
    ]

    @admin.display(description="hours", ordering="hours")
    def hours_display(self, contact: Contact) -> str:
        return contact.hours_label


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "go_live", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active", "go_live"]
    list_select_related = ["user", "go_live"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "go_live__name",
    ]
    autocomplete_fields = ["user", "go_live", "sites", "units"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox. Rows are written by services with the event that causes them, never by hand."""

    list_display = [
        "created_at",
        "channel",
        "status",
        "recipient_label",
        "subject",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "go_live",
    ]
    list_filter = ["status", "channel", "go_live"]
    list_select_related = ["recipient_user", "go_live"]
    search_fields = [
        "subject",
        "dedupe_key",
        "recipient_name",
        "recipient_address",
        "recipient_user__username",
    ]
    date_hierarchy = "created_at"
    raw_id_fields = ["recipient_user", "go_live"]
    readonly_fields = [
        "go_live",
        "recipient_user",
        "webhook_endpoint",
        "recipient_name",
        "recipient_address",
        "channel",
        "subject",
        "body",
        "link",
        "dedupe_key",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "created_at",
        "sent_at",
        "read_at",
    ]
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry now: set failed notifications back to pending")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        # Attempts start again from zero, or the next failure would mark the row failed at once.
        count = queryset.filter(status=Notification.Status.FAILED).update(
            status=Notification.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_at=None,
        )
        skipped = queryset.count() - count
        self.message_user(
            request,
            f"{count} failed notification(s) set back to pending; the delivery sweep sends them "
            f"within a minute." + (f" {skipped} not failed, left as they were." if skipped else ""),
            messages.SUCCESS if count else messages.WARNING,
        )


class ApiTokenAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """Staff make a token for someone (a service account, say): the key is made on saving."""

    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username", "user__email"]
    list_select_related = ["user"]
    actions = ["revoke"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields if obj is not None else ["user", "name", "expires_at"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        try:
            token, key = create_api_token(
                user=obj.user, name=obj.name, created_by=request.user, expires_at=obj.expires_at
            )
        except TokenRefused as exc:
            raise ValidationError(str(exc)) from exc
        obj.pk = token.pk
        audit.record(
            action=AuditEntry.Action.TOKEN_CREATED,
            request=request,
            detail=f"{token.name}, for {token.user}",
        )
        self.message_user(
            request,
            f"The key of “{token.name}” for {token.user}: {key} — copy it now, it is shown once.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        names = ", ".join(
            f"{token.name} ({token.user})" for token in queryset.filter(revoked_at=None)
        )
        count = revoke_api_tokens(tokens=queryset, by=request.user)
        if count:
            audit.record(action=AuditEntry.Action.TOKEN_REVOKED, request=request, detail=names)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Read-only: endpoints are added, disabled and enabled by the command center on its
    Webhooks page, where the URL is checked and the pending deliveries follow a disable."""

    list_display = [
        "__str__",
        "go_live",
        "url",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "created_at",
    ]
    list_filter = ["is_active", "go_live"]
    list_select_related = ["go_live"]
    search_fields = ["url", "description", "go_live__name"]
    readonly_fields = [
        "go_live",
        "url",
        "description",
        "events",
        "is_active",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "created_by",
        "created_at",
    ]
    # The secret stays on the command center's page, for its leads.
    exclude = ["secret"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read only: the log is append-only."""

    list_display = ["at", "action", "username", "go_live", "detail", "address"]
    list_filter = ["action"]
    search_fields = ["username", "detail", "address"]
    list_select_related = ["go_live"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
