"""The support roster: who is on it, the hours they work, and the roster and schedule as CSV.

A roster import is checked row by row by a worker (`processed_rows` shows how far), shown as a
preview, then applied by a second worker in ONE transaction: every row or none. People are matched
by email, case-insensitively, within the go-live, so importing a file again updates them instead of
adding them twice. The roster export uses the import's columns, so an exported file imports back
without changing anyone.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

import redis.exceptions
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from golive.lib.csvfile import csv_unescape
from golive.lib.queue import send_now
from golive.lib.users import signed_in
from golive.models import Application, GoLive, Site, Unit, phone_validator
from staffing.models import (
    Assignment,
    RosterImport,
    Shift,
    SupportPerson,
    SupportRole,
    Unavailability,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

COLUMNS = (
    "name",
    "email",
    "role",
    "employer",
    "vendor_name",
    "skills",
    "home_site",
    "home_unit",
    "phone",
    "sms_number",
    "max_hours_per_shift",
    "max_hours_per_day",
    "max_hours_per_week",
    "active",
)
REQUIRED_COLUMNS = ("name", "email", "role")
LIMIT_COLUMNS = ("max_hours_per_shift", "max_hours_per_day", "max_hours_per_week")
DEFAULT_LIMITS = {column: SupportPerson._meta.get_field(column).default for column in LIMIT_COLUMNS}
MIN_HOURS, MAX_HOURS = Decimal("1"), Decimal("168")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PREVIEW_ROWS = 50
PROGRESS_EVERY = 100
APPLY_BATCH = 500
EXPORT_CHUNK = 500
TRUE_WORDS = frozenset({"yes", "y", "true", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "0"})
SCHEDULE_COLUMNS = (
    "date",
    "start",
    "end",
    "unit",
    "site",
    "role",
    "needed",
    "person",
    "person_email",
    "status",
)
WEEK = dt.timedelta(days=7)
RECENT = dt.timedelta(days=14)


def _key(text: str) -> str:
    """A word as typed in a spreadsheet, compared loosely: “In-house”, “in house” and “in_house”."""
    return re.sub(r"[\s_-]+", "_", text.strip().lower())


ROLE_KEYS = {_key(code): code for code in SupportRole.values} | {
    _key(label): code for code, label in SupportRole.choices
}
EMPLOYER_KEYS = {_key(code): code for code in SupportPerson.Employer.values} | {
    _key(label): code for code, label in SupportPerson.Employer.choices
}


def _hours_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- Reading a roster file ------------------------------------------------------------------------


class RosterFileError(ValueError):
    """The file cannot be read as a roster at all; the message says what to do."""


@dataclass(frozen=True)
class CsvRecord:
    line: int  # the file's line number where the record starts; the header is line 1
    cells: dict[str, str]
    extra_cells: int  # non-empty cells beyond the header's columns


@dataclass(frozen=True)
class RowError:
    line: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


def _column_name(text: str) -> str:
    return _key(text.lstrip("\ufeff"))


def _clean_cell(text: str) -> str:
    return csv_unescape(text.strip()).strip()


class RosterCsv:
    """A decoded roster file: its header checked, its records read on demand (a fresh pass each time)."""

    def __init__(self, content: str) -> None:
        self.content = content
        reader = csv.reader(io.StringIO(content, newline=""))
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise RosterFileError(f"The first line could not be read as CSV ({exc}).") from exc
        if not header or not any(cell.strip() for cell in header):
            raise RosterFileError(
                "The file is empty. Its first row must name the columns, e.g. name,email,role."
            )
        self.columns = [_column_name(cell) for cell in header]
        duplicates = sorted({c for c in self.columns if c and self.columns.count(c) > 1})
        if duplicates:
            raise RosterFileError(
                f"The first row names {', '.join(duplicates)} more than once; name each column once."
            )
        missing = [column for column in REQUIRED_COLUMNS if column not in self.columns]
        if missing:
            raise RosterFileError(
                f"The first row must name the columns name, email and role; it lacks "
                f"{', '.join(missing)}. It reads: {', '.join(c for c in header if c.strip())}."
            )
        unknown = [column for column in self.columns if column and column not in COLUMNS]
        if unknown:
            raise RosterFileError(
                f"The first row has columns golive does not know: {', '.join(unknown)}. "
                f"Use only: {', '.join(COLUMNS)}."
            )

    def records(self) -> Iterator[CsvRecord]:
        reader = csv.reader(io.StringIO(self.content, newline=""))
        width = len(self.columns)
        try:
            next(reader)
            line = reader.line_num + 1
            for row in reader:
                # Blank lines and rows of empty cells (spreadsheets leave them) are not people.
                if any(cell.strip() for cell in row):
                    values = [_clean_cell(cell) for cell in row[:width]]
                    values += [""] * (width - len(values))
                    yield CsvRecord(
                        line=line,
                        cells={c: v for c, v in zip(self.columns, values, strict=True) if c},
                        extra_cells=sum(1 for cell in row[width:] if cell.strip()),
                    )
                line = reader.line_num + 1
        except csv.Error as exc:
            raise RosterFileError(
                f"Line {reader.line_num} could not be read as CSV ({exc})."
            ) from exc


def read_upload(data: bytes) -> tuple[str, int]:
    """The text of an uploaded roster and its number of people; RosterFileError if unusable."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise RosterFileError(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
            "Split it into smaller files and import them one after the other."
        )
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(
            "The file is not UTF-8 text. In Excel use Save As and choose “CSV UTF-8 (Comma "
            "delimited)”."
        ) from exc
    if "\x00" in content:
        raise RosterFileError("The file contains NUL characters: it is not a CSV text file.")
    roster_csv = RosterCsv(content)
    count = sum(1 for _ in roster_csv.records())
    if not count:
        raise RosterFileError("The file has the header row but nobody below it.")
    return content, count


