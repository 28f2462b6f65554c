"""The staffing part of the REST API (see golive/api.py for sign-in, errors and pages): the
roster's people, shifts, assignments, and who is on shift now.

Who may read what follows the pages: the roster is open to managers and the help desk; shifts and
assignments to the same roles, a clinic manager seeing only the units she manages (as on the
coverage grid); who is on now to every member. Planning (creating shifts, assigning people)
stays on the pages, where its rules and warnings are shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import URLPattern
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from golive.api import (
    ERRORS,
    GoLiveView,
    PlaceSerializer,
    bool_filter,
    bool_param,
    go_live_paths,
    id_filter,
    id_param,
    text_filter,
)
from golive.models import Application, Role, Unit
from golive.permissions import ALL_ROLES, MANAGERS, managed_units
from staffing.models import ACTIVE_STATUSES, Assignment, Shift, SupportPerson, SupportRole
from staffing.whos_on import OnShift, on_shift

# The roster's and the grid's readers.
READERS = MANAGERS | {Role.HELP_DESK_AGENT}


def time_filter(request: Request, name: str) -> dt.datetime | None:
    """An instant filter in ISO 8601 with its offset (e.g. 2026-11-02T07:00:00-06:00)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_datetime(raw)
        if value is not None and value.tzinfo is not None:
            # In UTC: PostgreSQL takes offsets up to 15:59 only; Python's reach 23:59.
            return value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        pass
    raise exceptions.ValidationError(
        {name: ["Give a date and time in ISO 8601 with its offset, e.g. 2026-11-02T07:00Z."]}
    )


def time_param(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.DATETIME, description=description)


def role_filter(request: Request) -> str | None:
    raw = request.query_params.get("role")
    if raw is None or raw == "":
        return None
    if raw not in SupportRole.values:
        raise exceptions.ValidationError(
            {
                "role": [
                    f"“{raw}” is not a support role. Use one of: {', '.join(SupportRole.values)}."
                ]
            }
        )
    return raw


ROLE_PARAM = OpenApiParameter("role", OpenApiTypes.STR, enum=SupportRole.values)


def planned_units(view: GoLiveView) -> QuerySet[Unit]:
    """Units whose shifts the member may read: a clinic manager's own, everyone else's all."""
    if view.membership.role == Role.CLINIC_MANAGER:
        return managed_units(view.membership)
    return Unit.objects.filter(site__go_live_id=view.go_live.pk)


# --- People -----------------------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    skills = serializers.SerializerMethodField(help_text="Ids of the applications they know.")

    class Meta:
        model = SupportPerson
        fields = [
            "id",
            "name",
            "role",
            "employer",
            "vendor_name",
            "home_site",
            "home_unit",
            "phone",
            "sms_number",
            "email",
            "skills",
            "max_hours_per_shift",
            "max_hours_per_day",
            "max_hours_per_week",
            "is_active",
            "notes",
        ]

    def get_skills(self, person: SupportPerson) -> list[int]:
        return [application.pk for application in person.skills.all()]


