"""QuickSelect writes the HTML Django's select templates write, option for option."""

import re

import pytest
from django import forms

from golive.lib.widgets import QuickSelect

CHOICES = [
    ("", "Any"),
    (1, "Ward <b>A</b> & B"),
    ("Night", [(2, "Two"), (3, 'Say "three"')]),
    ("x<y", "<script>alert(1)</script>"),
]


class QuickSelectMultiple(QuickSelect, forms.SelectMultiple):
    pass


def between_tags(html: str) -> str:
    """Django's templates put line breaks between tags; they mean nothing in HTML."""
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize(
    ("django_widget", "quick_widget", "value"),
    [
        (forms.Select, QuickSelect, None),
        (forms.Select, QuickSelect, "2"),
        (forms.Select, QuickSelect, "x<y"),
        (forms.SelectMultiple, QuickSelectMultiple, ["1", "3"]),
    ],
)
def test_it_writes_what_djangos_templates_write(
    django_widget: type[forms.Select], quick_widget: type[forms.Select], value: object
) -> None:
    attrs = {"class": "form-select", "disabled": False, "required": True, "data-x": 'a"b'}
    expected = django_widget(attrs=attrs, choices=CHOICES).render("unit", value, {"id": "id_u"})
    written = quick_widget(attrs=attrs, choices=CHOICES).render("unit", value, {"id": "id_u"})
    assert between_tags(written) == between_tags(expected)


def test_labels_and_values_are_escaped() -> None:
    html = QuickSelect(choices=CHOICES).render("unit", "x<y")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<option value="x&lt;y" selected>' in html
