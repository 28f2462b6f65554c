"""Forms of the service levels on the issue settings page: the policies in one table, and adding
a policy narrowed to a category or a site.

Times are typed as people say them ("15 min", "4 h", "1 h 30 min", "2 d") and shown the same way.
Each form's `save` writes its rows; the views call it inside one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.forms import BoundField

from golive.models import GoLive, Site
from issues.models import DEFAULT_SLA_WARNINGS, Category, Priority, SlaPolicy

SPAN = re.compile(
    r"^(?:(?P<days>\d{1,3})\s*d(?:ays?)?)?\s*"
    r"(?:(?P<hours>\d{1,4})\s*h(?:ours?|rs?)?)?\s*"
    r"(?:(?P<minutes>\d{1,5})\s*m(?:in(?:utes?|s)?)?)?$",
    re.IGNORECASE,
)
LONGEST = dt.timedelta(days=30)
SPAN_MESSAGE = "Give a time such as “15 min”, “4 h”, “1 h 30 min” or “2 d” (at most 30 days)."
WARN_MESSAGE = "Give up to four percentages from 1 to 100, such as “50, 100”."


def span_text(span: dt.timedelta) -> str:
    """ "1 d 4 h 30 min": every part that is not zero."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" * bool(days), f"{hours} h" * bool(hours), f"{minutes} min" * bool(minutes)]
    return " ".join(part for part in parts if part) or "0 min"


class SpanField(forms.CharField):
    """A length of time typed in words; a bare number is minutes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"class": "form-control", "maxlength": 30})
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return span_text(value) if isinstance(value, dt.timedelta) else value

    def to_python(self, value: Any) -> dt.timedelta | None:  # type: ignore[override]
        text = str(super().to_python(value)).strip()
        if not text:
            return None
        if len(text) > 30:
            raise forms.ValidationError(SPAN_MESSAGE, code="invalid")
        if text.isdigit():
            span = dt.timedelta(minutes=int(text))
        else:
            found = SPAN.match(text)
            if found is None or not any(found.groupdict().values()):
                raise forms.ValidationError(SPAN_MESSAGE, code="invalid")
            parts = {name: int(number or 0) for name, number in found.groupdict().items()}
            span = dt.timedelta(**parts)
        if not dt.timedelta(0) < span <= LONGEST:
            raise forms.ValidationError(SPAN_MESSAGE, code="invalid")
        return span


class WarningsField(forms.CharField):
    """The warning points, as percentages of the time allowed: "50, 100"."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(str(n) for n in value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = str(super().to_python(value)).replace("%", "")
        parts = [part for part in re.split(r"[\s,;]+", text) if part]
        if len(parts) > 4 or not all(part.isdigit() and 1 <= int(part) <= 100 for part in parts):
            raise forms.ValidationError(WARN_MESSAGE, code="invalid")
        return sorted({int(part) for part in parts})


def _targets(form: forms.Form, prefix: str = "") -> None:
    """The four settings every policy has, added to `form` under `prefix`."""
    form.fields[f"{prefix}response"] = SpanField(
        label="First response within",
        error_messages={"required": "Say how soon someone must answer. " + SPAN_MESSAGE},
    )
    form.fields[f"{prefix}resolution"] = SpanField(
        label="Resolved within",
        error_messages={"required": "Say how soon it must be resolved. " + SPAN_MESSAGE},
    )
    form.fields[f"{prefix}warn_at"] = WarningsField(
        label="Warn at (% of the time)", required=False, initial=DEFAULT_SLA_WARNINGS
    )
    form.fields[f"{prefix}pause_while_waiting"] = forms.BooleanField(
        label="Clock stops while waiting on the reporter", required=False, initial=True
    )


def _check_order(form: forms.Form, prefix: str = "") -> None:
    response = form.cleaned_data.get(f"{prefix}response")
    resolution = form.cleaned_data.get(f"{prefix}resolution")
    if response and resolution and resolution < response:
        form.add_error(
            f"{prefix}resolution",
            "The resolution time cannot be shorter than the first-response time.",
        )