# --- Checking rows against the go-live ------------------------------------------------------------


@dataclass
class RowPlan:
    """What one valid row does: create a person, or update (or leave alone) the one it matches."""

    line: int
    person: SupportPerson | None
    fields: dict[str, Any]  # attribute names (home_site_id...) to values
    skill_ids: frozenset[int] | None  # None when the file has no skills column
    changed: bool

    @property
    def action(self) -> str:
        if self.person is None:
            return "create"
        return "update" if self.changed else "unchanged"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def _parse_hours(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"“{text}” is not a number of hours; write e.g. 12 or 7.5.") from exc
    if not value.is_finite() or not MIN_HOURS <= value <= MAX_HOURS:
        raise ValueError(f"Give between {MIN_HOURS} and {MAX_HOURS} hours, not “{text}”.")
    if value != value.quantize(Decimal("0.1")):
        raise ValueError(f"Use at most one decimal place, not “{text}”.")
    return value


class RosterCheck:
    """The go-live's applications, sites, units and people, loaded once to check many rows.

    Checking costs no query per row: 5,000 rows are checked against what is loaded here.
    """

    def __init__(self, go_live: GoLive, columns: Iterable[str]) -> None:
        self.go_live = go_live
        self.columns = frozenset(columns)
        self.applications = {
            app.name.lower(): app for app in Application.objects.filter(go_live=go_live)
        }
        sites = list(Site.objects.filter(go_live=go_live))
        # A site may be named by its code too; a name wins over another site's equal code.
        self.sites = {site.code.lower(): site for site in sites} | {
            site.name.lower(): site for site in sites
        }
        self.site_names = sorted(site.name for site in sites)
        units = list(Unit.objects.filter(site__go_live=go_live))
        self.units = {(unit.site_id, unit.name.lower()): unit for unit in units}
        self.unit_sites = {unit.pk: unit.site_id for unit in units}
        self.people = {
            person.email.lower(): person for person in SupportPerson.objects.filter(go_live=go_live)
        }
        skills: dict[int, set[int]] = defaultdict(set)
        links = SupportPerson.skills.through.objects.filter(supportperson__go_live=go_live)
        for person_id, application_id in links.values_list("supportperson_id", "application_id"):
            skills[person_id].add(application_id)
        self.skills = {person_id: frozenset(ids) for person_id, ids in skills.items()}
        self.seen: dict[str, int] = {}

    def check(self, record: CsvRecord) -> tuple[RowPlan | None, list[RowError]]:
        """The row's plan, or None and every problem found in it."""
        row = _Row(record)
        if record.extra_cells:
            extra = record.extra_cells
            row.fail(
                "",
                f"This row has {extra} more value{'s' if extra > 1 else ''} than the first row "
                "has columns; check for a stray comma.",
            )
        self._check_identity(row)
        self._check_employer(row)
        skill_ids = self._check_skills(row)
        self._check_home(row)
        self._check_contact(row)
        self._check_limits(row)
        if "active" in self.columns or row.person is None:
            word = row.cells.get("active", "").lower()
            if word in TRUE_WORDS or not word:
                row.fields["is_active"] = True
            elif word in FALSE_WORDS:
                row.fields["is_active"] = False
            else:
                row.fail(
                    "active",
                    f"“{row.cells['active']}” is not yes or no (true/false and 1/0 work too).",
                )
        if row.errors:
            return None, row.errors
        person = row.person
        changed = person is None or any(
            getattr(person, attribute) != value for attribute, value in row.fields.items()
        )
        if person is not None and skill_ids is not None:
            changed = changed or skill_ids != self.skills.get(person.pk, frozenset())
        return RowPlan(record.line, person, row.fields, skill_ids, changed), []

    def _check_identity(self, row: _Row) -> None:
        """Name, email (which finds the person to update) and role."""
        name, email, role_text = row.cells["name"], row.cells["email"], row.cells["role"]
        if not name:
            row.fail("name", "Give the person's name.")
        elif len(name) > 120:
            row.fail("name", "Shorten the name to 120 characters or fewer.")
        row.fields["name"] = name

        key = email.lower()
        if not email:
            row.fail("email", "Give an email address: people are matched by it on the next import.")
        elif len(email) > 254 or not _is_email(email):
            row.fail("email", f"“{email}” is not an email address.")
        elif key in self.seen:
            row.fail(
                "email", f"{email} is already on line {self.seen[key]}; list each person once."
            )
        else:
            self.seen[key] = row.record.line
            row.person = self.people.get(key)
        row.fields["email"] = email

        role = ROLE_KEYS.get(_key(role_text))
        if not role_text:
            row.fail("role", "Give a role, e.g. super_user or Super user.")
        elif role is None:
            row.fail(
                "role", f"“{role_text}” is not a role. Use one of: {', '.join(SupportRole.labels)}."
            )
        row.fields["role"] = role

    def _check_employer(self, row: _Row) -> None:
        if "vendor_name" in self.columns:
            if len(row.cells["vendor_name"]) > 120:
                row.fail("vendor_name", "Shorten the vendor name to 120 characters or fewer.")
            row.fields["vendor_name"] = row.cells["vendor_name"]
        if "employer" in self.columns and row.cells["employer"]:
            employer = EMPLOYER_KEYS.get(_key(row.cells["employer"]))
            if employer is None:
                row.fail(
                    "employer",
                    f"“{row.cells['employer']}” is not an employer. Write in_house or vendor.",
                )
                return
            row.fields["employer"] = employer
        elif row.person is None or "employer" in self.columns:
            # Left blank: a vendor name says whose consultant the person is.
            vendor = row.effective("vendor_name", "")
            row.fields["employer"] = (
                SupportPerson.Employer.VENDOR if vendor else SupportPerson.Employer.IN_HOUSE
            )
        if row.effective("employer", "") == SupportPerson.Employer.VENDOR and not row.effective(
            "vendor_name", ""
        ):
            row.fail("vendor_name", "Name the vendor this person works for.")

    def _check_skills(self, row: _Row) -> frozenset[int] | None:
        """The applications the row names; None when the file has no skills column."""
        if "skills" not in self.columns:
            return None
        names = list(dict.fromkeys(n.strip() for n in row.cells["skills"].split(";") if n.strip()))
        unknown = [name for name in names if name.lower() not in self.applications]
        if unknown:
            known = ", ".join(app.name for app in self.applications.values()) or "none yet"
            what = "is not an application" if len(unknown) == 1 else "are not applications"
            row.fail(
                "skills",
                f"{_quoted(unknown)} {what} of this go-live. Its applications are: {known}. "
                "Separate several with “;”.",
            )
        return frozenset(
            self.applications[name.lower()].pk
            for name in names
            if name.lower() in self.applications
        )

    def _check_home(self, row: _Row) -> None:
        """Home site by name or code; home unit by name within the home site."""
        if "home_site" in self.columns:
            site = None
            if row.cells["home_site"]:
                site = self.sites.get(row.cells["home_site"].lower())
                if site is None:
                    row.fail(
                        "home_site",
                        f"“{row.cells['home_site']}” is not a site of this go-live. Its sites "
                        f"are: {', '.join(self.site_names) or 'none yet'}.",
                    )
                    return
            row.fields["home_site_id"] = site.pk if site else None
        if "home_unit" in self.columns:
            unit_name = row.cells["home_unit"]
            site_id = row.effective("home_site_id", None)
            unit = None
            if unit_name and site_id is None:
                row.fail(
                    "home_site",
                    f"Give the home site of unit “{unit_name}”: units are found by name within "
                    "their site.",
                )
            elif unit_name:
                unit = self.units.get((site_id, unit_name.lower()))
                if unit is None:
                    site_name = next(s.name for s in self.sites.values() if s.pk == site_id)
                    row.fail("home_unit", f"“{unit_name}” is not a unit of {site_name}.")
            row.fields["home_unit_id"] = unit.pk if unit else None
        elif "home_site" in self.columns and row.person is not None:
            # A new home site without a home_unit column: a unit elsewhere no longer fits.
            unit_id = row.person.home_unit_id
            if unit_id is not None and self.unit_sites.get(unit_id) != row.fields["home_site_id"]:
                row.fields["home_unit_id"] = None

    def _check_contact(self, row: _Row) -> None:
        if "phone" in self.columns:
            phone = row.cells["phone"]
            if phone:
                try:
                    phone_validator(phone)
                except ValidationError:
                    row.fail(
                        "phone",
                        f"“{phone}” is not a phone number: use digits, spaces, dashes or brackets.",
                    )
            row.fields["phone"] = phone
        if "sms_number" in self.columns:
            # People type SMS numbers with spaces and dashes; the gateway wants bare +E.164.
            sms = re.sub(r"[\s().-]", "", row.cells["sms_number"])
            if sms and not re.fullmatch(r"\+[1-9][0-9]{7,14}", sms):
                row.fail(
                    "sms_number",
                    f"“{row.cells['sms_number']}” is not in international +E.164 form: a plus "
                    "sign and 8 to 15 digits, e.g. +13125550100.",
                )
            row.fields["sms_number"] = sms

    def _check_limits(self, row: _Row) -> None:
        limits_ok = True
        for column in LIMIT_COLUMNS:
            if column in self.columns or row.person is None:
                text = row.cells.get(column, "")
                try:
                    row.fields[column] = _parse_hours(text) if text else DEFAULT_LIMITS[column]
                except ValueError as exc:
                    limits_ok = False
                    row.fail(column, str(exc))
        if limits_ok:
            per_shift = row.effective("max_hours_per_shift", DEFAULT_LIMITS["max_hours_per_shift"])
            per_day = row.effective("max_hours_per_day", DEFAULT_LIMITS["max_hours_per_day"])
            if per_shift > per_day:
                row.fail(
                    "max_hours_per_shift",
                    f"A shift limit of {_hours_text(per_shift)} h is longer than the daily limit "
                    f"of {_hours_text(per_day)} h.",
                )


