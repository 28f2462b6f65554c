"""URLs of the issues app (namespace `issues`), gathered from one module per area."""

from issues.views import (
    archive,
    call,
    dashboard,
    detail,
    escalation,
    intake,
    known,
    mine,
    offline,
    queue,
    setup,
    tablets,
)

app_name = "issues"

urlpatterns = [
    *intake.urlpatterns,
    *offline.urlpatterns,
    *tablets.urlpatterns,
    *mine.urlpatterns,
    *queue.urlpatterns,
    *detail.urlpatterns,
    *known.urlpatterns,
    *call.urlpatterns,
    *setup.urlpatterns,
    *escalation.urlpatterns,
    *dashboard.urlpatterns,
    *archive.urlpatterns,
]
