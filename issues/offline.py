"""The floor pages offline: which pages a device keeps a copy of, the answers the device's queue of
issues reads, and clearing what the device keeps.

The service worker (issues/views/offline.py, static/js/sw.js) keeps the last copy of a page only
when the server marks the page with `KEEP_HEADER: keep`: the floor pages (`offline_copy`), never a
staff page. A response marked `forget` makes it drop every copy; the sign-out and a revoked tablet's
answers are marked so, and ask the browser to clear its HTTP cache too (`Clear-Site-Data`).

A queued issue is posted by static/js/outbox.js with `QUEUE_HEADER`: its answer is JSON, read by
the script, rather than a page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

KEEP_HEADER = "X-Golive-Offline"
QUEUE_HEADER = "X-Golive-Queue"
# The HTTP cache only: the device's queue of unsent issues lives in its storage and must survive a
# revoked tablet's answer, to be shown as refused rather than silently lost. Sign-out clears
# storage as well (golive/views/accounts.py).
CLEAR_CACHE = '"cache"'

View = Callable[..., HttpResponse]


def offline_copy(view: View) -> View:
    """A floor page the device keeps its last copy of, for when the network is down.

    Sets `request.offline_copy` to the floor pages the device should keep (base.html hands them to
    the service worker) and marks a full page's answer for keeping; an htmx part is never kept.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Listed when the page is drawn: a tablet's POST is checked only in the view.
        request.offline_copy = SimpleLazyObject(lambda: floor_pages(request))  # type: ignore[attr-defined]
        response = view(request, *args, **kwargs)
        if (
            request.method == "GET" and response.status_code == 200 and not request.htmx  # type: ignore[attr-defined]
        ):
            response[KEEP_HEADER] = "keep"
        return response

    return wrapper


def floor_pages(request: HttpRequest) -> list[str]:
    """The pages a floor device keeps: log an issue, its issues, known issues, who to call."""
    own = "issues:tablet_home" if getattr(request, "tablet", None) is not None else "issues:mine"
    return [reverse(name) for name in ("issues:new", own, "issues:known", "issues:call_now")]


def forget_copies(response: HttpResponse) -> HttpResponse:
    """Mark `response` so the device drops its copies of floor pages and its HTTP cache."""
    response[KEEP_HEADER] = "forget"
    response["Clear-Site-Data"] = CLEAR_CACHE
    return response


def is_queue_send(request: HttpRequest) -> bool:
    """Is this a queued issue sent by the device's outbox (answered in JSON)?"""
    return request.method == "POST" and request.headers.get(QUEUE_HEADER) == "1"


def queue_answer(status: int, message: str = "", **data: Any) -> JsonResponse:
    """An answer to the outbox: `message` is shown on the device, in words for the reporter."""
    return JsonResponse({"message": message, **data}, status=status)