@dataclass
class _Row:
    """One row being checked: its cells, the values found so far, its problems."""

    record: CsvRecord
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    person: SupportPerson | None = None  # the person the email matches, if any

    @property
    def cells(self) -> dict[str, str]:
        return self.record.cells

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.record.line, column, message))

    def effective(self, attribute: str, default: Any) -> Any:
        """The value after this row: from the file, else the matched person's, else a default."""
        if attribute in self.fields:
            return self.fields[attribute]
        return getattr(self.person, attribute) if self.person is not None else default


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


# --- Import workflow ------------------------------------------------------------------------------


# An import with no progress for this long is offered to be sent to a worker again.
STALLED_AFTER = dt.timedelta(minutes=1)


def is_stalled(roster_import: RosterImport, *, now: dt.datetime) -> bool:
    """Waiting for a worker with nothing done yet, long enough that its message was likely lost."""
    return (
        roster_import.status == RosterImport.Status.CHECKING
        and roster_import.processed_rows == 0
        and now - roster_import.created_at > STALLED_AFTER
    )


def resend_roster_import(*, roster_import: RosterImport) -> bool:
    """Send a stalled check to a worker again. Safe twice: the check only runs while checking."""
    if roster_import.status != RosterImport.Status.CHECKING:
        return False
    from staffing import tasks  # tasks imports this module

    return send_now(tasks.check_roster_import, import_id=roster_import.pk)


