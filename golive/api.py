"""The REST API's common ground (/api/v1/) and the core's own endpoints.

Every app's endpoints build on what is here:

- **Sign-in.** `Authorization: Bearer <token>` with a personal token (`ApiToken`): the API acts as
  the token's user, with that user's memberships and roles, so it opens exactly what the pages
  open. A signed-in browser session works too (the docs' "try it out"), with CSRF checked.
- **The go-live in the path.** `/api/v1/go-lives/<id>/…`: a go-live the user does not belong to is
  answered 404, as on the pages; a role the endpoint is not open to is answered 403.
- **Errors.** One body for every 4xx: `{"error": {"status", "code", "message", "fields"}}`.
- **Strict input.** A query parameter an endpoint does not know, a page size out of range or a
  field a body may not carry is a 400 that names it, never silently ignored.
- **Pages.** `?page=` and `?page_size=` (50 by default, at most 200), with `count`, `next` and
  `previous`.

The core's endpoints read the go-lives, sites, units, applications, tiers and the contact
directory; writes to them stay on the pages (they are set-up, done a few times per go-live).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from golive.models import (
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Site,
    Unit,
)
from golive.permissions import ALL_ROLES
from golive.rest import PAGE_PARAMS, whole_number


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How the schema describes golive.rest.BearerTokenAuthentication."""

    target_class = "golive.rest.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token from your “API tokens” page.",
        }


# --- Errors -----------------------------------------------------------------------------------


class Conflict(exceptions.APIException):
    """The request is well formed, but the object's state refuses it (taken, stale, closed)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object changed or its state does not allow this."
    default_code = "conflict"


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's handler, answering every error in one body: status, code, message, fields."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    response.data = error_body(response.status_code, exc.default_code, exc.detail)
    return response


def error_body(status_code: int, code: str, detail: Any) -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    if isinstance(detail, dict):
        for name, errors in detail.items():
            target = general if name in {"non_field_errors", "detail"} else None
            for message in _messages(errors):
                if target is None:
                    fields.setdefault(str(name), []).append(message)
                else:
                    target.append(message)
    else:
        general.extend(_messages(detail))
    if general:
        message = " ".join(general)
    elif fields:
        message = "Some fields are wrong: " + ", ".join(fields) + "."
    else:
        message = "The request was refused."
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields}}


def _messages(detail: Any, prefix: str = "") -> list[str]:
    """Flatten DRF's nested error details into plain sentences."""
    if isinstance(detail, dict):
        return [
            message
            for name, inner in detail.items()
            for message in _messages(inner, f"{prefix}{name}: ")
        ]
    if isinstance(detail, list | tuple):
        return [message for item in detail for message in _messages(item, prefix)]
    return [f"{prefix}{detail}"]


@csrf_exempt  # a POST to no endpoint is answered 404 as any other, not refused for its cookie
def not_found(request: HttpRequest) -> JsonResponse:
    """Any /api/ path no endpoint has: the API's error body, not an HTML page."""
    body = error_body(404, "not_found", "No endpoint has this path. The list is at /api/docs/.")
    return JsonResponse(body, status=404)


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer."""

    class Body(serializers.Serializer):
        status = serializers.IntegerField()
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))

    error = Body()


ERRORS = dict.fromkeys((400, 401, 403, 404), ErrorSerializer)


# --- Views ------------------------------------------------------------------------------------


class ApiView(generics.GenericAPIView):  # type: ignore[type-arg]
    """An endpoint: its accepted query parameters (`filters`) and the roles it opens to.

    The API uses DRF's class-based views rather than the house's function views: they are what
    the OpenAPI schema is generated from.
    """

    filters: ClassVar[frozenset[str]] = frozenset()
    roles: ClassVar[frozenset[str]] = ALL_ROLES

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Times go out in UTC (ISO 8601 with its offset) whoever asks; each go-live names its zone.
        timezone.activate(dt.UTC)
        super().initial(request, *args, **kwargs)
        self.check_query(request)

    def check_query(self, request: Request) -> None:
        listing = isinstance(self, mixins.ListModelMixin) and self.paginator is not None
        allowed = self.filters | (PAGE_PARAMS if listing else frozenset())
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            offer = ", ".join(sorted(allowed)) or "none"
            raise exceptions.ValidationError(
                {
                    name: [f"Not a parameter of this endpoint (it takes: {offer})."]
                    for name in unknown
                }
            )


class GoLiveView(ApiView):
    """An endpoint under /go-lives/<go_live>/: the member's membership is `self.membership`."""

    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Sign-in first (401), then membership (404) and role (403), then the query (400).
        timezone.activate(dt.UTC)
        super(ApiView, self).initial(request, *args, **kwargs)
        self.membership = api_membership(request, kwargs["go_live"], self.roles)
        self.check_query(request)

    @property
    def go_live(self) -> GoLive:
        return self.membership.go_live


