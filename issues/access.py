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

import hashlib
from collections.abc import Callable
from functools import wraps
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from golive.lib.rows import Columns, prepared_cursor
from golive.models import GoLive, Membership, Role, Site, Unit
from golive.permissions import DESK, home_units, managed_units
from issues.models import TABLET_LAST_USED_EVERY, Issue, IssueReporter, UnitTablet
from issues.offline import forget_copies, is_queue_send, queue_answer

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

TABLET_COOKIE = "golive_tablet"

View = Callable[..., HttpResponse]

# May open the queue and issues' pages.
VIEWERS = DESK | {Role.SUPPORT_STAFF, Role.CLINIC_MANAGER}
# May claim issues and move them along their workflow.
WORKERS = DESK | {Role.SUPPORT_STAFF}


def hash_secret(secret: str) -> str:
    """Tablet codes and secrets are random 32-byte tokens: a plain SHA-256 is enough to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def client_address(request: HttpRequest) -> str:
    """The address the server saw. Behind a proxy every client shares the proxy's address, which
    makes a limit per address stricter, never looser: X-Forwarded-For is not trusted (anyone can
    set it)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


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


class TabletRevoked(Exception):
    """The tablet at a floor page turned out unknown, revoked or of a closed unit."""


class Floor:
    """Who is at a floor page: a member (user and membership) or an enrolled unit tablet.

    A tablet posting to a view marked `tablet_checked_by_write` comes in unchecked: the statement
    that writes checks its secret itself (`unchecked_secret_hash`), so the submission pays no
    lookup. Whatever needs the tablet before that (`tablet`, `go_live`, `check`) looks it up then,
    the usual way, and raises `TabletRevoked` if it is not enrolled, which `floor_access` answers
    with the revoked page.
    """

    def __init__(
        self,
        *,
        go_live: GoLive | None = None,
        membership: Membership | None = None,
        tablet: UnitTablet | None = None,
        unchecked: Callable[[], UnitTablet | None] | None = None,
        unchecked_secret_hash: str = "",
    ) -> None:
        if go_live is None and unchecked is None:
            raise TypeError("A floor has a go-live, or an unchecked tablet to find it from.")
        self.membership = membership
        self._go_live = go_live
        self._tablet = tablet
        self._unchecked = unchecked
        self.unchecked_secret_hash = unchecked_secret_hash

    def check(self) -> None:
        """Look up an unchecked tablet now; TabletRevoked if it is not enrolled."""
        if self._unchecked is None:
            return
        tablet = self._unchecked()
        if tablet is None:
            raise TabletRevoked
        self._unchecked, self.unchecked_secret_hash = None, ""
        self._tablet, self._go_live = tablet, tablet.go_live

    @property
    def go_live(self) -> GoLive:
        self.check()
        assert self._go_live is not None
        return self._go_live

    @property
    def tablet(self) -> UnitTablet | None:
        self.check()
        return self._tablet

    @property
    def on_tablet(self) -> bool:
        """A tablet, checked or not (no query)."""
        return self._tablet is not None or self._unchecked is not None

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


def tablet_checked_by_write(view: View) -> View:
    """Marks a floor view whose tablet POSTs are checked by the statement that writes them (see
    `Floor`): the middleware leaves the tablet unchecked there instead of looking it up."""
    view.tablet_checked_by_write = True  # type: ignore[attr-defined]
    return view


def floor_access(view: View) -> View:
    """A floor page: open to an enrolled tablet and to any member of the current go-live.

    The view receives `request.floor`. A signed-in member wins over a tablet cookie (someone who
    signs in on a shared tablet acts as themself). A revoked tablet is told so, plainly, also when
    an unchecked one turns out revoked during the view.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership: Membership | None = getattr(request, "membership", None)
        tablet: UnitTablet | None = getattr(request, "tablet", None)
        unchecked: str = getattr(request, "tablet_unchecked", "")
        if request.user.is_authenticated and membership is not None:
            floor = Floor(go_live=membership.go_live, membership=membership)
        elif tablet is not None:
            floor = Floor(go_live=tablet.go_live, tablet=tablet)
        elif unchecked:
            floor = Floor(
                unchecked=lambda: check_tablet(request, unchecked),
                unchecked_secret_hash=hash_secret(unchecked),
            )
        elif getattr(request, "tablet_revoked", False):
            return _revoked(request)
        elif request.user.is_authenticated:
            if is_queue_send(request):
                return queue_answer(403, "You are no longer a member of a go-live in golive.")
            return render(request, "golive/no_go_live.html", status=403)
        elif is_queue_send(request):
            # The device keeps the issue and sends it once its reporter has signed in again.
            return queue_answer(401, "Sign in again to send it.", sign_in=reverse("login"))
        else:
            return redirect_to_login(request.get_full_path())
        request.floor = floor  # type: ignore[attr-defined]
        try:
            return view(request, *args, **kwargs)
        except TabletRevoked:
            return _revoked(request)

    return wrapper


def _revoked(request: HttpRequest) -> HttpResponse:
    """Why the tablet stopped working, as a page or, to its queue, in JSON; either way the device
    drops its copies of the unit's pages. The page carries the queue's words too: the device marks
    with them the issues still waiting on it."""
    closed: Unit | None = getattr(request, "tablet_closed_unit", None)
    if closed is not None:
        message = (
            f"{closed.name} was closed in golive, so this issue was not logged. "
            "Call the command center to report it."
        )
    else:
        message = (
            "This tablet is no longer enrolled, so this issue was not logged. Call the "
            "command center, or ask your unit manager to enroll the tablet again."
        )
    if is_queue_send(request):
        return forget_copies(queue_answer(403, message, revoked=True))
    context = {"closed_unit": closed, "queue_message": message}
    return forget_copies(render(request, "issues/tablet_revoked.html", context, status=403))


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


def check_tablet(request: HttpRequest, secret: str) -> UnitTablet | None:
    """Look up the tablet whose secret the cookie holds and set `request.tablet` (or
    `request.tablet_revoked`); the go-live's time zone is activated for the tablet."""
    tablet = tablet_by_secret(secret)
    if tablet is None or tablet.is_revoked or not tablet.unit.is_active:
        request.tablet_revoked = True  # type: ignore[attr-defined]
        if tablet is not None and not tablet.is_revoked:
            request.tablet_closed_unit = tablet.unit  # type: ignore[attr-defined]
        return None
    request.tablet = tablet  # type: ignore[attr-defined]
    timezone.activate(tablet.go_live.tzinfo)
    now = timezone.now()
    if tablet.last_used_at is None or now - tablet.last_used_at > TABLET_LAST_USED_EVERY:
        UnitTablet.objects.filter(pk=tablet.pk).update(last_used_at=now)
    return tablet


class TabletMiddleware:
    """Sets `request.tablet` to the enrolled, unrevoked tablet whose secret the cookie holds.

    No cookie, no query. A revoked or unknown secret sets `request.tablet_revoked` so floor pages
    can say why the tablet stopped working. A POST to a view marked `tablet_checked_by_write`
    leaves the secret in `request.tablet_unchecked` instead: the view's write checks it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tablet = None  # type: ignore[attr-defined]
        request.tablet_revoked = False  # type: ignore[attr-defined]
        request.tablet_unchecked = ""  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: View, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        secret = request.COOKIES.get(TABLET_COOKIE)
        if not secret or getattr(request, "membership", None):
            return
        if request.method == "POST" and getattr(view, "tablet_checked_by_write", False):
            request.tablet_unchecked = secret  # type: ignore[attr-defined]
        else:
            check_tablet(request, secret)
