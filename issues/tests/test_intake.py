"""Logging an issue from the floor: the form, its refusals, retry safety, the patient-identifier
warning, photos, and the confirmation page."""

import datetime as dt
import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image, PngImagePlugin
from pytest_django import DjangoAssertNumQueries, Settings

from golive.models import Application, Contact, EscalationTier, GoLive, Unit
from issues import intake
from issues.access import Floor
from issues.forms_intake import _INTAKE_FIELDS, IntakeForm
from issues.intake import PhotoRefused, check_photo, find_phi, submit_intake
from issues.models import (
    Category,
    Impact,
    Issue,
    IssueCounter,
    IssuePhoto,
    UnitTablet,
    Urgency,
)
from issues.services import IssueRefused, create_issue
from issues.tests.test_tablets import enroll, enrolled_device, tablet_client
from staffing.models import Shift, SupportPerson, SupportRole
from staffing.services import assign_person

Post = Callable[..., dict[str, object]]


@pytest.fixture(autouse=True)
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def tablet(four_west: Unit, manager_maria: User) -> tuple[UnitTablet, Client]:
    return enrolled_device(four_west, manager_maria)


@pytest.fixture
def device(tablet: tuple[UnitTablet, Client]) -> Client:
    return tablet[1]


@pytest.fixture
def form(printing: Category) -> Post:
    """What a nurse sends from the tablet, with any field changed."""

    def data(**fields: object) -> dict[str, object]:
        return {
            "client_key": str(uuid.uuid4()),
            "category": printing.pk,
            "impact": Impact.ONE_USER,
            "urgency": Urgency.WORKAROUND,
            "title": "Label printer prints blank labels",
            "description": "Since the driver update this morning.",
            "location_detail": "Med room, printer LBL-4W-2",
            "reporter_name": "Kim Rivera",
            "reporter_callback": "x4411",
        } | fields

    return data


def picture(kind: str = "JPEG", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind, **save)
    return out.getvalue()


def upload(content: bytes, name: str = "IMG_0042.jpg", content_type: str = "image/jpeg") -> object:
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg_with_location() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 52.0, 3.0)
    return picture("JPEG", exif=exif)


# --- The page -------------------------------------------------------------------------------------


