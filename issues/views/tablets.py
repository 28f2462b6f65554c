"""Unit tablets: the managers' page (enroll, new code, revoke), the enrollment landing the tablet
opens, and the tablet's home page (log an issue, the unit's issues, whom to call).

Managers see the tablets of the units they manage (the lead: every unit); a tablet of any other
unit or go-live is answered 404. The enrollment landing is open to anyone holding a code and is
rate-limited per client address; the one-time code is shown once, on the response that made it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from golive.models import Membership, Unit
from golive.permissions import MANAGERS, managed_units, role_required
from golive.views.accounts import CLEAR_DEVICE
from golive.views.golives import posted
from issues import tablets
from issues.access import TABLET_COOKIE, client_address, floor_access, floor_of
from issues.forms_intake import EnrollCodeForm, TabletForm
from issues.intake import whom_to_call
from issues.models import UnitTablet
from issues.offline import offline_copy
from issues.services import OPEN, REOPEN_WINDOW

COOKIE_AGE = dt.timedelta(days=365)


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _units(membership: Membership) -> QuerySet[Unit]:
    return managed_units(membership).filter(is_active=True).select_related("site")


def _get_tablet_for(request: HttpRequest, pk: int) -> UnitTablet:
    """A tablet of a unit the manager manages; 404 for any other."""
    membership = _membership(request)
    return get_object_or_404(
        UnitTablet.objects.select_related("unit__site"),
        pk=pk,
        go_live_id=membership.go_live_id,
        unit__in=managed_units(membership).values("pk"),
    )


# --- The managers' page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TabletRow:
    tablet: UnitTablet
    status: str

    @property
    def status_label(self) -> str:
        return tablets.Status.LABELS[self.status]


def _qr_svg(url: str) -> SafeString:
    """The link as an inline SVG QR code; made here from our own URL, so it is safe markup."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return mark_safe(image.to_string(encoding="unicode"))


