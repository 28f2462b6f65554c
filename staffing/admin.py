"""Admin pages for staffing: repair and inspection. Day-to-day planning happens in the app's pages,
which go through the services (rules, events, notifications); the admin is for staff fixing data,
so the audit trail stays read-only here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from staffing.models import (
    Assignment,
    AutoFillRun,
    CoverageRequirement,
    RosterImport,
    ShareLink,
    Shift,
    ShiftEvent,
    ShiftRequest,
    StaffingSettings,
    SupportPerson,
    Unavailability,
    UnitMix,
)


@admin.register(SupportPerson)
class SupportPersonAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "role",
        "employer",
        "vendor_name",
        "email",
        "phone",
        "go_live",
        "is_active",
    ]
    list_filter = ["go_live", "role", "employer", "is_active"]
    search_fields = ["name", "email", "vendor_name", "phone"]
    list_select_related = ["go_live"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["home_site", "home_unit"]
    filter_horizontal = ["skills"]


@admin.register(CoverageRequirement)
class CoverageRequirementAdmin(admin.ModelAdmin):
    list_display = [
        "unit",
        "role",
        "label",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
        "headcount",
    ]
    list_filter = ["unit__site__go_live", "role"]
    search_fields = ["unit__name", "label"]
    list_select_related = ["unit__site"]
    raw_id_fields = ["unit", "application"]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fields = ["person", "status", "assigned_by", "assigned_at", "checked_in_at", "late_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ShiftEventInline(admin.TabularInline):
    model = ShiftEvent
    fields = ["at", "actor", "action", "old", "new", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ["unit", "role", "label", "start", "end", "needed", "go_live"]
    list_filter = ["go_live", "role", "unit__site"]
    search_fields = ["unit__name", "label"]
    date_hierarchy = "start"
    list_select_related = ["unit__site", "go_live"]
    raw_id_fields = ["unit", "requirement", "application"]
    inlines = [AssignmentInline, ShiftEventInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["person", "shift", "status", "assigned_at", "checked_in_at", "late_at"]
    list_filter = ["status", "shift__go_live"]
    search_fields = ["person__name", "person__email", "shift__unit__name"]
    list_select_related = ["person", "shift__unit__site", "shift__go_live"]
    raw_id_fields = ["shift", "person", "assigned_by"]
    # Status and times change through the app's services so that events and notifications follow.
    readonly_fields = ["period", "status", "warnings", "override_reason", "sequence"]


@admin.register(ShiftEvent)
class ShiftEventAdmin(admin.ModelAdmin):
    list_display = ["at", "shift", "action", "actor", "old", "new"]
    list_filter = ["action"]
    search_fields = ["shift__unit__name", "old", "new", "note"]
    list_select_related = ["shift__unit__site", "shift__go_live", "actor"]

    # Append-only: the audit trail is never edited or deleted by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Unavailability)
class UnavailabilityAdmin(admin.ModelAdmin):
    list_display = ["person", "start", "end", "reason"]
    search_fields = ["person__name", "reason"]
    raw_id_fields = ["person"]


@admin.register(ShiftRequest)
class ShiftRequestAdmin(admin.ModelAdmin):
    list_display = ["assignment", "kind", "status", "requested_by", "created_at", "decided_by"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["assignment", "swap_with", "requested_by", "decided_by"]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "go_live",
        "person",
        "site",
        "unit",
        "created_by",
        "created_at",
        "revoked_at",
    ]
    list_filter = ["kind", "go_live"]
    raw_id_fields = ["person", "site", "unit", "created_by"]
    readonly_fields = ["token"]


@admin.register(RosterImport)
class RosterImportAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "go_live",
        "status",
        "total_rows",
        "created_count",
        "updated_count",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = ["content", "errors"]


@admin.register(AutoFillRun)
class AutoFillRunAdmin(admin.ModelAdmin):
    list_display = [
        "go_live",
        "start_date",
        "end_date",
        "status",
        "progress",
        "total",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = ["unfilled", "error"]


admin.site.register(StaffingSettings)
admin.site.register(UnitMix)