def test_the_tablet_form_has_its_unit_fixed_and_the_active_categories_as_buttons_in_order(
    device: Client, mercy: GoLive, printing: Category
) -> None:
    Category.objects.filter(go_live=mercy, name="Data conversion").update(is_active=False)
    Category.objects.filter(go_live=mercy, name="Interfaces").update(position=0)

    response = device.get(reverse("issues:new"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "4 West Med/Surg" in page and 'name="unit"' not in page
    names = re.findall(
        r'<label class="btn btn-outline-primary" for="id_category_\d+">([^<]+)</label>', page
    )
    assert names[0] == "Interfaces" and names[1] == "Login / access"
    assert "Data conversion" not in names and len(names) == 13
    assert 'type="radio" name="category"' in page and 'class="btn-check"' in page
    for label in ("One person", "The whole unit or site", "Patient care is blocked"):
        assert label in page
    key = re.search(r'name="client_key" value="([^"]+)"', page)
    assert key is not None and uuid.UUID(key.group(1))
    assert 'accept="image/*"' in page and 'capture="environment"' in page
    assert "No patient data in the photo" in page
    assert 'name="reporter_name"' in page and 'name="reporter_callback"' in page
    assert 'hx-trigger="input changed delay:400ms"' in page
    assert "Makes it P1 and alerts the leadership at once." in page


def test_a_nurse_with_one_home_unit_gets_it_preselected_and_no_name_field(
    client_for: Callable[[User], Client], nurse_nina: User, printing: Category, four_west: Unit
) -> None:
    page = client_for(nurse_nina).get(reverse("issues:new")).content.decode()
    assert f'<option value="{four_west.pk}" selected>' in page
    assert 'name="reporter_name"' not in page
    assert "Callback number (optional)" in page


def test_each_form_opening_gets_its_own_key(device: Client, printing: Category) -> None:
    keys = {
        re.search(
            r'name="client_key" value="([^"]+)"', device.get(reverse("issues:new")).content.decode()
        ).group(1)  # type: ignore[union-attr]
        for _ in range(2)
    }
    assert len(keys) == 2


# --- Logging --------------------------------------------------------------------------------------


def test_a_tablet_logs_an_issue_for_its_unit_with_the_derived_priority_and_the_reporter(
    tablet: tuple[UnitTablet, Client], form: Post, orders_app: Application, four_west: Unit
) -> None:
    unit_tablet, device = tablet

    response = device.post(reverse("issues:new"), form(application=orders_app.pk))

    issue = Issue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("issues:confirmation", args=[issue.pk])
    assert (issue.unit, issue.site, issue.application) == (four_west, four_west.site, orders_app)
    assert issue.priority == "P3"
    assert (issue.reporter_name, issue.reporter_callback) == ("Kim Rivera", "x4411")
    assert issue.reporter_user is None and issue.reporter_tablet == unit_tablet
    assert issue.location_detail == "Med room, printer LBL-4W-2"
    assert issue.status == Issue.Status.NEW


def test_a_patient_safety_report_is_p1(device: Client, form: Post) -> None:
    device.post(reverse("issues:new"), form(patient_safety="on", urgency=Urgency.QUESTION))
    issue = Issue.objects.get()
    assert issue.patient_safety and issue.priority == "P1"


def test_a_member_logs_an_issue_as_themself(
    client_for: Callable[[User], Client], nurse_nina: User, form: Post, four_west: Unit
) -> None:
    data = form(unit=four_west.pk, reporter_name="Someone Else", reporter_callback="")
    response = client_for(nurse_nina).post(reverse("issues:new"), data)

    assert response.status_code == 302
    issue = Issue.objects.get()
    assert issue.reporter_user == nurse_nina
    assert issue.reporter_name == "Nina Nurse"
    assert issue.reporter_tablet is None


def test_a_photo_is_stored_under_a_random_name_re_encoded_without_its_metadata(
    device: Client, form: Post, media: Path
) -> None:
    original = jpeg_with_location()
    with Image.open(io.BytesIO(original)) as sent:
        assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)

    device.post(reverse("issues:new"), form(photo=upload(original)))

    photo = IssuePhoto.objects.get()
    assert photo.issue == Issue.objects.get()
    assert photo.content_type == "image/jpeg"
    assert "IMG_0042" not in photo.file.name and photo.file.name.endswith(".jpg")
    stored = Path(photo.file.path).read_bytes()
    assert stored != original and photo.size == len(stored)
    with Image.open(io.BytesIO(stored)) as kept:
        assert kept.format == "JPEG"
        assert not kept.getexif()
        assert "exif" not in kept.info
        # Turned upright by its orientation tag before the tag was dropped.
        assert kept.size == (48, 64) == (photo.width, photo.height)


def test_a_png_keeps_its_format_and_loses_its_text_chunks(device: Client, form: Post) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "MRN 1234567")
    device.post(reverse("issues:new"), form(photo=upload(picture("PNG", pnginfo=info), "s.png")))
    photo = IssuePhoto.objects.get()
    with photo.file.open("rb") as stored, Image.open(stored) as kept:
        assert kept.format == "PNG" and not kept.text
    assert photo.content_type == "image/png"


def test_the_photo_is_served_only_to_who_may_see_the_issue(
    tablet: tuple[UnitTablet, Client],
    form: Post,
    client_for: Callable[[User], Client],
    agent_alex: User,
    outsider_oscar: User,
    ed: Unit,
    manager_maria: User,
) -> None:
    _, device = tablet
    device.post(reverse("issues:new"), form(photo=upload(picture("WEBP"), "x.webp")))
    url = reverse("issues:photo", args=[IssuePhoto.objects.get().pk])

    served = device.get(url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("inline")
    assert b"".join(served.streaming_content).startswith(b"RIFF")  # type: ignore[attr-defined]
    assert client_for(agent_alex).get(url).status_code == 200
    _, other_secret = enroll(ed, manager_maria)
    assert tablet_client(other_secret).get(url).status_code == 404
    assert client_for(outsider_oscar).get(url).status_code == 404
    assert Client().get(url).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "Say in a few words what is wrong."),
        ({"title": "x" * 121}, "Keep the title to 120 characters (it has 121)"),
        ({"description": "x" * 4001}, "Keep the details to 4,000 characters"),
        ({"location_detail": "x" * 121}, "Keep the room or device to 120 characters."),
        ({"category": ""}, "Tap the kind of problem."),
        ({"category": "999999"}, "Tap one of the kinds of problem shown."),
        ({"category": "printers"}, "Tap one of the kinds of problem shown."),
        ({"category": "-3"}, "Tap one of the kinds of problem shown."),
        ({"category": "9" * 20}, "Tap one of the kinds of problem shown."),
        ({"impact": "everyone"}, "Tap one of the answers shown for who is affected."),
        ({"urgency": ""}, "Tap how bad it is."),
        ({"application": "999999"}, "Choose an application from the list"),
        ({"reporter_name": ""}, "Give your name so the help desk knows whom to call back."),
        ({"reporter_callback": ""}, "Give a number where the help desk can reach you"),
        ({"reporter_callback": "call me maybe"}, "Enter a phone number using digits"),
        ({"client_key": ""}, "This form was incomplete, so nothing was sent."),
    ],
)
def test_bad_input_is_refused_with_a_specific_message_and_nothing_saved(
    device: Client, form: Post, fields: dict[str, object], message: str
) -> None:
    response = device.post(reverse("issues:new"), form(**fields))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Issue.objects.exists()


