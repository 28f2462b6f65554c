"""Known issues: the command center publishes a problem with its workaround for every floor to see.

A known issue is anchored on one report; the other reports are linked to that report as "part of"
(through `services.link_issue`), so fixing the known issue resolves the anchor through
`services.change_status`, which resolves every linked report and tells every reporter. Issue rows
change only through those services; this module writes the KnownIssue rows and their
notifications, in the same transaction.

Reporters hear of a known issue when it is published and when a workaround is added or changed:
one in-app message per known-issue version and person (the outbox's dedupe key), so a retried
save never tells anyone twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from golive import outbox
from golive.lib.users import signed_in
from golive.models import GoLive, Membership, Notification, Unit
from issues import services
from issues.models import Issue, IssueReporter, KnownIssue
from issues.services import IssueRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KS = KnownIssue.Status
# How long a fixed known issue stays on the board, marked fixed, so the floor sees it is over.
FIXED_SHOWN_FOR = dt.timedelta(hours=24)
CODE = re.compile(r"(?:GL-?)?(\d{1,9})", re.IGNORECASE)


def issues_by_code(*, go_live: GoLive, text: str) -> list[Issue]:
    """The go-live's issues named in `text` ("GL-1043, GL-1050", "1043 1050"), in that order."""
    numbers: list[int] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        match = CODE.fullmatch(token)
        if match is None:
            raise IssueRefused(f"“{token[:20]}” is not an issue number: write them like GL-1043.")
        if int(match[1]) not in numbers:
            numbers.append(int(match[1]))
    found = {
        issue.number: issue for issue in Issue.objects.filter(go_live=go_live, number__in=numbers)
    }
    missing = [f"GL-{number}" for number in numbers if number not in found]
    if missing:
        raise IssueRefused(f"This go-live has no issue {', '.join(missing)}.")
    return [found[number] for number in numbers]


def publish_known_issue(
    *,
    go_live: GoLive,
    anchor: Issue,
    title: str,
    problem: str,
    workaround: str,
    status: str,
    units: Iterable[Unit],
    others: Iterable[Issue],
    actor: AbstractBaseUser | None,
    resolution: str = "",
) -> KnownIssue:
    """Publish a known issue from `anchor` and link the `others` reports to it; reporters are told.

    Published as fixed, it needs a resolution and resolves its reports at once.
    """
    _check_status(status, resolution)
    with transaction.atomic():
        anchor = Issue.objects.select_for_update(of=("self",)).get(pk=anchor.pk)
        if anchor.go_live_id != go_live.pk:
            raise IssueRefused("Publish from an issue of this go-live.")
        if KnownIssue.objects.filter(issue=anchor).exists():
            raise IssueRefused(f"{anchor.code} is already a known issue: edit that one instead.")
        if anchor.parent_id is not None:
            raise IssueRefused(
                f"{anchor.code} is linked to another issue: publish from that one instead."
            )
        if not anchor.is_open:
            raise IssueRefused(
                f"{anchor.code} is {anchor.get_status_display().lower()}: publish from an open report."
            )
        now = timezone.now()
        known = KnownIssue.objects.create(
            go_live=go_live,
            issue=anchor,
            title=title.strip(),
            problem=problem.strip(),
            workaround=workaround.strip(),
            status=status,
            published_by=signed_in(actor),
            published_at=now,
            updated_at=now,
            fixed_at=now if status == KS.FIXED else None,
        )
        known.units.set(units)
        _link(known, others, actor)
        services.add_comment(
            issue=anchor,
            actor=actor,
            internal=True,
            body=f"Published as a known issue ({known.get_status_display().lower()}): {known.title}",
        )
        if status == KS.FIXED:
            _resolve(known, resolution, actor)
        else:
            _tell_reporters(
                known,
                subject=f"Known issue: {known.title}",
                body=_advice(known, "The command center knows about your problem."),
            )
    return known


def update_known_issue(
    *,
    known: KnownIssue,
    expected_version: int,
    title: str,
    problem: str,
    workaround: str,
    status: str,
    units: Iterable[Unit],
    others: Iterable[Issue],
    actor: AbstractBaseUser | None,
    resolution: str = "",
) -> KnownIssue:
    """Edit a known issue; refused when someone else changed it since the form was opened.

    Becoming fixed resolves its reports with `resolution`; a new or changed workaround is sent to
    the reporters.
    """
    _check_status(status, resolution)
    with transaction.atomic():
        known = KnownIssue.objects.select_for_update(of=("self",)).get(pk=known.pk)
        if known.version != expected_version:
            raise IssueRefused(
                "Someone else changed this known issue while you had it open. "
                "Look at it again and repeat your change."
            )
        was_fixed = known.status == KS.FIXED
        if was_fixed and status != KS.FIXED:
            raise IssueRefused(
                "A fixed known issue stays fixed. If the problem is back, publish a new known "
                "issue from a new report."
            )
        old_status, old_workaround = known.get_status_display(), known.workaround
        now = timezone.now()
        known.title = title.strip()
        known.problem = problem.strip()
        known.workaround = workaround.strip()
        known.status = status
        known.version += 1
        known.updated_at = now
        if status == KS.FIXED and not was_fixed:
            known.fixed_at = now
        known.save()
        known.units.set(units)
        _link(known, others, actor)
        new_workaround = bool(known.workaround) and known.workaround != old_workaround
        changes = []
        if known.get_status_display() != old_status:
            changes.append(f"{old_status} → {known.get_status_display()}")
        if known.workaround != old_workaround:
            changes.append("workaround changed" if known.workaround else "workaround removed")
        if changes:
            services.add_comment(
                issue=known.issue,
                actor=actor,
                internal=True,
                body=f"Known issue “{known.title}”: {'; '.join(changes)}.",
            )
        if status == KS.FIXED and not was_fixed:
            _resolve(known, resolution, actor)
        elif new_workaround and not was_fixed:
            _tell_reporters(
                known,
                subject=f"Workaround for {known.title}",
                body=_advice(known, "There is a way around your problem while it is being fixed."),
            )
    return known


