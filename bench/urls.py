"""The app's URLs plus the two bare views every benchmark is compared with."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_POST

from golive.models import GoLive, Notification


def bare_select(request: HttpRequest) -> HttpResponse:
    """The ceiling of the stack for a read: one indexed SELECT by primary key."""
    go_live = GoLive.objects.only("name").get(pk=request.GET["pk"])
    return HttpResponse(go_live.name)


@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    """The ceiling for a write: a form POST (through the same middleware, CSRF check included)
    whose view does one INSERT."""
    Notification.objects.create(
        channel=Notification.Channel.EMAIL,
        subject="bench",
        recipient_address="bench@example.org",
        dedupe_key=f"bench:{request.POST['client_key']}",
    )
    return HttpResponse("ok")


urlpatterns = [
    path("bench/select/", bare_select),
    path("bench/insert/", bare_insert),
    path("", include("golive.urls")),
]