def test_a_refused_form_still_offers_every_choice_with_the_reporters_kept(
    device: Client, form: Post, printing: Category, orders_app: Application, mercy: GoLive
) -> None:
    response = device.post(
        reverse("issues:new"), form(title="", application=orders_app.pk, impact="")
    )
    assert response.status_code == 400
    page = response.content.decode()
    # Every active category of the go-live is a button again, the one tapped still chosen.
    for category in Category.objects.filter(go_live=mercy, is_active=True):
        assert f'value="{category.pk}"' in page
    assert re.search(rf'value="{printing.pk}"[^>]*checked', page)
    assert re.search(rf'<option value="{orders_app.pk}" selected>Orders</option>', page)


def test_only_the_fields_in_error_are_marked_and_the_next_form_is_clean(
    device: Client, form: Post
) -> None:
    """The intake's fields are shared by every form: marking one refused form's fields must not
    mark the next visitor's."""
    refused = device.post(
        reverse("issues:new"), form(location_detail="x" * 121, reporter_callback="")
    ).content.decode()

    def input_class(page: str, name: str) -> str:
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert tag is not None, name
        found = re.search(r'class="([^"]*)"', tag.group(0))
        return found.group(1) if found else ""

    assert "is-invalid" in input_class(refused, "location_detail")
    assert "is-invalid" in input_class(refused, "reporter_callback")
    assert "form-control" in input_class(refused, "location_detail")
    assert "is-invalid" not in input_class(refused, "reporter_name")
    fresh = device.get(reverse("issues:new")).content.decode()
    for name in ("location_detail", "reporter_callback", "reporter_name"):
        assert input_class(fresh, name) == "form-control form-control-lg"


def test_each_form_shown_lists_its_own_go_lives_rows_and_a_sent_one_copies_no_field(
    form: Post, printing: Category, mercy: GoLive, lakeside: GoLive
) -> None:
    """The choice fields are shared until a form is shown: each shown form lists its own
    go-live's categories and applications, and a valid submission leaves the shared ones as
    they were."""
    Category.objects.create(go_live=lakeside, name="Lakeside scanners")
    Application.objects.create(go_live=lakeside, name="Lakeside PACS")
    Application.objects.create(go_live=mercy, name="Mercy eMAR")

    def shown(go_live: GoLive) -> str:
        floor = Floor(go_live=go_live)
        page = IntakeForm(floor=floor, units=Unit.objects.filter(site__go_live=go_live))
        return str(page["category"]) + str(page["application"])

    sent = IntakeForm(QueryDict(urlencode(form())), floor=Floor(go_live=mercy), units=None)
    assert sent.is_valid(), sent.errors
    for name in ("category", "application"):
        assert sent.fields[name] is _INTAKE_FIELDS[False][name], name
        assert sent.fields[name].rows is None  # type: ignore[attr-defined]
    for _ in range(2):
        at_mercy, at_lakeside = shown(mercy), shown(lakeside)
        assert printing.name in at_mercy and "Mercy eMAR" in at_mercy
        assert "Lakeside" not in at_mercy
        assert "Lakeside scanners" in at_lakeside and "Lakeside PACS" in at_lakeside
        assert printing.name not in at_lakeside and "Mercy eMAR" not in at_lakeside
    for fields in _INTAKE_FIELDS.values():
        assert fields["category"].rows is None  # type: ignore[attr-defined]
        assert fields["application"].rows is None  # type: ignore[attr-defined]