@transaction.atomic
def create_roster_import(
    *,
    go_live: GoLive,
    uploaded_by: AbstractBaseUser | None,
    filename: str,
    content: str,
    total_rows: int,
) -> RosterImport:
    """Save an uploaded roster (already read by `read_upload`) and have a worker check it."""
    roster_import = RosterImport.objects.create(
        go_live=go_live,
        uploaded_by=signed_in(uploaded_by),
        filename=filename[:200],
        content=content,
        total_rows=total_rows,
    )
    from staffing import tasks  # tasks imports this module

    # After commit, so the worker finds the row. With the broker down the import is saved all the
    # same and its page offers to send it to a worker again (`resend_roster_import`).
    transaction.on_commit(partial(send_now, tasks.check_roster_import, import_id=roster_import.pk))
    return roster_import


def check_roster_import(*, import_id: int) -> RosterImport | None:
    """Check every row (the worker's job); None when the import is missing or already checked.

    Progress is written every PROGRESS_EVERY rows outside any transaction, so the page polling it
    sees it at once. The counts of people to create and to update are kept for the preview.
    """
    roster_import = (
        RosterImport.objects.select_related("go_live")
        .filter(pk=import_id, status=RosterImport.Status.CHECKING)
        .first()
    )
    if roster_import is None:
        return None
    checking = RosterImport.objects.filter(pk=import_id, status=RosterImport.Status.CHECKING)
    errors: list[dict[str, Any]] = []
    to_create = to_update = rows = 0
    try:
        roster_csv = RosterCsv(roster_import.content)
        checker = RosterCheck(roster_import.go_live, roster_csv.columns)
        for record in roster_csv.records():
            plan, row_errors = checker.check(record)
            errors.extend(error.as_dict() for error in row_errors)
            if plan is not None:
                to_create += plan.action == "create"
                to_update += plan.action == "update"
            rows += 1
            if rows % PROGRESS_EVERY == 0:
                checking.update(processed_rows=rows)
    except RosterFileError as exc:
        errors.append(RowError(None, "", str(exc)).as_dict())
    checking.update(
        status=RosterImport.Status.INVALID if errors else RosterImport.Status.READY,
        errors=errors,
        processed_rows=rows,
        total_rows=rows,
        created_count=to_create,
        updated_count=to_update,
        finished_at=timezone.now() if errors else None,
    )
    roster_import.refresh_from_db()
    return roster_import


