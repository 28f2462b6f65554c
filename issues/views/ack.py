"""The page behind an escalation message's acknowledge link (`/a/<token>/`, issues/acks.py).

Opening it changes nothing (mail scanners follow links): it shows the issue the message was
about and how to acknowledge it: one button for someone signed in who may, the SMS's one-time
code for anyone else holding an SMS, a way to sign in for an email. The POST acknowledges
through `services.acknowledge_from_message`. A link golive did not sign, of an issue gone, used
or expired, gets a page that says which, with a status to match.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from golive.lib.users import signed_in
from issues import acks, services
from issues.access import client_address
from issues.forms_escalation import AckCodeForm
from issues.models import EscalationStep
from issues.services import AckRefused


def _page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, "issues/ack.html", context, status=status)


def _refused(request: HttpRequest, context: dict[str, Any], refused: AckRefused) -> HttpResponse:
    # A wrong code (400) or someone who may not (403) can try again; used, expired, locked or
    # closed cannot.
    usable = refused.status in {400, 403}
    return _page(
        request, context | {"error": str(refused), "usable": usable}, status=refused.status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    message = acks.read(token)
    if message is None:
        return _page(
            request,
            {
                "error": "This link is not one golive made: it may have been cut short or "
                "changed when it was copied. Open it from the message again, or open the issue "
                "in golive."
            },
            status=400,
        )
    link = services.ack_link(message)
    if link is None:
        return _page(
            request,
            {"error": "The issue of this link no longer exists."},
            status=404,
        )
    issue = link.issue
    # Times on the page are the go-live's, whoever opens it.
    timezone.activate(issue.go_live.tzinfo)
    user = signed_in(request.user)
    may = user is not None and services.may_acknowledge(link, user)
    sms = message.channel == EscalationStep.Channel.SMS
    form = AckCodeForm(request.POST if request.method == "POST" and not may else None)
    # `usable`: the page offers to acknowledge (again, after a wrong code).
    context: dict[str, Any] = {
        "link": link,
        "issue": issue,
        "may": may,
        "sms": sms,
        "form": form,
        "usable": True,
    }
    if request.method == "GET":
        try:
            services.check_ack_usable(link, timezone.now())
        except AckRefused as refused:
            return _refused(request, context, refused)
        if not issue.is_open:
            context["usable"] = False
            context["error"] = f"{issue.code} is {issue.get_status_display().lower()} already."
        return _page(request, context)
    code = ""
    if not may and sms:
        if not form.is_valid():
            return _page(request, context, status=400)
        code = form.cleaned_data["code"]
    try:
        answer = services.acknowledge_from_message(
            link=link, user=user, code=code, address=client_address(request)
        )
    except AckRefused as refused:
        return _refused(request, context, refused)
    return _page(request, context | {"done": answer, "usable": False})


urlpatterns: list[URLPattern] = [
    path("a/<str:token>/", acknowledge, name="ack"),
]