class SlaTableForm(forms.Form):
    """Every policy of the go-live in one table, saved together; narrowed ones can be removed."""

    def __init__(self, data: Any = None, *, policies: list[SlaPolicy]) -> None:
        super().__init__(data)
        self.policies = policies
        for policy in policies:
            prefix = self.prefix_for(policy)
            _targets(self, prefix)
            for name in ("response", "resolution", "warn_at", "pause_while_waiting"):
                self.fields[f"{prefix}{name}"].initial = getattr(policy, name)
            if policy.category_id or policy.site_id:
                self.fields[f"{prefix}remove"] = forms.BooleanField(label="Remove", required=False)

    @staticmethod
    def prefix_for(policy: SlaPolicy) -> str:
        return f"p{policy.pk}_"

    def rows(self) -> list[tuple[SlaPolicy, list[BoundField]]]:
        """Each policy with its fields, in the table's column order."""
        names = ("response", "resolution", "warn_at", "pause_while_waiting", "remove")
        return [
            (
                policy,
                [
                    self[f"{self.prefix_for(policy)}{name}"]
                    for name in names
                    if f"{self.prefix_for(policy)}{name}" in self.fields
                ],
            )
            for policy in self.policies
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for policy in self.policies:
            _check_order(self, self.prefix_for(policy))
        return cleaned

    def save(self) -> None:
        """Updates (never re-creates) each policy: one removed meanwhile by someone else stays
        removed."""
        for policy in self.policies:
            prefix = self.prefix_for(policy)
            rows = SlaPolicy.objects.filter(pk=policy.pk)
            if self.cleaned_data.get(f"{prefix}remove"):
                rows.delete()
                continue
            rows.update(
                **{
                    name: self.cleaned_data[f"{prefix}{name}"]
                    for name in ("response", "resolution", "warn_at", "pause_while_waiting")
                }
            )


class ScopeForm(forms.Form):
    """A priority narrowed to a category, a site or both: what a narrowed service level and a
    narrowed escalation path start from (their querysets are the go-live's, set by each form)."""

    priority = forms.ChoiceField(
        choices=Priority.choices, error_messages={"invalid_choice": "Choose P1, P2, P3 or P4."}
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(),
        required=False,
        empty_label="Any category",
        error_messages={"invalid_choice": "Choose a category from the list."},
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        empty_label="Any site",
        error_messages={"invalid_choice": "Choose a site from the list."},
    )


class NarrowedSlaForm(ScopeForm):
    """A policy for one priority narrowed to a category, a site or both."""

    def __init__(self, data: Any = None, *, go_live: GoLive) -> None:
        super().__init__(data, auto_id="id_new_sla_%s")
        self.go_live = go_live
        # Enhancement requests have no service level, so they are not offered.
        self.fields["category"].queryset = Category.objects.filter(  # type: ignore[attr-defined]
            go_live=go_live, is_enhancement=False
        )
        self.fields["site"].queryset = Site.objects.filter(go_live=go_live)  # type: ignore[attr-defined]
        _targets(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _check_order(self)
        category, site = cleaned.get("category"), cleaned.get("site")
        if "category" in cleaned and "site" in cleaned and category is None and site is None:
            self.add_error(
                None,
                "Choose a category, a site or both: each priority's own policy is in the table.",
            )
        elif cleaned.get("priority") and (
            SlaPolicy.objects.filter(
                go_live=self.go_live, priority=cleaned["priority"], category=category, site=site
            ).exists()
        ):
            self.add_error(
                None, "There is already a policy for this priority, category and site: edit it."
            )
        return cleaned

    def save(self) -> SlaPolicy:
        data = self.cleaned_data
        return SlaPolicy.objects.create(
            go_live=self.go_live,
            **{
                name: data[name]
                for name in (
                    "priority",
                    "category",
                    "site",
                    "response",
                    "resolution",
                    "warn_at",
                    "pause_while_waiting",
                )
            },
        )
