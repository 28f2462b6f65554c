"""The API's OpenAPI schema: valid, and every operation answered without a server error and in
the shape the schema promises, for inputs schemathesis makes up from the schema itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from golive.models import GoLive
from golive.services import create_api_token
from golive.wsgi import application
from issues.models import Issue
from issues.tests.conftest import LogIssue, log_issue, printing, setup

# The issue log's fixtures, used here as its own tests use them.
__all__ = ["log_issue", "printing", "setup"]

# Examples per operation: enough to try each parameter's edges, bounded to keep the suite quick.
EXAMPLES = 15


def test_the_schema_is_valid_openapi_3(tmp_path: object, db: None) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", f"{tmp_path}/s.yml")
    with open(f"{tmp_path}/s.yml") as schema_file:
        schema = yaml.safe_load(schema_file)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/go-lives/{go_live}/issues/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_the_docs_page_loads_its_scripts_from_golive_itself(client: Client, db: None) -> None:
    page = client.get("/api/docs/").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert all(source.startswith("/") and not source.startswith("//") for source in sources)


@pytest.fixture
def api_schema(db: None) -> Iterator[BaseSchema]:
    # Requests go straight to the WSGI application. At the start and end of each, Django closes
    # a database connection that is not in autocommit, which would end the test's transaction:
    # as Django's own test client does, the closing is held off while the test runs.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def world(mercy: GoLive, lead_lena: User, log_issue: LogIssue) -> dict[str, object]:
    """A go-live with an issue, and the lead's token: the ids the generated requests aim at."""
    issue = log_issue()
    _token, key = create_api_token(
        user=lead_lena, name="fuzz", created_by=lead_lena, expires_at=None
    )
    return {"go_live": mercy.pk, "issue": issue, "headers": {"Authorization": f"Bearer {key}"}}


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the schema, read from the code at collection (no request)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), route)
        for route, methods in document["paths"].items()
        for method in methods
        if method in {"get", "post", "patch", "put", "delete"}
    ]


@pytest.mark.parametrize(("method", "route"), _operations())
def test_no_input_makes_a_server_error_or_breaks_the_schema(
    method: str, route: str, api_schema: BaseSchema, world: dict[str, object]
) -> None:
    operation = api_schema[route][method]
    issue = world["issue"]
    assert isinstance(issue, Issue)

    # Inputs that fit the schema, and inputs that break it (which must be refused with a 4xx).
    @given(
        case=operation.as_strategy(GenerationMode.POSITIVE)
        | operation.as_strategy(GenerationMode.NEGATIVE)
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # The same examples on every run: CI fails only for a change in the code.
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # Aim at the go-live that exists (a made-up id is a 404 and tests nothing else), and at
        # its issue half of the time.
        if "go_live" in (case.path_parameters or {}):
            case.path_parameters["go_live"] = world["go_live"]
        number = (case.path_parameters or {}).get("number")
        if isinstance(number, int) and number % 2 == 0:
            case.path_parameters["number"] = issue.number
        case.call_and_validate(
            headers=world["headers"],
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    check()