def test_a_category_of_another_go_live_or_retired_is_unknown_here(
    device: Client, form: Post, lakeside: GoLive, mercy: GoLive
) -> None:
    other = Category.objects.create(go_live=lakeside, name="Printing / labels")
    retired = Category.objects.create(go_live=mercy, name="Retired", is_active=False)
    for category in (other, retired):
        response = device.post(reverse("issues:new"), form(category=category.pk))
        assert response.status_code == 400
        assert "Tap one of the kinds of problem shown." in response.content.decode()
    assert not Issue.objects.exists()


# --- A tablet's submission checks the tablet itself ------------------------------------------------


def test_a_tablet_revoked_since_its_form_was_opened_logs_nothing_and_is_told_why(
    tablet: tuple[UnitTablet, Client], form: Post, mercy: GoLive
) -> None:
    unit_tablet, device = tablet
    assert device.get(reverse("issues:new")).status_code == 200
    UnitTablet.objects.filter(pk=unit_tablet.pk).update(revoked_at=timezone.now())

    response = device.post(reverse("issues:new"), form())

    assert response.status_code == 403
    assert "This tablet is no longer enrolled" in response.content.decode()
    assert not Issue.objects.exists()
    # No number was taken either: the next issue logged is still the first.
    assert not IssueCounter.objects.filter(go_live=mercy).exists()


def test_a_tablet_whose_unit_was_closed_logs_nothing(
    tablet: tuple[UnitTablet, Client], form: Post, four_west: Unit
) -> None:
    _, device = tablet
    Unit.objects.filter(pk=four_west.pk).update(is_active=False)

    response = device.post(reverse("issues:new"), form())

    assert response.status_code == 403
    assert not Issue.objects.exists()


def test_an_unknown_tablet_secret_logs_nothing(form: Post) -> None:
    response = tablet_client("not-a-secret-of-any-tablet").post(reverse("issues:new"), form())

    assert response.status_code == 403
    assert "This tablet is no longer enrolled" in response.content.decode()
    assert not Issue.objects.exists()


def test_a_tablets_submission_writes_its_last_use_at_most_once_a_minute(
    tablet: tuple[UnitTablet, Client], form: Post
) -> None:
    unit_tablet, device = tablet
    long_ago = timezone.now() - dt.timedelta(hours=3)
    UnitTablet.objects.filter(pk=unit_tablet.pk).update(last_used_at=long_ago)

    assert device.post(reverse("issues:new"), form()).status_code == 302
    unit_tablet.refresh_from_db()
    assert unit_tablet.last_used_at is not None
    written = unit_tablet.last_used_at
    assert written > long_ago

    assert device.post(reverse("issues:new"), form()).status_code == 302
    unit_tablet.refresh_from_db()
    assert unit_tablet.last_used_at == written


def test_a_tablets_refused_form_is_shown_as_the_tablets_page(
    tablet: tuple[UnitTablet, Client], form: Post, mercy: GoLive
) -> None:
    """The tablet is looked up when the form comes back: the page has the go-live's header and
    the tablet's navigation, as when it was opened."""
    _, device = tablet
    opened = device.get(reverse("issues:new")).content.decode()
    assert mercy.name in opened

    response = device.post(reverse("issues:new"), form(title=""))

    assert response.status_code == 400
    page = response.content.decode()
    assert mercy.name in page
    assert reverse("issues:tablet_home") in page
    assert "Say in a few words what is wrong." in page


def test_the_service_needs_a_place_and_says_when_the_tablet_is_gone(
    tablet: tuple[UnitTablet, Client], printing: Category
) -> None:
    unit_tablet, _ = tablet
    with pytest.raises(TypeError):
        create_issue(category_id=printing.pk, title="x", impact="one_user", urgency="workaround")
    UnitTablet.objects.filter(pk=unit_tablet.pk).update(revoked_at=timezone.now())
    with pytest.raises(IssueRefused, match="This tablet is no longer enrolled"):
        create_issue(
            tablet_secret_hash=unit_tablet.secret_hash,
            category_id=printing.pk,
            title="Printer",
            impact=Impact.ONE_USER,
            urgency=Urgency.WORKAROUND,
        )
    assert not Issue.objects.exists()


