"""The records archive of a closed go-live (issues/archive.py): what it holds, and the download.
Command center leads only: it holds every issue, the roster and the directory."""

from __future__ import annotations

import tempfile

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from golive import audit
from golive.models import AuditEntry, Membership
from golive.permissions import LEADS, role_required
from issues.archive import (
    ArchiveRefused,
    archive_name,
    check_archivable,
    exporter_name,
    write_archive,
)

# Up to this much of the zip is built in memory; the rest of a large one goes to a temporary
# file, so a 100,000-issue go-live costs disk for a moment, not the web process's memory.
IN_MEMORY_BYTES = 16 * 1024 * 1024


@role_required(LEADS)
@require_GET
def archive(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    try:
        check_archivable(go_live)
        refusal = ""
    except ArchiveRefused as exc:
        refusal = str(exc)
    return render(request, "issues/archive.html", {"go_live": go_live, "refusal": refusal})


@role_required(LEADS)
@require_GET
def archive_download(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    built = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 (FileResponse closes it)
    try:
        write_archive(go_live, built, exported_by=exporter_name(request.user))
    except ArchiveRefused as exc:
        built.close()
        context = {"go_live": go_live, "refusal": str(exc)}
        return render(request, "issues/archive.html", context, status=409)
    built.seek(0)
    audit.record(
        action=AuditEntry.Action.EXPORT, request=request, go_live=go_live, detail="Records archive"
    )
    return FileResponse(built, as_attachment=True, filename=archive_name(go_live))


urlpatterns: list[URLPattern] = [
    path("archive/", archive, name="archive"),
    path("archive/download/", archive_download, name="archive_download"),
]
