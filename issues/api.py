"""The issue log's part of the REST API (see golive/api.py for sign-in, errors and pages).

Issues are named by their number in the go-live (GL-123 is `/issues/123/`). Every change goes
through the same service functions as the pages, with the same role checks:

- read (list with the queue's filters, one issue, its timeline): every member, each seeing the
  issues `visible_issues` opens to them; internal notes only to the support roles;
- create: every member, on the units the intake form offers them; an `Idempotency-Key` header
  makes a retry return the issue the first request made;
- comment: the support roles; claim, resolve, status and external ticket: those who work issues;
  priority, assignee and tier: the help desk and the command center;
- who do I call: every member, for their units.

A change the issue's state refuses (taken already, changed meanwhile, a move its status does not
allow) is a 409 and writes nothing; a PATCH of several fields is all or nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import transaction
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.urls import URLPattern
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from golive.api import (
    ERRORS,
    Conflict,
    ErrorSerializer,
    GoLiveView,
    PlaceSerializer,
    bool_filter,
    bool_param,
    go_live_paths,
    id_filter,
    id_param,
)
from golive.lib.users import display_name
from golive.models import EscalationTier, Membership, Role, Unit, phone_validator
from golive.permissions import ALL_ROLES, DESK, home_units, managed_units
from issues.access import VIEWERS, WORKERS, visible_issues
from issues.forms_desk import ANY_STATUS, ME, NOBODY, OPEN_STATUS
from issues.models import Category, Impact, Issue, IssueEvent, Priority, Urgency
from issues.queue import filter_issues, queue_choices, read_filters, support_people
from issues.reach import call_list
from issues.services import (
    IssueRefused,
    add_comment,
    assign_issue,
    change_status,
    claim_issue,
    create_issue,
    set_external_ref,
    set_priority,
    set_tier,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

S = Issue.Status
ROW_RELATED = ("site", "unit", "category", "application", "assignee", "tier", "parent")
# What a key may hold, and how long: it is stored with the user's id as the issue's client key.
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,40}$")
MAX_ID = 2**63 - 1


def member_units(membership: Membership) -> QuerySet[Unit]:
    """Units a member may log issues for: those the intake form offers (issues.access.Floor)."""
    if membership.role == Role.CLINIC_MANAGER:
        return managed_units(membership).filter(is_active=True)
    return home_units(membership)


def refused(exc: IssueRefused) -> exceptions.APIException:
    """A service's refusal: a field's value wrong (400), or the issue's state (409)."""
    if exc.field:
        return exceptions.ValidationError({exc.field: [str(exc)]})
    return Conflict(str(exc))