def test_a_member_cannot_log_for_a_unit_that_is_not_theirs(
    client_for: Callable[[User], Client], nurse_nina: User, form: Post, ed: Unit
) -> None:
    response = client_for(nurse_nina).post(reverse("issues:new"), form(unit=ed.pk))
    assert response.status_code == 400
    assert (
        "That unit is not one of yours, or it was closed: choose one from the list."
        in response.content.decode()
    )
    assert not Issue.objects.exists()


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (upload(b"%PDF-1.7 not a picture at all"), "This file is not a photo"),
        # Script dressed as a picture: an SVG (as itself and behind a .jpg name) and HTML.
        (
            upload(
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                "a.svg",
                "image/svg+xml",
            ),
            "This file is not a photo",
        ),
        (upload(b'<svg onload="alert(1)"/>'), "This file is not a photo"),
        (upload(b"<html><script>alert(1)</script></html>"), "This file is not a photo"),
        (upload(picture("GIF"), "a.gif", "image/gif"), "This file is not a photo"),
        (upload(b""), "This file is not a photo"),
        (upload(picture("JPEG")[:200]), "could not be read"),
    ],
)
def test_a_photo_that_is_not_a_jpeg_png_or_webp_picture_saves_nothing(
    device: Client, form: Post, photo: object, message: str
) -> None:
    response = device.post(reverse("issues:new"), form(photo=photo))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page or "The submitted file is empty." in page
    assert not Issue.objects.exists() and not IssuePhoto.objects.exists()


def test_an_oversized_photo_saves_nothing(device: Client, form: Post, settings: Settings) -> None:
    settings.ISSUE_PHOTO_MAX_BYTES = 1024 * 1024
    big = upload(b"\xff\xd8" + b"0" * (1024 * 1024 + 1))
    response = device.post(reverse("issues:new"), form(photo=big))
    assert response.status_code == 400
    assert "The photo is 1.0 MB; the limit is 1.0 MB." in response.content.decode()
    assert not Issue.objects.exists()


def test_a_decompression_bomb_is_refused_before_it_is_decoded(device: Client, form: Post) -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    response = device.post(reverse("issues:new"), form(photo=upload(out.getvalue(), "b.png")))
    assert response.status_code == 400
    assert "too many pixels" in response.content.decode()
    assert not Issue.objects.exists()


def test_the_pixel_limit_comes_from_the_settings(settings: Settings) -> None:
    settings.ISSUE_PHOTO_MAX_PIXELS = 1000
    with pytest.raises(PhotoRefused, match="too many pixels"):
        check_photo(upload(picture("PNG", size=(40, 30))))  # type: ignore[arg-type]


def test_script_in_a_text_field_is_shown_as_text(device: Client, form: Post) -> None:
    device.post(
        reverse("issues:new"), form(title="<script>alert(1)</script>", description="<b>x</b>")
    )
    issue = Issue.objects.get()
    for name in ("issues:confirmation", "issues:floor_issue"):
        page = device.get(reverse(name, args=[issue.pk])).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_refusal_from_the_service_is_shown_and_saves_nothing(
    device: Client, form: Post, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**fields: object) -> tuple[Issue, bool]:
        raise IssueRefused("Choose a unit and a category of this go-live.")

    monkeypatch.setattr(intake, "create_issue", refuse)
    response = device.post(reverse("issues:new"), form(photo=upload(picture())))
    assert response.status_code == 400
    assert "Choose a unit and a category of this go-live." in response.content.decode()
    assert not Issue.objects.exists() and not IssuePhoto.objects.exists()


def test_when_the_photo_cannot_be_stored_the_issue_is_not_saved_either(
    tablet: tuple[UnitTablet, Client],
    printing: Category,
    four_west: Unit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**fields: object) -> IssuePhoto:
        raise OSError("disk full")

    monkeypatch.setattr(intake, "store_photo", broken)
    with pytest.raises(OSError, match="disk full"):
        submit_intake(
            tablet_secret_hash=tablet[0].secret_hash,
            category_id=printing.pk,
            title="Scanner will not pair",
            impact=Impact.ONE_USER,
            urgency=Urgency.WORKAROUND,
            description="",
            location_detail="",
            application_id=None,
            patient_safety=False,
            workaround_in_use=False,
            reporter_user=None,
            reporter_name="Kim",
            reporter_callback="x4411",
            client_key=str(uuid.uuid4()),
            photo=check_photo(upload(picture())),  # type: ignore[arg-type]
        )
    assert not Issue.objects.exists()