PERSON_FILTERS = [
    ROLE_PARAM,
    id_param("site", "Only people whose home is this site."),
    id_param("unit", "Only people whose home is this unit."),
    bool_param("active", "Only active (true) or inactive (false) people."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Name or email contains."),
]


class PersonView(GoLiveView):
    serializer_class = PersonSerializer
    roles = READERS

    def get_queryset(self) -> QuerySet[SupportPerson]:
        return SupportPerson.objects.filter(go_live_id=self.go_live.pk).prefetch_related(
            Prefetch("skills", queryset=Application.objects.only("pk"))
        )


@extend_schema_view(
    get=extend_schema(
        summary="The roster", parameters=PERSON_FILTERS, responses={200: PersonSerializer, **ERRORS}
    )
)
class PersonList(PersonView, generics.ListAPIView):  # type: ignore[type-arg]
    filters = frozenset({"role", "site", "unit", "active", "q"})

    def get_queryset(self) -> QuerySet[SupportPerson]:
        people = super().get_queryset()
        role = role_filter(self.request)
        if role is not None:
            people = people.filter(role=role)
        for name in ("site", "unit"):
            pk = id_filter(self.request, name)
            if pk is not None:
                people = people.filter(**{f"home_{name}_id": pk})
        active = bool_filter(self.request, "active")
        if active is not None:
            people = people.filter(is_active=active)
        query = text_filter(self.request, "q")
        if query:
            people = people.filter(Q(name__icontains=query) | Q(email__icontains=query))
        return people.order_by("name", "pk")


@extend_schema_view(
    get=extend_schema(summary="A person", responses={200: PersonSerializer, **ERRORS})
)
class PersonDetail(PersonView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    pass


# --- Shifts and assignments ----------------------------------------------------------------------


class ShiftSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    site = serializers.IntegerField(source="unit.site_id")
    filled = serializers.IntegerField(help_text="Active assignments (scheduled to checked in).")

    class Meta:
        model = Shift
        fields = [
            "id",
            "site",
            "unit",
            "role",
            "label",
            "start",
            "end",
            "needed",
            "filled",
            "application",
            "allow_claim",
        ]


SHIFT_FILTERS = [
    id_param("site", "Only this site's shifts."),
    id_param("unit", "Only this unit's shifts."),
    ROLE_PARAM,
    time_param("ends_after", "Only shifts ending after this instant."),
    time_param("starts_before", "Only shifts starting before this instant."),
]


class ShiftView(GoLiveView):
    serializer_class = ShiftSerializer
    roles = READERS

    def get_queryset(self) -> QuerySet[Shift]:
        return (
            Shift.objects.filter(unit__in=planned_units(self).values("pk"))
            .select_related("unit")
            .annotate(
                filled=Count("assignments", filter=Q(assignments__status__in=ACTIVE_STATUSES))
            )
        )


@extend_schema_view(
    get=extend_schema(
        summary="Shifts", parameters=SHIFT_FILTERS, responses={200: ShiftSerializer, **ERRORS}
    )
)
class ShiftList(ShiftView, generics.ListAPIView):  # type: ignore[type-arg]
    """Shifts by start, with how many of the places needed are filled."""

    filters = frozenset({"site", "unit", "role", "ends_after", "starts_before"})

    def get_queryset(self) -> QuerySet[Shift]:
        return _in_window(self.request, super().get_queryset(), "").order_by("start", "unit", "pk")


@extend_schema_view(
    get=extend_schema(summary="A shift", responses={200: ShiftSerializer, **ERRORS})
)
class ShiftDetail(ShiftView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    pass


def _in_window(request: Request, rows: QuerySet[Any], shift: str) -> QuerySet[Any]:
    """The place, role and time filters shared by shifts and assignments (`shift` is the path
    from the rows to their shift: "" or "shift__")."""
    for name, field in (("site", "unit__site_id"), ("unit", "unit_id")):
        pk = id_filter(request, name)
        if pk is not None:
            rows = rows.filter(**{f"{shift}{field}": pk})
    role = role_filter(request)
    if role is not None:
        rows = rows.filter(**{f"{shift}role": role})
    ends_after = time_filter(request, "ends_after")
    if ends_after is not None:
        rows = rows.filter(**{f"{shift}end__gt": ends_after})
    starts_before = time_filter(request, "starts_before")
    if starts_before is not None:
        rows = rows.filter(**{f"{shift}start__lt": starts_before})
    return rows


class AssignmentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    person = PlaceSerializer()
    unit = serializers.IntegerField(source="shift.unit_id")
    start = serializers.DateTimeField(source="shift.start")
    end = serializers.DateTimeField(source="shift.end")

    class Meta:
        model = Assignment
        fields = [
            "id",
            "shift",
            "unit",
            "start",
            "end",
            "person",
            "status",
            "assigned_at",
            "checked_in_at",
            "late_at",
        ]


ASSIGNMENT_FILTERS = [
    *SHIFT_FILTERS,
    id_param("person", "Only this person's assignments."),
    id_param("shift", "Only this shift's assignments."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Assignment.Status.values),
]


@extend_schema_view(
    get=extend_schema(
        summary="Assignments",
        parameters=ASSIGNMENT_FILTERS,
        responses={200: AssignmentSerializer, **ERRORS},
    )
)
class AssignmentList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    """People on shifts, by shift start; cancelled and no-show ones too (filter by status)."""

    serializer_class = AssignmentSerializer
    roles = READERS
    filters = frozenset(
        {"site", "unit", "role", "ends_after", "starts_before", "person", "shift", "status"}
    )

    def get_queryset(self) -> QuerySet[Assignment]:
        rows = Assignment.objects.filter(
            shift__unit__in=planned_units(self).values("pk")
        ).select_related("shift", "person")
        rows = _in_window(self.request, rows, "shift__")
        for name in ("person", "shift"):
            pk = id_filter(self.request, name)
            if pk is not None:
                rows = rows.filter(**{f"{name}_id": pk})
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Assignment.Status.values:
                raise exceptions.ValidationError(
                    {"status": [f"Use one of: {', '.join(Assignment.Status.values)}."]}
                )
            rows = rows.filter(status=wanted)
        return rows.order_by("shift__start", "person__name", "pk")


# --- Who is on now --------------------------------------------------------------------------------


class OnShiftSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(source="assignment_id")
    shift = serializers.IntegerField(source="shift_id")
    person = serializers.SerializerMethodField()
    site = PlaceSerializer()
    unit = PlaceSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.CharField()
    checked_in_at = serializers.DateTimeField(allow_null=True)
    late = serializers.BooleanField()

    def get_person(self, entry: OnShift) -> dict[str, Any]:
        person = entry.person
        return {
            "id": person.id,
            "name": person.name,
            "role": person.role,
            "phone": person.phone,
            "sms_number": person.sms_number,
            "skills": list(person.skills),
        }


class WhosOnSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    results = OnShiftSerializer(many=True)


@extend_schema(
    summary="Who is on shift now",
    parameters=[
        id_param("site", "Only this site."),
        id_param("unit", "Only this unit."),
        ROLE_PARAM,
    ],
    responses={200: WhosOnSerializer, **ERRORS},
)
class WhosOn(GoLiveView):
    """Everyone whose active assignment covers this instant, by site, unit and name (the whole
    list: it is a snapshot, not pages)."""

    roles = ALL_ROLES
    filters = frozenset({"site", "unit", "role"})

    def get(self, request: Request, go_live: int) -> Response:
        site, unit, role = (
            id_filter(request, "site"),
            id_filter(request, "unit"),
            role_filter(request),
        )
        now = timezone.now()
        entries = on_shift(
            go_live=self.go_live,
            at=now,
            sites=None if site is None else [site],
            units=None if unit is None else [unit],
            roles=None if role is None else [role],
        )
        return Response(WhosOnSerializer({"at": now, "results": entries}).data)


urlpatterns: list[URLPattern] = go_live_paths(
    [
        ("people/", PersonList, "people"),
        ("people/<int:pk>/", PersonDetail, "person"),
        ("shifts/", ShiftList, "shifts"),
        ("shifts/<int:pk>/", ShiftDetail, "shift"),
        ("assignments/", AssignmentList, "assignments"),
        ("whos-on/", WhosOn, "whos_on"),
    ]
)