class StrictSerializer(serializers.Serializer):
    """A request body: an object holding only the fields the endpoint names."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                offer = ", ".join(self.fields)
                raise exceptions.ValidationError(
                    {
                        name: [f"Not a field of this request (it takes: {offer})."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


# --- Reading issues -----------------------------------------------------------------------------


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class IssueSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    code = serializers.CharField(help_text="How people name it, e.g. GL-123.")
    site = PlaceSerializer()
    unit = PlaceSerializer()
    category = PlaceSerializer()
    application = PlaceSerializer(allow_null=True)
    tier = PlaceSerializer(allow_null=True)
    assignee = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField(help_text="The number of the issue it is part of.")
    overdue = serializers.SerializerMethodField(help_text="Past its response or resolution time.")

    class Meta:
        model = Issue
        fields = [
            "number",
            "code",
            "title",
            "description",
            "status",
            "priority",
            "impact",
            "urgency",
            "patient_safety",
            "workaround_in_use",
            "site",
            "unit",
            "location_detail",
            "category",
            "application",
            "tier",
            "assignee",
            "reporter_name",
            "reporter_callback",
            "resolution",
            "external_ref",
            "parent",
            "parent_link",
            "respond_by",
            "due_at",
            "overdue",
            "version",
            "created_at",
            "updated_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
        ]

    def get_assignee(self, issue: Issue) -> dict[str, Any] | None:
        if issue.assignee is None:
            return None
        return {"id": issue.assignee.pk, "name": display_name(issue.assignee)}

    def get_parent(self, issue: Issue) -> int | None:
        return issue.parent.number if issue.parent is not None else None

    def get_overdue(self, issue: Issue) -> bool:
        if not issue.is_open or issue.sla_paused_at is not None:
            return False
        now = self.context["now"]
        late_response = issue.acknowledged_at is None and (
            issue.respond_by is not None and issue.respond_by < now
        )
        return late_response or (issue.due_at is not None and issue.due_at < now)

    def to_representation(self, issue: Issue) -> dict[str, Any]:
        """The fields above, written out: DRF's field-by-field path costs a third of a page's
        time. `test_api` checks every field of one issue against its model."""
        return {
            "number": issue.number,
            "code": issue.code,
            "title": issue.title,
            "description": issue.description,
            "status": issue.status,
            "priority": issue.priority,
            "impact": issue.impact,
            "urgency": issue.urgency,
            "patient_safety": issue.patient_safety,
            "workaround_in_use": issue.workaround_in_use,
            "site": _place(issue.site),
            "unit": _place(issue.unit),
            "location_detail": issue.location_detail,
            "category": _place(issue.category),
            "application": _place(issue.application),
            "tier": _place(issue.tier),
            "assignee": self.get_assignee(issue),
            "reporter_name": issue.reporter_name,
            "reporter_callback": issue.reporter_callback,
            "resolution": issue.resolution,
            "external_ref": issue.external_ref,
            "parent": self.get_parent(issue),
            "parent_link": issue.parent_link,
            "respond_by": _instant(issue.respond_by),
            "due_at": _instant(issue.due_at),
            "overdue": self.get_overdue(issue),
            "version": issue.version,
            "created_at": _instant(issue.created_at),
            "updated_at": _instant(issue.updated_at),
            "acknowledged_at": _instant(issue.acknowledged_at),
            "resolved_at": _instant(issue.resolved_at),
            "closed_at": _instant(issue.closed_at),
        }


def _place(row: Any) -> dict[str, Any] | None:
    return None if row is None else {"id": row.pk, "name": row.name}


def _instant(value: dt.datetime | None) -> str | None:
    """As DRF writes a time: ISO 8601 in UTC, "Z" for the offset."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _multi(name: str, values: list[str], description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, many=True, explode=True, enum=values, description=description
    )


QUEUE_FILTERS = [
    OpenApiParameter(
        "q", OpenApiTypes.STR, description="Words of the title or description, or GL-123."
    ),
    _multi(
        "status",
        [OPEN_STATUS, ANY_STATUS, *S.values],
        "Statuses (repeat for several); open issues when absent.",
    ),
    _multi("priority", Priority.values, "Priorities (repeat for several)."),
    id_param("site", "Only this site's issues."),
    id_param("unit", "Only this unit's issues."),
    id_param("category", "Only this category."),
    id_param("application", "Only this application."),
    OpenApiParameter("assignee", OpenApiTypes.STR, description=f"A user id, “{ME}” or “{NOBODY}”."),
    id_param("tier", "Only issues at this tier."),
    bool_param("overdue", "Only issues past a target."),
    bool_param("patient_safety", "Only patient-safety issues."),
    OpenApiParameter(
        "ordering",
        OpenApiTypes.STR,
        enum=["queue", "number", "-number"],
        description="queue (the default: priority, due time, age), or by number: to read the "
        "whole log, oldest (number) or newest (-number) first.",
    ),
]


# The queue's order (priority, due time, age), or the log's (by number, which the go-live's
# unique number index serves at any depth: the way to read every issue, oldest or newest first).
ORDERINGS: dict[str, tuple[Any, ...]] = {
    "queue": ("priority", F("due_at").asc(nulls_last=True), "created_at", "pk"),
    "number": ("number",),
    "-number": ("-number",),
}


class IssueView(GoLiveView):
    """An endpoint of one issue, found by its number among those the member may see."""

    serializer_class = IssueSerializer

    def get_issue(self, number: int) -> Issue:
        issue = (
            visible_issues(self.membership)
            .select_related(*ROW_RELATED)
            .filter(number=number)
            .first()
        )
        if issue is None:
            raise exceptions.NotFound(f"No issue GL-{number} that you may see in this go-live.")
        return issue