def _tablets_page(
    request: HttpRequest,
    form: TabletForm,
    *,
    enrollment: tablets.Enrollment | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = _membership(request)
    now = timezone.now()
    rows = [
        TabletRow(tablet, tablets.tablet_status(tablet, now))
        for tablet in UnitTablet.objects.filter(
            go_live_id=membership.go_live_id,
            unit__in=managed_units(membership).values("pk"),
        )
        .select_related("unit__site", "created_by")
        .order_by("unit__site__name", "unit__name", "label", "pk")
    ]
    context: dict[str, object] = {
        "go_live": membership.go_live,
        "form": form,
        "rows": rows,
        "enrollment": enrollment,
        "waiting": tablets.Status.WAITING,
        "expired": tablets.Status.EXPIRED,
        "revoked": tablets.Status.REVOKED,
    }
    if enrollment is not None:
        link = request.build_absolute_uri(reverse("issues:tablet_enroll", args=[enrollment.code]))
        context |= {"link": link, "qr": _qr_svg(link)}
    response = render(request, "issues/tablets.html", context, status=status)
    if enrollment is not None:
        # The code is shown once: no cache, no back-button copy of it.
        response["Cache-Control"] = "no-store"
    return response


@role_required(MANAGERS)
def tablet_list(request: HttpRequest) -> HttpResponse:
    """The go-live's tablets with status and last use, and the form to enroll one."""
    membership = _membership(request)
    form = TabletForm(posted(request), units=_units(membership))
    if form.is_valid():
        try:
            enrollment = tablets.create_enrollment(
                go_live=membership.go_live,
                unit=form.cleaned_data["unit"],
                label=form.cleaned_data["label"],
                actor=_user(request),
            )
        except tablets.TabletRefused as exc:
            form.add_error(None, str(exc))
            return _tablets_page(request, form, status=_status(exc))
        return _tablets_page(request, TabletForm(units=_units(membership)), enrollment=enrollment)
    return _tablets_page(request, form, status=400 if form.errors else 200)


def _status(refusal: tablets.TabletRefused) -> int:
    return 429 if isinstance(refusal, tablets.RateLimited) else 400


@role_required(MANAGERS)
@require_POST
def tablet_new_code(request: HttpRequest, pk: int) -> HttpResponse:
    tablet = _get_tablet_for(request, pk)
    form = TabletForm(units=_units(_membership(request)))
    try:
        enrollment = tablets.reissue_code(tablet=tablet, actor=_user(request))
    except tablets.TabletRefused as exc:
        messages.error(request, str(exc))
        return _tablets_page(request, form, status=_status(exc))
    return _tablets_page(request, form, enrollment=enrollment)


@role_required(MANAGERS)
@require_POST
def tablet_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    tablet = _get_tablet_for(request, pk)
    try:
        tablets.revoke_tablet(tablet=tablet, actor=_user(request))
    except tablets.TabletRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{tablet} is revoked: it stopped working at once.")
    return redirect("issues:tablets")


# --- On the tablet: enrollment --------------------------------------------------------------------


def tablet_enter_code(request: HttpRequest) -> HttpResponse:
    """Type the code by hand when the camera cannot read the QR code."""
    form = EnrollCodeForm(request.GET or None)
    if form.is_valid():
        return redirect(
            "issues:tablet_enroll", code=tablets.normalize_code(form.cleaned_data["code"])
        )
    return render(request, "issues/tablet_enter_code.html", {"form": form})


@never_cache
def tablet_enroll(request: HttpRequest, code: str) -> HttpResponse:
    """The one-time link: confirm, then this browser becomes the unit's tablet."""
    ip = client_address(request)
    try:
        tablets.check_wrong_codes(ip)
    except tablets.RateLimited as exc:
        return render(request, "issues/tablet_enroll.html", {"problem": str(exc)}, status=429)
    if request.method == "POST":
        try:
            tablet, secret = tablets.claim_enrollment(code=code)
        except tablets.TabletRefused as exc:
            return _refused(request, ip, tablets.find_by_code(code), str(exc))
        # The device is the unit's now, not a person's: nobody stays signed in on it, and nothing
        # it kept for whoever was signed in stays on it.
        logout(request)
        response = redirect("issues:tablet_home")
        response["Clear-Site-Data"] = CLEAR_DEVICE
        response.set_cookie(
            TABLET_COOKIE,
            secret,
            max_age=int(COOKIE_AGE.total_seconds()),
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Lax",
        )
        return response
    now = timezone.now()
    tablet = tablets.find_by_code(code)
    if tablet is None or tablets.tablet_status(tablet, now) != tablets.Status.WAITING:
        return _refused(request, ip, tablet, tablets.why_refused(tablet, now))
    return render(request, "issues/tablet_enroll.html", {"tablet": tablet, "code": code})


def _refused(
    request: HttpRequest, ip: str, tablet: UnitTablet | None, problem: str
) -> HttpResponse:
    if tablet is None:
        # Only a code that matches nothing counts as a guess.
        tablets.count_wrong_code(ip)
    status = 404 if tablet is None or tablet.enrolled_at is not None else 410
    return render(request, "issues/tablet_enroll.html", {"problem": problem}, status=status)


# --- On the tablet: its home ----------------------------------------------------------------------

# Resolved issues stay on the unit's list while they may still be reopened.
RECENTLY_RESOLVED = REOPEN_WINDOW


@floor_access
@offline_copy
def tablet_home(request: HttpRequest) -> HttpResponse:
    """The unit's open issues and those resolved lately, refreshed every 30 s; a member, who has
    no tablet, follows their issues on My issues instead."""
    floor = floor_of(request)
    if floor.tablet is None:
        return redirect("issues:mine")
    now = timezone.now()
    issues = list(
        floor.issues()
        .filter(Q(status__in=OPEN) | Q(resolved_at__gte=now - RECENTLY_RESOLVED))
        .select_related("category")
        .order_by("-created_at")
    )
    context = {
        "floor": floor,
        "tablet": floor.tablet,
        "open_issues": [issue for issue in issues if issue.is_open],
        "resolved_issues": [issue for issue in issues if not issue.is_open],
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "issues/tablet_home_issues.html", context)
    context["whom"] = whom_to_call(go_live=floor.go_live, unit=floor.tablet.unit, now=now)
    return render(request, "issues/tablet_home.html", context)


urlpatterns: list[URLPattern] = [
    path("tablets/", tablet_list, name="tablets"),
    path("tablets/<int:pk>/new-code/", tablet_new_code, name="tablet_new_code"),
    path("tablets/<int:pk>/revoke/", tablet_revoke, name="tablet_revoke"),
    path("tablets/enroll/", tablet_enter_code, name="tablet_enter_code"),
    path("tablets/enroll/<str:code>/", tablet_enroll, name="tablet_enroll"),
    path("tablet/", tablet_home, name="tablet_home"),
]
