"""Logging an issue from the floor: the intake form, similar issues while typing, "this is my
problem too", the confirmation, and the issue's photos.

Every page is open to an enrolled unit tablet and to members of the current go-live
(`floor_access`); each issue is loaded through `get_issue_for_floor`, so a tablet reaches only its
unit's issues and nobody reaches another go-live's.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import retarget

from golive.lib.urls import path_of
from golive.models import Unit
from golive.views.golives import posted
from issues.access import (
    Floor,
    floor_access,
    floor_of,
    get_issue_for_floor,
    tablet_checked_by_write,
)
from issues.forms_intake import IntakeForm, JoinForm
from issues.intake import (
    joinable_issue,
    phi_patterns_for_script,
    similar_issues,
    submit_intake,
    whom_to_call,
)
from issues.models import Issue, IssuePhoto
from issues.offline import is_queue_send, offline_copy, queue_answer
from issues.services import IssueRefused, add_reporter


def _member_units(floor: Floor) -> QuerySet[Unit] | None:
    """The units a member chooses among; None on a tablet, whose unit is fixed."""
    if floor.on_tablet:
        return None
    return floor.units().select_related("site").order_by("site__name", "name")


def _place(floor: Floor, unit: Unit | None) -> dict[str, Any]:
    """Where the issue is logged (create_issue's arguments): the member's chosen unit, or the
    tablet's, named by its secret for the write to check (a tablet's POST to the intake always
    arrives unchecked: the view is marked `tablet_checked_by_write`)."""
    if floor.unchecked_secret_hash:
        return {"tablet_secret_hash": floor.unchecked_secret_hash}
    return {"go_live": floor.go_live, "unit": unit}


def _follow_url(floor: Floor) -> str:
    """Where the visitor follows their issues: the unit's list on a tablet, else My issues."""
    return "issues:tablet_home" if floor.tablet is not None else "issues:mine"


@floor_access
@offline_copy
@tablet_checked_by_write
def new_issue(request: HttpRequest) -> HttpResponse:
    """The intake form. A tablet's submission is checked by the statement that logs it (see
    `Floor`); the tablet is looked up only when the form has to be shown again.

    An issue the device queued (static/js/outbox.js) is answered in JSON: its number, or why it
    was refused."""
    floor = floor_of(request)
    units = _member_units(floor)
    form = IntakeForm(posted(request), request.FILES or None, floor=floor, units=units)
    if form.is_valid() and not form.needs_phi_confirmation:
        data = form.cleaned_data
        user = floor.user
        # A member is named from their account; a tablet has only what was typed.
        name = (
            data["reporter_name"] if user is None else user.get_full_name() or user.get_username()
        )
        try:
            issue = submit_intake(
                **_place(floor, data.get("unit")),
                category_id=data["category"],
                title=data["title"],
                impact=data["impact"],
                urgency=data["urgency"],
                description=data["description"],
                location_detail=data["location_detail"],
                application_id=data["application"],
                patient_safety=data["patient_safety"],
                workaround_in_use=data["workaround_in_use"],
                reporter_user=user,
                reporter_name=name,
                reporter_callback=data["reporter_callback"],
                client_key=data["client_key"],
                photo=data["photo"],
            )
        except IssueRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            if is_queue_send(request):
                return _logged(issue)
            return HttpResponseRedirect(path_of("issues:confirmation", issue.pk))
    floor.check()
    if is_queue_send(request):
        return _refused(form)
    context = {
        "form": form,
        "floor": floor,
        "phi_patterns": phi_patterns_for_script(),
        "no_unit": form.no_unit,
        "photo_max_bytes": settings.ISSUE_PHOTO_MAX_BYTES,
    }
    return render(request, "issues/intake.html", context, status=400 if form.errors else 200)


def _logged(issue: Issue) -> JsonResponse:
    """The queued issue's number and pages; the same for a resend of an issue already logged."""
    return queue_answer(
        201,
        code=issue.code,
        confirmation=path_of("issues:confirmation", issue.pk),
        url=path_of("issues:floor_issue", issue.pk),
    )


def _refused(form: IntakeForm) -> JsonResponse:
    """Why a queued issue was not logged, field by field, for the device to show with it
    (`form`: the intake form, posted as a page, would say the same)."""
    if not form.errors:
        kinds = ", ".join(form.phi_kinds)
        message = f"It looks like it holds {kinds}. Take patient data out, then send it again."
        return queue_answer(400, message, form=True, errors={})
    errors = {
        name: [str(message) for message in messages] for name, messages in form.errors.items()
    }
    lines = [message for messages in errors.values() for message in messages]
    return queue_answer(400, "Not logged: " + " ".join(lines), form=True, errors=errors)


