"""A closed go-live's records archive: what the zip holds, that go-live.json describes each file
truly, who may download it, and that it is refused before the go-live is closed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from golive.models import Contact, GoLive, Unit
from issues.models import Issue, KnownIssue
from issues.services import add_comment
from issues.tests.conftest import LogIssue
from staffing.models import Shift, SupportPerson, SupportRole

SignIn = Callable[[User], Client]


@pytest.fixture
def closed(mercy: GoLive) -> GoLive:
    GoLive.objects.filter(pk=mercy.pk).update(phase=GoLive.Phase.CLOSED)
    mercy.refresh_from_db()
    return mercy


def read(data: bytes) -> tuple[dict[str, object], dict[str, list[list[str]]], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        raw = {name: archive.read(name) for name in archive.namelist()}
    description = json.loads(raw.pop("go-live.json"))
    tables = {
        name: list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        for name, content in raw.items()
    }
    return description, tables, raw


def download(client: Client) -> bytes:
    response = client.get("/issues/archive/download/")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Disposition"].startswith('attachment; filename="archive-mercy')
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_the_archive_holds_every_record_and_describes_each_file_truly(
    client_for: SignIn,
    lead_lena: User,
    agent_alex: User,
    closed: GoLive,
    four_west: Unit,
    help_desk_contact: Contact,
    log_issue: LogIssue,
) -> None:
    first = log_issue(title='=HYPERLINK("http://evil")')
    log_issue(title="Wristband printer jams")
    add_comment(issue=first, actor=agent_alex, body="Printer driver pushed again", internal=True)
    KnownIssue.objects.create(
        go_live=closed,
        issue=first,
        title="Label printers print blank",
        problem="After the driver update.",
        workaround="Use the backup printer.",
    )
    person = SupportPerson.objects.create(
        go_live=closed, name="Sam Super", role=SupportRole.SUPER_USER, email="sam@mercy.example"
    )
    shift = Shift.objects.create(
        go_live=closed,
        unit=four_west,
        role=SupportRole.SUPER_USER,
        start=closed.cutover_at,
        end=closed.cutover_at + (closed.support_ends_at - closed.cutover_at) / 28,
        needed=2,
    )
    assert person.pk and shift.pk

    description, tables, raw = read(download(client_for(lead_lena)))

    assert description["go_live"]["name"] == "Mercy Health Wave 1"  # type: ignore[index]
    assert description["exported_by"] == "Lena Lead"
    assert [u["name"] for u in description["units"]] == ["4 West Med/Surg"]  # type: ignore[union-attr]
    files = {f["name"]: f for f in description["files"]}  # type: ignore[union-attr]
    assert (
        set(files)
        == set(tables)
        == {
            "issues.csv",
            "issue-timeline.csv",
            "known-issues.csv",
            "roster.csv",
            "schedule.csv",
            "contacts.csv",
        }
    )
    for name, table in tables.items():
        assert files[name]["rows"] == len(table) - 1, name
        assert files[name]["bytes"] == len(raw[name])
        assert files[name]["sha256"] == hashlib.sha256(raw[name]).hexdigest()
    issues = tables["issues.csv"]
    assert [row[0] for row in issues[1:]] == [first.code, f"GL-{first.number + 1}"]
    # A title a spreadsheet would run as a formula is shown as text.
    assert '\'=HYPERLINK("http://evil")' in issues[1]
    timeline = tables["issue-timeline.csv"]
    note = next(row for row in timeline if row[6] == "Printer driver pushed again")
    assert (note[0], note[3], note[7]) == (first.code, "Alex Agent", "yes")
    assert [row[:4] for row in tables["known-issues.csv"][1:]] == [
        [
            "Label printers print blank",
            "Being investigated",
            "After the driver update.",
            "Use the backup printer.",
        ]
    ]
    assert [row[0] for row in tables["roster.csv"][1:]] == ["Sam Super"]
    assert tables["schedule.csv"][1][-1] == "Open (2 places)"
    assert [row[1] for row in tables["contacts.csv"][1:]] == ["Mercy help desk"]


def test_the_download_costs_the_same_queries_however_many_issues(
    client_for: SignIn,
    lead_lena: User,
    agent_alex: User,
    closed: GoLive,
    log_issue: LogIssue,
) -> None:
    client = client_for(lead_lena)
    client.get("/issues/archive/")  # the session's first request renews it
    counts = []
    for issues in (2, 25):
        while Issue.objects.filter(go_live=closed).count() < issues:
            issue = log_issue()
            add_comment(issue=issue, actor=agent_alex, body="Looking", internal=False)
        with CaptureQueriesContext(connection) as queries:
            download(client)
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[1]


def test_an_open_go_live_is_not_archived(
    client_for: SignIn, lead_lena: User, mercy: GoLive, tmp_path: Path
) -> None:
    client = client_for(lead_lena)

    page = client.get("/issues/archive/")
    refused = client.get("/issues/archive/download/")

    assert "archived once it is closed" in page.content.decode()
    assert refused.status_code == 409
    assert "Set its phase to Closed" in refused.content.decode()
    with pytest.raises(CommandError, match="archived once it is closed"):
        call_command("export_archive", str(mercy.pk), "--output", str(tmp_path / "a.zip"))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("who", ["manager_maria", "agent_alex", "super_sam", "nurse_nina"])
def test_only_the_command_center_downloads_the_archive(
    client_for: SignIn, closed: GoLive, who: str, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(who))

    assert client.get("/issues/archive/").status_code == 403
    assert client.get("/issues/archive/download/").status_code == 403


def test_the_command_writes_the_same_archive_to_a_file(
    closed: GoLive, log_issue: LogIssue, tmp_path: Path
) -> None:
    log_issue()
    output = tmp_path / "mercy.zip"

    call_command("export_archive", str(closed.pk), "--output", str(output))

    description, tables, _ = read(output.read_bytes())
    assert description["exported_by"] == "manage.py export_archive"
    assert len(tables["issues.csv"]) == 1 + Issue.objects.filter(go_live=closed).count()
    with pytest.raises(CommandError, match="no go-live with id 0"):
        call_command("export_archive", "0")
