"""Forms of the floor: the intake form, "this is my problem too", reopening, enrolling a tablet."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.boundfield import BoundField
from django.forms.models import ModelChoiceIterator
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from golive.models import Application, Unit, phone_validator
from issues.access import Floor
from issues.intake import CheckedPhoto, PhotoRefused, check_photo, find_phi
from issues.models import Category, Impact, UnitTablet, Urgency


def _buttons() -> forms.RadioSelect:
    """Radio inputs the page styles as large buttons (Bootstrap's btn-check)."""
    return forms.RadioSelect(attrs={"class": "btn-check"})


def _text(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control form-control-lg", **attrs})


def _question(label: str, choices: list[tuple[str, str]], *, about: str) -> forms.ChoiceField:
    """A question answered in plain words, one large button per answer."""
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=_buttons(),
        error_messages={
            "required": f"Tap {about}.",
            "invalid_choice": f"Tap one of the answers shown for {about}.",
        },
    )


def _check() -> forms.CheckboxInput:
    return forms.CheckboxInput(attrs={"class": "form-check-input"})


def _unit_label(unit: Unit) -> str:
    return f"{unit.name} · {unit.site.name}"


class _ChoicesOnDemand(ModelChoiceIterator):
    """Reads the field's queryset when the choices are listed, not when the field is made."""

    def __init__(self, field: forms.ModelChoiceField) -> None:
        self.field = field

    @property
    def queryset(self) -> QuerySet[Any]:
        return self.field.queryset


class ChosenId(forms.ModelChoiceField):
    """Offers rows of a queryset, but cleans the choice to its id without a query: the statement
    that logs the issue checks the id belongs to the go-live (see `create_issue`), which saves
    every submission a round trip and catches a row retired since the form was opened.

    The queryset is built only when the choices are shown (from `rows`), so a valid submission
    builds none at all.
    """

    iterator = _ChoicesOnDemand

    def __init__(self, **kwargs: Any) -> None:
        self.rows: Callable[[], QuerySet[Any]] | None = None
        super().__init__(queryset=None, **kwargs)

    def _get_queryset(self) -> QuerySet[Any] | None:
        if self._queryset is None and self.rows is not None:
            self._queryset = self.rows()
        return self._queryset

    queryset = property(_get_queryset, forms.ModelChoiceField._set_queryset)  # type: ignore[assignment]

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            pk = int(value)
        except (TypeError, ValueError):
            pk = 0
        if not 0 < pk < 2**63:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return pk


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Unit) -> str:  # type: ignore[override]
        return _unit_label(obj)


def _reporter_fields(*, tablet: bool) -> dict[str, forms.Field]:
    """Name and callback number: required on a tablet (nobody is signed in), else the user's."""
    fields: dict[str, forms.Field] = {}
    if tablet:
        fields["reporter_name"] = forms.CharField(
            label="Your name",
            max_length=120,
            error_messages={
                "required": "Give your name so the help desk knows whom to call back.",
                "max_length": "Keep your name to 120 characters.",
            },
            widget=_text(autocomplete="name"),
        )
    fields["reporter_callback"] = forms.CharField(
        label="Callback number" if tablet else "Callback number (optional)",
        max_length=32,
        required=tablet,
        validators=[phone_validator],
        error_messages={
            "required": "Give a number where the help desk can reach you (an extension is fine).",
            "max_length": "A callback number has at most 32 characters.",
        },
        widget=_text(inputmode="tel", autocomplete="tel"),
    )
    return fields