def api_membership(request: Request, go_live_id: int, roles: frozenset[str]) -> Membership:
    """The user's active membership of the go-live: 404 for a non-member, 403 for another role."""
    membership = (
        Membership.objects.select_related("go_live", "user")
        .filter(user_id=request.user.pk, go_live_id=go_live_id, is_active=True)
        .first()
    )
    if membership is None:
        raise exceptions.NotFound("No such go-live, or you are not a member of it.")
    if membership.role not in roles:
        raise exceptions.PermissionDenied(
            f"Your role in this go-live ({membership.get_role_display()}) does not open this."
        )
    return membership


def id_filter(request: Request, name: str) -> int | None:
    """A filter that is an id: None when absent, a 400 when it is not a whole number."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    number = whole_number(raw)
    if number is None:
        raise exceptions.ValidationError({name: ["Give an id: a whole number."]})
    return number


def text_filter(request: Request, name: str) -> str:
    """A search's words: at most 200 characters, none of them NUL (PostgreSQL refuses it)."""
    text = (request.query_params.get(name) or "").strip()
    if len(text) > 200:
        raise exceptions.ValidationError({name: ["Search for at most 200 characters."]})
    if "\x00" in text:
        raise exceptions.ValidationError({name: ["Leave out the null character."]})
    return text