def issue_response(issue: Issue, code: int = status.HTTP_200_OK) -> Response:
    # Read again with its related rows: a service returns the issue it locked, without them.
    fresh = Issue.objects.select_related(*ROW_RELATED).get(pk=issue.pk)
    return Response(IssueSerializer(fresh, context={"now": timezone.now()}).data, status=code)


class IssueCreateSerializer(StrictSerializer):
    # Bounded as the ids' bigint columns are: a larger number reached the intake SQL (a 500).
    unit = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="A unit you may log issues for."
    )
    category = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    application = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID
    )
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    impact = serializers.ChoiceField(choices=Impact.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    patient_safety = serializers.BooleanField(required=False, default=False)
    workaround_in_use = serializers.BooleanField(required=False, default=False)
    location_detail = serializers.CharField(max_length=120, required=False, allow_blank=True)
    reporter_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    reporter_callback = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[phone_validator]
    )


@extend_schema(
    methods=["GET"],
    summary="Issues, with the queue's filters",
    parameters=QUEUE_FILTERS,
    responses={200: IssueSerializer(many=True), **ERRORS},
)
@extend_schema(
    methods=["POST"],
    summary="Log an issue",
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="1–40 letters, digits or ._:- ; the same key again returns the first "
            "issue (200) instead of logging another.",
        )
    ],
    request=IssueCreateSerializer,
    responses={
        200: OpenApiResponse(IssueSerializer, "Logged before with this Idempotency-Key."),
        201: IssueSerializer,
        422: ErrorSerializer,
        **ERRORS,
    },
)
class IssueList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    """Issues in the queue's order (priority, due time, age), open ones unless `status` says."""

    serializer_class = IssueSerializer
    filters = frozenset(
        {
            "q",
            "status",
            "priority",
            "site",
            "unit",
            "category",
            "application",
            "assignee",
            "tier",
            "overdue",
            "patient_safety",
            "ordering",
        }
    )

    def get_queryset(self) -> QuerySet[Issue]:
        params = self.request.query_params
        data = QueryDict(mutable=True)
        for name in self.filters:
            values = params.getlist(name)
            if name in {"overdue", "patient_safety"}:
                # Spelled true/false in the API; the queue's form takes a checkbox's "on".
                if bool_filter(self.request, name):
                    data[name] = "on"
            elif values:
                data.setlist(name, values)
        form = queue_choices(self.go_live).filter_form(data)
        if not form.is_valid():
            raise exceptions.ValidationError(
                {name: [str(error) for error in errors] for name, errors in form.errors.items()}
            )
        now = timezone.now()
        issues = filter_issues(
            visible_issues(self.membership),
            read_filters(form),
            user_id=self.request.user.pk,
            now=now,
        )
        ordering = self.request.query_params.get("ordering") or "queue"
        if ordering not in ORDERINGS:
            raise exceptions.ValidationError({"ordering": [f"Use one of: {', '.join(ORDERINGS)}."]})
        return issues.order_by(*ORDERINGS[ordering])

    def paginate_queryset(self, queryset: QuerySet[Issue]) -> list[Issue] | None:
        # The page is chosen on the sort keys alone, then its rows are read with their related
        # rows by id: PostgreSQL sorting the whole rows of 60,000 issues (and the joins before
        # the LIMIT) spills to disk, where keys alone are a quick bounded sort in memory.
        keys = super().paginate_queryset(queryset.values_list("pk", flat=True))
        if keys is None:
            return None
        rows = Issue.objects.select_related(*ROW_RELATED).in_bulk(keys)
        return [rows[pk] for pk in keys]

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"now": timezone.now()}

    def post(self, request: Request, go_live: int) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if key and not IDEMPOTENCY_KEY.match(key):
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["Use 1 to 40 letters, digits, dots, colons, dashes or _."]}
            )
        body = IssueCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        unit = member_units(self.membership).select_related("site").filter(pk=data["unit"]).first()
        if unit is None:
            raise exceptions.ValidationError(
                {"unit": [f"You may not log issues for a unit with id {data['unit']}."]}
            )
        try:
            issue, created = create_issue(
                go_live=self.go_live,
                unit=unit,
                category_id=data["category"],
                application_id=data.get("application"),
                title=data["title"],
                description=data.get("description", ""),
                impact=data["impact"],
                urgency=data["urgency"],
                patient_safety=data["patient_safety"],
                workaround_in_use=data["workaround_in_use"],
                location_detail=data.get("location_detail", ""),
                reporter_user=request.user,
                reporter_name=data.get("reporter_name", ""),
                reporter_callback=data.get("reporter_callback", ""),
                client_key=f"api:{request.user.pk}:{key}" if key else "",
            )
        except IssueRefused as exc:
            raise refused(exc) from None
        if not created and not _same_request(issue, data, unit):
            return Response(
                {
                    "error": {
                        "status": 422,
                        "code": "idempotency_key_reused",
                        "message": f"This Idempotency-Key logged {issue.code} with other values. "
                        "Use a new key for a new issue.",
                        "fields": {},
                    }
                },
                status=422,
            )
        response = issue_response(issue, status.HTTP_201_CREATED if created else 200)
        response["Location"] = f"{request.path}{issue.number}/"
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


