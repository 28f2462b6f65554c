"""The in-app inbox: each user's own in-app notifications of the current go-live."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from golive.models import Notification
from golive.permissions import ALL_ROLES, role_required
from golive.views.golives import posted_next

PAGE_SIZE = 50


def _inbox(request: HttpRequest) -> QuerySet[Notification]:
    """The request user's in-app notifications of the current go-live, and those of no go-live."""
    go_live_id = request.membership.go_live_id  # type: ignore[attr-defined]
    return Notification.objects.in_app_for(request.user).filter(
        Q(go_live_id=go_live_id) | Q(go_live__isnull=True)
    )


def _get_notification_for_user(request: HttpRequest, pk: int) -> Notification:
    """Someone else's notification is answered as missing, so ids do not leak."""
    return get_object_or_404(_inbox(request), pk=pk)


def _open_url(link: str) -> str:
    """The link only when it is a path inside golive: never another site or a script URL."""
    if link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return link
    return ""


def _for_display(notification: Notification) -> Notification:
    notification.open_url = _open_url(notification.link)  # type: ignore[attr-defined]
    return notification


def _next_url(request: HttpRequest) -> str:
    """The inbox page the form was posted from, else the first page."""
    return posted_next(request, reverse("golive:notifications"))


@role_required(ALL_ROLES)
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = _inbox(request).order_by("-created_at", "-pk")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    for notification in page:
        _for_display(notification)
    unread_count = _inbox(request).filter(read_at__isnull=True).count()
    return render(
        request,
        "golive/notifications.html",
        {"page": page, "unread_count": unread_count, "next_url": request.get_full_path()},
    )


@require_POST
@role_required(ALL_ROLES)
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _get_notification_for_user(request, pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if request.htmx:  # type: ignore[attr-defined]
        # The row in place, and the unread count in the heading swapped out of band.
        context = {
            "notification": _for_display(notification),
            "next_url": _next_url(request),
            "unread_count": _inbox(request).filter(read_at__isnull=True).count(),
            "swap_oob": True,
        }
        return HttpResponse(
            render_to_string("golive/notification_row.html", context, request)
            + render_to_string("golive/notification_unread_count.html", context, request)
        )
    return redirect(_next_url(request))


@require_POST
@role_required(ALL_ROLES)
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = _inbox(request).filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(
        request,
        f"Marked {marked} notification{'' if marked == 1 else 's'} as read."
        if marked
        else "Nothing new: every notification was already read.",
    )
    return redirect(_next_url(request))


urlpatterns: list[URLPattern] = [
    path("notifications/", notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", notification_read, name="notification_read"),
    path("notifications/read-all/", notifications_read_all, name="notifications_read_all"),
]
