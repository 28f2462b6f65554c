"""Admin pages for the issue log: inspection and repair. Changes to issues go through the app's
services (events, notifications), so the audit trail is read-only here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from issues.models import Category, Issue, IssueEvent, IssueReporter, PriorityRule


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "go_live", "is_enhancement", "position", "is_active"]
    list_filter = ["go_live", "is_enhancement", "is_active"]
    search_fields = ["name"]


@admin.register(PriorityRule)
class PriorityRuleAdmin(admin.ModelAdmin):
    list_display = ["go_live", "impact", "urgency", "priority"]
    list_filter = ["go_live", "priority"]


class IssueEventInline(admin.TabularInline):
    model = IssueEvent
    fields = ["at", "actor", "kind", "old", "new", "body", "internal"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "title",
        "priority",
        "status",
        "unit",
        "category",
        "assignee",
        "created_at",
    ]
    list_filter = ["go_live", "status", "priority", "patient_safety", "category"]
    search_fields = ["title", "description", "number", "reporter_name"]
    list_select_related = ["unit__site", "category", "assignee"]
    raw_id_fields = [
        "site",
        "unit",
        "category",
        "application",
        "reporter_user",
        "assignee",
        "tier",
        "parent",
    ]
    # Status, priority and the rest change through issues.services, which writes their events.
    readonly_fields = ["number", "status", "priority", "version", "client_key", "search"]
    inlines = [IssueEventInline]


@admin.register(IssueReporter)
class IssueReporterAdmin(admin.ModelAdmin):
    list_display = ["issue", "user", "name", "callback", "created_at"]
    raw_id_fields = ["issue", "user", "unit"]
