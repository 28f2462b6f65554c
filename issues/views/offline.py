"""What makes the floor pages installable and usable offline: the web app manifest, the service
worker's script (static/js/sw.js, with the files it keeps) and the page shown for a page that is
not kept on the device.

All three are open to anyone: none holds data of a go-live or a person. They are served from
/issues/ so the service worker's scope is the issue pages; it keeps copies of the floor pages only
(see issues/offline.py).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import etag, require_GET

from issues.offline import KEEP_HEADER

# The files the floor pages load, kept by the service worker when it is installed so the pages it
# keeps open offline with their styles and scripts. Any other static file it fetches is kept too.
FLOOR_FILES = [
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
    "django_htmx/htmx-2.min.js",
    "css/golive.css",
    "css/intake.css",
    "css/known.css",
    "js/golive.js",
    "js/intake.js",
    "js/outbox.js",
    "img/favicon.svg",
    "img/icon-192.png",
]

SW_SOURCE = Path(settings.BASE_DIR) / "static" / "js" / "sw.js"


@cache
def _worker_script() -> tuple[str, str]:
    """sw.js with its settings written in front, and its version. The static files' names carry
    their content's hash in production, so a new release changes this text and browsers install
    the new worker."""
    config = {
        "files": [static(name) for name in FLOOR_FILES],
        "offlinePage": reverse("issues:offline"),
        "staticUrl": settings.STATIC_URL,
        "keepHeader": KEEP_HEADER,
    }
    source = SW_SOURCE.read_text()
    version = hashlib.sha256((json.dumps(config) + source).encode()).hexdigest()[:12]
    return version, f"const GOLIVE = {json.dumps({**config, 'version': version})};\n{source}"


# Browsers ask for the worker again on each visit of a floor page: unchanged, it is a 304.
@require_GET
@cache_control(no_cache=True)
@etag(lambda request: _worker_script()[0])
def service_worker(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_worker_script()[1], content_type="text/javascript; charset=utf-8")


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    """Lets a unit tablet install golive as an app that opens on the intake form, full screen."""
    data = {
        "name": "golive",
        "short_name": "golive",
        "description": "Log an issue, see known issues and who to call, even with no network.",
        "id": reverse("issues:new"),
        "start_url": reverse("issues:new"),
        # The service worker's folder: the issue pages.
        "scope": reverse("issues:service_worker").rsplit("/", 1)[0] + "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#212529",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


@require_GET
def offline_page(request: HttpRequest) -> HttpResponse:
    """Shown by the service worker, offline, in place of a page the device does not keep."""
    return render(request, "issues/offline.html")


urlpatterns: list[URLPattern] = [
    path("sw.js", service_worker, name="service_worker"),
    path("manifest.webmanifest", manifest, name="manifest"),
    path("offline/", offline_page, name="offline"),
]
