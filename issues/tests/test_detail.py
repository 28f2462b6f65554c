"""The issue page for the help desk: who may open it, everything it shows, and what it costs."""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from golive.models import Application, EscalationTier, GoLive, Unit
from issues.models import Impact, Issue, IssuePhoto, KnownIssue, UnitTablet, Urgency
from issues.services import (
    add_comment,
    add_reporter,
    assign_issue,
    change_status,
    create_issue,
    link_issue,
    set_external_ref,
    set_tier,
)
from issues.tests.conftest import LogIssue
from issues.tests.test_queue import NOW, limit_to


def page(client: Client, issue: Issue) -> str:
    response = client.get(reverse("issues:detail", args=[issue.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- Who may open it ------------------------------------------------------------------------------


def test_it_sends_a_visitor_to_sign_in(client: Client, log_issue: LogIssue) -> None:
    response = client.get(reverse("issues:detail", args=[log_issue().pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_floor_staff_are_refused_even_their_own_issue(
    client_for: Callable[[User], Client], nurse_nina: User, log_issue: LogIssue
) -> None:
    issue = log_issue(reporter_user=nurse_nina)
    assert client_for(nurse_nina).get(reverse("issues:detail", args=[issue.pk])).status_code == 403


@pytest.mark.parametrize("who", ["agent_alex", "lead_lena"])
def test_the_help_desk_and_the_command_center_open_any_issue(
    request: pytest.FixtureRequest,
    who: str,
    client_for: Callable[[User], Client],
    log_issue: LogIssue,
    front_desk: Unit,
) -> None:
    issue = log_issue(unit=front_desk)
    assert issue.title in page(client_for(request.getfixturevalue(who)), issue)


def test_support_staff_open_their_units_issues_and_theirs_only(
    client_for: Callable[[User], Client],
    super_sam: User,
    log_issue: LogIssue,
    ed: Unit,
    front_desk: Unit,
) -> None:
    limit_to(super_sam, ed)
    client = client_for(super_sam)
    assert client.get(reverse("issues:detail", args=[log_issue(unit=ed).pk])).status_code == 200
    other = log_issue(unit=front_desk)
    assert client.get(reverse("issues:detail", args=[other.pk])).status_code == 404


def test_a_clinic_manager_opens_her_units_issues_only(
    client_for: Callable[[User], Client],
    manager_maria: User,
    log_issue: LogIssue,
    four_west: Unit,
    front_desk: Unit,
) -> None:
    client = client_for(manager_maria)
    html = page(client, log_issue(unit=four_west))
    # She reads and comments; she does not claim, assign or resolve.
    assert "Send comment" in html
    assert ">Claim</button>" not in html
    assert "Resolve</button>" not in html
    assert "Assign</button>" not in html
    other = log_issue(unit=front_desk)
    assert client.get(reverse("issues:detail", args=[other.pk])).status_code == 404


def test_another_go_lives_lead_gets_not_found(
    client_for: Callable[[User], Client], outsider_oscar: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    response = client_for(outsider_oscar).get(reverse("issues:detail", args=[issue.pk]))
    assert response.status_code == 404
    assert issue.title.encode() not in response.content


def test_a_missing_issue_is_not_found(
    client_for: Callable[[User], Client], agent_alex: User
) -> None:
    assert client_for(agent_alex).get(reverse("issues:detail", args=[999999])).status_code == 404


# --- What it shows --------------------------------------------------------------------------------


@pytest.fixture
def tablet(mercy: GoLive, four_west: Unit) -> UnitTablet:
    return UnitTablet.objects.create(
        go_live=mercy,
        unit=four_west,
        label="Nurses' station",
        code_expires_at=timezone.now(),
        secret_hash="f" * 64,
    )


def test_it_shows_every_field_in_the_go_lives_time(
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    orders_app: Application,
    tiers: dict[str, EscalationTier],
) -> None:
    time_machine.move_to(NOW, tick=False)
    issue = log_issue(
        title="Order set missing heparin",
        description="Since 05:30.\nEvery bed on 4 West.",
        application=orders_app,
        location_detail="Room 412, WOW-7",
        impact=Impact.UNIT,
        urgency=Urgency.WORKAROUND,
        workaround_in_use=True,
    )
    set_tier(issue=issue, tier=tiers["command"], actor=agent_alex)
    set_external_ref(issue=issue, external_ref="VND-5521", actor=agent_alex)

    html = page(client_for(agent_alex), issue)

    for text in [
        issue.code,
        "Order set missing heparin",
        "P2 · high",
        "New",
        "Unassigned",
        "4 West Med/Surg · Mercy General · Room 412, WOW-7",
        "Printing / labels",
        "Orders",
        "The whole unit or site",
        "There is a workaround",
        'Workaround in use</dt><dd class="col-sm-8">Yes',
        "Tier 2 · Command center",
        "VND-5521",
        # 06:00 in Chicago; a P2 is due eight hours later.
        "Tue 3 Nov 2026, 06:00",
        "Tue 3 Nov 2026, 14:00 (8 h left)",
        "Since 05:30.<br>Every bed on 4 West.",
    ]:
        assert text in html, text


def test_it_shows_the_tablet_reporter_with_a_callback_link_and_everyone_else_affected(
    client_for: Callable[[User], Client],
    agent_alex: User,
    nurse_nina: User,
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    printing: object,
    tablet: UnitTablet,
) -> None:
    issue, _ = create_issue(
        tablet_secret_hash=tablet.secret_hash,
        category_id=printing.pk,
        title="Labels print blank",
        impact=Impact.SEVERAL,
        urgency=Urgency.WORKAROUND,
        reporter_name="Nora Night",
        reporter_callback="312-555-0142",
    )
    add_reporter(issue=issue, user=nurse_nina)
    add_reporter(issue=issue, name="Pat from the ED", callback="312-555-0177", unit=ed)

    html = page(client_for(agent_alex), issue)

    assert "Nora Night" in html
    assert "from the unit tablet “Nurses&#x27; station”" in html
    assert '<a href="tel:312-555-0142">312-555-0142</a>' in html
    assert "Nina Nurse" in html
    assert "Pat from the ED · Emergency Department" in html
    assert '<a href="tel:312-555-0177">312-555-0177</a>' in html


def test_photos_are_thumbnails_linking_to_the_photo_page(
    client_for: Callable[[User], Client], agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    photo = IssuePhoto.objects.create(
        issue=issue,
        file="issues/1/abc.jpg",
        content_type="image/jpeg",
        size=1000,
        width=800,
        height=600,
    )
    html = page(client_for(agent_alex), issue)
    url = reverse("issues:photo", args=[photo.pk])
    assert f'<a href="{url}"><img class="gl-thumb" src="{url}"' in html


def test_it_shows_the_parent_the_children_with_their_status_and_the_known_issue(
    client_for: Callable[[User], Client],
    agent_alex: User,
    lead_lena: User,
    log_issue: LogIssue,
    ed: Unit,
    mercy: GoLive,
) -> None:
    parent = log_issue(title="Label printers down hospital-wide")
    child = log_issue(unit=ed, title="ED labels blank")
    other = log_issue(title="4 West labels blank")
    link_issue(issue=child, parent=parent, kind=Issue.Link.DUPLICATE, actor=agent_alex)
    link_issue(issue=other, parent=parent, kind=Issue.Link.PART_OF, actor=agent_alex)
    change_status(issue=other, to=Issue.Status.IN_PROGRESS, actor=agent_alex)
    KnownIssue.objects.create(
        go_live=mercy,
        issue=parent,
        title="Label printers",
        problem="Blank labels.",
        workaround="Print from the unit clerk's desk.",
        status=KnownIssue.Status.WORKAROUND,
        published_by=lead_lena,
    )
    client = client_for(agent_alex)

    parent_html = page(client, parent)
    assert (
        f"{child.code}</a> ED labels blank · duplicate of · Emergency Department · <strong>New"
        in parent_html
    )
    assert (
        f"{other.code}</a> 4 West labels blank · part of · 4 West Med/Surg · <strong>In progress"
        in parent_html
    )
    assert "Known issue: <strong>Label printers</strong> · Workaround available" in parent_html

    child_html = page(client, child)
    url = reverse("issues:detail", args=[parent.pk])
    assert (
        f'Duplicate of <a href="{url}">{parent.code}</a> Label printers down hospital-wide · New'
        in child_html
    )
    # The child hangs from the known issue's anchor: it shows the known issue too.
    assert "Print from the unit clerk&#x27;s desk." in child_html


def test_the_desk_is_offered_to_publish_a_known_issue_and_support_staff_are_not(
    client_for: Callable[[User], Client],
    lead_lena: User,
    agent_alex: User,
    super_sam: User,
    log_issue: LogIssue,
) -> None:
    issue = log_issue()
    link = f'href="{reverse("issues:known_publish")}?issue={issue.pk}">Publish as known issue</a>'
    assert link in page(client_for(lead_lena), issue)
    assert link in page(client_for(agent_alex), issue)
    assign_issue(issue=issue, assignee=super_sam, actor=lead_lena)
    assert "Publish as known issue" not in page(client_for(super_sam), issue)


def test_the_timeline_says_who_did_what_and_when_and_marks_internal_notes(
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    lead_lena: User,
    nurse_nina: User,
    log_issue: LogIssue,
) -> None:
    time_machine.move_to(NOW, tick=False)
    issue = log_issue(reporter_user=nurse_nina)
    time_machine.move_to(NOW + dt.timedelta(minutes=7), tick=False)
    change_status(issue=issue, to=Issue.Status.IN_PROGRESS, actor=agent_alex)
    add_comment(issue=issue, actor=agent_alex, body="Driver is stale on WOW-7.", internal=True)
    time_machine.move_to(NOW + dt.timedelta(minutes=9), tick=False)
    add_comment(issue=issue, actor=lead_lena, body="We are on it.", internal=False)

    response = client_for(agent_alex).get(reverse("issues:detail", args=[issue.pk]))

    entries = response.context["entries"]
    assert [(entry.who, entry.event.kind, entry.change) for entry in entries] == [
        ("Nina Nurse", "created", "New"),
        ("Alex Agent", "status", "New → In progress"),
        ("Alex Agent", "comment", ""),
        ("Lena Lead", "comment", ""),
    ]
    html = response.content.decode()
    timeline = html[html.index('data-testid="timeline"') :]
    assert "Tue 3 Nov, 06:07</time> · Alex Agent" in timeline
    assert "<strong>Status</strong>: New → In progress" in timeline
    assert "gl-event gl-internal" in timeline
    assert '<span class="badge text-bg-warning">Internal</span>' in timeline
    assert "Driver is stale on WOW-7." in timeline
    assert '<span class="badge text-bg-info">Reply to the reporter</span>' in timeline
    assert timeline.index("Driver is stale") < timeline.index("We are on it.")


def test_script_in_a_title_description_or_comment_is_shown_as_text(
    client_for: Callable[[User], Client], agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue(title="<script>alert(1)</script>", description="<img src=x onerror=alert(2)>")
    add_comment(issue=issue, actor=agent_alex, body="<b onclick=alert(3)>hi</b>", internal=True)
    html = page(client_for(agent_alex), issue)
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "<b onclick" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b onclick=alert(3)&gt;hi&lt;/b&gt;" in html


def test_the_desk_sees_every_action_and_support_staff_the_working_ones(
    client_for: Callable[[User], Client],
    agent_alex: User,
    super_sam: User,
    log_issue: LogIssue,
) -> None:
    issue = log_issue()
    desk = page(client_for(agent_alex), issue)
    for label in [
        ">Claim</button>",
        "Acknowledge</button>",
        "Start work</button>",
        "Send comment</button>",
        "Resolve</button>",
        "Set waiting</button>",
        "Assign</button>",
        "Change priority</button>",
        "Move to tier</button>",
        "Link</button>",
        "Save ticket number</button>",
    ]:
        assert label in desk, label
    # A new issue cannot be closed: no button offers it.
    assert ">Close</button>" not in desk

    support = page(client_for(super_sam), issue)
    assert ">Claim</button>" in support
    assert "Resolve</button>" in support
    assert "Assign</button>" not in support
    assert "Change priority</button>" not in support
    assert "Link</button>" not in support


# --- What it costs --------------------------------------------------------------------------------


def grow(issue: Issue, *, children: int, comments: int, log_issue: LogIssue, actor: User) -> None:
    for n in range(children):
        child = log_issue(title=f"Same problem {n}")
        link_issue(issue=child, parent=issue, kind=Issue.Link.DUPLICATE, actor=actor)
        add_reporter(issue=issue, name=f"Reporter {child.code}", callback="312-555-0100")
    for n in range(comments):
        add_comment(issue=issue, actor=actor, body=f"Note {n}", internal=n % 2 == 0)


@pytest.mark.parametrize("who", ["agent_alex", "lead_lena"])
def test_the_page_costs_the_same_queries_for_few_or_many_events_and_children(
    request: pytest.FixtureRequest,
    who: str,
    client_for: Callable[[User], Client],
    log_issue: LogIssue,
    orders_app: Application,
    tiers: dict[str, EscalationTier],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    user = request.getfixturevalue(who)
    issue = log_issue(title="Busy", application=orders_app)
    set_tier(issue=issue, tier=tiers["floor"], actor=user)
    grow(issue, children=1, comments=2, log_issue=log_issue, actor=user)
    client = client_for(user)
    url = reverse("issues:detail", args=[issue.pk])
    client.get(url)  # the first page also saves the session (the current go-live)
    # Session, user, memberships; the issue, its reporters, photos, children, known issue and
    # events; the assign and tier menus.
    with django_assert_max_num_queries(14) as small:
        assert client.get(url).status_code == 200
    grow(issue, children=15, comments=40, log_issue=log_issue, actor=user)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(response.context["children"]) == 16
    assert len(response.context["entries"]) == 60
