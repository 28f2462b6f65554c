"""What the intake form needs besides the issue service: the patient-identifier check, similar-issue
suggestions, the photo check and its storage, "this is my problem too", and whom to call.

The patient-identifier patterns are written once here; the intake page hands them to its script
(intake.js), so the warning before submit and the server's check always agree.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import Http404
from PIL import Image, ImageOps, UnidentifiedImageError

from golive.models import Contact, GoLive, Unit
from issues.access import Floor
from issues.models import Issue, IssuePhoto, KnownIssue
from issues.queue import DONE
from issues.services import OPEN, create_issue
from staffing.whos_on import OnShift, on_shift

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

# --- Patient identifiers -------------------------------------------------------------------------

# Kept to the regular-expression syntax Python and JavaScript share (no inline flags, no named
# groups); both sides compile them case-insensitive, ASCII-only.
_NUMERIC_DATE = r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = rf"(?:{_NUMERIC_DATE}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH},?\s+\d{{4}})"
_BIRTH = r"\b(?:dob|d\.o\.b|born|birth\s?date|date\s+of\s+birth)\b"

PHI_PATTERNS: list[tuple[str, str]] = [
    (
        "a medical record number",
        r"\b(?:mrn|medical\s+record(?:\s+(?:number|no))?)\b\W{0,3}\d{4,}|\b\d{7,10}\b",
    ),
    ("a social security number", r"\b\d{3}-\d{2}-\d{4}\b"),
    ("a date of birth", rf"{_BIRTH}\D{{0,15}}{_DATE}|{_DATE}\s*\(?\s*{_BIRTH}"),
]
_PHI_COMPILED = [
    (label, re.compile(source, re.IGNORECASE | re.ASCII)) for label, source in PHI_PATTERNS
]


def find_phi(text: str) -> list[str]:
    """What kinds of patient identifier `text` seems to hold (none: an empty list)."""
    return [label for label, pattern in _PHI_COMPILED if pattern.search(text)]


def phi_patterns_for_script() -> list[dict[str, str]]:
    """The same patterns for intake.js (rendered with json_script)."""
    return [{"label": label, "source": source} for label, source in PHI_PATTERNS]


# --- Similar issues ------------------------------------------------------------------------------

SUGGESTIONS = 5
# The first words typed say most; a long description must not grow the query without bound.
MAX_TERMS = 8
_WORD = re.compile(r"[a-z0-9]+")


def search_terms(text: str) -> list[str]:
    """Distinct words of two characters or more, lower case, [a-z0-9] only: safe in a tsquery."""
    words = (word for word in _WORD.findall(text.lower()) if len(word) >= 2)
    return list(dict.fromkeys(words))[:MAX_TERMS]


@dataclass(frozen=True)
class Suggestion:
    """An open issue, or a published known issue (joined through its anchor issue)."""

    issue: Issue
    known: KnownIssue | None
    rank: float

    @property
    def title(self) -> str:
        return self.known.title if self.known is not None else self.issue.title


def _ranked(rows: QuerySet, terms: list[str], *, every: bool) -> list[Any]:
    """The best SUGGESTIONS of `rows` having every word of `terms` (prefix match), or any word,
    by rank (annotated as `rank`)."""
    query = SearchQuery(
        (" & " if every else " | ").join(f"{term}:*" for term in terms),
        search_type="raw",
        config="english",
    )
    ranked = rows.filter(search=query).annotate(rank=SearchRank(F("search"), query))
    return list(ranked.order_by(F("rank").desc(), "-pk")[:SUGGESTIONS])


def affecting(known_issues: QuerySet[KnownIssue], units: QuerySet[Unit]) -> QuerySet[KnownIssue]:
    """Known issues that name no unit (every unit) or name one of `units`."""
    named = KnownIssue.units.through.objects.filter(knownissue_id=OuterRef("pk"))
    return known_issues.filter(
        ~Exists(named) | Exists(named.filter(unit_id__in=units.values("pk")))
    )


def similar_issues(*, floor: Floor, text: str, units: QuerySet[Unit]) -> list[Suggestion]:
    """Up to five open issues the visitor may see and unfixed known issues of their units that
    look like `text` (PostgreSQL full text search on the indexed `search` columns).

    Rows with every word come first and alone; only when neither list has one are rows with any
    word looked for: two queries while the words match something together, four when they do
    not (two for a single word). Ranking every loose match of a common first word would cost
    far more than the second look.
    """
    terms = search_terms(text)
    if not terms:
        return []
    # Open issues spelled as the partial search index's condition, so PostgreSQL can use it.
    issues = floor.issues().exclude(status__in=DONE).select_related("unit__site")
    known = affecting(
        KnownIssue.objects.filter(go_live=floor.go_live, issue__status__in=OPEN).exclude(
            status=KnownIssue.Status.FIXED
        ),
        units,
    ).select_related("issue__unit__site")
    # With one word, "every" and "any" are the same search.
    for every in (True, False) if len(terms) > 1 else (True,):
        found = [Suggestion(k.issue, k, k.rank) for k in _ranked(known, terms, every=every)]
        anchors = {s.issue.pk for s in found}
        found += [
            Suggestion(i, None, i.rank)
            for i in _ranked(issues, terms, every=every)
            if i.pk not in anchors
        ]
        if found:
            break
    # Known issues first among equals: they carry a workaround and the command center's word.
    found.sort(key=lambda s: (s.known is None, -s.rank))
    return found[:SUGGESTIONS]


def joinable_issue(floor: Floor, *, issue_id: int | None, known_issue_id: int | None) -> Issue:
    """The issue a visitor may say "my problem too" to: one they may see, or the anchor of a
    published, unfixed known issue of their units. 404 for anything else."""
    if known_issue_id is not None:
        known = (
            affecting(
                KnownIssue.objects.filter(go_live=floor.go_live).exclude(
                    status=KnownIssue.Status.FIXED
                ),
                floor.units(),
            )
            .select_related("issue__unit__site")
            .filter(pk=known_issue_id)
            .first()
        )
        if known is None:
            raise Http404("No such known issue.")
        return known.issue
    issue = floor.issues().select_related("unit__site").filter(pk=issue_id).first()
    if issue is None:
        raise Http404("No such issue.")
    return issue


# --- Photos --------------------------------------------------------------------------------------

# Detected from the file's content by Pillow, never from its name: (content type, extension).
PHOTO_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
# Enough to read a screen; a 48-megapixel phone photo is shrunk before it is stored.
PHOTO_MAX_SIDE = 2560


class PhotoRefused(Exception):
    """The photo cannot be taken; the message says why and what to do."""


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo decoded and encoded again: only pixels are kept (no EXIF, no GPS, no profile)."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_photo(upload: UploadedFile) -> CheckedPhoto:
    """Refuse what is not a JPEG, PNG or WebP picture, too big, or a decompression bomb."""
    limit = settings.ISSUE_PHOTO_MAX_BYTES
    size = upload.size or 0
    if size > limit:
        raise PhotoRefused(
            f"The photo is {_megabytes(size)}; the limit is {_megabytes(limit)}. "
            "Take it again at a lower resolution, or leave it out."
        )
    if size == 0:
        raise PhotoRefused("The photo file is empty. Take the photo again.")
    upload.seek(0)
    try:
        # Pillow's own bomb check only warns below twice its limit: make the warning an error.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=list(PHOTO_FORMATS)) as image:
                return _reencode(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused(_TOO_MANY_PIXELS) from exc
    except UnidentifiedImageError as exc:
        raise PhotoRefused("This file is not a photo: send a JPEG, PNG or WebP picture.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoRefused(
            "The photo could not be read; the file may be damaged. Take it again."
        ) from exc


_TOO_MANY_PIXELS = (
    "The picture has too many pixels to open safely. Take a normal photo of the screen."
)


def _reencode(image: Image.Image) -> CheckedPhoto:
    if image.width * image.height > settings.ISSUE_PHOTO_MAX_PIXELS:
        raise PhotoRefused(_TOO_MANY_PIXELS)
    kind = image.format or ""
    content_type, extension = PHOTO_FORMATS[kind]
    if kind == "JPEG":
        # Decode a large JPEG at a reduced scale straight away: less memory, less time.
        image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    image.load()
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
    clean = upright.convert("RGBA" if has_alpha and kind != "JPEG" else "RGB")
    # Nothing but the pixels goes on: EXIF (GPS, device, time), ICC profile, text chunks.
    clean.info = {}
    clean.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    if kind == "PNG":
        clean.save(out, "PNG")
    else:
        clean.save(out, kind, quality=85)
    return CheckedPhoto(out.getvalue(), content_type, extension, clean.width, clean.height)


def store_photo(*, issue: Issue, photo: CheckedPhoto) -> IssuePhoto:
    """Save the checked photo through the default storage under a random name."""
    return IssuePhoto.objects.create(
        issue=issue,
        file=ContentFile(photo.content, name=f"screen.{photo.extension}"),
        content_type=photo.content_type,
        size=len(photo.content),
        width=photo.width,
        height=photo.height,
    )


# --- Submitting ----------------------------------------------------------------------------------


def submit_intake(*, photo: CheckedPhoto | None, **fields: Any) -> Issue:
    """Log the issue (`fields` are create_issue's) and its photo together. A resend of the same
    form returns the first issue (the photo is stored once). Raises IssueRefused."""
    if photo is None:
        return create_issue(**fields)[0]
    # The photo was checked before: only storing it can fail now, and then the issue goes too.
    with transaction.atomic():
        issue, created = create_issue(**fields)
        if created:
            store_photo(issue=issue, photo=photo)
    return issue


# --- Whom to call --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhomToCall:
    command_center_phone: str
    command_center_location: str
    contacts: list[Contact]
    on_shift: list[OnShift]


def whom_to_call(*, go_live: GoLive, unit: Unit, now: dt.datetime) -> WhomToCall:
    """The command center, the directory contacts covering the unit whose hours cover now, and the
    support people on shift on the unit now.

    The leadership line is left out, as on the floor's home page: it is reached through the
    command center, and patient-safety reports alert it by themselves.
    """
    contacts = list(
        Contact.objects.filter(go_live=go_live)
        .covering(unit=unit)
        .exclude(tier__is_leadership=True)
        .select_related("tier")
    )
    for contact in contacts:
        contact.go_live = go_live
    return WhomToCall(
        command_center_phone=go_live.command_center_phone,
        command_center_location=go_live.command_center_location,
        contacts=[contact for contact in contacts if contact.is_available_at(now)],
        on_shift=on_shift(go_live=go_live, at=now, units=[unit]),
    )