class ImportRefused(Exception):
    """The import cannot start; the message says why."""


def start_roster_import(*, roster_import: RosterImport, actor: AbstractBaseUser | None) -> None:
    """Hand a checked, error-free import to a worker to apply. Raises ImportRefused otherwise."""
    with transaction.atomic():
        # The conditional UPDATE lets exactly one of two quick clicks (or two managers) start it.
        started = RosterImport.objects.filter(
            pk=roster_import.pk, status=RosterImport.Status.READY
        ).update(status=RosterImport.Status.IMPORTING)
        if not started:
            raise ImportRefused(
                "This file can no longer be imported: it has errors, or it is already imported "
                "or importing."
            )
        logger.info("Roster import %s started by %s.", roster_import.pk, getattr(actor, "pk", None))
        _report_progress(roster_import.pk, 0)
    from staffing import tasks  # tasks imports this module

    # Sent after the commit above, so the worker finds the import importing.
    if not send_now(tasks.apply_roster_import, import_id=roster_import.pk):
        RosterImport.objects.filter(
            pk=roster_import.pk, status=RosterImport.Status.IMPORTING
        ).update(status=RosterImport.Status.READY)
        raise ImportRefused(
            "The task queue could not be reached, so nothing was imported. Try again in a minute."
        )
    roster_import.refresh_from_db()