def _same_request(issue: Issue, data: dict[str, Any], unit: Unit) -> bool:
    """Whether a replayed key's body logged this issue (what a resend would send again)."""
    return (
        issue.unit_id == unit.pk
        and issue.category_id == data["category"]
        and issue.title == data["title"].strip()
        and issue.impact == data["impact"]
        and issue.urgency == data["urgency"]
    )


# --- Changing an issue ----------------------------------------------------------------------------


class IssueUpdateSerializer(StrictSerializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you read: refused (409) if someone changed the issue since.",
    )
    status = serializers.ChoiceField(choices=S.choices, required=False)
    resolution = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    note = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, help_text="Why: kept on the timeline."
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.IntegerField(
        required=False, allow_null=True, help_text="A support member's user id; null: nobody."
    )
    tier = serializers.IntegerField(required=False, allow_null=True)
    external_ref = serializers.CharField(max_length=64, required=False, allow_blank=True)


# Which fields each kind of member may change (the pages' buttons, as a table).
CHANGES_BY_ROLE: dict[str, frozenset[str]] = {
    "status": WORKERS,
    "resolution": WORKERS,
    "external_ref": WORKERS,
    "priority": DESK,
    "assignee": DESK,
    "tier": DESK,
}


@extend_schema(methods=["GET"], summary="An issue", responses={200: IssueSerializer, **ERRORS})
@extend_schema(
    methods=["PATCH"],
    summary="Change an issue",
    request=IssueUpdateSerializer,
    responses={200: IssueSerializer, 409: ErrorSerializer, **ERRORS},
)
class IssueDetail(IssueView):
    http_method_names: ClassVar[list[str]] = ["get", "patch", "options"]  # type: ignore[misc]

    def get(self, request: Request, go_live: int, number: int) -> Response:
        return Response(
            IssueSerializer(self.get_issue(number), context={"now": timezone.now()}).data
        )

    def patch(self, request: Request, go_live: int, number: int) -> Response:
        body = IssueUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        changes = [name for name in CHANGES_BY_ROLE if name in data]
        if not changes:
            raise exceptions.ValidationError(
                {"non_field_errors": [f"Send at least one of: {', '.join(CHANGES_BY_ROLE)}."]}
            )
        closed = [name for name in changes if self.membership.role not in CHANGES_BY_ROLE[name]]
        if closed:
            raise exceptions.PermissionDenied(
                f"Your role ({self.membership.get_role_display()}) may not change: "
                f"{', '.join(closed)}."
            )
        issue = self.get_issue(number)
        if data.get("status") == S.RESOLVED and not (data.get("resolution") or issue.resolution):
            # A missing field, as on /resolve/: a 400, not a 409 about the issue's state.
            raise exceptions.ValidationError({"resolution": ["Say what fixed it."]})
        assignee = self._assignee(data) if "assignee" in data else None
        tier = self._tier(data) if data.get("tier") is not None else None
        user = request.user
        try:
            # All or nothing: a refusal of any change rolls back the ones before it.
            with transaction.atomic():
                locked = Issue.objects.select_for_update(of=("self",)).get(pk=issue.pk)
                if "version" in data and locked.version != data["version"]:
                    raise IssueRefused(
                        f"{issue.code} was changed by someone else since version "
                        f"{data['version']} (it is at {locked.version}). Read it again."
                    )
                if "assignee" in data:
                    issue = assign_issue(issue=issue, assignee=assignee, actor=user)
                if "tier" in data:
                    issue = set_tier(issue=issue, tier=tier, actor=user)
                if "priority" in data:
                    issue = set_priority(
                        issue=issue,
                        priority=data["priority"],
                        actor=user,
                        note=data.get("note", ""),
                    )
                if "external_ref" in data:
                    issue = set_external_ref(
                        issue=issue, external_ref=data["external_ref"], actor=user
                    )
                if "status" in data or "resolution" in data:
                    if "status" not in data:
                        raise exceptions.ValidationError(
                            {"resolution": ["Send it with the status it goes with (resolved)."]}
                        )
                    issue = change_status(
                        issue=issue,
                        to=data["status"],
                        actor=user,
                        resolution=data.get("resolution", ""),
                        note=data.get("note", ""),
                    )
        except IssueRefused as exc:
            raise refused(exc) from None
        return issue_response(issue)

    def _assignee(self, data: dict[str, Any]) -> AbstractBaseUser | None:
        if data["assignee"] is None:
            return None
        for person in support_people(self.go_live.pk):
            if person.pk == data["assignee"]:
                return person
        raise exceptions.ValidationError(
            {"assignee": [f"No support member of this go-live has user id {data['assignee']}."]}
        )

    def _tier(self, data: dict[str, Any]) -> EscalationTier:
        tier = EscalationTier.objects.filter(go_live_id=self.go_live.pk, pk=data["tier"]).first()
        if tier is None:
            raise exceptions.ValidationError(
                {"tier": [f"No tier of this go-live has id {data['tier']}."]}
            )
        return tier


