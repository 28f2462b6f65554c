"""Forms of the issue settings page: routing, the priority matrix and the categories.

Each form's `save` writes its rows; the views call it inside one transaction. Category names are
unique per go-live whatever their case, checked here: the go-live is not a form field, so Django's
own unique check skips the constraint and a duplicate would otherwise end as an IntegrityError.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BoundField

from golive.models import EscalationTier, GoLive
from issues.models import (
    DEFAULT_ASSIGN_ROLES,
    DEFAULT_MATRIX,
    LATER_TIER_ROLES,
    AssignmentRule,
    Category,
    Impact,
    IssueSettings,
    Priority,
    PriorityRule,
    Urgency,
)
from staffing.models import SupportRole

CAP_MESSAGE = "Give the cap as a whole number of open issues from 1 to 50."


class RoutingForm(forms.Form):
    """Auto-assignment on or off, the cap, and which support roles take each tier's new issues."""

    auto_assign = forms.BooleanField(
        label="Assign new issues automatically",
        required=False,
        help_text="To the checked-in person on shift, in the tier's roles, with the fewest open "
        "issues. Off: new issues wait in the queue for someone to claim them.",
    )
    assignee_cap = forms.IntegerField(
        label="Most open issues per person",
        min_value=1,
        max_value=50,
        help_text="Auto-assignment never gives anyone more open issues than this.",
        error_messages={
            "required": CAP_MESSAGE,
            "invalid": CAP_MESSAGE,
            "min_value": CAP_MESSAGE,
            "max_value": CAP_MESSAGE,
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        settings: IssueSettings,
        tiers: list[EscalationTier],
        rules: list[AssignmentRule],
    ) -> None:
        super().__init__(
            data,
            initial={"auto_assign": settings.auto_assign, "assignee_cap": settings.assignee_cap},
        )
        self.settings = settings
        saved = {rule.tier_id: rule for rule in rules}
        for tier in tiers:
            if tier.pk in saved:
                saved[tier.pk].tier = tier
        # A tier added after the go-live was set up routes by the defaults until saved here.
        self.rules = [
            saved.get(tier.pk)
            or AssignmentRule(
                go_live=settings.go_live,
                tier=tier,
                roles=list(DEFAULT_ASSIGN_ROLES.get(tier.level, LATER_TIER_ROLES)),
            )
            for tier in tiers
        ]
        for rule in self.rules:
            self.fields[self.tier_field(rule.tier)] = forms.MultipleChoiceField(
                label=str(rule.tier),
                choices=SupportRole.choices,
                required=False,
                initial=rule.roles,
                widget=forms.CheckboxSelectMultiple,
                help_text="None ticked: this tier's new issues always wait in the queue.",
                error_messages={"invalid_choice": "Choose support roles from the list."},
            )

    @staticmethod
    def tier_field(tier: EscalationTier) -> str:
        return f"tier_{tier.pk}"

    def tier_rows(self) -> list[BoundField]:
        return [self[self.tier_field(rule.tier)] for rule in self.rules]

    def save(self) -> None:
        self.settings.auto_assign = self.cleaned_data["auto_assign"]
        self.settings.assignee_cap = self.cleaned_data["assignee_cap"]
        self.settings.save()
        for rule in self.rules:
            chosen = set(self.cleaned_data[self.tier_field(rule.tier)])
            # Kept in the order of the list, so the page shows them as ticked.
            rule.roles = [role for role in SupportRole.values if role in chosen]
            rule.save()


class MatrixForm(forms.Form):
    """The 3 x 3 impact x urgency matrix, one priority per cell, saved together."""

    def __init__(self, data: Any = None, *, go_live: GoLive, rules: list[PriorityRule]) -> None:
        super().__init__(data)
        self.go_live = go_live
        saved = {(rule.impact, rule.urgency): rule.priority for rule in rules}
        for impact in Impact:
            for urgency in Urgency:
                self.fields[self.cell(impact, urgency)] = forms.ChoiceField(
                    label=f"{impact.label}, {urgency.label.lower()}",
                    choices=Priority.choices,
                    initial=saved.get((impact, urgency), DEFAULT_MATRIX[impact, urgency]),
                    error_messages={
                        "required": "Choose a priority for every cell.",
                        "invalid_choice": "Choose P1, P2, P3 or P4.",
                    },
                )

    @staticmethod
    def cell(impact: str, urgency: str) -> str:
        return f"{impact}__{urgency}"

    def urgencies(self) -> list[str]:
        return [urgency.label for urgency in Urgency]

    def grid(self) -> list[tuple[str, list[BoundField]]]:
        """Rows of the table: each impact with its cells, in the order of the urgencies."""
        return [
            (impact.label, [self[self.cell(impact, urgency)] for urgency in Urgency])
            for impact in Impact
        ]

    def save(self) -> None:
        for impact in Impact:
            for urgency in Urgency:
                PriorityRule.objects.update_or_create(
                    go_live=self.go_live,
                    impact=impact,
                    urgency=urgency,
                    defaults={"priority": self.cleaned_data[self.cell(impact, urgency)]},
                )


class CategoryForm(forms.ModelForm):
    """Add or rename a category."""

    class Meta:
        model = Category
        fields = ["name", "is_enhancement"]
        error_messages = {
            "name": {
                "required": "Give the category a name.",
                "max_length": "A category name has at most 60 characters.",
            }
        }

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Give the category a name.")
        taken = Category.objects.filter(go_live=self.go_live, name__iexact=name)
        if self.instance.pk is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                f"There is already a category called “{name}”. Choose another name."
            )
        return name

    def save(self, commit: bool = True) -> Category:
        self.instance.go_live = self.go_live
        if self.instance.pk is None:
            last = Category.objects.filter(go_live=self.go_live).order_by("-position").first()
            self.instance.position = last.position + 1 if last is not None else 0
        return super().save(commit)
