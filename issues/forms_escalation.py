"""Forms of the escalation paths: a path's steps, edited as one ordered list and saved together,
and adding a path narrowed to a category, an application or a site.

Waits are typed like the service levels' times ("10 min", "1 h"); the first step of each trigger
counts from the missed target and may also be "at once". What a step may name (the go-live's
tiers and active contacts, and which tiers someone can be reached in) is loaded once for the whole
list, so a path of many steps costs no more queries than a path of one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from golive.models import Application, Contact, EscalationTier, GoLive, Site
from issues import acks
from issues.assignment import roles_by_tier
from issues.forms_sla import ScopeForm, SpanField
from issues.models import Category, EscalationPath, EscalationStep

Trigger = EscalationStep.Trigger
Channel = EscalationStep.Channel

MAX_STEPS = 20
AT_ONCE = "at once"
ZERO_WAIT = re.compile(
    r"^(?:at once|now|0+\s*(?:d|days?|h|hours?|hrs?|m|mins?|minutes?)?)$", re.IGNORECASE
)
WAIT_MESSAGE = (
    "Give a wait such as “10 min”, “1 h 30 min” or “2 d” (at most 30 days); the first step of "
    "each trigger may also be “at once”."
)
LATER_AT_ONCE = (
    "Only the first step of a trigger can run at once. Give this one a wait after the step "
    "before, such as “10 min”."
)
NO_STEPS = "A path needs at least one step: add one, then save."
NO_PATH_SCOPE = (
    "Choose a category, an application or a site: each priority's own path is listed above."
)
TAKEN_SCOPE = "There is already a path for this priority and scope: edit its steps instead."


def names_and(names: Iterable[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    listed = list(names)
    if len(listed) < 2:
        return "".join(listed)
    return f"{', '.join(listed[:-1])} and {listed[-1]}"


class WaitField(SpanField):
    """A step's wait: a length of time, or none at all ("at once", "0")."""

    def prepare_value(self, value: Any) -> Any:
        return AT_ONCE if value == dt.timedelta(0) else super().prepare_value(value)

    def to_python(self, value: Any) -> dt.timedelta | None:  # type: ignore[override]
        if ZERO_WAIT.match(" ".join(str(value or "").split())):
            return dt.timedelta(0)
        try:
            return super().to_python(value)
        except ValidationError as refused:
            raise ValidationError(WAIT_MESSAGE, code="invalid") from refused


@dataclass(frozen=True)
class StepChoices:
    """What a step of the go-live's paths may name, loaded in three queries: its tiers but the
    leadership line, its active contacts, and the tiers someone can be reached in (a directory
    contact, or a support role mapped to it under Routing)."""

    tiers: dict[int, EscalationTier]
    contacts: dict[int, Contact]
    reachable: frozenset[int]

    @classmethod
    def load(cls, go_live: GoLive) -> StepChoices:
        tiers = list(EscalationTier.objects.filter(go_live=go_live, is_leadership=False))
        contacts = list(
            Contact.objects.filter(go_live=go_live, is_active=True).select_related("tier")
        )
        roles = roles_by_tier(go_live, tiers)
        with_contacts = {contact.tier_id for contact in contacts}
        return cls(
            tiers={tier.pk: tier for tier in tiers},
            contacts={contact.pk: contact for contact in contacts},
            reachable=frozenset(
                tier.pk for tier in tiers if roles[tier.pk] or tier.pk in with_contacts
            ),
        )


def unreachable_message(tier: EscalationTier) -> str:
    return (
        f"Nobody can be reached in {tier}: it has no contacts in the directory and no support "
        "roles under Routing. Add contacts to it in the directory (Who to call), tick roles for "
        "it under Routing, or choose another tier."
    )