def board(*, go_live: GoLive, unit_ids: list[int] | None) -> QuerySet[KnownIssue]:
    """The board: known issues not fixed, and those fixed in the last 24 h, newest first.

    `unit_ids` narrows it to those affecting any of these units or every unit (None: all). Two
    queries whatever the number of known issues: the rows with their report counts, their units.
    """
    rows = KnownIssue.objects.filter(go_live=go_live).filter(
        ~Q(status=KS.FIXED) | Q(fixed_at__gte=timezone.now() - FIXED_SHOWN_FOR)
    )
    if unit_ids is not None:
        affected = KnownIssue.units.through.objects.filter(knownissue_id=OuterRef("pk"))
        rows = rows.filter(~Exists(affected) | Exists(affected.filter(unit_id__in=unit_ids)))
    linked = (
        Issue.objects.filter(parent_id=OuterRef("issue_id"))
        .order_by()
        .values("parent_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        rows.select_related("issue")
        .annotate(linked_count=Coalesce(Subquery(linked, output_field=IntegerField()), 0))
        .prefetch_related(
            Prefetch("units", queryset=Unit.objects.select_related("site").order_by("name"))
        )
        .order_by("-published_at", "-pk")
    )


def _check_status(status: str, resolution: str) -> None:
    if status not in KS.values:
        raise IssueRefused("Choose a status for the known issue.")
    if status == KS.FIXED and not resolution.strip():
        raise IssueRefused("Say how it was fixed: every report is resolved with these words.")


def _link(known: KnownIssue, others: Iterable[Issue], actor: AbstractBaseUser | None) -> None:
    """Link more reports to the anchor as "part of"; any refusal undoes the whole save."""
    for other in others:
        if other.pk == known.issue_id or other.parent_id == known.issue_id:
            continue
        if other.go_live_id != known.go_live_id:
            raise IssueRefused("Link only reports of this go-live.")
        elsewhere = KnownIssue.objects.filter(issue=other).first()
        if elsewhere is not None:
            raise IssueRefused(
                f"{other.code} is the report of the known issue “{elsewhere.title}”: "
                "it cannot be part of another."
            )
        services.link_issue(issue=other, parent=known.issue, kind=Issue.Link.PART_OF, actor=actor)


def _resolve(known: KnownIssue, resolution: str, actor: AbstractBaseUser | None) -> None:
    """Resolve the anchor: change_status resolves every linked report and tells each reporter."""
    anchor = Issue.objects.get(pk=known.issue_id)
    if anchor.is_open:
        services.change_status(
            issue=anchor, to=Issue.Status.RESOLVED, actor=actor, resolution=resolution.strip()
        )


def _advice(known: KnownIssue, opening: str) -> str:
    status = known.get_status_display().lower()
    if known.workaround:
        return f"{opening} Status: {status}. Until it is fixed: {known.workaround}"
    return f"{opening} Status: {status}. You will hear when there is a workaround or a fix."


def _tell_reporters(known: KnownIssue, *, subject: str, body: str) -> None:
    """Everyone who reported or joined the anchor or a linked report, in the app, once a version."""
    reports = Issue.objects.filter(Q(pk=known.issue_id) | Q(parent_id=known.issue_id))
    users = set(
        reports.filter(reporter_user__isnull=False).values_list("reporter_user_id", flat=True)
    )
    users |= set(
        IssueReporter.objects.filter(issue__in=reports, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    link = f"{reverse('issues:known')}#known-{known.pk}"
    for membership in Membership.objects.filter(
        go_live=known.go_live_id, user_id__in=users, is_active=True
    ).select_related("user"):
        outbox.notify(
            dedupe_key=f"known:{known.pk}:v{known.version}:user{membership.user_id}",
            channel=Notification.Channel.IN_APP,
            subject=subject[:200],
            body=body,
            user=membership.user,
            go_live=known.go_live,
            link=link,
        )
