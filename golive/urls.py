"""URL map. The core's pages live in the `golive` namespace; each later app adds its own."""

from django.contrib import admin
from django.urls import include, path

from golive.views import directory, golives, health, home, notifications
from issues.views import ack

core_patterns = [
    *golives.urlpatterns,
    *directory.urlpatterns,
    *notifications.urlpatterns,
]

urlpatterns = [
    *home.urlpatterns,
    *health.urlpatterns,
    # Short, for SMS: the acknowledge links of escalation messages.
    *ack.urlpatterns,
    path("", include((core_patterns, "golive"))),
    path("staffing/", include("staffing.urls")),
    path("issues/", include("issues.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
