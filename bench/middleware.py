"""Bench-only middleware: how many SQL statements each request ran, in a response header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

HEADER = "X-Query-Count"


class QueryCountMiddleware:
    """Counts every statement the request sends through Django's connection (the session, the
    user, the app's own queries, the prepared intake statement) and sets `X-Query-Count`. First in
    the chain, so the other middleware's queries count too. Django's health check of a reused
    connection (`SELECT 1`, once per request) bypasses cursors and is not counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counted(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            response = self.get_response(request)
        response[HEADER] = str(count)
        return response
