"""Every role on every endpoint of the API: the same doors as the pages.

One table says what each member of the cast gets from each endpoint; a test per cell asks. A
refused write must also leave the issue as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from golive.models import Contact, EscalationTier, GoLive, Site, Unit
from golive.services import create_api_token
from issues.models import Category, Issue
from issues.tests.conftest import LogIssue, log_issue, printing, setup
from staffing.models import Shift, SupportPerson, SupportRole
from staffing.services import assign_person

# The issue log's fixtures, used here as its own tests use them.
__all__ = ["log_issue", "printing", "setup"]

CAST = [
    "lead_lena",
    "manager_maria",
    "agent_alex",
    "super_sam",
    "nurse_nina",
    "outsider_oscar",
    "nobody",
]
ALL = {"lead_lena", "manager_maria", "agent_alex", "super_sam", "nurse_nina"}
READERS = {"lead_lena", "manager_maria", "agent_alex"}
VIEWERS = {"lead_lena", "manager_maria", "agent_alex", "super_sam"}
WORKERS = {"lead_lena", "agent_alex", "super_sam"}
DESK = {"lead_lena", "agent_alex"}


@dataclass(frozen=True)
class Door:
    method: str
    path: str
    allowed: set[str]
    ok: int = 200
    body: dict[str, object] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "get"


DOORS = [
    Door("get", "", ALL),
    Door("get", "sites/", ALL),
    Door("get", "sites/{site}/", ALL),
    Door("get", "units/", ALL),
    Door("get", "units/{unit}/", ALL),
    Door("get", "applications/", ALL),
    Door("get", "tiers/", ALL),
    Door("get", "contacts/", ALL),
    Door("get", "contacts/{contact}/", ALL),
    Door("get", "categories/", ALL),
    Door("get", "people/", READERS),
    Door("get", "people/{person}/", READERS),
    Door("get", "shifts/", READERS),
    Door("get", "shifts/{shift}/", READERS),
    Door("get", "assignments/", READERS),
    Door("get", "whos-on/", ALL),
    Door("get", "who-to-call/?unit={unit}", ALL),
    Door("get", "issues/", ALL),
    Door("get", "issues/{number}/", ALL),
    Door("get", "issues/{number}/timeline/", ALL),
    Door(
        "post",
        "issues/",
        ALL,
        ok=201,
        body={
            "unit": "{unit}",
            "category": "{category}",
            "title": "Scanner",
            "impact": "one_user",
            "urgency": "question",
        },
    ),
    Door("patch", "issues/{number}/", DESK, body={"priority": "P2"}),
    Door("patch", "issues/{number}/", DESK, body={"assignee": "{agent}"}),
    Door("patch", "issues/{number}/", DESK, body={"tier": "{tier}"}),
    Door("patch", "issues/{number}/", WORKERS, body={"status": "in_progress"}),
    Door("patch", "issues/{number}/", WORKERS, body={"external_ref": "INC0012345"}),
    Door("post", "issues/{number}/claim/", WORKERS, body={}),
    Door("post", "issues/{number}/resolve/", WORKERS, body={"resolution": "Driver reinstalled"}),
    Door("post", "issues/{number}/comments/", VIEWERS, ok=201, body={"body": "On my way"}),
]


@pytest.fixture
def scene(
    mercy: GoLive,
    mercy_general: Site,
    four_west: Unit,
    tiers: dict[str, EscalationTier],
    help_desk_contact: Contact,
    lead_lena: User,
    manager_maria: User,
    agent_alex: User,
    super_sam: User,
    nurse_nina: User,
    outsider_oscar: User,
    log_issue: LogIssue,
    printing: Category,
) -> dict[str, object]:
    """An issue on 4 West reported by the nurse, a shift on 4 West with super_sam on it now."""
    issue = log_issue(reporter_user=nurse_nina)
    person = SupportPerson.objects.create(
        go_live=mercy,
        name="Sam Super",
        role=SupportRole.SUPER_USER,
        email="sam@mercy.example",
        user=super_sam,
    )
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    shift = Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role=SupportRole.SUPER_USER,
        start=start,
        end=start + dt.timedelta(hours=12),
    )
    assign_person(shift=shift, person=person, actor=lead_lena, override_reason="test")
    return {
        "go_live": mercy.pk,
        "site": mercy_general.pk,
        "unit": four_west.pk,
        "contact": help_desk_contact.pk,
        "person": person.pk,
        "shift": shift.pk,
        "number": issue.number,
        "category": printing.pk,
        "agent": agent_alex.pk,
        "tier": tiers["command"].pk,
        "issue": issue,
    }


def _fill(value: object, scene: dict[str, object]) -> object:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return scene[value[1:-1]]
    if isinstance(value, str):
        return value.format(**scene)
    return value


def _client(who: str, request: pytest.FixtureRequest) -> Client:
    if who == "nobody":
        return Client()
    user: User = request.getfixturevalue(who)
    _token, key = create_api_token(user=user, name="matrix", created_by=user, expires_at=None)
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize(
    "door", DOORS, ids=[f"{d.method} {d.path} {sorted(d.body or {})}" for d in DOORS]
)
def test_each_role_gets_what_the_pages_give_it(
    door: Door,
    who: str,
    scene: dict[str, object],
    request: pytest.FixtureRequest,
) -> None:
    client = _client(who, request)
    issue = scene["issue"]
    assert isinstance(issue, Issue)
    url = f"/api/v1/go-lives/{scene['go_live']}/" + str(_fill(door.path, scene))
    call: Callable[..., object] = getattr(client, door.method)
    if door.body is None:
        response = call(url)
    else:
        body = {name: _fill(value, scene) for name, value in door.body.items()}
        response = call(url, body, content_type="application/json")

    if who == "nobody":
        expected = 401
    elif who == "outsider_oscar":
        expected = 404
    elif who in door.allowed:
        expected = door.ok
    else:
        expected = 403
    assert response.status_code == expected, response.content  # type: ignore[attr-defined]
    if expected >= 400:
        assert response.json()["error"]["status"] == expected  # type: ignore[attr-defined]
        if door.writes:
            version = Issue.objects.filter(pk=issue.pk).values_list("version", flat=True).get()
            assert version == issue.version
            assert Issue.objects.filter(go_live_id=issue.go_live_id).count() == 1
