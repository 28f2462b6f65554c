"""Signing out clears what the device kept: a shared tablet or workstation keeps nothing of the
person who used it (their copies of the floor pages, their queue of unsent issues)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

# Cache and storage (the service worker's copies, IndexedDB); not cookies: a unit tablet's
# enrollment cookie outlives the sign-in of whoever used it.
CLEAR_DEVICE = '"cache", "storage"'


class SignOutView(LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_DEVICE
        return response


urlpatterns: list[URLPattern] = [
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
]