@floor_access
@require_GET
def similar(request: HttpRequest) -> HttpResponse:
    """The suggestions under the form while the reporter types (an htmx partial)."""
    floor = floor_of(request)
    text = f"{request.GET.get('title', '')} {request.GET.get('description', '')}"[:1000]
    units = floor.units()
    unit_id = request.GET.get("unit", "")
    if floor.tablet is None and unit_id.isdigit():
        units = units.filter(pk=int(unit_id))
    context = {"suggestions": similar_issues(floor=floor, text=text, units=units), "floor": floor}
    return render(request, "issues/intake_similar.html", context)


@floor_access
@require_POST
def join(request: HttpRequest) -> HttpResponse:
    """ "This is my problem too": join an issue instead of logging a duplicate."""
    floor = floor_of(request)
    form = JoinForm(request.POST, floor=floor)
    valid = form.is_valid()
    data = form.cleaned_data
    if not (data.get("issue") or data.get("known_issue")):
        raise Http404("No such issue.")
    issue = joinable_issue(
        floor, issue_id=data.get("issue"), known_issue_id=data.get("known_issue")
    )
    if not valid:
        return _join_step(request, form=form, issue=issue)
    unit = _join_unit(floor, data["unit"])
    try:
        _, added = add_reporter(
            issue=issue,
            user=floor.user,
            name=data.get("reporter_name", ""),
            callback=data.get("reporter_callback", ""),
            unit=unit,
        )
    except IssueRefused as exc:
        return _join_step(request, form=form, issue=issue, error=exc)
    context = {
        "issue": issue,
        "added": added,
        "floor": floor,
        "follow_url": _follow_url(floor),
        "whom": whom_to_call(go_live=floor.go_live, unit=unit or issue.unit, now=timezone.now()),
    }
    if request.htmx:  # type: ignore[attr-defined]
        # The whole form gives way to the answer: there is nothing left to log.
        return retarget(render(request, "issues/intake_joined.html", context), "#intake-page")
    return render(request, "issues/intake_join.html", {**context, "step": "joined"})


def _join_unit(floor: Floor, unit_id: int | None) -> Unit | None:
    """The unit the joiner is on: the tablet's, or the member's chosen (or only) unit."""
    if floor.tablet is not None:
        return floor.tablet.unit
    units = floor.units().select_related("site")
    if unit_id is not None and (chosen := units.filter(pk=unit_id).first()) is not None:
        return chosen
    only = list(units[:2])
    return only[0] if len(only) == 1 else None


def _join_step(
    request: HttpRequest, *, form: JoinForm, issue: Issue, error: IssueRefused | None = None
) -> HttpResponse:
    """Ask the tablet reporter for their name and number, or say why joining was refused, in
    the suggestion's card (htmx) or on a page of its own."""
    context = {"form": form, "issue": issue, "error": str(error or ""), "floor": floor_of(request)}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "issues/intake_join_ask.html", context)
    return render(request, "issues/intake_join.html", {**context, "step": "ask"}, status=400)


@floor_access
def confirmation(request: HttpRequest, pk: int) -> HttpResponse:
    floor = floor_of(request)
    issue = get_issue_for_floor(request, pk)
    context = {
        "issue": issue,
        "floor": floor,
        "follow_url": _follow_url(floor),
        "whom": whom_to_call(go_live=floor.go_live, unit=issue.unit, now=timezone.now()),
    }
    return render(request, "issues/intake_confirmation.html", context)


@floor_access
@require_GET
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo of an issue the visitor may see, served by the app (never a public media URL)."""
    floor = floor_of(request)
    found = (
        IssuePhoto.objects.select_related("issue")
        .filter(pk=pk, issue__in=floor.issues().values("pk"))
        .first()
    )
    if found is None:
        raise Http404("No such photo.")
    extension = mimetypes.guess_extension(found.content_type) or ""
    response = FileResponse(
        found.file.open("rb"),
        content_type=found.content_type,
        filename=f"{found.issue.code}-photo-{found.pk}{extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


urlpatterns: list[URLPattern] = [
    path("new/", new_issue, name="new"),
    path("new/similar/", similar, name="similar"),
    path("join/", join, name="join"),
    path("<int:pk>/logged/", confirmation, name="confirmation"),
    path("photos/<int:pk>/", photo, name="photo"),
]
