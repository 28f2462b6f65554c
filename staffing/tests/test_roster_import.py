"""Importing the roster from CSV: checked row by row, previewed, then imported all or nothing."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import Application, GoLive, Site, Unit
from staffing import roster
from staffing.models import RosterImport, SupportPerson, SupportRole
from staffing.tests.conftest import MakePerson

SignIn = Callable[[User], Client]

HEADER = ",".join(roster.COLUMNS)
ANN = (
    "Ann Able,ann@mercy.example,super_user,in_house,,Orders,Mercy General,4 West Med/Surg,"
    "312-555-0101,+13125550101,10,12,48,yes"
)
BOB = (
    "Bob Baker,bob@northwind.example,Vendor consultant,,Northwind Clinical,Orders; ADT,MG,"
    "Emergency Department,,,,,,"
)


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def checked(go_live: GoLive, text: str, user: User | None = None) -> RosterImport:
    """Upload `text` and run the check a worker would run."""
    content, count = roster.read_upload(text.encode())
    upload = roster.create_roster_import(
        go_live=go_live, uploaded_by=user, filename="roster.csv", content=content, total_rows=count
    )
    result = roster.check_roster_import(import_id=upload.pk)
    assert result is not None
    return result


def imported(go_live: GoLive, text: str, user: User | None = None) -> RosterImport:
    """Upload, check and import `text` as the workers would."""
    upload = checked(go_live, text, user)
    assert upload.status == RosterImport.Status.READY, upload.errors
    roster.start_roster_import(roster_import=upload, actor=user)
    result = roster.apply_roster_import(import_id=upload.pk)
    assert result is not None
    return result


@pytest.fixture
def adt_app(mercy: GoLive) -> Application:
    return Application.objects.create(go_live=mercy, name="ADT")


@pytest.fixture
def setting(
    orders_app: Application, adt_app: Application, four_west: Unit, ed: Unit, front_desk: Unit
) -> None:
    """Mercy with the applications, sites and units the files below name."""


# --- Reading the file -----------------------------------------------------------------------------


def test_a_file_with_a_byte_order_mark_and_crlf_lines_is_read() -> None:
    content, count = roster.read_upload(
        ("\ufeff" + csv_text(ANN, BOB)).replace("\n", "\r\n").encode()
    )
    assert count == 2
    assert content.startswith("name,email")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"name,email,role\n", "the header row but nobody below it"),
        (b"Name,Email\nAnn,a@x.org\n", "it lacks role"),
        (b"name,email,role,shoe_size\n", "columns golive does not know: shoe_size"),
        (b"name,email,role,email\n", "names email more than once"),
        ("name,email,role\nJosé,j@x.org,super_user\n".encode("latin-1"), "not UTF-8 text"),
        (b"name,email,role\nA\x00,a@x.org,super_user\n", "NUL characters"),
        (b"x" * (roster.MAX_UPLOAD_BYTES + 1), "larger than 5 MB"),
    ],
)
def test_an_unreadable_file_is_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(roster.RosterFileError, match=message):
        roster.read_upload(data)


def test_column_names_are_read_loosely_and_in_any_order(mercy: GoLive, setting: None) -> None:
    upload = imported(
        mercy, csv_text("ann@mercy.example,Ann Able,SUPER USER", header=" Email ,Name,ROLE")
    )
    assert upload.created_count == 1
    ann = SupportPerson.objects.get()
    assert (ann.name, ann.role, ann.employer, ann.is_active) == (
        "Ann Able",
        SupportRole.SUPER_USER,
        SupportPerson.Employer.IN_HOUSE,
        True,
    )
    assert (ann.max_hours_per_shift, ann.max_hours_per_day, ann.max_hours_per_week) == (12, 12, 60)


# --- Checking rows --------------------------------------------------------------------------------

GOOD = "Gail Good,gail@mercy.example,super_user,,,,,,,,,,,"


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (",nameless@mercy.example,super_user,,,,,,,,,,,", "name", "Give the person's name."),
        ("Ann,,super_user,,,,,,,,,,,", "email", "Give an email address"),
        ("Ann,not-an-email,super_user,,,,,,,,,,,", "email", "“not-an-email” is not an email"),
        ("Ann,ann@mercy.example,,,,,,,,,,,,", "role", "Give a role"),
        ("Ann,ann@mercy.example,wizard,,,,,,,,,,,", "role", "“wizard” is not a role"),
        ("Ann,ann@mercy.example,super_user,contractor,,,,,,,,,,", "employer", "not an employer"),
        ("Ann,ann@mercy.example,super_user,vendor,,,,,,,,,,", "vendor_name", "Name the vendor"),
        (
            "Ann,ann@mercy.example,super_user,,,Orders;Radiology,,,,,,,,",
            "skills",
            "“Radiology” is not an application",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,Lakeview,,,,,,,",
            "home_site",
            "“Lakeview” is not a site",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,Mercy General,Ward 9,,,,,,",
            "home_unit",
            "“Ward 9” is not a unit of Mercy General",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,,Front Desk,,,,,,",
            "home_site",
            "Give the home site of unit",
        ),
        ("Ann,ann@mercy.example,super_user,,,,,,call me,,,,,", "phone", "not a phone number"),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,3125550100,,,,",
            "sms_number",
            "not in international +E.164 form",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,,long,,,",
            "max_hours_per_shift",
            "“long” is not a number",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,,,0,,",
            "max_hours_per_day",
            "between 1 and 168 hours",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,,,,200,",
            "max_hours_per_week",
            "between 1 and 168 hours",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,,7.25,,,",
            "max_hours_per_shift",
            "at most one decimal place",
        ),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,,14,12,,",
            "max_hours_per_shift",
            "longer than the daily limit of 12 h",
        ),
        ("Ann,ann@mercy.example,super_user,,,,,,,,,,,maybe", "active", "“maybe” is not yes or no"),
        (
            "Ann,ann@mercy.example,super_user,,,,,,,,,,,yes,surplus",
            "",
            "1 more value than the first row has columns",
        ),
        ("Gail Twin,GAIL@mercy.example,super_user,,,,,,,,,,,", "email", "already on line 2"),
    ],
)
def test_each_bad_row_is_reported_with_its_line_and_column(
    mercy: GoLive, setting: None, row: str, column: str, message: str
) -> None:
    upload = checked(mercy, csv_text(GOOD, row))

    assert upload.status == RosterImport.Status.INVALID
    assert len(upload.errors) == 1
    error = upload.errors[0]
    assert (error["line"], error["column"]) == (3, column)
    assert message in error["message"]
    assert not SupportPerson.objects.exists()


def test_every_problem_of_every_row_is_listed(mercy: GoLive, setting: None) -> None:
    upload = checked(
        mercy,
        csv_text(
            ",bad-email,wizard,,,,,,,,,,,",
            GOOD,
            "Zed,zed@mercy.example,super_user,,,,,,,+1,,,,",
        ),
    )
    assert [(e["line"], e["column"]) for e in upload.errors] == [
        (2, "name"),
        (2, "email"),
        (2, "role"),
        (4, "sms_number"),
    ]
    assert (upload.total_rows, upload.processed_rows) == (3, 3)


def test_line_numbers_count_the_lines_of_a_quoted_cell_that_spans_two(
    mercy: GoLive, setting: None
) -> None:
    upload = checked(
        mercy,
        csv_text(
            'Ann Able,ann@mercy.example,super_user,vendor,"Northwind\nClinical",,,,,,,,,',
            "",
            "Bob,bob@mercy.example,wizard,,,,,,,,,,,",
        ),
    )
    assert [(e["line"], e["column"]) for e in upload.errors] == [(5, "role")]


def test_roles_employers_skills_and_places_are_matched_loosely(
    mercy: GoLive, setting: None, adt_app: Application, ed: Unit
) -> None:
    imported(mercy, csv_text(BOB.replace("Orders; ADT", "orders ;adt")))

    bob = SupportPerson.objects.get()
    assert bob.role == SupportRole.VENDOR_CONSULTANT
    assert bob.employer == SupportPerson.Employer.VENDOR  # blank employer, vendor named
    assert set(bob.skills.values_list("name", flat=True)) == {"Orders", "ADT"}
    assert (bob.home_site, bob.home_unit) == (ed.site, ed)


def test_an_sms_number_typed_with_spaces_is_stored_bare(mercy: GoLive, setting: None) -> None:
    imported(mercy, csv_text(ANN.replace("+13125550101", "+1 (312) 555-0101")))
    assert SupportPerson.objects.get().sms_number == "+13125550101"


def test_the_check_counts_people_to_create_update_and_leave_alone(
    mercy: GoLive, setting: None, make_person: MakePerson
) -> None:
    make_person("Ann Able", email="ANN@mercy.example", phone="312-555-0999")
    make_person("Bob Baker", email="bob@northwind.example")  # will change: role, vendor, skills
    imported(mercy, csv_text(GOOD))

    upload = checked(mercy, csv_text(ANN, BOB, GOOD))

    assert upload.status == RosterImport.Status.READY
    assert (upload.created_count, upload.updated_count, upload.total_rows) == (0, 2, 3)
    preview = roster.preview(upload)
    assert [row.action for row in preview.rows] == ["update", "update", "unchanged"]
    assert preview.columns == list(roster.COLUMNS)


# --- Importing ------------------------------------------------------------------------------------


def test_importing_creates_people_with_every_detail(
    mercy: GoLive, setting: None, orders_app: Application, four_west: Unit, lead_lena: User
) -> None:
    upload = imported(mercy, csv_text(ANN, BOB), lead_lena)

    assert upload.status == RosterImport.Status.DONE
    assert (upload.created_count, upload.updated_count) == (2, 0)
    assert upload.uploaded_by == lead_lena
    assert upload.finished_at is not None
    ann = SupportPerson.objects.get(email="ann@mercy.example")
    assert ann.go_live == mercy
    assert (ann.home_site, ann.home_unit) == (four_west.site, four_west)
    assert (ann.phone, ann.sms_number) == ("312-555-0101", "+13125550101")
    assert (ann.max_hours_per_shift, ann.max_hours_per_day, ann.max_hours_per_week) == (
        Decimal("10"),
        Decimal("12"),
        Decimal("48"),
    )
    assert list(ann.skills.all()) == [orders_app]


def test_importing_again_updates_people_matched_by_email_instead_of_adding_them(
    mercy: GoLive, setting: None
) -> None:
    imported(mercy, csv_text(ANN, BOB))
    changed = ANN.replace("ann@mercy.example", "Ann@Mercy.Example").replace(
        "312-555-0101", "312-555-0202"
    )
    changed = changed.replace(",Orders,", ",ADT,").replace(",yes", ",no")

    upload = imported(mercy, csv_text(changed, BOB))

    assert (upload.created_count, upload.updated_count) == (0, 1)
    assert SupportPerson.objects.count() == 2
    ann = SupportPerson.objects.get(email__iexact="ann@mercy.example")
    assert (ann.phone, ann.is_active) == ("312-555-0202", False)
    assert list(ann.skills.values_list("name", flat=True)) == ["ADT"]


def test_columns_left_out_of_the_file_leave_those_details_alone(
    mercy: GoLive, setting: None, make_person: MakePerson, orders_app: Application, ed: Unit
) -> None:
    ann = make_person("Ann", email="ann@mercy.example", phone="312-555-0101", home_unit=ed)
    ann.skills.add(orders_app)

    upload = imported(
        mercy, csv_text("Ann Able,ann@mercy.example,trainer", header="name,email,role")
    )

    assert upload.updated_count == 1
    ann.refresh_from_db()
    assert (ann.name, ann.role, ann.phone, ann.home_unit) == (
        "Ann Able",
        SupportRole.TRAINER,
        "312-555-0101",
        ed,
    )
    assert list(ann.skills.all()) == [orders_app]


def test_a_row_that_fails_while_importing_rolls_back_every_row(
    mercy: GoLive, setting: None, mercy_general: Site
) -> None:
    ghost = Unit.objects.create(site=mercy_general, name="Ghost Ward")
    rows = [
        f"Person {n},p{n}@mercy.example,super_user,,,,Mercy General,"
        f"{'Ghost Ward' if n == 588 else '4 West Med/Surg'},,,,,,"
        for n in range(600)
    ]
    upload = checked(mercy, csv_text(*rows))
    assert upload.status == RosterImport.Status.READY
    roster.start_roster_import(roster_import=upload, actor=None)
    # The unit goes away between the preview and the import: the first 500 rows are written
    # before line 590 is reached, and must be undone.
    ghost.delete()

    result = roster.apply_roster_import(import_id=upload.pk)

    assert result is not None
    assert result.status == RosterImport.Status.FAILED
    assert result.errors[0]["message"].startswith("The roster changed since the file was checked")
    assert result.errors[1] == {
        "line": 590,
        "column": "home_unit",
        "message": "“Ghost Ward” is not a unit of Mercy General.",
    }
    assert not SupportPerson.objects.exists()


def test_only_a_checked_file_without_errors_can_be_imported(mercy: GoLive, setting: None) -> None:
    upload = checked(mercy, csv_text("Ann,not-an-email,super_user,,,,,,,,,,,"))
    with pytest.raises(roster.ImportRefused, match="it has errors"):
        roster.start_roster_import(roster_import=upload, actor=None)
    assert roster.apply_roster_import(import_id=upload.pk) is None
    assert not SupportPerson.objects.exists()


def test_a_file_is_imported_once_however_often_it_is_started(mercy: GoLive, setting: None) -> None:
    upload = imported(mercy, csv_text(ANN))
    with pytest.raises(roster.ImportRefused, match="already imported"):
        roster.start_roster_import(roster_import=upload, actor=None)
    assert roster.apply_roster_import(import_id=upload.pk) is None
    assert roster.check_roster_import(import_id=upload.pk) is None
    assert SupportPerson.objects.count() == 1


def test_missing_imports_are_no_ops(db: None) -> None:
    assert roster.check_roster_import(import_id=987654) is None
    assert roster.apply_roster_import(import_id=987654) is None


def test_another_go_lives_people_and_places_are_not_matched(
    mercy: GoLive, setting: None, lakeside: GoLive
) -> None:
    SupportPerson.objects.create(
        go_live=lakeside, name="Ann Lake", role=SupportRole.SUPER_USER, email="ann@mercy.example"
    )
    Site.objects.create(go_live=lakeside, name="Lakeview", code="LV")

    upload = checked(mercy, csv_text(ANN, GOOD.replace(",,,,,,,,,,,", ",,,,Lakeview,,,,,,,")))

    assert [(e["line"], e["column"]) for e in upload.errors] == [(3, "home_site")]
    assert upload.created_count == 1  # Ann is new to Mercy, whatever Lakeside has


FIVE_THOUSAND = 5000
EXISTING = 1000


def test_five_thousand_rows_are_checked_and_imported_with_few_queries(
    mercy: GoLive, setting: None, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    SupportPerson.objects.bulk_create(
        SupportPerson(
            go_live=mercy,
            name=f"Person {n}",
            role=SupportRole.SUPER_USER,
            email=f"p{n}@mercy.example",
        )
        for n in range(EXISTING)
    )
    rows = [
        f"Person {n},P{n}@mercy.example,Super user,,,Orders; ADT,Mercy General,"
        f"Emergency Department,312-555-{n % 10000:04d},+1312555{n % 10000:04d},12,12,60,yes"
        for n in range(FIVE_THOUSAND)
    ]
    content, count = roster.read_upload(csv_text(*rows).encode())
    upload = roster.create_roster_import(
        go_live=mercy, uploaded_by=None, filename="big.csv", content=content, total_rows=count
    )

    # A progress update per 100 rows and a handful of loads: nothing per row.
    with django_assert_max_num_queries(FIVE_THOUSAND // roster.PROGRESS_EVERY + 10):
        upload = roster.check_roster_import(import_id=upload.pk)
    assert upload is not None
    assert upload.status == RosterImport.Status.READY, upload.errors[:3]
    assert (upload.created_count, upload.updated_count) == (FIVE_THOUSAND - EXISTING, EXISTING)
    assert upload.processed_rows == FIVE_THOUSAND

    roster.start_roster_import(roster_import=upload, actor=None)
    # A few bulk statements per batch of 500 rows.
    with django_assert_max_num_queries(40):
        upload = roster.apply_roster_import(import_id=upload.pk)
    assert upload is not None
    assert upload.status == RosterImport.Status.DONE
    assert (upload.created_count, upload.updated_count) == (FIVE_THOUSAND - EXISTING, EXISTING)
    assert SupportPerson.objects.filter(go_live=mercy).count() == FIVE_THOUSAND
    assert SupportPerson.skills.through.objects.count() == 2 * FIVE_THOUSAND
    assert SupportPerson.objects.get(email__iexact="p7@mercy.example").phone == "312-555-0007"
    assert roster.applied_rows(upload) == FIVE_THOUSAND


# --- Pages ----------------------------------------------------------------------------------------


def upload_file(text: str, name: str = "roster.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_the_upload_page_documents_every_column(client_for: SignIn, manager_maria: User) -> None:
    response = client_for(manager_maria).get(reverse("staffing:roster_import"))
    for column in roster.COLUMNS:
        assertContains(response, f"<code>{column}</code>")
    assertContains(response, HEADER)


def test_uploading_a_file_saves_it_for_checking_and_opens_its_page(
    client_for: SignIn, manager_maria: User, mercy: GoLive
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:roster_import"), {"file": upload_file(csv_text(ANN, BOB))}
    )

    upload = RosterImport.objects.get()
    assert response["Location"] == reverse("staffing:roster_import_detail", args=[upload.pk])
    assert (upload.go_live, upload.uploaded_by, upload.status) == (
        mercy,
        manager_maria,
        RosterImport.Status.CHECKING,
    )
    assert (upload.filename, upload.total_rows) == ("roster.csv", 2)


def test_a_file_without_the_required_columns_is_refused_on_the_form(
    client_for: SignIn, lead_lena: User
) -> None:
    response = client_for(lead_lena).post(
        reverse("staffing:roster_import"), {"file": upload_file("full name,mail\nAnn,a@x.org\n")}
    )
    assert response.status_code == 200
    assertContains(response, "it lacks name, email, role")
    assert not RosterImport.objects.exists()


def test_an_empty_upload_asks_for_a_file(client_for: SignIn, lead_lena: User) -> None:
    response = client_for(lead_lena).post(reverse("staffing:roster_import"), {})
    assertContains(response, "Choose the CSV file to upload.")


def test_the_page_polls_while_the_file_is_checked(
    client_for: SignIn, lead_lena: User, mercy: GoLive, setting: None
) -> None:
    content, count = roster.read_upload(csv_text(ANN, BOB).encode())
    upload = roster.create_roster_import(
        go_live=mercy, uploaded_by=lead_lena, filename="r.csv", content=content, total_rows=count
    )
    client = client_for(lead_lena)
    url = reverse("staffing:roster_import_detail", args=[upload.pk])

    page = client.get(url)
    assertContains(page, 'hx-trigger="every 1s"')
    assertContains(page, "Waiting for a worker to check the 2 rows")
    RosterImport.objects.filter(pk=upload.pk).update(processed_rows=1)
    partial = client.get(url, headers={"HX-Request": "true"})
    assertContains(partial, "Checking row 1 of 2")
    assertNotContains(partial, "<html")

    roster.check_roster_import(import_id=upload.pk)
    done = client.get(url, headers={"HX-Request": "true"})
    assertNotContains(done, "hx-trigger")
    assertContains(done, "Importing will add <strong>2</strong> people")


def test_the_preview_shows_the_first_fifty_rows_and_every_error(
    client_for: SignIn, lead_lena: User, mercy: GoLive, setting: None
) -> None:
    rows = [
        f"P{n},p{n}@mercy.example,super_user,,,,,,,,,,,{'maybe' if n > 55 else ''}"
        for n in range(60)
    ]
    upload = checked(mercy, csv_text(*rows))

    response = client_for(lead_lena).get(reverse("staffing:roster_import_detail", args=[upload.pk]))

    assertContains(response, "4 problems in 60 rows")
    assertContains(response, "The first 50 rows")
    assertContains(response, "p49@mercy.example")
    assertNotContains(response, "p50@mercy.example")
    for line in (58, 59, 60, 61):
        assertContains(response, f"<td>{line}</td>\n              <td><code>active</code></td>")
    assertNotContains(response, "Import 60 rows")


def test_import_is_confirmed_by_post_and_then_shows_its_progress(
    client_for: SignIn, manager_maria: User, mercy: GoLive, setting: None
) -> None:
    upload = checked(mercy, csv_text(ANN, BOB), manager_maria)
    client = client_for(manager_maria)
    url = reverse("staffing:roster_import_detail", args=[upload.pk])
    assertContains(client.get(url), "Import 2 rows")

    response = client.post(url)

    assert response["Location"] == url
    upload.refresh_from_db()
    assert upload.status == RosterImport.Status.IMPORTING
    page = client.get(url)
    assertContains(page, "Importing: 0 of 2 rows written")
    assertContains(page, 'hx-trigger="every 1s"')

    again = client.post(url, follow=True)
    assertContains(again, "can no longer be imported")

    roster.apply_roster_import(import_id=upload.pk)
    assertContains(client.get(url), "<strong>2</strong> people added")
    assert SupportPerson.objects.count() == 2


def test_a_failed_import_says_nothing_changed_and_why(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    upload = RosterImport.objects.create(
        go_live=mercy,
        filename="r.csv",
        content=csv_text(ANN),
        status=RosterImport.Status.FAILED,
        total_rows=1,
        errors=[{"line": None, "column": "", "message": "The database refused a row."}],
    )
    response = client_for(lead_lena).get(reverse("staffing:roster_import_detail", args=[upload.pk]))
    assertContains(response, "The import failed, so nothing on the roster changed.")
    assertContains(response, "The database refused a row.")


def test_user_text_in_a_file_is_escaped_on_the_preview(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    upload = checked(
        mercy, csv_text("<script>alert(1)</script>,x@mercy.example,<b>boss</b>,,,,,,,,,,,")
    )
    response = client_for(lead_lena).get(reverse("staffing:roster_import_detail", args=[upload.pk]))
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
    assertContains(response, "“&lt;b&gt;boss&lt;/b&gt;” is not a role")
    assertNotContains(response, "<script>alert(1)")


@pytest.mark.parametrize("who", ["agent_alex", "super_sam", "nurse_nina"])
def test_only_planners_import_the_roster(
    client_for: SignIn, request: pytest.FixtureRequest, who: str, mercy: GoLive
) -> None:
    user = request.getfixturevalue(who)
    upload = RosterImport.objects.create(go_live=mercy, filename="r.csv", content=csv_text(ANN))
    client = client_for(user)
    assert client.get(reverse("staffing:roster_import")).status_code == 403
    assert (
        client.post(
            reverse("staffing:roster_import"), {"file": upload_file(csv_text(ANN))}
        ).status_code
        == 403
    )
    detail = reverse("staffing:roster_import_detail", args=[upload.pk])
    assert client.get(detail).status_code == 403
    assert client.post(detail).status_code == 403
    assert RosterImport.objects.count() == 1


def test_an_import_of_another_go_live_does_not_exist_for_an_outsider(
    client_for: SignIn, outsider_oscar: User, mercy: GoLive
) -> None:
    upload = RosterImport.objects.create(go_live=mercy, filename="r.csv", content=csv_text(ANN))
    client = client_for(outsider_oscar)
    assert client.get(reverse("staffing:roster_import_detail", args=[upload.pk])).status_code == 404
    assert (
        client.post(reverse("staffing:roster_import_detail", args=[upload.pk])).status_code == 404
    )


def test_the_upload_page_lists_recent_uploads_with_constant_queries(
    client_for: SignIn,
    lead_lena: User,
    manager_maria: User,
    mercy: GoLive,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for n in range(12):
        RosterImport.objects.create(
            go_live=mercy,
            uploaded_by=lead_lena if n % 2 else manager_maria,
            filename=f"file-{n}.csv",
            content="",
            created_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n),
        )
    client = client_for(lead_lena)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("staffing:roster_import"))
    assertContains(response, "file-11.csv")
    assertNotContains(response, "file-1.csv")


# --- A task queue that cannot be reached ----------------------------------------------------------


@pytest.mark.usefixtures("broker_down")
def test_with_the_task_queue_down_an_import_is_refused_and_stays_ready(
    mercy: GoLive, setting: None
) -> None:
    upload = checked(mercy, csv_text(ANN))
    with pytest.raises(roster.ImportRefused, match="task queue could not be reached"):
        roster.start_roster_import(roster_import=upload, actor=None)
    upload.refresh_from_db()
    assert upload.status == RosterImport.Status.READY
    assert not SupportPerson.objects.exists()


def stalled_upload(go_live: GoLive) -> RosterImport:
    upload = RosterImport.objects.create(
        go_live=go_live, filename="roster.csv", content=csv_text(ANN), total_rows=1
    )
    RosterImport.objects.filter(pk=upload.pk).update(
        created_at=upload.created_at - dt.timedelta(minutes=2)
    )
    upload.refresh_from_db()
    return upload


def test_a_check_nobody_started_for_a_minute_is_offered_to_a_worker_again(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    fresh = RosterImport.objects.create(
        go_live=mercy, filename="new.csv", content=csv_text(ANN), total_rows=1
    )
    upload = stalled_upload(mercy)
    assert not roster.is_stalled(fresh, now=fresh.created_at + dt.timedelta(seconds=30))
    assert roster.is_stalled(upload, now=upload.created_at + dt.timedelta(minutes=2))

    client = client_for(lead_lena)
    page = client.get(reverse("staffing:roster_import_detail", args=[upload.pk]))
    assertContains(page, "Send it to a worker again")
    response = client.post(
        reverse("staffing:roster_import_detail", args=[upload.pk]),
        {"action": "resend"},
        follow=True,
    )
    assertContains(response, "on its way to a worker again")


@pytest.mark.usefixtures("broker_down")
def test_resending_while_the_queue_is_still_down_says_so(mercy: GoLive) -> None:
    upload = stalled_upload(mercy)
    assert roster.resend_roster_import(roster_import=upload) is False
    upload.status = RosterImport.Status.READY
    assert roster.resend_roster_import(roster_import=upload) is False
