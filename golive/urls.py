"""URL map. The core's pages live in the `golive` namespace; each later app adds its own."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from golive import api as core_api
from golive.views import (
    accounts,
    audit,
    directory,
    golives,
    health,
    home,
    notifications,
    tokens,
    webhooks,
)
from issues import api as issues_api
from issues.views import ack
from staffing import api as staffing_api

core_patterns = [
    *golives.urlpatterns,
    *directory.urlpatterns,
    *notifications.urlpatterns,
    *tokens.urlpatterns,
    *webhooks.urlpatterns,
    *audit.urlpatterns,
]

# The REST API, version 1: each app's api.py names its endpoints (see golive/api.py).
api_v1 = [*core_api.urlpatterns, *staffing_api.urlpatterns, *issues_api.urlpatterns]

urlpatterns = [
    *home.urlpatterns,
    *health.urlpatterns,
    # Short, for SMS: the acknowledge links of escalation messages.
    *ack.urlpatterns,
    # The apps before the core's unprefixed patterns, which no issues/ or staffing/ path matches:
    # an issue page (the floor's intake above all) is found without trying the core's patterns first.
    path("issues/", include("issues.urls")),
    path("staffing/", include("staffing.urls")),
    path("", include((core_patterns, "golive"))),
    # Before Django's own: signing out also clears the device (golive/views/accounts.py).
    *accounts.urlpatterns,
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Swagger UI with its start-up script served from a URL (?script) rather than written inline,
    # as the Content-Security-Policy asks.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api_schema", template_name="golive/api_docs.html"
        ),
        name="api_docs",
    ),
    re_path(r"^api/", core_api.not_found),
]