def bool_filter(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise exceptions.ValidationError({name: ["Give true or false."]})


def id_param(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, description=description)


def bool_param(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.BOOL, description=description)


# --- Serializers of the core's rows ------------------------------------------------------------


class PlaceSerializer(serializers.Serializer):
    """A related row named in another: its id and name."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class GoLiveSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    role = serializers.SerializerMethodField(help_text="Your role in this go-live.")

    class Meta:
        model = GoLive
        fields = [
            "id",
            "name",
            "organization",
            "cutover_at",
            "support_ends_at",
            "time_zone",
            "phase",
            "command_center_phone",
            "command_center_location",
            "role",
        ]

    def get_role(self, go_live: GoLive) -> str:
        return self.context["roles"][go_live.pk]


class SiteSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Site
        fields = [
            "id",
            "name",
            "code",
            "kind",
            "address_line",
            "city",
            "region",
            "postal_code",
            "phone",
        ]


class UnitSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Unit
        fields = ["id", "site", "name", "kind", "end_user_count", "phone", "is_active"]


class ApplicationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Application
        fields = ["id", "name"]


class TierSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = EscalationTier
        fields = ["id", "level", "name", "description", "is_leadership"]


class ContactSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    units = serializers.SerializerMethodField(help_text="Unit ids; empty when it covers all.")
    applications = serializers.SerializerMethodField(
        help_text="Application ids; empty when it covers all."
    )
    available_now = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "tier",
            "name",
            "kind",
            "title",
            "phone",
            "pager",
            "sms_number",
            "email",
            "employer",
            "vendor_name",
            "all_units",
            "units",
            "all_applications",
            "applications",
            "hours",
            "window_start",
            "window_end",
            "notes",
            "is_active",
            "available_now",
        ]

    def get_units(self, contact: Contact) -> list[int]:
        return [unit.pk for unit in contact.units.all()]

    def get_applications(self, contact: Contact) -> list[int]:
        return [application.pk for application in contact.applications.all()]

    def get_available_now(self, contact: Contact) -> bool:
        return contact.is_available_at(self.context["now"])


# --- Endpoints ----------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="Your go-lives", responses={200: GoLiveSerializer, **ERRORS})
)
class GoLiveList(ApiView, generics.ListAPIView):  # type: ignore[type-arg]
    """The go-lives you are an active member of, newest cutover first, with your role in each."""

    serializer_class = GoLiveSerializer

    def get_queryset(self) -> QuerySet[GoLive]:
        return GoLive.objects.filter(
            memberships__user_id=self.request.user.pk, memberships__is_active=True
        ).order_by("-cutover_at", "name", "pk")

    def get_serializer_context(self) -> dict[str, Any]:
        roles = dict(
            Membership.objects.filter(user_id=self.request.user.pk, is_active=True).values_list(
                "go_live_id", "role"
            )
        )
        return super().get_serializer_context() | {"roles": roles}


@extend_schema(summary="A go-live", responses={200: GoLiveSerializer, **ERRORS})
class GoLiveDetail(GoLiveView):
    serializer_class = GoLiveSerializer

    def get(self, request: Request, go_live: int) -> Response:
        context = {"roles": {self.go_live.pk: self.membership.role}}
        return Response(GoLiveSerializer(self.go_live, context=context).data)


@extend_schema_view(get=extend_schema(summary="Sites", responses={200: SiteSerializer, **ERRORS}))
class SiteList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = SiteSerializer

    def get_queryset(self) -> QuerySet[Site]:
        return Site.objects.filter(go_live_id=self.go_live.pk).order_by("name", "pk")


@extend_schema_view(get=extend_schema(summary="A site", responses={200: SiteSerializer, **ERRORS}))
class SiteDetail(GoLiveView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    serializer_class = SiteSerializer

    def get_queryset(self) -> QuerySet[Site]:
        return Site.objects.filter(go_live_id=self.go_live.pk)


@extend_schema_view(
    get=extend_schema(
        summary="Units",
        parameters=[
            id_param("site", "Only this site's units."),
            bool_param("active", "Only open (true) or closed (false) units."),
        ],
        responses={200: UnitSerializer, **ERRORS},
    )
)
class UnitList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = UnitSerializer
    filters = frozenset({"site", "active"})

    def get_queryset(self) -> QuerySet[Unit]:
        units = Unit.objects.filter(site__go_live_id=self.go_live.pk)
        site = id_filter(self.request, "site")
        if site is not None:
            units = units.filter(site_id=site)
        active = bool_filter(self.request, "active")
        if active is not None:
            units = units.filter(is_active=active)
        return units.order_by("site__name", "name", "pk")


@extend_schema_view(get=extend_schema(summary="A unit", responses={200: UnitSerializer, **ERRORS}))
class UnitDetail(GoLiveView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    serializer_class = UnitSerializer

    def get_queryset(self) -> QuerySet[Unit]:
        return Unit.objects.filter(site__go_live_id=self.go_live.pk)


@extend_schema_view(
    get=extend_schema(summary="Applications", responses={200: ApplicationSerializer, **ERRORS})
)
class ApplicationList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = ApplicationSerializer

    def get_queryset(self) -> QuerySet[Application]:
        return Application.objects.filter(go_live_id=self.go_live.pk).order_by("name", "pk")


@extend_schema_view(
    get=extend_schema(summary="Escalation tiers", responses={200: TierSerializer, **ERRORS})
)
class TierList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = TierSerializer

    def get_queryset(self) -> QuerySet[EscalationTier]:
        return EscalationTier.objects.filter(go_live_id=self.go_live.pk).order_by("level", "pk")


CONTACT_FILTERS = [
    id_param("tier", "Only this tier's contacts."),
    id_param("unit", "Only contacts covering this unit."),
    id_param("application", "Only contacts covering this application."),
    bool_param("available_now", "Only contacts whose hours cover now."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Name, title or vendor contains."),
]


@extend_schema_view(
    get=extend_schema(
        summary="The escalation directory",
        parameters=CONTACT_FILTERS,
        responses={200: ContactSerializer, **ERRORS},
    )
)
class ContactList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    """Active contacts, by tier and name. `available_now` is worked out for the page's rows."""

    serializer_class = ContactSerializer
    filters = frozenset({"tier", "unit", "application", "available_now", "q"})

    def get_queryset(self) -> QuerySet[Contact]:
        contacts = (
            Contact.objects.filter(go_live_id=self.go_live.pk, is_active=True)
            .select_related("go_live")
            .prefetch_related("units", "applications")
            .order_by("tier__level", "name", "pk")
        )
        tier = id_filter(self.request, "tier")
        if tier is not None:
            contacts = contacts.filter(tier_id=tier)
        unit, application = id_filter(self.request, "unit"), id_filter(self.request, "application")
        if unit is not None or application is not None:
            contacts = contacts.covering(
                unit=_own(Unit.objects.filter(site__go_live_id=self.go_live.pk), unit, "unit"),
                application=_own(
                    Application.objects.filter(go_live_id=self.go_live.pk),
                    application,
                    "application",
                ),
            )
        query = text_filter(self.request, "q")
        if query:
            contacts = contacts.filter(
                Q(name__icontains=query)
                | Q(title__icontains=query)
                | Q(vendor_name__icontains=query)
            )
        if bool_filter(self.request, "available_now") is not None:
            # Hours are checked in Python (a window may run past midnight in the go-live's zone).
            wanted = bool_filter(self.request, "available_now")
            now = timezone.now()
            ids = [c.pk for c in contacts if c.is_available_at(now) == wanted]
            contacts = contacts.filter(pk__in=ids)
        return contacts

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"now": timezone.now()}