class EmptySerializer(StrictSerializer):
    """No fields: the action needs none."""


@extend_schema(
    summary="Claim an issue",
    request=EmptySerializer,
    responses={200: IssueSerializer, 409: ErrorSerializer, **ERRORS},
)
class IssueClaim(IssueView):
    """Take an unassigned open issue; a new one becomes acknowledged. Two at once: one wins, the
    other gets a 409 naming who has it."""

    roles = WORKERS

    def post(self, request: Request, go_live: int, number: int) -> Response:
        EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        issue = self.get_issue(number)
        try:
            issue = claim_issue(issue=issue, agent=request.user)
        except IssueRefused as exc:
            raise refused(exc) from None
        return issue_response(issue)


class ResolveSerializer(StrictSerializer):
    resolution = serializers.CharField(max_length=4000, help_text="What fixed it.")
    version = serializers.IntegerField(required=False, min_value=1)


@extend_schema(
    summary="Resolve an issue",
    request=ResolveSerializer,
    responses={200: IssueSerializer, 409: ErrorSerializer, **ERRORS},
)
class IssueResolve(IssueView):
    """Resolved, with what fixed it: the reporters are told; open child issues follow."""

    roles = WORKERS

    def post(self, request: Request, go_live: int, number: int) -> Response:
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issue = self.get_issue(number)
        try:
            issue = change_status(
                issue=issue,
                to=S.RESOLVED,
                actor=request.user,
                resolution=body.validated_data["resolution"],
                expected_version=body.validated_data.get("version"),
            )
        except IssueRefused as exc:
            raise refused(exc) from None
        return issue_response(issue)


# --- Comments and the timeline ----------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    who = serializers.SerializerMethodField(help_text="Who did it; empty for golive itself.")

    class Meta:
        model = IssueEvent
        fields = ["id", "at", "kind", "who", "old", "new", "body", "internal"]

    def get_who(self, event: IssueEvent) -> str:
        return display_name(event.actor) if event.actor is not None else ""


class CommentSerializer(StrictSerializer):
    body = serializers.CharField(max_length=4000)
    internal = serializers.BooleanField(
        required=False,
        default=True,
        help_text="An internal note for the support team (the default), or false: a reply the "
        "reporters see and are told of.",
    )


