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
    # The apps before the core's unprefixed patterns, which no issues/ or staffing/ path matches:
    # an issue page (the floor's intake above all) is found without trying the core's 22 first.
    path("issues/", include("issues.urls")),
    path("staffing/", include("staffing.urls")),
    path("", include((core_patterns, "golive"))),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