def _own(rows: QuerySet[Any], pk: int | None, name: str) -> Any:
    """The go-live's row with this id, None for no id; a 400 naming the filter for another's."""
    if pk is None:
        return None
    row = rows.filter(pk=pk).first()
    if row is None:
        raise exceptions.ValidationError({name: [f"No {name} of this go-live has id {pk}."]})
    return row


@extend_schema_view(
    get=extend_schema(summary="A contact", responses={200: ContactSerializer, **ERRORS})
)
class ContactDetail(GoLiveView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    serializer_class = ContactSerializer

    def get_queryset(self) -> QuerySet[Contact]:
        return (
            Contact.objects.filter(go_live_id=self.go_live.pk)
            .select_related("go_live")
            .prefetch_related("units", "applications")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"now": timezone.now()}


def go_live_paths(routes: Iterable[tuple[str, Any, str]]) -> list[URLPattern]:
    """Routes under /go-lives/<go_live>/ (an app's `api.py` names its own)."""
    return [
        path(f"go-lives/<int:go_live>/{route}", view.as_view(), name=name)
        for route, view, name in routes
    ]


urlpatterns: list[URLPattern] = [
    path("go-lives/", GoLiveList.as_view(), name="go_lives"),
    path("go-lives/<int:go_live>/", GoLiveDetail.as_view(), name="go_live"),
    *go_live_paths(
        [
            ("sites/", SiteList, "sites"),
            ("sites/<int:pk>/", SiteDetail, "site"),
            ("units/", UnitList, "units"),
            ("units/<int:pk>/", UnitDetail, "unit"),
            ("applications/", ApplicationList, "applications"),
            ("tiers/", TierList, "tiers"),
            ("contacts/", ContactList, "contacts"),
            ("contacts/<int:pk>/", ContactDetail, "contact"),
        ]
    ),
]
