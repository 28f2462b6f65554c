"""Known issues: publishing from reports, editing, fixing (every report resolved, every reporter
told), the board on tablets and desks, and who may do what."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Membership, Notification, Role, Site, Unit
from issues.access import TABLET_COOKIE
from issues.known import (
    FIXED_SHOWN_FOR,
    board,
    issues_by_code,
    publish_known_issue,
    update_known_issue,
)
from issues.models import Issue, IssueEvent, KnownIssue
from issues.services import IssueRefused, add_reporter, change_status, link_issue
from issues.tablets import claim_enrollment, create_enrollment
from issues.tests.conftest import LogIssue

KS = KnownIssue.Status
Publish = Callable[..., KnownIssue]


@pytest.fixture
def doctor_dan(mercy: GoLive, four_west: Unit) -> User:
    user = User.objects.create_user(username="doctor_dan", first_name="Dan", last_name="Doctor")
    Membership.objects.create(user=user, go_live=mercy, role=Role.FLOOR_STAFF).units.add(four_west)
    return user


@pytest.fixture
def publish(mercy: GoLive, lead_lena: User) -> Publish:
    """Publish a known issue from `anchor` (investigating, every unit, no other report unless told)."""

    def run(anchor: Issue, **fields: object) -> KnownIssue:
        values: dict[str, object] = {
            "title": "Label printers on 4 West print blank labels",
            "problem": "Specimen labels come out blank.",
            "workaround": "",
            "status": KS.INVESTIGATING,
            "units": [],
            "others": [],
            "actor": lead_lena,
        }
        return publish_known_issue(go_live=mercy, anchor=anchor, **(values | fields))

    return run


def edit(known: KnownIssue, **fields: object) -> KnownIssue:
    known.refresh_from_db()
    values: dict[str, object] = {
        "expected_version": known.version,
        "title": known.title,
        "problem": known.problem,
        "workaround": known.workaround,
        "status": known.status,
        "units": list(known.units.all()),
        "others": [],
        "actor": None,
    }
    return update_known_issue(known=known, **(values | fields))


def told(user: User) -> list[str]:
    return sorted(
        Notification.objects.in_app_for(user)
        .filter(dedupe_key__startswith="known:")
        .values_list("dedupe_key", flat=True)
    )


# --- Publishing -----------------------------------------------------------------------------------


def test_publishing_links_the_other_reports_and_tells_every_reporter_once(
    publish: Publish, log_issue: LogIssue, nurse_nina: User, doctor_dan: User, lead_lena: User
) -> None:
    anchor = log_issue(reporter_user=nurse_nina)
    other = log_issue(reporter_user=doctor_dan)
    also = log_issue(reporter_user=nurse_nina)

    known = publish(anchor, others=[other, also], workaround="Print from the pharmacy printer.")

    assert known.issue == anchor
    assert known.version == 1
    for report in (other, also):
        report.refresh_from_db()
        assert (report.parent, report.parent_link) == (anchor, Issue.Link.PART_OF)
    assert told(nurse_nina) == [f"known:{known.pk}:v1:user{nurse_nina.pk}"]
    assert told(doctor_dan) == [f"known:{known.pk}:v1:user{doctor_dan.pk}"]
    message = Notification.objects.get(dedupe_key=f"known:{known.pk}:v1:user{doctor_dan.pk}")
    assert "Print from the pharmacy printer." in message.body
    assert message.link == f"/issues/known/#known-{known.pk}"
    note = anchor.events.get(kind=IssueEvent.Kind.COMMENT)
    assert note.internal
    assert note.actor == lead_lena


def test_someone_who_said_my_problem_too_is_told_as_well(
    publish: Publish, log_issue: LogIssue, doctor_dan: User
) -> None:
    anchor = log_issue()
    add_reporter(issue=anchor, user=doctor_dan)

    known = publish(anchor)

    assert told(doctor_dan) == [f"known:{known.pk}:v1:user{doctor_dan.pk}"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("already known", "already a known issue"),
        ("linked anchor", "is linked to another issue"),
        ("resolved anchor", "publish from an open report"),
        ("fixed without resolution", "Say how it was fixed"),
        ("other is another known issue's report", "cannot be part of another"),
    ],
)
def test_publishing_is_refused_with_a_reason_and_nothing_is_saved(
    case: str, message: str, publish: Publish, log_issue: LogIssue, agent_alex: User
) -> None:
    anchor, other, third = log_issue(), log_issue(), log_issue()
    others = [third]
    fields: dict[str, object] = {}
    if case == "already known":
        publish(anchor)
    elif case == "linked anchor":
        link_issue(issue=anchor, parent=other, kind="duplicate", actor=agent_alex)
    elif case == "resolved anchor":
        change_status(issue=anchor, to="resolved", actor=agent_alex, resolution="Rebooted.")
    elif case == "fixed without resolution":
        fields = {"status": KS.FIXED}
    else:
        publish(other)
        others.append(Issue.objects.get(pk=other.pk))
    before = (KnownIssue.objects.count(), IssueEvent.objects.count(), Notification.objects.count())

    with pytest.raises(IssueRefused, match=message):
        publish(Issue.objects.get(pk=anchor.pk), others=others, **fields)

    after = (KnownIssue.objects.count(), IssueEvent.objects.count(), Notification.objects.count())
    assert after == before
    assert Issue.objects.get(pk=third.pk).parent is None


def test_issue_codes_are_read_from_a_list_and_unknown_ones_named(
    mercy: GoLive, lakeside: GoLive, log_issue: LogIssue
) -> None:
    first, second = log_issue(), log_issue()

    assert issues_by_code(go_live=mercy, text=" GL-1002, gl1001;1002 ") == [second, first]
    assert issues_by_code(go_live=mercy, text="") == []
    with pytest.raises(IssueRefused, match="no issue GL-1003, GL-9"):
        issues_by_code(go_live=mercy, text="GL-1001 GL-1003 GL-9")
    with pytest.raises(IssueRefused, match="“printer” is not an issue number"):
        issues_by_code(go_live=mercy, text="GL-1001, printer")
    with pytest.raises(IssueRefused, match="no issue GL-1001"):
        issues_by_code(go_live=lakeside, text="GL-1001")


# --- Editing and fixing ---------------------------------------------------------------------------


def test_a_stale_edit_is_refused_and_changes_nothing(publish: Publish, log_issue: LogIssue) -> None:
    known = publish(log_issue())
    edit(known, workaround="Use the pharmacy printer.")

    with pytest.raises(IssueRefused, match="Someone else changed this known issue"):
        edit(known, expected_version=1, title="Something else")

    known.refresh_from_db()
    assert (known.version, known.title, known.workaround) == (
        2,
        "Label printers on 4 West print blank labels",
        "Use the pharmacy printer.",
    )


def test_reporters_hear_when_a_workaround_is_added_and_not_for_other_edits(
    publish: Publish, log_issue: LogIssue, nurse_nina: User, doctor_dan: User
) -> None:
    anchor = log_issue(reporter_user=nurse_nina)
    known = publish(anchor, others=[log_issue(reporter_user=doctor_dan)])

    edit(known, title="Blank labels on 4 West")
    assert len(told(nurse_nina)) == 1

    edit(known, workaround="Print from the pharmacy printer.", status=KS.WORKAROUND)
    edit(known, status=KS.FIX_PLANNED)

    assert told(nurse_nina) == [
        f"known:{known.pk}:v1:user{nurse_nina.pk}",
        f"known:{known.pk}:v3:user{nurse_nina.pk}",
    ]
    assert told(doctor_dan) == [
        f"known:{known.pk}:v1:user{doctor_dan.pk}",
        f"known:{known.pk}:v3:user{doctor_dan.pk}",
    ]
    note = anchor.events.filter(kind=IssueEvent.Kind.COMMENT).last()
    assert note is not None
    assert note.body == "Known issue “Blank labels on 4 West”: Workaround available → Fix planned."


def test_fixing_resolves_every_linked_report_and_tells_every_reporter(
    publish: Publish, log_issue: LogIssue, nurse_nina: User, doctor_dan: User, lead_lena: User
) -> None:
    anchor = log_issue(reporter_user=nurse_nina)
    others = [log_issue(reporter_user=doctor_dan), log_issue(reporter_user=lead_lena)]
    known = publish(anchor, others=others)

    with pytest.raises(IssueRefused, match="Say how it was fixed"):
        edit(known, status=KS.FIXED)
    assert not Issue.objects.filter(status="resolved").exists()

    edit(known, status=KS.FIXED, resolution="The label printer driver was rolled back.")

    known.refresh_from_db()
    assert known.status == KS.FIXED
    assert known.fixed_at is not None
    for report in (anchor, *others):
        report.refresh_from_db()
        assert report.status == Issue.Status.RESOLVED
        assert "The label printer driver was rolled back." in report.resolution
        reporter = report.reporter_user
        assert (
            Notification.objects.in_app_for(reporter)
            .filter(dedupe_key__startswith=f"issue:{report.pk}:", subject__contains="resolved")
            .exists()
        ), f"{reporter} was not told {report.code} is resolved"


def test_a_fixed_known_issue_stays_fixed(publish: Publish, log_issue: LogIssue) -> None:
    known = publish(log_issue(), status=KS.FIXED, resolution="Rolled back.")
    assert Issue.objects.get(pk=known.issue_id).status == Issue.Status.RESOLVED

    with pytest.raises(IssueRefused, match="stays fixed"):
        edit(known, status=KS.WORKAROUND)


# --- The board ------------------------------------------------------------------------------------


@pytest.fixture
def tablet_client(client: Client, mercy: GoLive, four_west: Unit, manager_maria: User) -> Client:
    """A client with 4 West's enrolled tablet's cookie, enrolled through the tablet services."""
    enrollment = create_enrollment(
        go_live=mercy, unit=four_west, label="Nurses' station", actor=manager_maria
    )
    _, secret = claim_enrollment(code=enrollment.code)
    client.cookies[TABLET_COOKIE] = secret
    return client


@pytest.fixture
def spread(
    publish: Publish, log_issue: LogIssue, four_west: Unit, ed: Unit
) -> dict[str, KnownIssue]:
    """Known issues of 4 West, of the ED, of every unit, fixed just now, and fixed a day ago."""
    rows = {
        "4 West": publish(log_issue(), title="4 West scanners", units=[four_west]),
        "ED": publish(log_issue(unit=ed), title="ED tracking board", units=[ed]),
        "every unit": publish(log_issue(), title="Slow sign-in", workaround="Wait 30 s."),
        "fixed lately": publish(
            log_issue(), title="Printing fixed", status=KS.FIXED, resolution="Driver rolled back."
        ),
        "fixed long ago": publish(
            log_issue(), title="Old fix", status=KS.FIXED, resolution="Done."
        ),
    }
    KnownIssue.objects.filter(pk=rows["fixed long ago"].pk).update(
        fixed_at=rows["fixed long ago"].fixed_at - FIXED_SHOWN_FOR - dt.timedelta(minutes=1)
    )
    return rows


def titles(response: object) -> list[str]:
    return [known.title for known in response.context["known_issues"]]  # type: ignore[attr-defined]


def test_the_board_shows_every_open_known_issue_and_recent_fixes_newest_first(
    spread: dict[str, KnownIssue], client_for: Callable[[User], Client], agent_alex: User
) -> None:
    response = client_for(agent_alex).get(reverse("issues:known"))

    assert response.status_code == 200
    assert titles(response) == [
        "Printing fixed",
        "Slow sign-in",
        "ED tracking board",
        "4 West scanners",
    ]
    page = response.content.decode()
    assert "Driver rolled back." in page
    assert "Every unit" in page
    assert reverse("issues:known_edit", args=[spread["ED"].pk]) in page


@pytest.mark.parametrize("who", ["tablet", "nurse"])
def test_a_tablet_and_floor_staff_see_their_units_and_every_unit_only(
    who: str,
    spread: dict[str, KnownIssue],
    request: pytest.FixtureRequest,
    client_for: Callable[[User], Client],
    nurse_nina: User,
) -> None:
    client = request.getfixturevalue("tablet_client") if who == "tablet" else client_for(nurse_nina)

    response = client.get(reverse("issues:known"))

    assert response.status_code == 200
    assert titles(response) == ["Printing fixed", "Slow sign-in", "4 West scanners"]
    page = response.content.decode()
    assert "Wait 30 s." in page
    assert reverse("issues:known_publish") not in page
    assert "/edit/" not in page


def test_the_board_shows_how_many_reports_each_known_issue_has(
    publish: Publish, log_issue: LogIssue, client_for: Callable[[User], Client], agent_alex: User
) -> None:
    publish(log_issue(), others=[log_issue(), log_issue()])

    response = client_for(agent_alex).get(reverse("issues:known"))

    [known] = response.context["known_issues"]
    assert known.linked_count == 2
    assert "3 reports" in response.content.decode()


def test_script_in_a_known_issue_is_shown_as_text(
    publish: Publish, log_issue: LogIssue, tablet_client: Client
) -> None:
    publish(
        log_issue(),
        title="<script>alert(1)</script>",
        problem="<img src=x onerror=alert(2)>",
        workaround="<b>bold</b>",
    )

    page = tablet_client.get(reverse("issues:known")).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def _publish_many(publish: Publish, log_issue: LogIssue, units: list[Unit], count: int) -> None:
    for n in range(count):
        anchor = log_issue()
        publish(anchor, title=f"Known {n}", units=units[: n % 3], others=[log_issue()])


@pytest.mark.parametrize("who", ["tablet", "agent_alex", "nurse_nina"])
def test_the_board_costs_the_same_queries_for_three_or_thirty_known_issues(
    who: str,
    publish: Publish,
    log_issue: LogIssue,
    four_west: Unit,
    ed: Unit,
    request: pytest.FixtureRequest,
    client_for: Callable[[User], Client],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    if who == "tablet":
        client = request.getfixturevalue("tablet_client")
    else:
        client = client_for(request.getfixturevalue(who))
    url = reverse("issues:known")
    client.get(url)  # a member's first page also saves the session (the current go-live)
    counts = []
    for more in (3, 27):
        _publish_many(publish, log_issue, [four_west, ed], more)
        with django_assert_max_num_queries(7) as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append((len(queries), len(response.context["known_issues"])))
    assert counts[0][0] == counts[1][0]
    assert counts[1][1] > counts[0][1]


def test_the_board_partial_is_served_to_htmx(
    spread: dict[str, KnownIssue], tablet_client: Client
) -> None:
    response = tablet_client.get(reverse("issues:known"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.templates[0].name == "issues/known_cards.html"
    assert b"<html" not in response.content


def test_the_board_service_narrows_to_units(
    mercy: GoLive, spread: dict[str, KnownIssue], ed: Unit
) -> None:
    assert [k.title for k in board(go_live=mercy, unit_ids=[ed.pk])] == [
        "Printing fixed",
        "Slow sign-in",
        "ED tracking board",
    ]
    assert [k.title for k in board(go_live=mercy, unit_ids=[])] == [
        "Printing fixed",
        "Slow sign-in",
    ]


# --- Publish and edit pages -----------------------------------------------------------------------


def test_the_desk_publishes_from_a_report_it_was_looking_at(
    log_issue: LogIssue,
    client_for: Callable[[User], Client],
    agent_alex: User,
    four_west: Unit,
    nurse_nina: User,
) -> None:
    anchor = log_issue(description="Blank labels from the Zebra at bed 12.")
    other = log_issue(reporter_user=nurse_nina)
    client = client_for(agent_alex)
    url = reverse("issues:known_publish")

    page = client.get(url, {"issue": anchor.pk})
    assert page.status_code == 200
    form = page.context["form"]
    assert form["report"].value() == anchor.code
    assert form["problem"].value() == "Blank labels from the Zebra at bed 12."

    response = client.post(
        url,
        {
            "report": anchor.code,
            "title": "Blank labels",
            "problem": "Labels print blank.",
            "workaround": "Use the pharmacy printer.",
            "status": KS.WORKAROUND,
            "units": [four_west.pk],
            "reports": other.code,
        },
    )

    known = KnownIssue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/issues/known/#known-{known.pk}"
    assert (known.issue, known.published_by, list(known.units.all())) == (
        anchor,
        agent_alex,
        [four_west],
    )
    assert Issue.objects.get(pk=other.pk).parent == anchor
    assert told(nurse_nina) == [f"known:{known.pk}:v1:user{nurse_nina.pk}"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"report": ""}, "report", "Give the number of the report to publish from."),
        ({"report": "GL-9999"}, "report", "This go-live has no issue GL-9999."),
        ({"report": "GL-1001, GL-1002"}, "report", "Give one report here"),
        ({"title": ""}, "title", "This field is required."),
        ({"title": "x" * 121}, "title", "at most 120 characters"),
        ({"status": "gone"}, "status", "Select a valid choice."),
        ({"reports": "GL-1001, nonsense"}, "reports", "“nonsense” is not an issue number"),
        ({"status": "fixed"}, "resolution", "Say how it was fixed"),
        ({"units": ["999999"]}, "units", "Choose units of this go-live."),
    ],
)
def test_bad_input_on_publish_is_answered_and_nothing_is_saved(
    data: dict[str, object],
    field: str,
    message: str,
    log_issue: LogIssue,
    client_for: Callable[[User], Client],
    lead_lena: User,
) -> None:
    log_issue()
    log_issue()
    valid: dict[str, object] = {
        "report": "GL-1001",
        "title": "Blank labels",
        "problem": "Labels print blank.",
        "status": KS.INVESTIGATING,
    }

    response = client_for(lead_lena).post(reverse("issues:known_publish"), valid | data)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not KnownIssue.objects.exists()
    assert not Issue.objects.filter(parent__isnull=False).exists()


def test_a_refusal_from_the_service_is_shown_on_the_form(
    publish: Publish, log_issue: LogIssue, client_for: Callable[[User], Client], lead_lena: User
) -> None:
    publish(log_issue())

    response = client_for(lead_lena).post(
        reverse("issues:known_publish"),
        {"report": "GL-1001", "title": "Again", "problem": "Same.", "status": KS.INVESTIGATING},
    )

    assert response.status_code == 200
    assert "GL-1001 is already a known issue" in response.content.decode()
    assert KnownIssue.objects.count() == 1


def test_editing_saves_and_a_stale_form_is_refused(
    publish: Publish, log_issue: LogIssue, client_for: Callable[[User], Client], agent_alex: User
) -> None:
    known = publish(log_issue())
    url = reverse("issues:known_edit", args=[known.pk])
    client = client_for(agent_alex)
    form = client.get(url).context["form"]
    assert form["version"].value() == 1
    data = {
        "version": 1,
        "title": "Blank labels",
        "problem": "Labels print blank.",
        "workaround": "Pharmacy printer.",
        "status": KS.WORKAROUND,
        "reports": "",
    }

    assert client.post(url, data).status_code == 302
    stale = client.post(url, data | {"title": "Someone else's title"})

    assert stale.status_code == 200
    assert "Someone else changed this known issue" in stale.content.decode()
    known.refresh_from_db()
    assert (known.title, known.version, known.workaround) == (
        "Blank labels",
        2,
        "Pharmacy printer.",
    )


def test_fixing_from_the_edit_page_needs_a_resolution(
    publish: Publish, log_issue: LogIssue, client_for: Callable[[User], Client], lead_lena: User
) -> None:
    known = publish(log_issue())
    url = reverse("issues:known_edit", args=[known.pk])
    data = {"version": 1, "title": known.title, "problem": known.problem, "status": KS.FIXED}
    client = client_for(lead_lena)

    refused = client.post(url, data)
    assert "Say how it was fixed" in " ".join(refused.context["form"].errors["resolution"])
    assert Issue.objects.get(pk=known.issue_id).status == Issue.Status.NEW

    assert client.post(url, data | {"resolution": "Driver rolled back."}).status_code == 302
    assert Issue.objects.get(pk=known.issue_id).resolution == "Driver rolled back."


# --- Who may ----------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(
    publish: Publish, log_issue: LogIssue, client: Client
) -> None:
    known = publish(log_issue())
    for url in (
        reverse("issues:known"),
        reverse("issues:known_publish"),
        reverse("issues:known_edit", args=[known.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('login')}?next=")


@pytest.mark.parametrize(
    ("who", "board_status", "publish_status"),
    [
        ("lead_lena", 200, 200),
        ("agent_alex", 200, 200),
        ("manager_maria", 200, 403),
        ("super_sam", 200, 403),
        ("nurse_nina", 200, 403),
    ],
)
def test_every_member_sees_the_board_and_only_the_desk_publishes_and_edits(
    who: str,
    board_status: int,
    publish_status: int,
    request: pytest.FixtureRequest,
    publish: Publish,
    log_issue: LogIssue,
    client_for: Callable[[User], Client],
) -> None:
    anchor = log_issue()
    known = publish(anchor)
    client = client_for(request.getfixturevalue(who))
    edit_url = reverse("issues:known_edit", args=[known.pk])

    assert client.get(reverse("issues:known")).status_code == board_status
    assert client.get(reverse("issues:known_publish")).status_code == publish_status
    assert client.get(edit_url).status_code == publish_status
    post = {"version": 1, "title": "Changed", "problem": "x", "status": KS.INVESTIGATING}
    assert client.post(edit_url, post).status_code in {302, publish_status}
    changed = KnownIssue.objects.get(pk=known.pk).title == "Changed"
    assert changed is (publish_status == 200)


def test_an_enrolled_tablet_cannot_publish(tablet_client: Client) -> None:
    response = tablet_client.get(reverse("issues:known_publish"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_another_go_live_lead_never_sees_mercy_known_issues(
    publish: Publish,
    log_issue: LogIssue,
    client_for: Callable[[User], Client],
    outsider_oscar: User,
    lakeside: GoLive,
) -> None:
    anchor = log_issue()
    known = publish(anchor, title="Mercy only")
    client = client_for(outsider_oscar)

    assert client.get(reverse("issues:known_edit", args=[known.pk])).status_code == 404
    post = {"version": 1, "title": "Oscar's", "problem": "x", "status": KS.INVESTIGATING}
    assert client.post(reverse("issues:known_edit", args=[known.pk]), post).status_code == 404
    assert client.get(reverse("issues:known_publish"), {"issue": anchor.pk}).status_code == 404
    assert client.get(reverse("issues:known_publish"), {"issue": "x"}).status_code == 404
    # Publishing on his own go-live by Mercy's number finds no such issue there.
    response = client.post(
        reverse("issues:known_publish"),
        {"report": anchor.code, "title": "T", "problem": "P", "status": KS.INVESTIGATING},
    )
    assert "This go-live has no issue GL-1001." in response.context["form"].errors["report"]
    board_page = client.get(reverse("issues:known"))
    assert board_page.status_code == 200
    assert "Mercy only" not in board_page.content.decode()
    assert KnownIssue.objects.get().title == "Mercy only"


def test_a_lakeside_site_has_no_place_on_the_mercy_form(
    lakeside: GoLive, client_for: Callable[[User], Client], lead_lena: User, four_west: Unit
) -> None:
    site = Site.objects.create(go_live=lakeside, name="Lakeside", code="LK")
    Unit.objects.create(site=site, name="Lakeside ICU")

    page = client_for(lead_lena).get(reverse("issues:known_publish")).content.decode()

    assert "Lakeside ICU" not in page
    assert "4 West Med/Surg" in page