class _SharedFields(dict[str, forms.Field]):
    """The intake form's fields, made once and shared by every form rather than deep-copied: the
    form is made on every submission, and Django's deep copy of its fields took a third of the time
    a submission spent in Python. Nothing changes a shared field: the error style is added when a
    field is shown (`_MarkedInvalid`), and a choice field, whose rows are each form's go-live, is
    copied for a form only when that form shows it (`IntakeForm.__getitem__`)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


def _own_copy(field: ChosenId, rows: Callable[[], QuerySet[Any]]) -> ChosenId:
    """A copy of the shared `field` listing `rows`, with its own widget to list them. Labels,
    messages and validators are shared."""
    copied = copy.copy(field)
    copied.rows = rows
    copied.widget = copy.copy(field.widget)
    copied.widget.choices = copied.choices  # type: ignore[attr-defined]
    return copied


class _MarkedInvalid(BoundField):
    """Shows a field with errors in Bootstrap's error style (`is-invalid`) without changing its
    widget, which forms share. Radio buttons are left alone: their group shows the error."""

    def build_widget_attrs(
        self, attrs: dict[str, Any], widget: forms.Widget | None = None
    ) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if self.errors and not isinstance(widget, forms.RadioSelect):
            attrs["class"] = (
                f"{attrs.get('class', widget.attrs.get('class', ''))} is-invalid".strip()
            )
        return attrs


class IntakeForm(forms.Form):
    """One screen: where, what kind, how bad, what happened, and who to call back.

    The unit is the tablet's, or chosen among the member's units. Unknown ids, too-long text, a
    missing field or a photo that is not a picture each get a message that says what to do.
    """

    bound_field_class = _MarkedInvalid

    category = ChosenId(
        empty_label=None,
        widget=_buttons(),
        error_messages={
            "required": "Tap the kind of problem.",
            "invalid_choice": "Tap one of the kinds of problem shown.",
        },
    )
    impact = _question("Who is affected?", Impact.choices, about="who is affected")
    urgency = _question("How bad is it?", Urgency.choices, about="how bad it is")
    title = forms.CharField(
        label="What is wrong, in a few words",
        max_length=120,
        error_messages={
            "required": "Say in a few words what is wrong.",
            "max_length": "Keep the title to 120 characters (it has %(show_value)d); "
            "put the rest in the details.",
        },
        widget=_text(autocomplete="off", placeholder="Labels print blank"),
    )
    description = forms.CharField(
        label="Details (optional)",
        max_length=4000,
        required=False,
        error_messages={
            "max_length": "Keep the details to 4,000 characters (they have %(show_value)d)."
        },
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
    location_detail = forms.CharField(
        label="Room, workstation or device (optional)",
        max_length=120,
        required=False,
        error_messages={"max_length": "Keep the room or device to 120 characters."},
        widget=_text(placeholder="Room 12, WOW-4W-03"),
    )
    application = ChosenId(
        label="Application (optional)",
        required=False,
        empty_label="Not sure",
        widget=forms.Select(attrs={"class": "form-select form-select-lg"}),
        error_messages={"invalid_choice": "Choose an application from the list, or “Not sure”."},
    )
    patient_safety = forms.BooleanField(
        label="Patient safety is at risk",
        required=False,
        help_text="Makes it P1 and alerts the leadership at once.",
        widget=_check(),
    )
    workaround_in_use = forms.BooleanField(
        label="We are using a workaround", required=False, widget=_check()
    )
    photo = forms.FileField(
        label="Photo of the screen (optional)",
        required=False,
        widget=forms.FileInput(
            attrs={"class": "form-control", "accept": "image/*", "capture": "environment"}
        ),
    )
    client_key = forms.CharField(widget=forms.HiddenInput, required=False)
    phi_confirmed = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        data: QueryDict | None = None,
        files: MultiValueDict | None = None,
        *,
        floor: Floor,
        units: QuerySet[Unit] | None,
    ) -> None:
        """`units`: the member's units to choose from; None on a tablet (its unit is fixed)."""
        self.key_missing = False
        self.no_unit = False
        if data is not None and not _is_uuid(data.get("client_key", "")):
            # A form without its key cannot be sent twice safely: give it one and ask again.
            self.key_missing = True
            data = data.copy()
            data["client_key"] = _new_key()
        self.base_fields = _INTAKE_FIELDS[floor.on_tablet]
        # A new form's key, made only if the form is shown unbound (Django calls it then).
        super().__init__(data, files, initial={"client_key": _new_key})
        self.phi_kinds: list[str] = []
        # Read when the choices are shown: a tablet's valid submission never looks its go-live up.
        self._rows: dict[str, Callable[[], QuerySet[Any]]] = {
            "category": lambda: Category.objects.filter(go_live=floor.go_live, is_active=True),
            "application": lambda: Application.objects.filter(go_live=floor.go_live),
        }
        if units is not None:
            self.fields["unit"] = UnitChoiceField(
                label="Unit",
                queryset=units,
                empty_label=None,
                widget=forms.Select(attrs={"class": "form-select form-select-lg"}),
                error_messages={
                    "required": "Choose the unit where the problem is.",
                    "invalid_choice": (
                        "That unit is not one of yours, or it was closed: choose one from the list."
                    ),
                },
            )
            self.order_fields(["unit"])
            only = list(units[:2])
            self.no_unit = not only
            if len(only) == 1:
                self.fields["unit"].initial = only[0].pk

    def __getitem__(self, name: str) -> BoundField:
        """The field `name` as shown. A shared choice field is first given this form's own copy,
        listing its go-live's rows: validating reads no field through here, so a submission
        copies none."""
        field = self.fields[name]
        if isinstance(field, ChosenId) and field.rows is None:
            self.fields[name] = _own_copy(field, self._rows[name])
        return super().__getitem__(name)

    def _clean_fields(self) -> None:
        """Django's own, less a `BoundField` made for each field: a submission validates all
        fourteen fields and shows none, and making them was a fifth of its form's time. The same
        rules in the same order: the widget's value (the initial one if disabled), the field's
        `clean` (with the initial value for a file), then `clean_<name>`."""
        for name, field in self.fields.items():
            if field.disabled:
                value = self.get_initial_for_field(field, name)
            else:
                value = field.widget.value_from_datadict(
                    self.data, self.files, self.add_prefix(name)
                )
            try:
                if isinstance(field, forms.FileField):
                    value = field.clean(value, self.get_initial_for_field(field, name))
                else:
                    value = field.clean(value)
                self.cleaned_data[name] = value
                if hasattr(self, f"clean_{name}"):
                    self.cleaned_data[name] = getattr(self, f"clean_{name}")()
            except forms.ValidationError as error:
                self.add_error(name, error)

    def clean_photo(self) -> CheckedPhoto | None:
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return check_photo(upload)
        except PhotoRefused as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.key_missing:
            self.add_error(
                None, "This form was incomplete, so nothing was sent. Check it and tap Send again."
            )
        text = f"{cleaned.get('title', '')}\n{cleaned.get('description', '')}"
        if not cleaned.get("phi_confirmed"):
            self.phi_kinds = find_phi(text)
        return cleaned

    @property
    def needs_phi_confirmation(self) -> bool:
        """The text looks like it names a patient and the reporter has not confirmed it does not."""
        return bool(self.phi_kinds)

    @property
    def phi_confirmed_on_return(self) -> bool:
        """Whether the hidden field goes back confirmed: the warning was shown once, or the
        reporter confirmed already (a later error must not ask again)."""
        if not self.is_bound:
            return False
        cleaned = getattr(self, "cleaned_data", {})
        return self.needs_phi_confirmation or bool(cleaned.get("phi_confirmed"))

    @property
    def photo_was_sent(self) -> bool:
        return bool(self.files.get("photo"))


