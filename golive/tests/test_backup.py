"""Backups: a dump of a running golive, restored into a fresh database, which golive then serves
(a real gunicorn on the restored database answers with the data and the API token of the dump)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlunsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from golive.models import GoLive
from golive.services import create_api_token
from issues.tests.conftest import LogIssue, log_issue, printing, setup

# The issue log's fixtures, used here as its own tests use them.
__all__ = ["log_issue", "printing", "setup"]

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _database_url(name: str) -> str:
    """The test database's server, another database on it."""
    db = connection.settings_dict
    host = db["HOST"] or ""
    netloc = f"{db['USER'] or ''}" + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    # A socket directory goes in the host part, escaped, as dj-database-url reads it.
    netloc += "@" + (host.replace("/", "%2F") if host.startswith("/") else host)
    if db["PORT"]:
        netloc += f":{db['PORT']}"
    return urlunsplit(("postgres", netloc, f"/{name}", "", ""))


@pytest.fixture
def fresh_database() -> Iterator[str]:
    name = f"golive_restore_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, key: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_a_backup_restored_into_a_fresh_database_is_served_by_golive(
    tmp_path: Path,
    fresh_database: str,
    mercy: GoLive,
    lead_lena: User,
    log_issue: LogIssue,
) -> None:
    issue = log_issue(title="Wristband printer jams")
    _token, key = create_api_token(
        user=lead_lena, name="archive", created_by=lead_lena, expires_at=None
    )
    dump = tmp_path / "golive.dump"

    call_command("backup", "--output", str(dump))
    call_command("restore", str(dump), "--database-url", _database_url(fresh_database))

    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": _database_url(fresh_database),
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "golive.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/go-lives/{mercy.pk}/issues/{issue.number}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(url, key)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        assert status == 200, body
        assert '"title":"Wristband printer jams"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_restoring_over_a_database_with_data_needs_clean_and_yes(
    tmp_path: Path, mercy: GoLive
) -> None:
    dump = tmp_path / "golive.dump"
    call_command("backup", "--output", str(dump))
    here = _database_url(connection.settings_dict["NAME"])

    with pytest.raises(CommandError, match=r"already holds \d+ tables"):
        call_command("restore", str(dump), "--database-url", here)
    with pytest.raises(CommandError, match="Add --yes to confirm"):
        call_command("restore", str(dump), "--database-url", here, "--clean")
    with pytest.raises(CommandError, match="There is no backup file"):
        call_command("restore", str(tmp_path / "missing.dump"), "--database-url", here)
    assert GoLive.objects.filter(pk=mercy.pk).exists()
