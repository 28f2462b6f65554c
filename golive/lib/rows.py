"""Model rows for the few hand-written statements on hot paths.

Compiling an ORM query costs more than PostgreSQL takes to run it (about 0.5 ms against 0.1 ms for
a lookup by unique key), and parsing and planning a long statement costs more than running it;
this matters only where every request pays it: a unit tablet's identity, the issue intake, and
who is on shift (staffing/whos_on.py: every board refresh, routing, escalation and "who to call").
There the statement is written once and run on a `prepared_cursor`, and `Columns` lists a model's
columns for its SELECT list and loads the row back into a model instance as the ORM would (the
fields' database converters applied), so the rest of the code sees ordinary instances.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import GeneratedField, Model

M = TypeVar("M", bound=Model)


class Columns(Generic[M]):
    """A model's concrete columns (generated ones included) under a table alias."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)
        self._converters = [
            (index, field, field.get_db_converters(connection))
            for index, field in enumerate(self.fields)
            if field.get_db_converters(connection)
        ]

    def __len__(self) -> int:
        return len(self.fields)

    def load(self, values: Sequence[Any]) -> M:
        """The instance for this model's slice of a row, as if the ORM had fetched it."""
        row = list(values)
        for index, field, converters in self._converters:
            for convert in converters:
                row[index] = convert(row[index], field, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, row)


def writable_fields(model: type[Model]) -> list[Any]:
    """The columns an INSERT names: every concrete field but the primary key and generated ones."""
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not isinstance(field, GeneratedField)
    ]


def unnest_insert(
    model: type[Model],
    columns: Sequence[str],
    *,
    constants: Mapping[str, str] | None = None,
    returning: str = "",
) -> str:
    """An INSERT of any number of `model` rows in one statement of constant text, for a
    `prepared_cursor`: each of `columns` (attnames) is bound as one array of its column's own type
    (%b: sent in binary), and `constants` maps other columns to SQL the same for every row, which
    may name the row's columns as `r.<column>` (their placeholders come first in the
    parameters). A row whose unique key is taken writes nothing.

    The ORM's bulk_create writes every value into the statement's text, which PostgreSQL must
    parse anew each time and psycopg must escape value by value.
    """
    constants = constants or {}
    arrays = ", ".join(
        f"%b::{model._meta.get_field(name).db_type(connection)}[]" for name in columns
    )
    extra = "".join(f", {sql}" for sql in constants.values())
    sql = f"""
        INSERT INTO {model._meta.db_table} ({", ".join([*columns, *constants])})
        SELECT r.*{extra} FROM unnest({arrays}) AS r ({", ".join(columns)})
        ON CONFLICT DO NOTHING
    """
    return f"{sql} RETURNING {returning}" if returning else sql


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A cursor whose statements PostgreSQL parses and plans once per connection.

    Django's cursors bind parameters on the client, so each statement is parsed and planned anew.
    This one binds them on the server, so psycopg prepares a statement after its first runs (the
    connection's `prepare_threshold`, see settings) and then sends only the parameters. Wrapped as
    Django wraps its own, so errors are Django's and queries are logged and counted as usual.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = ServerBindingCursor(connection.connection)
    wrap = _LoggedCursor if connection.queries_logged else CursorWrapper
    with wrap(raw, connection) as cursor:
        yield cursor


class _LoggedCursor(CursorDebugWrapper):
    """Logs the statement as written (placeholders and all): a server-binding cursor cannot give
    Django the composed text its own debug cursor logs."""

    def execute(self, sql: str, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)