# The intake's fields on a tablet and for a member, each made once.
_INTAKE_FIELDS = {
    on_tablet: _SharedFields(IntakeForm.base_fields | _reporter_fields(tablet=on_tablet))
    for on_tablet in (True, False)
}


def _new_key() -> str:
    return str(uuid.uuid4())


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class JoinForm(forms.Form):
    """ "This is my problem too": which issue (or known issue), and from a tablet who is asking."""

    issue = forms.IntegerField(required=False, min_value=1)
    known_issue = forms.IntegerField(required=False, min_value=1)
    unit = forms.IntegerField(required=False, min_value=1)

    def __init__(self, data: QueryDict, *, floor: Floor) -> None:
        super().__init__(data)
        self.fields.update(_reporter_fields(tablet=floor.on_tablet))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("issue") and not cleaned.get("known_issue"):
            raise forms.ValidationError("Choose the issue you have too.")
        return cleaned


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="What is still wrong?",
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        error_messages={
            "required": "Say what is still wrong, so the help desk knows where to start.",
            "max_length": "Keep it to 2,000 characters.",
        },
    )


class TabletForm(forms.ModelForm):
    """A new unit tablet: which unit (among those the manager manages) and where it lives."""

    class Meta:
        model = UnitTablet
        fields = ["unit", "label"]
        labels = {"label": "Where it lives"}
        error_messages = {
            "unit": {
                "required": "Choose the unit the tablet belongs to.",
                "invalid_choice": "Choose one of the units you manage.",
            },
            "label": {
                "required": "Say where the tablet lives, e.g. “Nurses' station”.",
                "max_length": "Keep the label to 60 characters.",
            },
        }

    def __init__(self, data: QueryDict | None = None, *, units: QuerySet[Unit]) -> None:
        super().__init__(data)
        field = self.fields["unit"]
        field.queryset = units  # type: ignore[attr-defined]
        field.label_from_instance = _unit_label  # type: ignore[attr-defined]
        field.empty_label = None  # type: ignore[attr-defined]


