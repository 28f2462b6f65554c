"""Attach the user's memberships and the current go-live to every request; keep sessions alive
while people work; answer 503 while the database cannot be reached."""

import logging
import sys
from collections.abc import Callable

from django.contrib.sessions.middleware import SessionMiddleware
from django.core.signals import got_request_exception
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from golive.api import error_body
from golive.permissions import SESSION_KEY, active_memberships, choose_membership

logger = logging.getLogger(__name__)

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


# --- The database unavailable (restarting, failing over, unreachable) -------------------------

# Seconds a client is asked to wait before sending again: a PostgreSQL restart takes a few.
RETRY_AFTER_SECONDS = 5
# The server is gone, going or not there yet: a connection exception (class 08), shutting down,
# crashed, starting up (57P01-03), or no connection slot free (53300). Other operational errors
# (a statement or lock timeout, a deadlock, a full disk) stay 500s: they need looking into.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database cannot be reached now, rather than that a query is wrong.

    psycopg 3 reports a lost or refused connection as an OperationalError (its own is the cause),
    without a SQLSTATE when the connection itself failed; its InterfaceError means misuse (a
    closed cursor), a bug like any other.
    """
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def _mark_unavailable(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """Receiver of `got_request_exception`, sent while Django handles the error (so it is the
    exception being handled): remember an outage for DatabaseUnavailableMiddleware."""
    if request is not None and database_unavailable(sys.exception()):
        request.database_unavailable = True  # type: ignore[attr-defined]


class DatabaseUnavailableMiddleware:
    """Answers a request that failed because the database cannot be reached with a short 503 and
    `Retry-After` (JSON in the API's error shape under /api/), instead of the 500 page.

    Tablets and integrations then send the same request again, with the same client key or
    Idempotency-Key, so nothing is lost or logged twice. Any other error stays a 500.

    A view's error comes to `process_exception`. One raised by another middleware (loading the
    session, the user's memberships) has already been turned into the 500 response by Django by
    the time it gets here; the `got_request_exception` receiver marks the request then, and the
    500 is replaced on its way out. So this sits near the top of MIDDLEWARE, inside only
    SecurityMiddleware (whose headers the 503 keeps) and WhiteNoise (which needs no database).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_mark_unavailable, dispatch_uid="golive.database_unavailable")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "database_unavailable", False):
            # Django has logged the error with its traceback already.
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        logger.warning(
            "Database unavailable, answered 503 to %s %s: %s",
            request.method,
            request.path,
            exception,
        )
        return unavailable_response(request)


_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Back in a moment · golive</title>
</head>
<body>
  <h1>golive is back in a moment</h1>
  <p>It cannot reach its database right now. Reload this page in a few seconds to try again:
  a form you sent is sent again as it was.</p>
</body>
</html>
"""


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            error_body(
                503,
                "service_unavailable",
                "The database cannot be reached right now. Send the request again in a few "
                "seconds (a POST with the same Idempotency-Key logs nothing twice).",
            ),
            status=503,
        )
    else:
        response = HttpResponse(_UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response
