"""'Who do I call now': for a unit and a kind of problem, the people to call now, tier by tier,
with tap-to-call links, from the same resolution as escalation (`issues.reach`). Open to enrolled
tablets (their unit) and to members (their units); printable as a one-page card for the wall."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET

from issues.access import floor_access, floor_of
from issues.forms_intake import CallForm
from issues.offline import offline_copy
from issues.reach import call_list


@floor_access
@offline_copy
@require_GET
def call_now(request: HttpRequest) -> HttpResponse:
    floor = floor_of(request)
    form = CallForm(request.GET or None, floor=floor)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    unit = floor.tablet.unit if floor.tablet is not None else data.get("unit")
    if unit is None and floor.tablet is None and valid:
        # A member who has not chosen: their first unit, until they choose another.
        unit = next(iter(form.units.values()), None)
    category = data.get("category")
    now = timezone.now()
    rows = (
        call_list(
            go_live=floor.go_live,
            unit=unit,
            category_id=category.pk if category is not None else None,
            at=now,
        )
        if unit is not None and valid
        else []
    )
    context = {
        "form": form,
        "floor": floor,
        "unit": unit,
        "category": category,
        "rows": rows,
        "now": now,
        "unit_options": form.options("unit", unit) if "unit" in form.fields else "",
        "category_options": form.options("category", category),
    }
    return render(request, "issues/call_now.html", context, status=200 if valid else 400)


urlpatterns: list[URLPattern] = [
    path("call/", call_now, name="call_now"),
]