# --- Retry safety ---------------------------------------------------------------------------------


def test_a_double_tap_gives_one_issue_and_both_answers_point_to_it(
    device: Client, form: Post
) -> None:
    data = form()
    photo = picture()
    first = device.post(reverse("issues:new"), data | {"photo": upload(photo)})
    second = device.post(reverse("issues:new"), data | {"photo": upload(photo)})

    issue = Issue.objects.get()
    assert first.status_code == second.status_code == 302
    assert (
        first["Location"] == second["Location"] == reverse("issues:confirmation", args=[issue.pk])
    )
    assert IssuePhoto.objects.count() == 1


def test_a_form_sent_back_with_an_error_keeps_its_key(device: Client, form: Post) -> None:
    data = form(title="")
    page = device.post(reverse("issues:new"), data).content.decode()
    assert f'name="client_key" value="{data["client_key"]}"' in page


# --- Patient identifiers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Wrong chart opened for MRN 1234567", ["a medical record number"]),
        ("mrn: 00123456 shows no allergies", ["a medical record number"]),
        ("Medical record number 558812 duplicated", ["a medical record number"]),
        ("Patient 8812345 cannot be found", ["a medical record number"]),
        ("Registration typed SSN 123-45-6789 twice", ["a social security number"]),
        ("DOB 3/4/1950 shows as 1905", ["a date of birth"]),
        ("dob: 1950-03-04 wrong in banner", ["a date of birth"]),
        ("born 03.04.1950, banner shows 1905", ["a date of birth"]),
        ("Date of birth is 12/31/1948 on the wristband", ["a date of birth"]),
        ("Patient born March 4, 1950 flagged", ["a date of birth"]),
        ("Banner shows 4 Mar 1950 (DOB)", ["a date of birth"]),
        ("Pt 1234567 DOB 3/4/1950", ["a medical record number", "a date of birth"]),
        ("GL-1042 is back again", []),
        ("Printer in room 4W-12 jams", []),
        ("Call me at x4411", []),
        ("Call 312-555-0100 for the pharmacy", []),
        ("Since the 3/4/2026 upgrade the queue is slow", []),
        ("Order set version 2.3.11 wrong heparin dose", []),
        ("Badge 123456 does not tap in", []),
        ("Born-again printer after a reboot on 11/3", []),
        ("", []),
    ],
)
def test_patient_identifiers_are_recognised_without_false_alarms(
    text: str, kinds: list[str]
) -> None:
    assert find_phi(text) == kinds


def test_text_with_a_patient_identifier_comes_back_with_a_warning_and_is_sent_when_confirmed(
    device: Client, form: Post
) -> None:
    data = form(description="Wrong allergies on MRN 1234567")

    warned = device.post(reverse("issues:new"), data)

    assert warned.status_code == 200
    page = warned.content.decode()
    assert "Is there patient information in your text?" in page
    assert "a medical record number" in page
    assert 'id="phi-warning" class="alert alert-warning" role="alert" hidden' not in page
    assert 'name="phi_confirmed" id="id_phi_confirmed" value="1"' in page
    assert not Issue.objects.exists()

    sent = device.post(reverse("issues:new"), data | {"phi_confirmed": "1"})

    assert sent.status_code == 302
    assert Issue.objects.get().description == "Wrong allergies on MRN 1234567"


def test_the_page_hands_the_same_patterns_to_its_script(device: Client, printing: Category) -> None:
    page = device.get(reverse("issues:new")).content.decode()
    assert 'id="phi-patterns"' in page
    for _, source in intake.PHI_PATTERNS:
        assert source.replace("\\", "\\\\") in page


# --- Queries --------------------------------------------------------------------------------------


TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The queries proper, without the transaction's BEGIN/COMMIT and savepoints."""
    sqls = [query["sql"] for query in captured.captured_queries]
    return [sql for sql in sqls if not TRANSACTION_CONTROL.match(sql)]


