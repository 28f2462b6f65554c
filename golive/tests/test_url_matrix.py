"""Every URL of golive, asked by every kind of visitor: an authorization matrix built from the
URLconf.

The URLconf is walked (`get_resolver()`, included resolvers and their namespaces) and every pattern
must have a row in `TABLE`; a row naming no pattern fails too, each saying which row to add or
remove. A row is a `Door` per HTTP method it is tested with (GET for pages; POST, or PATCH on the
API, for writes; a form page gets both), saying which roles pass it. The outcome of each (pattern,
method, role) cell is derived from that row and checked with a real request (test id
`pattern-role`, `pattern[POST]-role` for a page's second method) against real rows of Mercy's
go-live, built once for the module (`build_world`; `World.ids` is the one map from what the URLs
name to rows, `KWARGS` and `Door.obj` say which).

Roles (the root conftest's cast, built here once):

- `anonymous`: nobody signed in, no tablet cookie;
- `floor`: nurse_nina, floor staff on 4 West;
- `tablet`: an enrolled unit tablet of 4 West (its cookie, no user);
- `support`: super_sam, support staff, on the support roster (a shift, a request, a window);
- `agent`: agent_alex, help desk agent, also on the roster (as an analyst);
- `manager`: manager_maria, clinic manager limited to Mercy General (4 West is hers);
- `lead`: lead_lena, command center lead;
- `outsider`: outsider_oscar, command center lead of ANOTHER go-live (Lakeside). Every object in
  the URLs is Mercy's; a page without an object acts on the outsider's own go-live.

Outcome classes (what a response is classed as; a 5xx fails every cell):

- `ok`: the gate let the request through: 2xx, a 3xx to anywhere but the sign-in page, or a 400
  or 409 (the view refused the empty form or the object's state, after the gate);
- `login`: sign in first: a redirect to the sign-in page carrying `next=` (pages), 401 (API);
- `forbidden`: 403, the role (or the role's scope) does not open it;
- `not_found`: 404: what another go-live's objects must get (their existence does not leak),
  and what a member gets for another member's own objects (a notification, a token, a shift);
- `method`: 405, the method is not one the view takes.

How a cell's outcome is derived from a row: the roles in `Door.allowed` get `ok`; otherwise
`anonymous` and `tablet` get `login` (a tablet is nobody outside the floor pages); the outsider
gets `not_found` when the URL names an object (of Mercy), else what a lead gets; any other member
gets `forbidden`. `Door.special` overrides a cell where the view answers otherwise, with a reason.

Besides its outcome, each cell checks:

- a refused cell (anything but `ok`) wrote nothing: the rows inserted, updated or deleted in the
  test's transaction (PostgreSQL's `pg_stat_xact_user_tables`, sessions aside) are the same
  before and after the request: the gate comes before any write;
- no response shows a role what it must never see (`NEVER_SHOWN`): the outsider nothing of
  Mercy's, 4 West's tablet and floor staff and Mercy General's manager nothing of the Front Desk's
  issues (a link's own token excepted: whoever holds it is shown what it shows).

And further:

- `ELSEWHERE`: the doors that name a unit's rows, asked again with the Front Desk's rows (Fay's
  instead of Sam's): the roles limited to a unit, a site or their own rows are refused them;
- every write is sent without a CSRF token by a signed-in member it opens to: 403, nothing
  written; `CSRF_EXEMPT` lists, with the reason, the views that take POST without one;
- every write-only view answers GET from a role it opens to with 405.

Django admin (`admin:*`) is left out of the table: it has its own permission system (`is_staff`
and model permissions), covered by the apps' test_admin modules; one test here checks it stays
closed to non-staff. The URLconf has no static or media patterns (WhiteNoise serves static files;
issue photos are served by `issues:photo`, which is in the table).

The whole module runs in one transaction opened for the world; each test is a savepoint of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from pytest_django import DjangoDbBlocker

from golive import outbox
from golive.middleware import IdleSessionMiddleware
from golive.models import (
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Notification,
    Role,
    Site,
    Unit,
    WebhookEndpoint,
    WebhookEvent,
)
from golive.permissions import SESSION_KEY as GO_LIVE_SESSION_KEY
from golive.services import create_api_token
from golive.views import health
from issues import acks, tablets
from issues.access import TABLET_COOKIE
from issues.models import (
    Category,
    EscalationPath,
    Impact,
    IssuePhoto,
    KnownIssue,
    SavedView,
    UnitTablet,
    Urgency,
)
from issues.services import create_issue, ensure_issue_setup
from staffing import feeds, selfservice
from staffing.models import (
    AutoFillRun,
    CoverageRequirement,
    RosterImport,
    ShareLink,
    Shift,
    SupportPerson,
    SupportRole,
    Unavailability,
)
from staffing.services import assign_person

# --- Outcomes and roles ---------------------------------------------------------------------------


class Outcome(StrEnum):
    OK = "ok"
    LOGIN = "login"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD = "method"


OK, LOGIN, FORBIDDEN, NOT_FOUND, METHOD = Outcome

ROLES = ("anonymous", "floor", "tablet", "support", "agent", "manager", "lead", "outsider")
# Role groups, as golive.permissions and the apps name them (the outsider is derived, see above).
LEADS = frozenset({"lead"})
MANAGERS = frozenset({"lead", "manager"})
DESK = frozenset({"lead", "agent"})
READERS = frozenset({"lead", "manager", "agent"})  # staffing's READERS, the grid's VIEWERS
WORKERS = frozenset({"lead", "agent", "support"})
VIEWERS = frozenset({"lead", "agent", "support", "manager"})  # the issue log's VIEWERS
MEMBERS = frozenset({"lead", "manager", "agent", "support", "floor"})
FLOOR = MEMBERS | {"tablet"}  # issues.access.floor_access: members and enrolled tablets
EVERYONE = frozenset(ROLES)
# Sam's own rows (his assignment, request, availability window): a member's own objects.
SAM = frozenset({"support"})
# On the support roster: Sam, and Alex (the help desk's analyst), so that "not yours" is asked of
# someone with rows of his own, not only of people the self-service pages know nothing of.
ROSTER = frozenset({"support", "agent"})
# Another member's own object is answered as missing, not forbidden (ids do not leak).
NOT_SAMS = dict.fromkeys(("floor", "agent", "manager", "lead"), NOT_FOUND)
# Self-service pages answer someone not on the roster as if the row did not exist.
NOT_ON_ROSTER = dict.fromkeys(("floor", "manager", "lead"), NOT_FOUND)
NOT_LENAS = dict.fromkeys(("floor", "support", "agent", "manager"), NOT_FOUND)
# The same where floor staff are refused the door itself (the queue is not theirs).
NOT_LENAS_QUEUE = dict.fromkeys(("support", "agent", "manager"), NOT_FOUND)


@dataclass(frozen=True)
class Door:
    """One method of one URL pattern and the roles it opens to.

    `obj` names the World row a `pk` (or `token`) argument of the URL stands for; `data` is the
    body sent ("{name}" is a World id); `special` overrides the derived outcome of some roles.
    """

    allowed: frozenset[str]
    method: str = "get"
    obj: str = ""
    data: Mapping[str, str] = field(default_factory=dict)
    query: str = ""
    special: Mapping[str, Outcome] = field(default_factory=dict)
    path: str = ""  # for a pattern that cannot be reversed (unnamed)
    # The URL's secret token is the key: whoever holds the link is shown what it shows.
    keyed: bool = False

    @property
    def writes(self) -> bool:
        return self.method != "get"

    def expected(self, role: str, *, names_object: bool) -> Outcome:
        if role in self.special:
            return self.special[role]
        if role in self.allowed:
            return OK
        if role in {"anonymous", "tablet"}:
            return LOGIN
        if role == "outsider":
            return NOT_FOUND if names_object else self.expected("lead", names_object=False)
        return FORBIDDEN


def get(allowed: frozenset[str], **options: object) -> Door:
    return Door(allowed, "get", **options)  # type: ignore[arg-type]


def post(allowed: frozenset[str], **options: object) -> Door:
    return Door(allowed, "post", **options)  # type: ignore[arg-type]


def page(allowed: frozenset[str], **options: object) -> tuple[Door, Door]:
    """A form page: shown on GET, submitted by POST, to the same roles."""
    return get(allowed, **options), post(allowed, **options)


def api(allowed: frozenset[str], method: str = "get", **options: object) -> Door:
    return Door(allowed, method, **options)  # type: ignore[arg-type]


# --- The table: every URL pattern of golive ---------------------------------------------------------

NO_ENDPOINT = "/api/v1/no-such-endpoint/"

TABLE: dict[str, Door | tuple[Door, ...]] = {
    # Home: each role's own page; an enrolled tablet is sent on to its tablet page.
    "home": get(FLOOR),
    "healthz": get(EVERYONE),
    # The escalation message's acknowledge link: the signed token is the key; acknowledging
    # (POST) then needs a code or a recipient signed in, which the view itself decides.
    "ack": (
        get(EVERYONE, obj="ack_token", keyed=True),
        # An email's link (no code): only someone who may work the issue acknowledges by signing
        # in; anyone else is told so (403) and may still open the issue's page.
        post(
            WORKERS,
            obj="ack_token",
            keyed=True,
            special=dict.fromkeys(EVERYONE - WORKERS, FORBIDDEN),
        ),
    ),
    # --- issues: the floor's pages (members and tablets) ---
    "issues:new": page(FLOOR),
    # What makes the floor pages work offline: public, as they hold nobody's data.
    "issues:service_worker": get(EVERYONE),
    "issues:manifest": get(EVERYONE),
    "issues:offline": get(EVERYONE),
    # Words of the Front Desk's issue: whoever may not see it must not be offered it.
    "issues:similar": get(FLOOR, query="title=scanner+offline+badge+reader"),
    "issues:join": post(FLOOR, data={"issue": "{issue}"}, special={"outsider": NOT_FOUND}),
    "issues:confirmation": get(FLOOR, obj="issue"),
    "issues:photo": get(FLOOR, obj="photo"),
    "issues:tablet_home": get(FLOOR),
    "issues:floor_issue": get(FLOOR, obj="issue"),
    "issues:floor_reopen": post(FLOOR, obj="issue"),
    "issues:known": get(FLOOR),
    "issues:call_now": get(FLOOR),
    "issues:mine": get(MEMBERS),
    # --- issues: unit tablets ---
    "issues:tablets": page(MANAGERS),
    "issues:tablet_new_code": post(MANAGERS, obj="waiting_tablet"),
    "issues:tablet_revoke": post(MANAGERS, obj="waiting_tablet"),
    # Enrollment is open to whoever holds the one-time code (rate-limited per address).
    "issues:tablet_enter_code": get(EVERYONE),
    "issues:tablet_enroll": page(EVERYONE, keyed=True),
    # --- issues: the queue and an issue's page ---
    "issues:queue": get(VIEWERS),
    "issues:queue_poll": get(VIEWERS),
    "issues:queue_export": get(VIEWERS),
    "issues:queue_bulk": post(DESK),
    "issues:queue_view_save": post(VIEWERS),
    # Lena's saved view of the queue: her own.
    "issues:queue_view_delete": post(LEADS, obj="saved_view", special=NOT_LENAS_QUEUE),
    "issues:detail": get(VIEWERS, obj="issue"),
    "issues:claim": post(WORKERS, obj="issue"),
    "issues:assign": post(DESK, obj="issue"),
    "issues:priority": post(DESK, obj="issue"),
    "issues:comment": post(VIEWERS, obj="issue"),
    "issues:status": post(WORKERS, obj="issue"),
    "issues:link": post(DESK, obj="issue"),
    "issues:unlink": post(DESK, obj="issue"),
    "issues:tier": post(DESK, obj="issue"),
    "issues:external_ref": post(WORKERS, obj="issue"),
    # --- issues: known issues ---
    "issues:known_publish": page(DESK),
    "issues:known_edit": page(DESK, obj="known"),
    # --- issues: set-up ---
    "issues:setup": get(LEADS),
    "issues:setup_routing": post(LEADS),
    "issues:setup_matrix": post(LEADS),
    "issues:setup_sla": post(LEADS),
    "issues:setup_sla_add": post(LEADS),
    "issues:setup_category_add": post(LEADS),
    "issues:setup_category_edit": post(LEADS, obj="category"),
    "issues:setup_category_move": post(LEADS, obj="category"),
    "issues:setup_category_active": post(LEADS, obj="category"),
    "issues:setup_escalation": get(LEADS),
    "issues:setup_escalation_add": post(LEADS),
    "issues:setup_escalation_path": page(LEADS, obj="escalation_path"),
    "issues:setup_escalation_delete": post(LEADS, obj="escalation_path"),
    # --- issues: command center ---
    "issues:dashboard": get(DESK),
    "issues:huddle": get(DESK),
    # A day that is not a date: refused after the same gate (400), without WeasyPrint's second
    # per PDF (issues/tests/test_huddle.py draws the PDF).
    "issues:huddle_pdf": get(DESK, query="day=not-a-day"),
    "issues:huddle_csv": get(DESK),
    "issues:archive": get(LEADS),
    "issues:archive_download": get(LEADS),
    # --- staffing: the roster ---
    "staffing:people": get(READERS),
    "staffing:person_create": page(MANAGERS),
    # Sam's roster entry: readers of the roster, and Sam himself.
    "staffing:person_detail": get(READERS | SAM, obj="person"),
    "staffing:person_edit": page(MANAGERS, obj="person"),
    "staffing:roster_import": page(MANAGERS),
    "staffing:roster_import_detail": page(MANAGERS, obj="roster_import"),
    "staffing:roster_export": get(MANAGERS),
    "staffing:schedule_export": get(MANAGERS),
    # --- staffing: coverage planning ---
    "staffing:requirements": get(MANAGERS),
    "staffing:requirement_create": page(MANAGERS),
    "staffing:requirements_propose": page(MANAGERS),
    "staffing:generate_shifts": post(MANAGERS),
    "staffing:requirement_edit": page(MANAGERS, obj="requirement"),
    "staffing:requirement_delete": post(MANAGERS, obj="requirement"),
    "staffing:autofill": page(MANAGERS),
    "staffing:autofill_detail": page(MANAGERS, obj="autofill_run"),
    "staffing:settings": page(LEADS),
    # --- staffing: the grid and a shift's panel ---
    "staffing:grid": get(READERS),
    "staffing:shift_create": page(MANAGERS),
    "staffing:shift_detail": get(READERS, obj="shift"),
    "staffing:shift_edit": page(MANAGERS, obj="shift"),
    "staffing:shift_candidates": get(MANAGERS, obj="shift"),
    "staffing:shift_assign": post(MANAGERS, obj="shift"),
    "staffing:shift_cancel_assignment": post(MANAGERS, obj="assignment"),
    "staffing:shift_assignment_status": post(MANAGERS, obj="assignment"),
    # --- staffing: self-service (Sam's own shifts; anyone else's answered as missing) ---
    "staffing:my_shifts": get(MEMBERS),
    "staffing:my_shift_confirm": post(SAM, obj="assignment", special=NOT_SAMS),
    "staffing:my_shift_check_in": post(SAM, obj="assignment", special=NOT_SAMS),
    "staffing:my_shift_drop": page(SAM, obj="assignment", special=NOT_SAMS),
    "staffing:my_shift_swap": page(SAM, obj="assignment", special=NOT_SAMS),
    "staffing:my_request_withdraw": post(SAM, obj="shift_request", special=NOT_SAMS),
    "staffing:availability": page(MEMBERS),
    "staffing:availability_delete": post(SAM, obj="unavailability", special=NOT_SAMS),
    "staffing:open_shifts": get(MEMBERS),
    # Anyone on the roster may ask for an open shift (the service then decides); others have none.
    "staffing:open_shift_claim": post(ROSTER, obj="open_shift", special=NOT_ON_ROSTER),
    "staffing:requests": get(MANAGERS),
    "staffing:request_decide": post(MANAGERS, obj="shift_request"),
    # The unit's check-in tablet page: its floor staff, its managers, the command center and the
    # help desk; support staff check in from their own phone.
    "staffing:unit_checkin": page(MEMBERS - SAM, obj="unit", data={"assignment": "{assignment}"}),
    # --- staffing: who's on, share links, calendar feeds, printing ---
    "staffing:whos_on": get(MEMBERS),
    "staffing:whos_on_json": get(MEMBERS),
    "staffing:board": get(EVERYONE, obj="board_token", keyed=True),
    # Planners share boards; people on the roster see their own calendar link.
    "staffing:share_links": (get(MANAGERS | ROSTER), post(MANAGERS)),
    "staffing:my_feed_link": post(ROSTER),
    "staffing:share_link_revoke": post(MANAGERS, obj="board_link"),
    "staffing:person_feed": get(EVERYONE, obj="person_feed_token", keyed=True),
    "staffing:unit_feed": get(EVERYONE, obj="unit_feed_token", keyed=True),
    "staffing:print_unit_day": get(READERS, obj="unit"),
    "staffing:print_person": get(READERS | SAM, obj="person"),
    # --- golive: go-lives, sites, units, applications, members ---
    "golive:list": get(MEMBERS),
    "golive:switch": post(MEMBERS, data={"go_live": "{go_live}"}, special={"outsider": NOT_FOUND}),
    # Leads of any go-live (the outsider too) open new go-lives.
    "golive:create": page(LEADS),
    "golive:detail": get(MANAGERS, obj="go_live"),
    "golive:edit": page(LEADS, obj="go_live"),
    "golive:site_create": page(LEADS, obj="go_live"),
    "golive:site_detail": get(MANAGERS, obj="site"),
    "golive:site_edit": page(LEADS, obj="site"),
    "golive:unit_create": page(LEADS, obj="site"),
    "golive:unit_edit": page(MANAGERS, obj="unit"),
    "golive:applications": (get(MANAGERS, obj="go_live"), post(LEADS, obj="go_live")),
    "golive:application_edit": page(LEADS, obj="application"),
    "golive:members": page(LEADS, obj="go_live"),
    "golive:member_edit": page(LEADS, obj="membership"),
    # --- golive: the directory ---
    "golive:directory": get(MEMBERS, obj="go_live"),
    "golive:tier_create": page(LEADS, obj="go_live"),
    "golive:tier_edit": page(LEADS, obj="tier"),
    "golive:contact_create": page(LEADS, obj="go_live"),
    "golive:contact_edit": page(LEADS, obj="contact"),
    # --- golive: the inbox and API tokens (each user's own) ---
    "golive:notifications": get(MEMBERS),
    "golive:notification_read": post(LEADS, obj="notification", special=NOT_LENAS),
    "golive:notifications_read_all": post(MEMBERS),
    "golive:api_tokens": page(MEMBERS),
    "golive:api_token_revoke": post(LEADS, obj="api_token", special=NOT_LENAS),
    # --- golive: webhooks and the audit log ---
    "golive:webhooks": get(LEADS, obj="go_live"),
    "golive:webhook_create": page(LEADS, obj="go_live"),
    "golive:webhook_deliveries": get(LEADS, obj="webhook"),
    "golive:webhook_edit": page(LEADS, obj="webhook"),
    "golive:webhook_disable": post(LEADS, obj="webhook"),
    "golive:webhook_enable": post(LEADS, obj="webhook"),
    "golive:webhook_rotate_secret": post(LEADS, obj="webhook"),
    "golive:audit": get(LEADS, obj="go_live"),
    # --- Django's sign-in pages ---
    "login": page(EVERYONE),
    # Signing out answers with a plain redirect to the sign-in page: done, not refused.
    "logout": post(EVERYONE),
    "password_change": page(MEMBERS),
    "password_change_done": get(MEMBERS),
    "password_reset": page(EVERYONE),
    "password_reset_done": get(EVERYONE),
    "password_reset_confirm": page(EVERYONE, obj="reset_token"),
    "password_reset_complete": get(EVERYONE),
    # --- The REST API (signed in by session here; test_api_permissions covers tokens) ---
    "api:go_lives": api(MEMBERS),
    "api:go_live": api(MEMBERS),
    "api:sites": api(MEMBERS),
    "api:site": api(MEMBERS, obj="site"),
    "api:units": api(MEMBERS),
    "api:unit": api(MEMBERS, obj="unit"),
    "api:applications": api(MEMBERS),
    "api:tiers": api(MEMBERS),
    "api:contacts": api(MEMBERS),
    "api:contact": api(MEMBERS, obj="contact"),
    "api:people": api(READERS),
    "api:person": api(READERS, obj="person"),
    "api:shifts": api(READERS),
    "api:shift": api(READERS, obj="shift"),
    "api:assignments": api(READERS),
    "api:whos_on": api(MEMBERS),
    "api:categories": api(MEMBERS),
    "api:issues": (api(MEMBERS), api(MEMBERS, "post")),
    "api:issue": (api(MEMBERS), api(WORKERS, "patch", data={"external_ref": "INC0012345"})),
    "api:issue_claim": api(WORKERS, "post"),
    # A body that passes: they read it before the issue, and the point is who reaches the issue.
    "api:issue_resolve": api(WORKERS, "post", data={"resolution": "Driver reinstalled"}),
    "api:issue_comments": api(VIEWERS, "post", data={"body": "On my way"}),
    "api:issue_timeline": api(MEMBERS),
    "api:who_to_call": api(MEMBERS, query="unit={unit}"),
    "api_schema": get(EVERYONE),
    "api_docs": get(EVERYONE),
    # Any other /api/ path, by any method: the API's 404, whoever asks (CSRF_EXEMPT says why).
    "^api/": (
        get(frozenset(), path=NO_ENDPOINT, special=dict.fromkeys(ROLES, NOT_FOUND)),
        post(frozenset(), path=NO_ENDPOINT, special=dict.fromkeys(ROLES, NOT_FOUND)),
    ),
}

# URL arguments that mean the same row wherever they appear; `pk` and `token` are the row the
# door's `obj` names.
KWARGS = {
    "go_live": "go_live",
    "number": "issue_number",
    "code": "enroll_code",
    "day": "today",
    "uidb64": "reset_uid",
}

# Views that take POST without a CSRF token, on purpose, and why. (Besides these, an API call
# signed in with `Authorization: Bearer` is not asked for one: DRF checks CSRF only for session
# sign-in, and a browser never sends that header by itself; see the test below.)
CSRF_EXEMPT = {
    "^api/": "golive.api.not_found answers every /api/ path no endpoint has with 404, by any "
    "method: it changes nothing, and a refused cookie must not hide that the path is wrong",
}


def doors(name: str) -> tuple[Door, ...]:
    row = TABLE[name]
    return row if isinstance(row, tuple) else (row,)


# --- The URLconf -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, or the route itself for an unnamed pattern
    route: str
    kwargs: tuple[str, ...]


def walk(
    resolver: URLResolver, prefix: str = "", namespace: str = "", kwargs: tuple[str, ...] = ()
) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        captured = kwargs + _captures(entry)
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry, route, inner, captured)
        else:
            assert isinstance(entry, URLPattern)
            name = route if entry.name is None else entry.name
            if namespace and entry.name is not None:
                name = f"{namespace}:{name}"
            yield Route(name, route, captured)


def _captures(entry: URLPattern | URLResolver) -> tuple[str, ...]:
    pattern = entry.pattern
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)  # type: ignore[attr-defined]


def is_admin(route: Route) -> bool:
    return route.name.startswith("admin:") or route.route.startswith("admin/")


ALL_ROUTES = list(walk(get_resolver()))
ROUTES = {route.name: route for route in ALL_ROUTES if not is_admin(route)}


# --- The world: Mercy's go-live with one of everything, built once for the module -----------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


# What each role must never be shown, on any page: the outsider nothing of Mercy's; 4 West's tablet
# and floor staff, and Mercy General's manager, nothing of another unit's issues.
OTHER_UNITS_ISSUE = "Front desk scanner offline"
# A known issue of the Front Desk alone: off the boards of 4 West's tablet and floor staff.
OTHER_UNITS_KNOWN = "Front desk badge reader"
MERCY = ("Mercy", "4 West", "Labels print blank", "Sam Super")
NEVER_SHOWN = {
    "outsider": MERCY,
    "tablet": (OTHER_UNITS_ISSUE, OTHER_UNITS_KNOWN),
    "floor": (OTHER_UNITS_ISSUE, OTHER_UNITS_KNOWN),
    "manager": (OTHER_UNITS_ISSUE,),
}


@dataclass
class World:
    ids: dict[str, object]
    elsewhere: dict[str, object]  # the same kinds of rows, on Northside's Front Desk
    users: dict[str, User]  # role: user
    sessions: dict[str, str]  # role: session key
    tablet: UnitTablet
    tablet_secret: str
    staff_session: str


def build_world() -> World:
    cache.clear()  # the enrollments below count against lead_lena's hourly limit
    now = timezone.now()
    cutover = now - dt.timedelta(days=2)
    mercy = GoLive.objects.create(
        name="Mercy Health Wave 1",
        organization="Mercy Health",
        cutover_at=cutover,
        support_ends_at=cutover + dt.timedelta(days=28),
        time_zone="America/Chicago",
        phase=GoLive.Phase.LIVE,
    )
    lakeside = GoLive.objects.create(
        name="Lakeside Go-Live",
        organization="Lakeside Health",
        cutover_at=cutover,
        support_ends_at=cutover + dt.timedelta(days=14),
        time_zone="America/New_York",
    )
    mercy_general = Site.objects.create(go_live=mercy, name="Mercy General", code="MG")
    northside = Site.objects.create(go_live=mercy, name="Northside Clinic", code="NS")
    four_west = Unit.objects.create(site=mercy_general, name="4 West", end_user_count=60)
    front_desk = Unit.objects.create(site=northside, name="Front Desk", end_user_count=12)
    floor_tier = EscalationTier.objects.create(go_live=mercy, level=1, name="Floor support")
    EscalationTier.objects.create(go_live=mercy, level=2, name="Command center")
    contact = Contact.objects.create(
        go_live=mercy, tier=floor_tier, name="Mercy help desk", phone="312-555-0111"
    )
    application = Application.objects.create(go_live=mercy, name="Orders")

    def member(username: str, go_live: GoLive, role: Role) -> tuple[User, Membership]:
        user = User.objects.create_user(username=username, email=f"{username}@example.org")
        return user, Membership.objects.create(user=user, go_live=go_live, role=role)

    lena, _ = member("lead_lena", mercy, Role.COMMAND_CENTER_LEAD)
    maria, maria_membership = member("manager_maria", mercy, Role.CLINIC_MANAGER)
    maria_membership.sites.add(mercy_general)
    alex, _ = member("agent_alex", mercy, Role.HELP_DESK_AGENT)
    sam, _ = member("super_sam", mercy, Role.SUPPORT_STAFF)
    nina, nina_membership = member("nurse_nina", mercy, Role.FLOOR_STAFF)
    nina_membership.units.add(four_west)
    oscar, _ = member("outsider_oscar", lakeside, Role.COMMAND_CENTER_LEAD)
    staff = User.objects.create_user(username="staff_stan", is_staff=True, is_superuser=True)

    # The issue log: its defaults, an issue on 4 West with a photo, a known issue, a saved view.
    ensure_issue_setup(go_live=mercy)
    printing = Category.objects.get(go_live=mercy, name="Printing / labels")
    issue, _ = create_issue(
        go_live=mercy,
        unit=four_west,
        category_id=printing.pk,
        title="Labels print blank",
        impact=Impact.SEVERAL,
        urgency=Urgency.WORKAROUND,
        reporter_user=nina,
    )
    # Northside's issue: no tablet, floor staff or manager of 4 West / Mercy General sees it.
    fd_issue, _ = create_issue(
        go_live=mercy,
        unit=front_desk,
        category_id=printing.pk,
        title=OTHER_UNITS_ISSUE,
        impact=Impact.ONE_USER,
        urgency=Urgency.QUESTION,
        reporter_name="Pat at the front desk",
    )
    photo = IssuePhoto.objects.create(
        issue=issue,
        file=default_storage.save(f"issues/{issue.pk}/matrix.png", ContentFile(PNG)),
        content_type="image/png",
        size=len(PNG),
        width=1,
        height=1,
    )
    fd_photo = IssuePhoto.objects.create(
        issue=fd_issue,
        file=default_storage.save(f"issues/{fd_issue.pk}/matrix.png", ContentFile(PNG)),
        content_type="image/png",
        size=len(PNG),
        width=1,
        height=1,
    )
    fd_known = KnownIssue.objects.create(
        go_live=mercy, issue=fd_issue, title=OTHER_UNITS_KNOWN, problem="Badges do not scan"
    )
    fd_known.units.set([front_desk])
    known = KnownIssue.objects.create(
        go_live=mercy, issue=issue, title="Blank labels", problem="Zebra printers print blank"
    )
    saved_view = SavedView.objects.create(go_live=mercy, user=lena, name="P1", query="priority=P1")
    escalation_path = EscalationPath.objects.create(go_live=mercy, priority="P2", category=printing)

    # 4 West's enrolled tablet, and one waiting for its code.
    enrolled = tablets.create_enrollment(go_live=mercy, unit=four_west, label="Nurses", actor=lena)
    tablet, tablet_secret = tablets.claim_enrollment(code=enrolled.code)
    waiting = tablets.create_enrollment(go_live=mercy, unit=four_west, label="Spare", actor=lena)
    fd_waiting = tablets.create_enrollment(go_live=mercy, unit=front_desk, label="FD", actor=lena)

    # Staffing: Sam on the roster, on a 4 West shift starting soon (a drop request pending), an open
    # shift, a requirement, an auto-fill run, a roster import, share links, an unavailability.
    SupportPerson.objects.create(
        go_live=mercy,
        name="Alex Analyst",
        role=SupportRole.ANALYST,
        email="alex@mercy.example",
        user=alex,
    )
    person = SupportPerson.objects.create(
        go_live=mercy,
        name="Sam Super",
        role=SupportRole.SUPER_USER,
        email="sam@mercy.example",
        user=sam,
        home_unit=four_west,
        home_site=mercy_general,
    )
    start = now.replace(microsecond=0) + dt.timedelta(minutes=30)
    shift = Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role=SupportRole.SUPER_USER,
        start=start,
        end=start + dt.timedelta(hours=12),
        needed=2,
    )
    assignment = assign_person(shift=shift, person=person, actor=lena, override_reason="matrix")
    shift_request = selfservice.request_drop(assignment=assignment, actor=sam, reason="Sick")
    open_shift = Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role=SupportRole.SUPER_USER,
        start=start + dt.timedelta(days=2),
        end=start + dt.timedelta(days=2, hours=12),
    )
    unavailability = Unavailability.objects.create(
        person=person, start=start + dt.timedelta(days=4), end=start + dt.timedelta(days=4, hours=8)
    )
    today = timezone.localdate(now, mercy.tzinfo)
    requirement = CoverageRequirement.objects.create(
        unit=four_west,
        role=SupportRole.SUPER_USER,
        label="Day",
        start_date=today,
        end_date=today + dt.timedelta(days=2),
        start_time=dt.time(7),
        end_time=dt.time(19),
        headcount=2,
    )
    autofill_run = AutoFillRun.objects.create(
        go_live=mercy, created_by=lena, start_date=today, end_date=today
    )
    autofill_run.units.set([four_west])
    roster_import = RosterImport.objects.create(
        go_live=mercy, uploaded_by=lena, filename="roster.csv", content="name,email\n"
    )
    board = feeds.create_share_link(
        go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lena, unit=four_west
    )
    person_feed = feeds.create_share_link(
        go_live=mercy, kind=ShareLink.Kind.PERSON_FEED, actor=sam, person=person
    )
    unit_feed = feeds.create_share_link(
        go_live=mercy, kind=ShareLink.Kind.UNIT_FEED, actor=lena, unit=four_west
    )

    # Lena's own: an in-app notification, an API token; a webhook endpoint of Mercy.
    notification = outbox.notify(
        dedupe_key="matrix:lena",
        channel=Notification.Channel.IN_APP,
        subject="Matrix",
        user=lena,
        go_live=mercy,
    )
    api_token, _key = create_api_token(user=lena, name="matrix", created_by=lena, expires_at=None)
    webhook = WebhookEndpoint.objects.create(
        go_live=mercy,
        url="https://93.184.216.34/golive",
        events=[WebhookEvent.ISSUE_CREATED],
        description="Mercy ServiceNow",
    )

    ack_token = acks.token_for(
        acks.Message(
            issue_id=issue.pk,
            round=1,
            level=1,
            trigger="no_response",
            channel="email",
            recipient_key=f"contact{contact.pk}",
            sent_at=acks.sent_minute(now),
        )
    )

    # The same on Northside's Front Desk: Fay's shift starting soon, with a drop request pending.
    fay = SupportPerson.objects.create(
        go_live=mercy, name="Fay Frontdesk", role=SupportRole.SUPER_USER, email="fay@example.org"
    )
    fd_shift = Shift.objects.create(
        go_live=mercy,
        unit=front_desk,
        role=SupportRole.SUPER_USER,
        start=start,
        end=start + dt.timedelta(hours=8),
    )
    fd_assignment = assign_person(shift=fd_shift, person=fay, actor=lena, override_reason="matrix")
    fd_request = selfservice.request_drop(assignment=fd_assignment, actor=lena, reason="Travel")
    fd_unavailability = Unavailability.objects.create(
        person=fay, start=start + dt.timedelta(days=4), end=start + dt.timedelta(days=4, hours=8)
    )
    fd_requirement = CoverageRequirement.objects.create(
        unit=front_desk,
        role=SupportRole.SUPER_USER,
        label="Day",
        start_date=today,
        end_date=today,
        start_time=dt.time(8),
        end_time=dt.time(16),
        headcount=1,
    )
    fd_run = AutoFillRun.objects.create(
        go_live=mercy, created_by=lena, start_date=today, end_date=today
    )
    fd_run.units.set([front_desk])
    fd_board = feeds.create_share_link(
        go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lena, unit=front_desk
    )

    # Who signs in as whom (the tablet and the anonymous visitor have no user).
    users = {
        "floor": nina,
        "support": sam,
        "agent": alex,
        "manager": maria,
        "lead": lena,
        "outsider": oscar,
    }
    sessions = {
        role: _session(user, go_live=lakeside if role == "outsider" else mercy)
        for role, user in users.items()
    }
    return World(
        ids={
            "go_live": mercy.pk,
            "site": mercy_general.pk,
            "unit": four_west.pk,
            "contact": contact.pk,
            "tier": floor_tier.pk,
            "application": application.pk,
            "membership": nina_membership.pk,
            "issue": issue.pk,
            "issue_number": issue.number,
            "photo": photo.pk,
            "known": known.pk,
            "saved_view": saved_view.pk,
            "category": printing.pk,
            "escalation_path": escalation_path.pk,
            "waiting_tablet": waiting.tablet.pk,
            "enroll_code": waiting.code,
            "person": person.pk,
            "shift": shift.pk,
            "assignment": assignment.pk,
            "shift_request": shift_request.pk,
            "open_shift": open_shift.pk,
            "unavailability": unavailability.pk,
            "requirement": requirement.pk,
            "autofill_run": autofill_run.pk,
            "roster_import": roster_import.pk,
            "board_link": board.pk,
            "board_token": board.token,
            "person_feed_token": person_feed.token,
            "unit_feed_token": unit_feed.token,
            "notification": notification.pk,
            "api_token": api_token.pk,
            "webhook": webhook.pk,
            "ack_token": ack_token,
            "reset_uid": urlsafe_base64_encode(force_bytes(nina.pk)),
            "reset_token": default_token_generator.make_token(nina),
            "today": today.isoformat(),
        },
        elsewhere={
            "person": fay.pk,
            "unavailability": fd_unavailability.pk,
            "unit": front_desk.pk,
            "issue": fd_issue.pk,
            "issue_number": fd_issue.number,
            "photo": fd_photo.pk,
            "waiting_tablet": fd_waiting.tablet.pk,
            "shift": fd_shift.pk,
            "assignment": fd_assignment.pk,
            "shift_request": fd_request.pk,
            "requirement": fd_requirement.pk,
            "autofill_run": fd_run.pk,
            "board_link": fd_board.pk,
        },
        users=users,
        sessions=sessions,
        tablet=tablet,
        tablet_secret=tablet_secret,
        staff_session=_session(staff, go_live=None),
    )


def _session(user: User, *, go_live: GoLive | None) -> str:
    """A signed-in session, as `Client.force_login` makes one, without the sign-in's own writes
    (audit entry, last_login) in every test; its go-live chosen and its renewal fresh, so that a
    request does not save it again."""
    session = SessionStore()
    session[USER_SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[IdleSessionMiddleware.RENEWED_KEY] = int(timezone.now().timestamp())
    if go_live is not None:
        session[GO_LIVE_SESSION_KEY] = go_live.pk
    session.create()
    assert session.session_key is not None
    return session.session_key


@pytest.fixture(scope="module")
def world(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """The world, in a transaction that stays open for the whole module: each test runs in a
    savepoint of it (pytest-django's own), and the world is rolled back at the end."""
    media: Path = tmp_path_factory.mktemp("media")
    overrides = override_settings(
        MEDIA_ROOT=str(media),
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    overrides.enable()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            overrides.disable()
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        overrides.disable()


# Their rate limits (enrollments per manager, wrong codes per address) count in the cache.
COUNTED_IN_CACHE = {"issues:tablets", "issues:tablet_new_code", "issues:tablet_enroll"}


@pytest.fixture(autouse=True)
def in_a_savepoint(db: None) -> None:
    """Every test runs in pytest-django's transaction (a savepoint of the world's)."""


# --- Requests -----------------------------------------------------------------------------------------


# Two browsers for the whole module, their cookies set anew for each request: a new test client
# loads the middleware again, and WhiteNoise's scan of the static files would cost more than the
# request itself.
BROWSERS = {False: Client(), True: Client(enforce_csrf_checks=True)}


def client_for(role: str, world: World, *, enforce_csrf_checks: bool = False) -> Client:
    """The role's browser: a signed-in session, a tablet's cookie, or nothing."""
    client = BROWSERS[enforce_csrf_checks]
    client.cookies.clear()
    if role == "tablet":
        client.cookies[TABLET_COOKIE] = world.tablet_secret
        # Its last use is written at most once a minute: not by the request under test.
        UnitTablet.objects.filter(pk=world.tablet.pk).update(last_used_at=timezone.now())
    elif role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


Ids = Mapping[str, object]


def url_of(name: str, door: Door, ids: Ids) -> str:
    if door.path:
        return door.path
    route = ROUTES[name]
    kwargs = {}
    for kwarg in route.kwargs:
        key = door.obj if kwarg in {"pk", "token"} else KWARGS[kwarg]
        kwargs[kwarg] = ids[key]
    url = reverse(name, kwargs=kwargs)
    return f"{url}?{door.query.format(**ids)}" if door.query else url


def send(
    client: Client, name: str, door: Door, ids: Ids, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    if name in COUNTED_IN_CACHE:
        cache.clear()  # each cell starts with no codes made or tried
    url = url_of(name, door, ids)
    data = {key: value.format(**ids) for key, value in door.data.items()}
    call = getattr(client, door.method)
    if door.method == "get":
        return call(url, headers=headers)  # type: ignore[no-any-return]
    if name.startswith("api:"):
        return call(url, data, content_type="application/json", headers=headers)  # type: ignore[no-any-return]
    return call(url, data, headers=headers)  # type: ignore[no-any-return]


def outcome(response: HttpResponse) -> Outcome:
    status = response.status_code
    assert status < 500, f"{status}: {response.content[:500]!r}"
    if status == 401:
        return LOGIN
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status == 405:
        return METHOD
    if 300 <= status < 400:
        target = urlsplit(response["Location"])
        if target.path == reverse("login") and "next=" in target.query:
            return LOGIN
        return OK
    assert status < 300 or status in {400, 409}, f"{status}: {response.content[:500]!r}"
    return OK


def writes() -> int:
    """Rows inserted, updated or deleted so far in this transaction (sessions aside: a request
    renews its session)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_xact_user_tables WHERE relname <> 'django_session'"
        )
        row = cursor.fetchone()
    return int(row[0])


# --- The cells -------------------------------------------------------------------------------------


def _door_id(name: str, index: int) -> str:
    if index == 0:
        return name
    return f"{name}[{doors(name)[index].method.upper()}]"


CELLS = [
    pytest.param(name, index, role, id=f"{_door_id(name, index)}-{role}")
    for name in TABLE
    for index in range(len(doors(name)))
    for role in ROLES
]


def names_object(name: str) -> bool:
    route = ROUTES.get(name)
    return route is not None and bool(route.kwargs)


@pytest.fixture
def quick_health(monkeypatch: pytest.MonkeyPatch) -> None:
    """/healthz with only its database check: the Celery check waits a second for a worker that a
    test run has none of (golive/tests/test_health.py checks the checks; this, who may ask)."""
    monkeypatch.setattr(health, "CHECKS", {"database": health.check_database})


def body(response: HttpResponse) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content


@pytest.mark.parametrize(("name", "index", "role"), CELLS)
def test_each_role_gets_what_the_table_says(
    name: str, index: int, role: str, world: World, quick_health: None
) -> None:
    door = doors(name)[index]
    expected = door.expected(role, names_object=names_object(name))
    client = client_for(role, world)
    before = writes() if expected != OK else 0

    response = send(client, name, door, world.ids)

    assert outcome(response) == expected, (
        f"{door.method.upper()} {url_of(name, door, world.ids)} as {role}: "
        f"{response.status_code} {response.get('Location', '')}"
    )
    if expected != OK:
        assert writes() == before, f"{name} refused {role} after writing"
    content = b"" if door.keyed else body(response)
    for secret in NEVER_SHOWN.get(role, ()):
        assert secret.encode() not in content, f"{name} shows {role} “{secret}”"


# --- Another unit's rows ----------------------------------------------------------------------------

# The same doors with Northside's Front Desk rows in their URLs (World.elsewhere, Fay's where Sam's
# were): the tablet and the floor staff of 4 West, the manager of Mercy General and Sam do not reach
# them; the lead still does. Only what differs from TABLE is listed, for roles the door opens to (a
# role's refusal stays).
LIMITED = ("tablet", "floor", "support", "manager", "lead")
NOT_HIS = {"support": NOT_FOUND}  # Fay's assignment, request, window: not Sam's
NOT_THEIR_UNIT = dict.fromkeys(("tablet", "floor", "manager"), NOT_FOUND)
NOT_HER_UNIT = {"manager": FORBIDDEN}  # staffing says so: "You plan only the units you manage."
ELSEWHERE: dict[str, Mapping[str, Outcome]] = {
    "issues:join": NOT_THEIR_UNIT,
    "issues:confirmation": NOT_THEIR_UNIT,
    "issues:photo": NOT_THEIR_UNIT,
    "issues:floor_issue": NOT_THEIR_UNIT,
    "issues:floor_reopen": NOT_THEIR_UNIT,
    "issues:detail": {"manager": NOT_FOUND},
    "issues:comment": {"manager": NOT_FOUND},
    "issues:tablet_new_code": {"manager": NOT_FOUND},
    "issues:tablet_revoke": {"manager": NOT_FOUND},
    "api:issue": {"floor": NOT_FOUND, "manager": NOT_FOUND},
    "api:issue_timeline": {"floor": NOT_FOUND, "manager": NOT_FOUND},
    "api:issue_comments": {"manager": NOT_FOUND},
    "api:shift": {"manager": NOT_FOUND},
    "staffing:shift_detail": NOT_HER_UNIT,
    "staffing:shift_edit": NOT_HER_UNIT,
    "staffing:shift_candidates": NOT_HER_UNIT,
    "staffing:shift_assign": NOT_HER_UNIT,
    "staffing:shift_cancel_assignment": NOT_HER_UNIT,
    "staffing:shift_assignment_status": NOT_HER_UNIT,
    "staffing:requirement_edit": NOT_HER_UNIT,
    "staffing:requirement_delete": NOT_HER_UNIT,
    "staffing:autofill_detail": NOT_HER_UNIT,
    "staffing:request_decide": NOT_HER_UNIT,
    "staffing:share_link_revoke": NOT_HER_UNIT,
    "staffing:print_unit_day": NOT_HER_UNIT,
    "golive:unit_edit": NOT_HER_UNIT,
    # Its own floor staff and managers check people in at a unit's tablet page.
    "staffing:unit_checkin": {"floor": FORBIDDEN, "manager": FORBIDDEN},
    # Support staff see and print only their own page of the roster.
    "staffing:person_detail": {"support": FORBIDDEN},
    "staffing:print_person": {"support": FORBIDDEN},
    "staffing:my_shift_confirm": NOT_HIS,
    "staffing:my_shift_check_in": NOT_HIS,
    "staffing:my_shift_drop": NOT_HIS,
    "staffing:my_shift_swap": NOT_HIS,
    "staffing:my_request_withdraw": NOT_HIS,
    "staffing:availability_delete": NOT_HIS,
}

ELSEWHERE_CELLS = [
    pytest.param(name, index, role, id=f"{_door_id(name, index)}-{role}")
    for name in ELSEWHERE
    for index in range(len(doors(name)))
    for role in LIMITED
]


@pytest.mark.parametrize(("name", "index", "role"), ELSEWHERE_CELLS)
def test_a_unit_limited_role_reaches_no_other_units_rows(
    name: str, index: int, role: str, world: World
) -> None:
    door = doors(name)[index]
    expected = door.expected(role, names_object=names_object(name))
    if expected == OK:
        expected = ELSEWHERE[name].get(role, OK)
    ids = {**world.ids, **world.elsewhere}
    client = client_for(role, world)
    before = writes() if expected != OK else 0

    response = send(client, name, door, ids)

    assert outcome(response) == expected, (
        f"{door.method.upper()} {url_of(name, door, ids)} as {role}: {response.status_code}"
    )
    if expected != OK:
        assert writes() == before, f"{name} refused {role} after writing"


def _signed_in_role(door: Door) -> str:
    """A signed-in member the door opens to, to send its write without a CSRF token."""
    for role in ("lead", "agent", "manager", "support", "floor"):
        if role in door.allowed:
            return role
    raise AssertionError("the door opens to no signed-in member")


WRITES = [
    pytest.param(name, index, id=_door_id(name, index))
    for name in TABLE
    for index, door in enumerate(doors(name))
    if door.writes and name not in CSRF_EXEMPT
]


@pytest.mark.parametrize("name", sorted(CSRF_EXEMPT))
def test_a_csrf_exempt_view_changes_nothing(name: str, world: World) -> None:
    for door in doors(name):
        client = client_for("lead", world, enforce_csrf_checks=True)
        before = writes()

        response = send(client, name, door, world.ids)

        assert outcome(response) == door.expected("lead", names_object=False)
        assert writes() == before


def test_a_token_call_is_not_asked_for_csrf_but_a_session_call_is(world: World) -> None:
    """A Bearer token is not sent by a browser on its own: DRF exempts it from the CSRF check it
    makes for session sign-in."""
    name, door = "api:issue_comments", doors("api:issue_comments")[0]
    lena = world.users["lead"]
    _token, key = create_api_token(user=lena, name="csrf", created_by=lena, expires_at=None)
    client = client_for("anonymous", world, enforce_csrf_checks=True)

    with_token = send(client, name, door, world.ids, headers={"Authorization": f"Bearer {key}"})
    assert with_token.status_code == 201

    client = client_for("lead", world, enforce_csrf_checks=True)
    assert send(client, name, door, world.ids).status_code == 403


@pytest.mark.parametrize(("name", "index"), WRITES)
def test_each_write_needs_the_csrf_token(name: str, index: int, world: World) -> None:
    door = doors(name)[index]
    client = client_for(_signed_in_role(door), world, enforce_csrf_checks=True)
    before = writes()

    response = send(client, name, door, world.ids)

    assert response.status_code == 403, f"{name}: {response.status_code}"
    assert writes() == before


POST_ONLY = [
    pytest.param(name, id=name)
    for name in TABLE
    if all(door.writes for door in doors(name)) and doors(name)[0].allowed
]


@pytest.mark.parametrize("name", POST_ONLY)
def test_a_write_only_view_refuses_get(name: str, world: World) -> None:
    door = doors(name)[0]
    role = _signed_in_role(door)
    before = writes()

    response = send(
        client_for(role, world), name, Door(door.allowed, "get", obj=door.obj), world.ids
    )

    assert outcome(response) == METHOD, f"GET {name} as {role}: {response.status_code}"
    assert writes() == before


# --- The table and the URLconf agree ------------------------------------------------------------------


def test_every_url_pattern_has_a_row() -> None:
    missing = [route for name, route in ROUTES.items() if name not in TABLE]
    assert not missing, "\n".join(
        f"Add TABLE[{route.name!r}] for /{route.route} (who may open it, and with which method)."
        for route in missing
    )


def test_every_row_names_a_url_pattern() -> None:
    stale = sorted(set(TABLE) - set(ROUTES))
    assert not stale, "\n".join(
        f"TABLE[{name!r}] names no URL pattern any more: remove it." for name in stale
    )


def test_every_door_names_the_rows_of_its_url() -> None:
    for name, route in ROUTES.items():
        for door in doors(name) if name in TABLE else ():
            if door.path:
                continue
            for kwarg in route.kwargs:
                if kwarg in {"pk", "token"}:
                    assert door.obj, f"{name}: say which row its `{kwarg}` names (Door.obj)"
                else:
                    assert kwarg in KWARGS, f"{name}: add `{kwarg}` to KWARGS"


def test_what_the_limited_roles_are_not_shown_is_there_to_be_shown(world: World) -> None:
    """The checks of NEVER_SHOWN would prove nothing if the rows were on no page at all."""
    lead = client_for("lead", world)
    for name, secret in [
        ("issues:similar", OTHER_UNITS_KNOWN),
        ("issues:queue", OTHER_UNITS_ISSUE),
        ("api:issues", OTHER_UNITS_ISSUE),
        ("issues:known", OTHER_UNITS_KNOWN),
        ("golive:list", "Mercy"),
    ]:
        response = send(lead, name, doors(name)[0], world.ids)
        assert secret.encode() in body(response), f"{name} does not show the lead “{secret}”"


def test_the_admin_is_left_to_django_admin_and_opens_to_staff_only(world: World) -> None:
    assert any(is_admin(route) for route in ALL_ROUTES)
    index = reverse("admin:index")

    refused = client_for("lead", world).get(index)
    assert refused.status_code == 302
    assert urlsplit(refused["Location"]).path == reverse("admin:login")

    staff = client_for("anonymous", world)
    staff.cookies[settings.SESSION_COOKIE_NAME] = world.staff_session
    assert staff.get(index).status_code == 200
