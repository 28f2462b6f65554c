"""Webhooks: the command center leads' pages for the URLs told of the go-live's events.

Only leads open them (others get 403, non-members 404): the secret shown here lets anyone who
reads it forge deliveries to the receiver.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from golive import webhooks
from golive.forms import WebhookEndpointForm
from golive.lib.users import display_name
from golive.models import Membership, WebhookDelivery, WebhookEndpoint, WebhookEvent
from golive.permissions import LEADS
from golive.views.golives import go_live_membership, go_live_page, posted, save_or_show

DELIVERIES_PER_PAGE = 50
_EVENT_LABELS = dict(WebhookEvent.choices)


def _get_endpoint_for(request: HttpRequest, pk: int) -> tuple[WebhookEndpoint, Membership]:
    endpoint = get_object_or_404(WebhookEndpoint.objects.select_related("created_by"), pk=pk)
    membership = go_live_membership(request, endpoint.go_live_id, LEADS)
    endpoint.go_live = membership.go_live
    return endpoint, membership


def _event_labels(endpoint: WebhookEndpoint) -> list[str]:
    return [_EVENT_LABELS.get(event, event) for event in endpoint.events]


@login_required
def endpoint_list(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by(
        "-attempted_at", "-pk"
    )
    # The last attempt of each endpoint read in the same query (through the log's index).
    endpoints = list(
        WebhookEndpoint.objects.filter(go_live_id=pk).annotate(
            last_attempted_at=Subquery(latest.values("attempted_at")[:1]),
            last_status_code=Subquery(latest.values("status_code")[:1]),
            last_error=Subquery(latest.values("error")[:1]),
        )
    )
    for endpoint in endpoints:
        endpoint.event_labels = _event_labels(endpoint)  # type: ignore[attr-defined]
    context = go_live_page(membership, "golive:webhooks", endpoints=endpoints)
    return render(request, "golive/webhooks.html", context)


@login_required
def endpoint_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    form = WebhookEndpointForm(
        posted(request),
        instance=WebhookEndpoint(go_live=membership.go_live, created_by=request.user),
        initial={"events": list(WebhookEvent.values)},
    )
    return save_or_show(
        request,
        membership,
        form,
        done=lambda endpoint: (
            "The endpoint is added. Give its secret to the receiver's owner so it can check "
            "each delivery's signature.",
            reverse("golive:webhook_deliveries", args=[endpoint.pk]),
        ),
        title="New webhook endpoint",
        submit_label="Add endpoint",
        cancel_url=reverse("golive:webhooks", args=[pk]),
        intro="golive POSTs a signed JSON message to this URL when a chosen event happens.",
    )


@login_required
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint, membership = _get_endpoint_for(request, pk)
    form = WebhookEndpointForm(posted(request), instance=endpoint)
    return save_or_show(
        request,
        membership,
        form,
        done=lambda saved: (
            f"{saved} is saved.",
            reverse("golive:webhook_deliveries", args=[saved.pk]),
        ),
        title="Edit webhook endpoint",
        submit_label="Save endpoint",
        cancel_url=reverse("golive:webhook_deliveries", args=[endpoint.pk]),
        intro="Events already waiting go to the URL saved here.",
    )


@login_required
def endpoint_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint, membership = _get_endpoint_for(request, pk)
    deliveries = endpoint.deliveries.order_by("-attempted_at", "-pk")
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = go_live_page(
        membership,
        "golive:webhooks",
        endpoint=endpoint,
        event_labels=_event_labels(endpoint),
        created_by=display_name(endpoint.created_by) if endpoint.created_by_id else "",
        page=page,
    )
    return render(request, "golive/webhook_deliveries.html", context)


@require_POST
@login_required
def endpoint_disable(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint, _ = _get_endpoint_for(request, pk)
    reason = f"Disabled by {display_name(request.user)}."
    if webhooks.disable_endpoint(endpoint=endpoint, reason=reason):
        messages.success(
            request, f"{endpoint} is disabled: nothing more is sent to it until it is enabled."
        )
    else:
        messages.info(request, f"{endpoint} was disabled already.")
    return redirect("golive:webhook_deliveries", endpoint.pk)


@require_POST
@login_required
def endpoint_enable(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint, _ = _get_endpoint_for(request, pk)
    if webhooks.enable_endpoint(endpoint=endpoint):
        messages.success(
            request,
            f"{endpoint} is enabled: events from now on are sent to it. "
            "Deliveries stopped while it was disabled are not sent.",
        )
    else:
        messages.info(request, f"{endpoint} was active already.")
    return redirect("golive:webhook_deliveries", endpoint.pk)


@require_POST
@login_required
def endpoint_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint, _ = _get_endpoint_for(request, pk)
    webhooks.rotate_secret(endpoint=endpoint)
    messages.success(
        request,
        "The endpoint has a new secret, used from the next delivery on. Give it to the "
        "receiver's owner now: deliveries signed with it fail its check until they have it.",
    )
    return redirect("golive:webhook_deliveries", endpoint.pk)


urlpatterns: list[URLPattern] = [
    path("go-lives/<int:pk>/webhooks/", endpoint_list, name="webhooks"),
    path("go-lives/<int:pk>/webhooks/new/", endpoint_create, name="webhook_create"),
    path("webhooks/<int:pk>/", endpoint_deliveries, name="webhook_deliveries"),
    path("webhooks/<int:pk>/edit/", endpoint_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/disable/", endpoint_disable, name="webhook_disable"),
    path("webhooks/<int:pk>/enable/", endpoint_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/rotate-secret/", endpoint_rotate_secret, name="webhook_rotate_secret"),
]