@pytest.mark.django_db(transaction=True)
def test_the_tablet_form_costs_a_handful_of_queries_to_open_and_to_send(
    device: Client,
    form: Post,
    orders_app: Application,
    django_assert_num_queries: DjangoAssertNumQueries,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    # Measured outside a test transaction, as in production. Last use is written once a minute.
    device.get(reverse("issues:new"))
    with django_assert_max_num_queries(3):
        assert device.get(reverse("issues:new")).status_code == 200
    # One statement checks the tablet, the category and the application, numbers the issue and
    # writes it with its event: one round trip and no BEGIN/COMMIT. (A resent form is caught by
    # the unique client key.)
    with django_assert_num_queries(1):
        assert (
            device.post(reverse("issues:new"), form(application=orders_app.pk)).status_code == 302
        )
    # A photo adds its row, and the transaction that keeps it with the issue.
    with django_assert_max_num_queries(6) as with_photo:
        response = device.post(reverse("issues:new"), form(photo=upload(picture())))
        assert response.status_code == 302
    assert len(statements(with_photo)) == 2


# --- The confirmation -----------------------------------------------------------------------------


def test_the_confirmation_says_what_happens_next_and_whom_to_call_now(
    device: Client,
    form: Post,
    mercy: GoLive,
    ed: Unit,
    tiers: dict[str, EscalationTier],
    help_desk_contact: Contact,
    four_west: Unit,
    lead_lena: User,
) -> None:
    now = timezone.now()
    Contact.objects.create(
        go_live=mercy, tier=tiers["leadership"], name="Dr Chief CMIO", phone="312-555-0999"
    )
    later = timezone.localtime(now, mercy.tzinfo) + dt.timedelta(hours=3)
    Contact.objects.create(
        go_live=mercy,
        tier=tiers["command"],
        name="Night analyst",
        phone="312-555-0777",
        hours=Contact.Hours.DAILY,
        window_start=later.time(),
        window_end=(later + dt.timedelta(hours=1)).time(),
    )
    ed_only = Contact.objects.create(
        go_live=mercy,
        tier=tiers["floor"],
        name="ED super user desk",
        phone="312-555-0555",
        all_units=False,
    )
    ed_only.units.add(ed)
    person = SupportPerson.objects.create(
        go_live=mercy,
        name="Sam Super",
        role=SupportRole.SUPER_USER,
        phone="312-555-0190",
        email="sam@mercy.example",
    )
    shift = Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role=SupportRole.SUPER_USER,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=7),
    )
    assign_person(shift=shift, person=person, actor=lead_lena)
    device.post(reverse("issues:new"), form(urgency=Urgency.BLOCKED))
    issue = Issue.objects.get()

    response = device.get(reverse("issues:confirmation", args=[issue.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="issue-number">{issue.code}<' in page
    assert "The help desk sees it now, as <strong>P2 · high</strong>." in page
    assert "call you back at x4411" in page
    assert reverse("issues:tablet_home") in page
    assert 'href="tel:312-555-0100"' in page  # the command center
    assert 'href="tel:312-555-0111"' in page  # the help desk, 24/7 on every unit
    assert "Sam Super" in page and 'href="tel:312-555-0190"' in page
    assert "Dr Chief CMIO" not in page  # the leadership line is the command center's to call
    assert "Night analyst" not in page  # not on now
    assert "ED super user desk" not in page  # not this unit
    assert f'href="{reverse("issues:new")}"' in page and "Log another issue" in page


def test_a_member_is_pointed_to_my_issues(
    client_for: Callable[[User], Client], nurse_nina: User, form: Post, four_west: Unit
) -> None:
    client = client_for(nurse_nina)
    client.post(reverse("issues:new"), form(unit=four_west.pk))
    page = client.get(reverse("issues:confirmation", args=[Issue.objects.get().pk])).content
    assert reverse("issues:mine").encode() in page


def test_the_confirmation_is_for_those_who_may_see_the_issue(
    device: Client,
    form: Post,
    client_for: Callable[[User], Client],
    outsider_oscar: User,
    ed: Unit,
    manager_maria: User,
) -> None:
    device.post(reverse("issues:new"), form())
    url = reverse("issues:confirmation", args=[Issue.objects.get().pk])
    _, other_secret = enroll(ed, manager_maria)
    assert tablet_client(other_secret).get(url).status_code == 404
    assert client_for(outsider_oscar).get(url).status_code == 404


# --- An issue queued on the device (static/js/outbox.js) is answered in JSON ---------------------

QUEUED = {"HTTP_X_GOLIVE_QUEUE": "1"}


def test_a_queued_issue_is_answered_with_its_number_and_a_resend_with_the_same_one(
    device: Client, form: Post
) -> None:
    data = form()
    first = device.post(reverse("issues:new"), data, **QUEUED)
    again = device.post(reverse("issues:new"), data, **QUEUED)

    issue = Issue.objects.get()
    assert first.status_code == again.status_code == 201
    assert (
        first.json()
        == again.json()
        == {
            "message": "",
            "code": issue.code,
            "confirmation": reverse("issues:confirmation", args=[issue.pk]),
            "url": reverse("issues:floor_issue", args=[issue.pk]),
        }
    )


def test_a_queued_issue_with_a_photo_is_logged_with_it_once(device: Client, form: Post) -> None:
    data = form()
    for _ in range(2):
        photo = SimpleUploadedFile("screen.jpg", picture(), content_type="image/jpeg")
        assert (
            device.post(reverse("issues:new"), {**data, "photo": photo}, **QUEUED).status_code
            == 201
        )
    assert IssuePhoto.objects.get().issue == Issue.objects.get()


def test_a_queued_issue_the_form_refuses_comes_back_with_each_reason(
    device: Client, form: Post
) -> None:
    response = device.post(
        reverse("issues:new"), form(title="", reporter_callback="call me"), **QUEUED
    )

    assert response.status_code == 400
    answer = response.json()
    assert answer["form"] is True  # the form, posted as a page, shows the same
    assert set(answer["errors"]) == {"title", "reporter_callback"}
    assert answer["errors"]["title"] == ["Say in a few words what is wrong."]
    assert answer["message"].startswith("Not logged: Say in a few words what is wrong.")
    assert not Issue.objects.exists()


def test_a_queued_issue_of_a_revoked_tablet_is_refused_and_the_device_told_to_forget_its_copies(
    tablet: tuple[UnitTablet, Client], form: Post
) -> None:
    unit_tablet, device = tablet
    UnitTablet.objects.filter(pk=unit_tablet.pk).update(revoked_at=timezone.now())

    response = device.post(reverse("issues:new"), form(), **QUEUED)

    assert response.status_code == 403
    assert response.json() == {
        "message": "This tablet is no longer enrolled, so this issue was not logged. Call the "
        "command center, or ask your unit manager to enroll the tablet again.",
        "revoked": True,
    }
    assert response["X-Golive-Offline"] == "forget"
    assert response["Clear-Site-Data"] == '"cache"'
    assert not Issue.objects.exists()


def test_a_queued_issue_whose_unit_was_closed_names_the_unit(
    device: Client, form: Post, four_west: Unit
) -> None:
    Unit.objects.filter(pk=four_west.pk).update(is_active=False)

    response = device.post(reverse("issues:new"), form(), **QUEUED)

    assert response.status_code == 403
    assert response.json()["message"] == (
        "4 West Med/Surg was closed in golive, so this issue was not logged. "
        "Call the command center to report it."
    )
    page = device.get(reverse("issues:new"))
    assert page.status_code == 403
    assert "Its unit, 4 West Med/Surg, was closed in golive" in page.content.decode()
    # The page gives the device the queue's words, for the issues still waiting on it.
    assert (
        'data-gl-revoked="4 West Med/Surg was closed in golive, so this issue was not logged.'
        in (page.content.decode())
    )
    assert page["X-Golive-Offline"] == "forget"


def test_a_member_signed_out_meanwhile_is_asked_to_sign_in_and_nothing_is_logged(
    client: Client, form: Post
) -> None:
    response = client.post(reverse("issues:new"), form(), **QUEUED)

    assert response.status_code == 401
    assert response.json() == {"message": "Sign in again to send it.", "sign_in": reverse("login")}
    assert not Issue.objects.exists()


def test_a_queued_issue_of_a_member_whose_unit_is_no_longer_theirs_is_refused(
    client_for: Callable[[User], Client], nurse_nina: User, form: Post, four_west: Unit, ed: Unit
) -> None:
    response = client_for(nurse_nina).post(
        reverse("issues:new"), form(unit=ed.pk, reporter_name=""), **QUEUED
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "unit": ["That unit is not one of yours, or it was closed: choose one from the list."]
    }
    assert not Issue.objects.exists()