class _ImportStopped(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


def apply_roster_import(*, import_id: int) -> RosterImport | None:
    """Create and update the people of an import, all in one transaction (the worker's job).

    Rows are checked again against the roster as it is now: a row that became invalid since the
    preview (its unit removed, say), or a row the database refuses, rolls back every row and marks
    the import failed with the reason. None when there is nothing to do (missing, not importing,
    or another worker holds it).
    """
    try:
        with transaction.atomic():
            roster_import = (
                RosterImport.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("go_live")
                .filter(pk=import_id, status=RosterImport.Status.IMPORTING)
                .first()
            )
            if roster_import is None:
                return None
            go_live = roster_import.go_live
            # Imports of one go-live take turns, so the second sees the people the first created.
            # NO KEY UPDATE: rows pointing at the go-live (shifts, people) can still be written.
            list(
                GoLive.objects.select_for_update(no_key=True)
                .filter(pk=go_live.pk)
                .values_list("pk", flat=True)
            )
            roster_csv = RosterCsv(roster_import.content)
            checker = RosterCheck(go_live, roster_csv.columns)
            created = updated = rows = 0
            for batch in _chunks(roster_csv.records(), APPLY_BATCH):
                plans = []
                for record in batch:
                    plan, errors = checker.check(record)
                    if errors:
                        raise _ImportStopped(errors)
                    assert plan is not None
                    plans.append(plan)
                batch_created, batch_updated = _write_people(go_live, plans)
                created += batch_created
                updated += batch_updated
                rows += len(batch)
                _report_progress(import_id, rows)
            RosterImport.objects.filter(pk=import_id).update(
                status=RosterImport.Status.DONE,
                created_count=created,
                updated_count=updated,
                processed_rows=rows,
                errors=[],
                finished_at=timezone.now(),
            )
    except _ImportStopped as exc:
        message = "The roster changed since the file was checked; nothing was imported."
        _fail(import_id, [RowError(None, "", message), *exc.errors])
    except (IntegrityError, DataError) as exc:
        reason = str(exc).splitlines()[0]
        _fail(
            import_id,
            [RowError(None, "", f"The database refused a row, so nothing was imported: {reason}")],
        )
    # Whatever else stops it (a time limit, a bug) has rolled back too: say so on the page.
    except Exception:
        logger.exception("Roster import %s failed.", import_id)
        _fail(
            import_id,
            [
                RowError(
                    None,
                    "",
                    "An unexpected error stopped the import, so nothing was imported. Try again; "
                    "if it happens again, tell the command center.",
                )
            ],
        )
    return RosterImport.objects.filter(pk=import_id).first()


def _fail(import_id: int, errors: list[RowError]) -> None:
    RosterImport.objects.filter(pk=import_id, status=RosterImport.Status.IMPORTING).update(
        status=RosterImport.Status.FAILED,
        errors=[error.as_dict() for error in errors],
        finished_at=timezone.now(),
    )


def _chunks(records: Iterator[CsvRecord], size: int) -> Iterator[list[CsvRecord]]:
    batch: list[CsvRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _field_name(attribute: str) -> str:
    return attribute.removesuffix("_id")


def _write_people(go_live: GoLive, plans: list[RowPlan]) -> tuple[int, int]:
    """Write one batch of plans in a handful of queries; (created, updated)."""
    new = [plan for plan in plans if plan.person is None]
    people = SupportPerson.objects.bulk_create(
        [SupportPerson(go_live=go_live, **plan.fields) for plan in new]
    )
    changed = [plan for plan in plans if plan.person is not None and plan.changed]
    now = timezone.now()
    for plan in changed:
        assert plan.person is not None
        for attribute, value in plan.fields.items():
            setattr(plan.person, attribute, value)
        plan.person.updated_at = now  # bulk_update skips auto_now
    if changed:
        fields = {_field_name(attribute) for plan in changed for attribute in plan.fields}
        SupportPerson.objects.bulk_update(
            [plan.person for plan in changed], sorted(fields | {"updated_at"})
        )
    link = SupportPerson.skills.through
    skilled = [(person.pk, plan.skill_ids) for person, plan in zip(people, new, strict=True)]
    reskilled = [(plan.person.pk, plan.skill_ids) for plan in changed if plan.person is not None]
    reskilled = [(pk, ids) for pk, ids in reskilled if ids is not None]
    if reskilled:
        link.objects.filter(supportperson_id__in=[pk for pk, _ in reskilled]).delete()
    rows = [
        link(supportperson_id=person_id, application_id=application_id)
        for person_id, ids in skilled + reskilled
        for application_id in sorted(ids or ())
    ]
    link.objects.bulk_create(rows)
    return len(new), len(changed)


def _progress_key(import_id: int) -> str:
    return f"staffing:roster-import:{import_id}:applied"


def _report_progress(import_id: int, rows: int) -> None:
    # The import's own row cannot show progress: its transaction commits only at the end. The
    # cache can; it is a hint for the page, so a cache that cannot answer is no reason to stop.
    with contextlib.suppress(redis.exceptions.RedisError):
        cache.set(_progress_key(import_id), rows, timeout=3600)


def applied_rows(roster_import: RosterImport) -> int:
    """How many rows of an import in progress are applied so far (0 when unknown)."""
    with contextlib.suppress(redis.exceptions.RedisError):
        return int(cache.get(_progress_key(roster_import.pk)) or 0)
    return 0


@dataclass(frozen=True)
class PreviewRow:
    line: int
    cells: list[str]
    action: str  # create, update, unchanged or error


@dataclass(frozen=True)
class Preview:
    columns: list[str]
    rows: list[PreviewRow]


def preview(roster_import: RosterImport, limit: int = PREVIEW_ROWS) -> Preview:
    """The first rows of a checked file, each with what importing it would do."""
    try:
        roster_csv = RosterCsv(roster_import.content)
    except RosterFileError:
        return Preview([], [])
    columns = [column for column in roster_csv.columns if column]
    checker = RosterCheck(roster_import.go_live, columns)
    rows = []
    for record in roster_csv.records():
        plan, _ = checker.check(record)
        action = plan.action if plan is not None else "error"
        rows.append(PreviewRow(record.line, [record.cells[c] for c in columns], action))
        if len(rows) == limit:
            break
    return Preview(columns, rows)


# --- Exports --------------------------------------------------------------------------------------


def roster_rows(go_live: GoLive) -> Iterator[list[str]]:
    """The roster in the import's columns (header first), read in chunks."""
    yield list(COLUMNS)
    people = (
        SupportPerson.objects.filter(go_live=go_live)
        .select_related("home_site", "home_unit")
        .prefetch_related("skills")
        .order_by("name", "pk")
    )
    for person in people.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            person.name,
            person.email,
            person.get_role_display(),
            person.get_employer_display(),
            person.vendor_name,
            "; ".join(skill.name for skill in person.skills.all()),
            person.home_site.name if person.home_site else "",
            person.home_unit.name if person.home_unit else "",
            person.phone,
            person.sms_number,
            _hours_text(person.max_hours_per_shift),
            _hours_text(person.max_hours_per_day),
            _hours_text(person.max_hours_per_week),
            "yes" if person.is_active else "no",
        ]


def schedule_rows(
    go_live: GoLive,
    *,
    first_day: dt.date,
    last_day: dt.date,
    unit: Unit | None = None,
    role: str = "",
) -> Iterator[list[str]]:
    """Shifts starting on the local days first_day..last_day, one row per assignment (header first).

    A shift with places still open gets one more row without a person, so gaps show in the file.
    """
    tz = go_live.tzinfo
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    shifts = (
        Shift.objects.filter(go_live=go_live, start__gte=start, start__lt=end)
        .select_related("unit__site")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("person").order_by("person__name", "pk"),
            )
        )
        .order_by("start", "unit__site__name", "unit__name", "role", "pk")
    )
    if unit is not None:
        shifts = shifts.filter(unit=unit)
    if role:
        shifts = shifts.filter(role=role)
    yield list(SCHEDULE_COLUMNS)
    for shift in shifts.iterator(chunk_size=EXPORT_CHUNK):
        shift_start = timezone.localtime(shift.start, tz)
        shift_end = timezone.localtime(shift.end, tz)
        base = [
            f"{shift_start:%Y-%m-%d}",
            f"{shift_start:%Y-%m-%d %H:%M}",
            f"{shift_end:%Y-%m-%d %H:%M}",
            shift.unit.name,
            shift.unit.site.name,
            shift.get_role_display(),
            str(shift.needed),
        ]
        assignments = list(shift.assignments.all())
        for assignment in assignments:
            yield [
                *base,
                assignment.person.name,
                assignment.person.email,
                assignment.get_status_display(),
            ]
        open_places = shift.needed - sum(assignment.is_active for assignment in assignments)
        if open_places > 0:
            yield [*base, "", "", f"Open ({open_places} place{'s' if open_places > 1 else ''})"]