class StepForm(forms.Form):
    """One step: when, after how long, whom (a tier, named contacts or both) and by what."""

    FIELDS = ("trigger", "wait", "tier", "contacts", "channels")

    trigger = forms.ChoiceField(
        label="When the issue is",
        choices=Trigger.choices,
        error_messages={
            "required": "Choose when this step runs.",
            "invalid_choice": "Choose “Still not acknowledged” or “Still not resolved”.",
        },
    )
    wait = WaitField(
        label="Wait",
        error_messages={
            "required": "Say how long to wait: “at once” for the first step of a trigger, else "
            "a time such as “10 min”."
        },
    )
    tier = forms.TypedChoiceField(
        label="Tier",
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": "Choose a tier from the list."},
    )
    contacts = forms.TypedMultipleChoiceField(
        label="Named contacts",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={"invalid_choice": "Choose contacts from the list."},
    )
    channels = forms.MultipleChoiceField(
        label="Tell them by",
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={
            "required": "Tick at least one way to tell them: in the app, email or SMS.",
            "invalid_choice": "Choose in the app, email or SMS.",
        },
    )

    def __init__(self, *args: Any, choices: StepChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["tier"].choices = [  # type: ignore[attr-defined]
            ("", "No tier: only the named contacts"),
            *((tier.pk, str(tier)) for tier in choices.tiers.values()),
        ]
        self.fields["contacts"].choices = [  # type: ignore[attr-defined]
            (contact.pk, f"{contact.name} ({contact.tier})")
            for contact in choices.contacts.values()
        ]

    def clean_tier(self) -> EscalationTier | None:
        tier_id = self.cleaned_data["tier"]
        return None if tier_id is None else self.choices.tiers[tier_id]

    def clean_contacts(self) -> list[Contact]:
        return [self.choices.contacts[pk] for pk in self.cleaned_data["contacts"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        tier, contacts = cleaned.get("tier"), cleaned.get("contacts")
        if "tier" in cleaned and "contacts" in cleaned and tier is None and not contacts:
            self.add_error(
                "tier", "Choose a tier or name at least one contact: this step would tell nobody."
            )
        if tier is not None and tier.pk not in self.choices.reachable:
            self.add_error("tier", unreachable_message(tier))
        without_sms = [contact.name for contact in contacts or [] if not contact.sms_number]
        if Channel.SMS in cleaned.get("channels", []) and without_sms:
            have = "has" if len(without_sms) == 1 else "have"
            self.add_error(
                "channels",
                f"{names_and(without_sms)} {have} no SMS number: untick SMS, or add the number "
                "in the directory (Who to call).",
            )
        return cleaned

    def raw(self) -> dict[str, Any]:
        """The row as it was posted, to show again unsaved after a step is added or moved."""
        return {name: self[name].data for name in self.FIELDS}


class BaseStepFormSet(forms.BaseFormSet):
    """A path's steps in order (`step-0-trigger`, `step-1-trigger`...), checked and saved as one."""

    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_many_forms": "A path has at most %(num)d steps: remove one.",
    }

    def __init__(self, data: Any = None, *, choices: StepChoices, initial: Any = None) -> None:
        super().__init__(data, prefix="step", initial=initial, form_kwargs={"choices": choices})

    @classmethod
    def of(cls, steps: list[EscalationStep], *, choices: StepChoices) -> BaseStepFormSet:
        """The saved steps, ready to edit."""
        return cls(
            choices=choices,
            initial=[dict(zip(StepForm.FIELDS, step_row(step), strict=True)) for step in steps],
        )

    @classmethod
    def rearranged(cls, data: Any, do: str, *, choices: StepChoices) -> BaseStepFormSet:
        """The posted steps with one added ("add"), removed ("remove-2") or moved ("up-2",
        "down-2"), shown again unsaved: the lead saves them all together when done."""
        rows = [form.raw() for form in cls(data, choices=choices).forms]
        action, _, number = do.partition("-")
        index = int(number) if number.isdigit() and int(number) < len(rows) else None
        if action == "add" and len(rows) < MAX_STEPS:
            trigger = rows[-1]["trigger"] if rows else Trigger.NO_RESPONSE
            rows.append({"trigger": trigger, "contacts": [], "channels": []})
        elif action == "remove" and index is not None:
            del rows[index]
        elif action in ("up", "down") and index is not None:
            other = index - 1 if action == "up" else index + 1
            if 0 <= other < len(rows):
                rows[index], rows[other] = rows[other], rows[index]
        return cls(choices=choices, initial=rows)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every posted row is a step to check: none is let through as a blank "extra" form.
        return {**super().get_form_kwargs(index), "empty_permitted": False}

    def clean(self) -> None:
        if not self.forms:
            raise ValidationError(NO_STEPS, code="no_steps")
        started: set[str] = set()
        for form in self.forms:
            trigger = form.cleaned_data.get("trigger")
            if trigger in started and form.cleaned_data.get("wait") == dt.timedelta(0):
                form.add_error("wait", LATER_AT_ONCE)
            started.add(trigger)

    def save(self, path: EscalationPath) -> None:
        """Replaces the path's steps with these, in this order (the caller holds its lock)."""
        path.steps.all().delete()
        write_steps(
            path,
            [
                (
                    data["trigger"],
                    data["wait"],
                    data["tier"].pk if data["tier"] else None,
                    [contact.pk for contact in data["contacts"]],
                    data["channels"],
                )
                for data in (form.cleaned_data for form in self.forms)
            ],
        )


StepFormSet = forms.formset_factory(
    StepForm,
    formset=BaseStepFormSet,
    extra=0,
    max_num=MAX_STEPS,
    validate_max=True,
    absolute_max=MAX_STEPS,
)

# A step's settings in the order of StepForm.FIELDS: trigger, wait, tier id, contact ids, channels.
StepRow = tuple[str, dt.timedelta, int | None, list[int], list[str]]


def step_row(step: EscalationStep) -> StepRow:
    """A saved step's settings (its contacts prefetched)."""
    contact_ids = sorted(contact.pk for contact in step.contacts.all())
    return step.trigger, step.wait, step.tier_id, contact_ids, step.channels


def write_steps(path: EscalationPath, rows: list[StepRow]) -> None:
    """The path's steps, numbered from 1 in the order given, with their named contacts."""
    steps = EscalationStep.objects.bulk_create(
        EscalationStep(
            path=path,
            position=position,
            trigger=trigger,
            wait=wait,
            tier_id=tier_id,
            channels=channels,
        )
        for position, (trigger, wait, tier_id, _, channels) in enumerate(rows, start=1)
    )
    named = EscalationStep.contacts.through
    named.objects.bulk_create(
        named(escalationstep_id=step.pk, contact_id=contact_id)
        for step, (_, _, _, contact_ids, _) in zip(steps, rows, strict=True)
        for contact_id in contact_ids
    )


class NarrowedPathForm(ScopeForm):
    """A path for one priority narrowed to a category, an application, a site or a mix; it starts
    with the steps of the priority's own path."""

    application = forms.ModelChoiceField(
        queryset=Application.objects.none(),
        required=False,
        empty_label="Any application",
        error_messages={"invalid_choice": "Choose an application from the list."},
    )
    field_order = ("priority", "category", "application", "site")

    SCOPE = ("category", "application", "site")
    own: EscalationPath | None = None  # the priority's own path, found by `clean`

    def __init__(self, data: Any = None, *, go_live: GoLive) -> None:
        super().__init__(data, auto_id="id_new_path_%s")
        self.go_live = go_live
        # Enhancement requests have no service level, so they never miss one.
        self.fields["category"].queryset = Category.objects.filter(  # type: ignore[attr-defined]
            go_live=go_live, is_enhancement=False
        )
        self.fields["application"].queryset = Application.objects.filter(  # type: ignore[attr-defined]
            go_live=go_live
        )
        self.fields["site"].queryset = Site.objects.filter(go_live=go_live)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if any(name not in cleaned for name in ("priority", *self.SCOPE)):
            return cleaned
        scope = {name: cleaned[name] for name in self.SCOPE}
        paths = EscalationPath.objects.filter(go_live=self.go_live, priority=cleaned["priority"])
        if not any(scope.values()):
            self.add_error(None, NO_PATH_SCOPE)
        elif paths.filter(**scope).exists():
            self.add_error(None, TAKEN_SCOPE)
        else:
            self.own = (
                paths.filter(category=None, application=None, site=None)
                .prefetch_related("steps__contacts")
                .first()
            )
            if self.own is None:
                self.add_error(
                    None,
                    f"{cleaned['priority']} has no path of its own yet: add this go-live's "
                    "support tiers in the directory (Who to call) first.",
                )
        return cleaned

    def save(self) -> EscalationPath:
        assert self.own is not None  # a valid form found it
        path = EscalationPath.objects.create(
            go_live=self.go_live,
            priority=self.cleaned_data["priority"],
            **{name: self.cleaned_data[name] for name in self.SCOPE},
        )
        write_steps(path, [step_row(step) for step in self.own.steps.all()])
        return path


class AckCodeForm(forms.Form):
    """The one-time code of an escalation SMS, typed on its acknowledge link's page."""

    code = forms.CharField(
        label="Code from the SMS",
        max_length=20,
        error_messages={"required": "Type the 6-digit code from the end of the SMS."},
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-lg",
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(rf"\d{{{acks.CODE_DIGITS}}}", code):
            raise ValidationError(
                f"The code is the {acks.CODE_DIGITS} digits at the end of the SMS.", code="format"
            )
        return code
