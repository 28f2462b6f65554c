"""Attach the user's memberships and the current go-live to every request."""

from collections.abc import Callable

from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from golive.permissions import SESSION_KEY, active_memberships, choose_membership

BACKGROUND_REFRESH_HEADER = "X-Background-Refresh"


class CurrentGoLiveMiddleware:
    """Sets `request.memberships` (all active ones) and `request.membership` (the current one),
    and activates the current go-live's time zone for the request.

    One query per signed-in request; the current go-live is kept in the session and falls back to
    the newest go-live the user belongs to when the session names one they have left.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        memberships = active_memberships(request.user)
        membership = None
        if memberships:
            membership = choose_membership(memberships, request.session.get(SESSION_KEY))
            if membership is not None and request.session.get(SESSION_KEY) != membership.go_live_id:
                request.session[SESSION_KEY] = membership.go_live_id
        request.memberships = memberships  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        # Times are stored in UTC and shown in the current go-live's zone on every page.
        if membership is not None:
            timezone.activate(membership.go_live.tzinfo)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware with an idle timeout: the user's requests renew the session, at
    most once every `RENEW_EVERY` seconds (renewing writes the session row, and an agent working
    the queue would otherwise write it on every page), so it ends SESSION_COOKIE_AGE after the last
    request, give or take that much.

    A page refreshing itself does not count as activity: a queue or board left open on a shared
    workstation still signs out after the idle timeout. Self-refreshing elements send the header
    `X-Background-Refresh: 1`; such a request renews nothing unless it changed the session itself.
    """

    RENEW_EVERY = 60
    RENEWED_KEY = "_renewed_at"

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = request.session
        if request.headers.get(BACKGROUND_REFRESH_HEADER):
            if not session.modified:
                if session.accessed:
                    patch_vary_headers(response, ("Cookie",))
                return response
        elif not session.is_empty():
            now = int(timezone.now().timestamp())
            # A session saved anyway (changed by the view) is renewed by that save.
            if session.modified or now - session.get(self.RENEWED_KEY, 0) >= self.RENEW_EVERY:
                session[self.RENEWED_KEY] = now  # saved, and the cookie set again, below
        return super().process_response(request, response)


def renewed_at_sign_in(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """Signing in saves the session, which renews it (receiver of `user_logged_in`)."""
    request.session[IdleSessionMiddleware.RENEWED_KEY] = int(timezone.now().timestamp())