# --- The people list and a person's hours ---------------------------------------------------------


def with_hours_ahead(
    people: QuerySet[SupportPerson], *, start: dt.datetime, end: dt.datetime
) -> QuerySet[SupportPerson]:
    """Annotate `hours_ahead`: active assignment time inside [start, end), in one subquery."""
    window_start = Value(start, output_field=DateTimeField())
    window_end = Value(end, output_field=DateTimeField())
    busy = (
        Assignment.objects.active()
        .filter(person=OuterRef("pk"), period__overlap=(start, end))
        .order_by()
        .values("person")
        .annotate(
            total=Sum(
                Least(F("period__endswith"), window_end)
                - Greatest(F("period__startswith"), window_start),
                output_field=DurationField(),
            )
        )
        .values("total")
    )
    return people.annotate(
        hours_ahead=Coalesce(Subquery(busy, output_field=DurationField()), Value(dt.timedelta(0)))
    )


PEOPLE_ORDERINGS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "role": ("role", "name", "pk"),
    "vendor": ("employer", "vendor_name", "name", "pk"),
    "unit": ("home_unit__site__name", "home_unit__name", "name", "pk"),
    "-hours": ("-hours_ahead", "name", "pk"),
    "hours": ("hours_ahead", "name", "pk"),
    "-updated": ("-updated_at", "pk"),
}