class EnrollCodeForm(forms.Form):
    """The enrollment code typed by hand when the camera cannot read the QR code."""

    code = forms.CharField(
        label="Enrollment code",
        max_length=20,
        error_messages={
            "required": "Type the code shown on your manager's screen.",
            "max_length": "The code has 12 letters and digits.",
        },
        widget=_text(autocomplete="off", autocapitalize="characters", spellcheck="false"),
    )


class CallForm(forms.Form):
    """ "Who do I call now": the unit (a member's choice; a tablet's is fixed) and the kind of
    problem, which picks the escalation path whose tiers come first.

    Each list is read once, in one query, and serves both to offer the choices and to check the
    answer (`units`, `categories`, by id). Model choice fields would read each list three times
    (a count and a server-side cursor to list it, a lookup to clean it), and this page has a
    30 ms budget. The cleaned `unit` and `category` are the rows themselves, or None.
    """

    category = forms.TypedChoiceField(
        label="Kind of problem",
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select form-select-lg"}),
        error_messages={"invalid_choice": "Choose a kind of problem from the list."},
    )

    def __init__(self, data: QueryDict | None, *, floor: Floor) -> None:
        super().__init__(data)
        self.categories: dict[int, Category] = {
            category.pk: category
            for category in Category.objects.filter(go_live=floor.go_live, is_active=True)
        }
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", "Any problem"),
            *((pk, category.name) for pk, category in self.categories.items()),
        ]
        # The member's units, first one first: shown until they choose another (see the view).
        self.units: dict[int, Unit] = {}
        if not floor.on_tablet:
            self.units = {
                unit.pk: unit
                for unit in floor.units().select_related("site").order_by("site__name", "name")
            }
            self.fields["unit"] = forms.TypedChoiceField(
                label="Unit",
                coerce=int,
                choices=[(pk, _unit_label(unit)) for pk, unit in self.units.items()],
                required=False,
                empty_value=None,
                widget=forms.Select(attrs={"class": "form-select form-select-lg"}),
                error_messages={"invalid_choice": "Choose one of your units from the list."},
            )
            self.order_fields(["unit", "category"])

    def clean_unit(self) -> Unit | None:
        pk: int | None = self.cleaned_data["unit"]
        return None if pk is None else self.units[pk]

    def clean_category(self) -> Category | None:
        pk: int | None = self.cleaned_data["category"]
        return None if pk is None else self.categories[pk]

    def options(self, name: str, chosen: Unit | Category | None) -> SafeString:
        """The `<option>`s of field `name`'s select, `chosen` selected. Built here in one pass:
        looping over fifty-odd choices in the template cost more than the query that read them."""
        chosen_pk = None if chosen is None else chosen.pk
        return format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if value == chosen_pk else "", label)
                for value, label in self.fields[name].choices  # type: ignore[attr-defined]
            ),
        )
