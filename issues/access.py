"""Who may see which issues, and the floor pages' two kinds of visitor: a signed-in member or an
enrolled unit tablet.

Every issue view loads its issue through `get_issue_for_user` (or lists `visible_issues`), so the
rule lives here once:

- everyone: the issues they reported or joined ("my problem too");
- floor staff: their units' issues;
- support staff: the issues assigned to them, and their units' issues;
- clinic managers: their managed units' issues;
- help desk agents and command center leads: every issue of the go-live;
- an enrolled tablet: its unit's issues (and nothing else of the go-live);
- nobody: another go-live's issues.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from golive.lib.rows import Columns, prepared_cursor
from golive.models import GoLive, Membership, Role, Site, Unit
from golive.permissions import DESK, home_units, managed_units
from issues.models import Issue, IssueReporter, UnitTablet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

TABLET_COOKIE = "golive_tablet"
# A tablet's "last used" is written at most this often, so browsing costs no write per request.
LAST_USED_EVERY = dt.timedelta(minutes=1)

View = Callable[..., HttpResponse]


def hash_secret(secret: str) -> str:
    """Tablet codes and secrets are random 32-byte tokens: a plain SHA-256 is enough to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_issues(membership: Membership) -> QuerySet[Issue]:
    """The issues of the membership's go-live its role may see (no query until evaluated)."""
    issues = Issue.objects.filter(go_live_id=membership.go_live_id)
    if membership.role in DESK:
        return issues
    user_id = membership.user_id
    # Everyone sees what they reported or joined ("my problem too").
    mine = Q(reporter_user_id=user_id) | Q(
        Exists(IssueReporter.objects.filter(issue=OuterRef("pk"), user_id=user_id))
    )
    if membership.role == Role.CLINIC_MANAGER:
        units: QuerySet[Unit] = managed_units(membership)
    elif membership.role == Role.SUPPORT_STAFF:
        units = home_units(membership)
        mine |= Q(assignee_id=user_id)
    else:
        units = home_units(membership)
    return issues.filter(mine | Q(unit__in=units.values("pk")))


def tablet_issues(tablet: UnitTablet) -> QuerySet[Issue]:
    return Issue.objects.filter(go_live_id=tablet.go_live_id, unit_id=tablet.unit_id)


@dataclass(frozen=True)
class Floor:
    """Who is at a floor page: a member (user and membership) or an enrolled tablet."""

    go_live: GoLive
    membership: Membership | None = None
    tablet: UnitTablet | None = None

    @property
    def user(self) -> AbstractBaseUser | None:
        return self.membership.user if self.membership is not None else None

    def issues(self) -> QuerySet[Issue]:
        if self.tablet is not None:
            return tablet_issues(self.tablet)
        assert self.membership is not None
        return visible_issues(self.membership)

    def units(self) -> QuerySet[Unit]:
        """Units this visitor may log issues for: the tablet's, else the member's home units."""
        if self.tablet is not None:
            return Unit.objects.filter(pk=self.tablet.unit_id)
        assert self.membership is not None
        if self.membership.role == Role.CLINIC_MANAGER:
            return managed_units(self.membership).filter(is_active=True)
        return home_units(self.membership)