@extend_schema(
    summary="Comment on an issue",
    request=CommentSerializer,
    responses={201: EventSerializer, **ERRORS},
)
class IssueComment(IssueView):
    roles = VIEWERS

    def post(self, request: Request, go_live: int, number: int) -> Response:
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issue = self.get_issue(number)
        try:
            event = add_comment(
                issue=issue,
                actor=request.user,
                body=body.validated_data["body"],
                internal=body.validated_data["internal"],
            )
        except IssueRefused as exc:
            raise refused(exc) from None
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="An issue's timeline", responses={200: EventSerializer, **ERRORS})
class IssueTimeline(IssueView, generics.ListAPIView):  # type: ignore[type-arg]
    """Every change and comment, oldest first (internal notes only for the support roles)."""

    serializer_class = EventSerializer

    def get_queryset(self) -> QuerySet[IssueEvent]:
        issue = self.get_issue(self.kwargs["number"])
        events = IssueEvent.objects.filter(issue=issue).select_related("actor")
        if self.membership.role not in VIEWERS:
            events = events.filter(internal=False)
        return events.order_by("at", "pk")


# --- Categories and who do I call --------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Category
        fields = ["id", "name", "is_active"]


@extend_schema(summary="Issue categories", responses={200: CategorySerializer, **ERRORS})
class CategoryList(GoLiveView, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = CategorySerializer

    def get_queryset(self) -> QuerySet[Category]:
        return Category.objects.filter(go_live_id=self.go_live.pk).order_by("name", "pk")


class CallPersonSerializer(serializers.Serializer):
    name = serializers.CharField(source="person.name")
    role = serializers.CharField(source="person.role")
    phone = serializers.CharField(source="person.phone")
    sms_number = serializers.CharField(source="person.sms_number")
    unit = PlaceSerializer()
    end = serializers.DateTimeField()
    checked_in = serializers.BooleanField()


class CallContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField()
    phone = serializers.CharField()
    pager = serializers.CharField()
    email = serializers.CharField()


class CallTierSerializer(serializers.Serializer):
    tier = serializers.SerializerMethodField()
    people = CallPersonSerializer(many=True, help_text="On shift now, on the unit first.")
    contacts = CallContactSerializer(many=True, help_text="The directory's, whose hours cover now.")

    def get_tier(self, row: Any) -> dict[str, Any]:
        return {"id": row.tier.pk, "level": row.tier.level, "name": row.tier.name}


class CallListSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    unit = PlaceSerializer()
    tiers = CallTierSerializer(many=True)


@extend_schema(
    summary="Who do I call now",
    parameters=[
        id_param("unit", "The unit with the problem (required): one of your units."),
        id_param("category", "The kind of problem: its P1 escalation path orders the tiers."),
    ],
    responses={200: CallListSerializer, **ERRORS},
)
class WhoToCall(GoLiveView):
    """The people on shift and the directory's contacts to call now for a unit, tier by tier: the
    same resolution escalation uses."""

    roles = ALL_ROLES
    filters = frozenset({"unit", "category"})

    def get(self, request: Request, go_live: int) -> Response:
        unit_id = id_filter(request, "unit")
        if unit_id is None:
            raise exceptions.ValidationError({"unit": ["Say which unit: ?unit=<id>."]})
        unit = member_units(self.membership).select_related("site").filter(pk=unit_id).first()
        if unit is None:
            raise exceptions.ValidationError({"unit": [f"No unit of yours has id {unit_id}."]})
        category_id = id_filter(request, "category")
        if (
            category_id is not None
            and not Category.objects.filter(go_live_id=self.go_live.pk, pk=category_id).exists()
        ):
            raise exceptions.ValidationError(
                {"category": [f"No category of this go-live has id {category_id}."]}
            )
        now = timezone.now()
        rows = call_list(go_live=self.go_live, unit=unit, category_id=category_id, at=now)
        return Response(CallListSerializer({"at": now, "unit": unit, "tiers": rows}).data)


urlpatterns: list[URLPattern] = go_live_paths(
    [
        ("categories/", CategoryList, "categories"),
        ("issues/", IssueList, "issues"),
        ("issues/<int:number>/", IssueDetail, "issue"),
        ("issues/<int:number>/claim/", IssueClaim, "issue_claim"),
        ("issues/<int:number>/resolve/", IssueResolve, "issue_resolve"),
        ("issues/<int:number>/comments/", IssueComment, "issue_comments"),
        ("issues/<int:number>/timeline/", IssueTimeline, "issue_timeline"),
        ("who-to-call/", WhoToCall, "who_to_call"),
    ]
)