def people_list(
    go_live: GoLive, filters: dict[str, Any], *, now: dt.datetime
) -> QuerySet[SupportPerson]:
    """The roster filtered and sorted as the list page asks, with hours in the next 7 days."""
    people = SupportPerson.objects.filter(go_live=go_live)
    active = filters.get("active") or "yes"
    if active != "all":
        people = people.filter(is_active=active == "yes")
    query = (filters.get("q") or "").strip()
    if query:
        match = (
            Q(name__icontains=query)
            | Q(email__icontains=query)
            | Q(vendor_name__icontains=query)
            | Q(phone__icontains=query)
            | Q(sms_number__icontains=query)
        )
        digits = re.sub(r"\D", "", query)
        if len(digits) >= 3:
            # 3125550190 finds 312-555-0190: compare the phone's digits only.
            people = people.annotate(
                phone_digits=Func(
                    F("phone"), Value(r"\D"), Value(""), Value("g"), function="regexp_replace"
                )
            )
            match |= Q(phone_digits__contains=digits) | Q(sms_number__contains=digits)
        people = people.filter(match)
    for name, lookup in (
        ("role", "role"),
        ("employer", "employer"),
        ("vendor", "vendor_name"),
        ("skill", "skills"),
        ("site", "home_site"),
        ("unit", "home_unit"),
    ):
        if filters.get(name):
            people = people.filter(**{lookup: filters[name]})
    people = with_hours_ahead(people, start=now, end=now + WEEK)
    ordering = PEOPLE_ORDERINGS.get(filters.get("sort") or "name", PEOPLE_ORDERINGS["name"])
    return (
        people.select_related("home_site", "home_unit__site")
        .prefetch_related("skills")
        .order_by(*ordering)
    )


def hours(duration: dt.timedelta) -> float:
    return duration.total_seconds() / 3600


@dataclass(frozen=True)
class DayHours:
    day: dt.date
    hours: float
    week_hours: float  # in the 7 local days ending with this one
    over_day: bool
    over_week: bool


@dataclass(frozen=True)
class PersonSchedule:
    upcoming: list[Assignment]
    recent: list[Assignment]  # most recent first
    days: list[DayHours]
    unavailable: list[Unavailability]


def person_schedule(person: SupportPerson, *, now: dt.datetime) -> PersonSchedule:
    """A person's shifts of the last two weeks and to come, with their hours per day and week.

    A shift's hours count on the local day it starts, as the daily-limit rule counts them, so the
    week column is the sum of the day column over the 7 days to that day.
    """
    tz = person.go_live.tzinfo
    since = now - RECENT
    assignments = list(
        person.assignments.filter(shift__end__gt=since - WEEK)
        .select_related("shift__unit__site")
        .order_by("shift__start", "pk")
    )
    per_day: dict[dt.date, float] = defaultdict(float)
    for assignment in assignments:
        if assignment.is_active:
            per_day[timezone.localtime(assignment.shift.start, tz).date()] += assignment.shift.hours
    first_day = timezone.localtime(since, tz).date()
    days = []
    for day in sorted(d for d in per_day if d >= first_day):
        week = sum(per_day.get(day - dt.timedelta(days=back), 0.0) for back in range(7))
        days.append(
            DayHours(
                day=day,
                hours=per_day[day],
                week_hours=week,
                over_day=per_day[day] > float(person.max_hours_per_day),
                over_week=week > float(person.max_hours_per_week),
            )
        )
    return PersonSchedule(
        upcoming=[a for a in assignments if a.shift.end > now],
        recent=[a for a in reversed(assignments) if since < a.shift.end <= now],
        days=days,
        unavailable=list(person.unavailabilities.filter(end__gt=since).order_by("start")),
    )