def floor_access(view: View) -> View:
    """A floor page: open to an enrolled tablet and to any member of the current go-live.

    The view receives `request.floor`. A signed-in member wins over a tablet cookie (someone who
    signs in on a shared tablet acts as themself). A revoked tablet is told so, plainly.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership: Membership | None = getattr(request, "membership", None)
        tablet: UnitTablet | None = getattr(request, "tablet", None)
        if request.user.is_authenticated and membership is not None:
            request.floor = Floor(go_live=membership.go_live, membership=membership)  # type: ignore[attr-defined]
        elif tablet is not None:
            request.floor = Floor(go_live=tablet.go_live, tablet=tablet)  # type: ignore[attr-defined]
        elif getattr(request, "tablet_revoked", False):
            return render(request, "issues/tablet_revoked.html", status=403)
        elif request.user.is_authenticated:
            return render(request, "golive/no_go_live.html", status=403)
        else:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def floor_of(request: HttpRequest) -> Floor:
    """Who is at a floor page, as `floor_access` found them."""
    floor: Floor = request.floor  # type: ignore[attr-defined]
    return floor


def get_issue_for_floor(request: HttpRequest, pk: int) -> Issue:
    """An issue the floor visitor may see; 404 for anything else (its existence does not leak)."""
    floor = floor_of(request)
    issue = (
        floor.issues()
        .select_related("unit__site", "category", "application", "assignee", "reporter_user")
        .filter(pk=pk)
        .first()
    )
    if issue is None:
        raise Http404("No such issue.")
    return issue


def get_issue_for_user(request: HttpRequest, pk: int) -> Issue:
    """An issue of the current go-live the signed-in member's role may see; 404 otherwise."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404("No such issue.")
    issue = (
        visible_issues(membership)
        .select_related(
            "go_live", "unit__site", "category", "application", "assignee", "reporter_user", "tier"
        )
        .filter(pk=pk)
        .first()
    )
    if issue is None:
        raise Http404("No such issue.")
    return issue


_TABLET = Columns(UnitTablet, "t")
_GO_LIVE = Columns(GoLive, "g")
_UNIT = Columns(Unit, "u")
_SITE = Columns(Site, "s")
# Every tablet request pays for this lookup, so it is written once rather than compiled each time.
_TABLET_SQL = (
    f"SELECT {_TABLET.sql}, {_GO_LIVE.sql}, {_UNIT.sql}, {_SITE.sql} "
    f"FROM {UnitTablet._meta.db_table} t "
    f"JOIN {GoLive._meta.db_table} g ON g.id = t.go_live_id "
    f"JOIN {Unit._meta.db_table} u ON u.id = t.unit_id "
    f"JOIN {Site._meta.db_table} s ON s.id = u.site_id "
    "WHERE t.secret_hash = %s"
)


def tablet_by_secret(secret: str) -> UnitTablet | None:
    """The tablet whose secret this is, with its go-live, unit and site; None if there is none."""
    with prepared_cursor() as cursor:
        cursor.execute(_TABLET_SQL, [hash_secret(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    ends = list(accumulate(len(part) for part in (_TABLET, _GO_LIVE, _UNIT, _SITE)))
    tablet = _TABLET.load(row[: ends[0]])
    tablet.go_live = _GO_LIVE.load(row[ends[0] : ends[1]])
    unit = _UNIT.load(row[ends[1] : ends[2]])
    unit.site = _SITE.load(row[ends[2] :])
    tablet.unit = unit
    return tablet


class TabletMiddleware:
    """Sets `request.tablet` to the enrolled, unrevoked tablet whose secret the cookie holds.

    No cookie, no query. A revoked or unknown secret sets `request.tablet_revoked` so floor pages
    can say why the tablet stopped working. The go-live's time zone is activated for the tablet.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tablet = None  # type: ignore[attr-defined]
        request.tablet_revoked = False  # type: ignore[attr-defined]
        secret = request.COOKIES.get(TABLET_COOKIE)
        if secret and not getattr(request, "membership", None):
            tablet = tablet_by_secret(secret)
            if tablet is None or tablet.is_revoked or not tablet.unit.is_active:
                request.tablet_revoked = True  # type: ignore[attr-defined]
            else:
                request.tablet = tablet  # type: ignore[attr-defined]
                timezone.activate(tablet.go_live.tzinfo)
                now = timezone.now()
                if tablet.last_used_at is None or now - tablet.last_used_at > LAST_USED_EVERY:
                    UnitTablet.objects.filter(pk=tablet.pk).update(last_used_at=now)
        return self.get_response(request)
