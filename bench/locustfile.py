"""The load benchmark's users, driven by locust (bench/load_bench.py runs it headless).

`BENCH_LOCUST_PLAN` names a JSON file the benchmark writes before each run: the server's ids,
the tablets' secrets, the agents' and managers' session keys, and the pools of issues to claim
and resolve. Two ways to run it:

- `PathUser`: one path again and again without pause, the same number of users for every path,
  so each path's rate compares with the bare views' at the same concurrency;
- `TabletUser`, `AgentUser`, `ManagerUser`: the go-live morning, each going through what that
  person does, with think times (bench/scenario.py) between the steps.

Every response carries the number of queries its request ran (`X-Query-Count`, from
bench/middleware.py); the mean and largest per request name go to `BENCH_LOCUST_QUERIES` when
the run stops.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import FastResponse
from locust.env import Environment
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import BOUNDARY, multipart
from bench.middleware import HEADER
from bench.scenario import (
    AGENT_POLLS,
    CALL_EVERY,
    NAMES,
    PATH_ROLES,
    SAFETY_EVERY,
    START_SPREAD,
    THINK_AGENT_AFTER,
    THINK_AGENT_READ,
    THINK_AGENT_WORK,
    THINK_MANAGER_AFTER,
    THINK_MANAGER_GRID,
    THINK_MANAGER_SHIFT,
    THINK_TABLET_AFTER,
    THINK_TABLET_BOARD,
    THINK_TABLET_FINISH,
    THINK_TABLET_TYPING,
    WARM_UP_REQUESTS,
)

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_LOCUST_PLAN"]).read_text())
QUERIES_OUT = Path(os.environ["BENCH_LOCUST_QUERIES"])
HOST = "127.0.0.1"
# The CSRF cookie's secret, the same for every user: the token Django checks a POST against.
CSRF_SECRET = "benchcsrf" + "0" * 23

# Query counts per request name: [requests counted, total, largest].
_queries: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])


@events.request.add_listener
def _count_queries(name: str, response: FastResponse | None, **kwargs: Any) -> None:
    value = response.headers.get(HEADER) if response is not None and response.headers else None
    if value is not None:
        row = _queries[name]
        row[0] += 1
        row[1] += int(value)
        row[2] = max(row[2], int(value))


@events.test_stop.add_listener
def _write_queries(environment: Environment, **kwargs: Any) -> None:
    QUERIES_OUT.write_text(
        json.dumps(
            {name: {"mean": total / n, "max": most} for name, (n, total, most) in _queries.items()}
        )
    )


WARM_UP = "(warm-up)"

# Shared by every user of the run (one locust process): each issue is claimed or resolved once.
_claims: deque[int] = deque(PLAN.get("claim", []))
_resolves: deque[list[int]] = deque(PLAN.get("resolve", []))
_numbers: dict[str, Iterator[int]] = defaultdict(itertools.count)

HTMX = {"HX-Request": "true"}
_VERSION = re.compile(rb'name="expected_version" value="(\d+)"')
_CONFIRMATION = re.compile(r"/issues/\d+/logged/$")


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=HOST,
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


class GoLiveUser(FastHttpUser):
    """One person at a browser: their cookies, and each request of the benchmark by its name."""

    abstract = True
    # Requests made while warming up are reported under WARM_UP, apart from the path's.
    warming = False
    # One issue logged in SAFETY_EVERY is a patient-safety report (the go-live morning's users).
    safety_reports = False
    # Longer than gunicorn's 30 s timeout: a request the server gave up on is the server's error.
    network_timeout = 60.0
    connection_timeout = 60.0

    def become(self, role: str) -> None:
        """Take the next tablet, agent or manager of the plan (each user its own)."""
        self.n = next(_numbers[role])
        cookies = {PLAN["csrf_cookie"]: CSRF_SECRET}
        if role == "tablet":
            cookies[PLAN["tablet_cookie"]] = PLAN["tablets"][self.n % len(PLAN["tablets"])]
        elif role == "agent":
            cookies[PLAN["session_cookie"]] = PLAN["agents"][self.n % len(PLAN["agents"])]
        elif role == "manager":
            manager = PLAN["managers"][self.n % len(PLAN["managers"])]
            cookies[PLAN["session_cookie"]] = manager["session"]
            self.site = manager["site"]
        for name, value in cookies.items():
            self.client.cookiejar.set_cookie(_cookie(name, value))

    def pause(self, seconds: tuple[float, float]) -> None:
        gevent.sleep(random.uniform(*seconds))

    def name(self, key: str) -> str:
        return WARM_UP if self.warming else NAMES[key]

    def _get(self, key: str, url: str, headers: dict[str, str] | None = None) -> None:
        self.client.get(url, name=self.name(key), headers=headers)

    def _post(
        self, key: str, url: str, fields: dict[str, str], check: Callable[[bytes], bool]
    ) -> bytes:
        """An htmx form POST (CSRF token in the header, as base.html sends it); a 200 whose page
        does not pass `check` (a refusal shown in the page) is counted as an error."""
        with self.client.post(
            url,
            name=self.name(key),
            data=urlencode(fields),
            headers={
                **HTMX,
                "HX-Target": "issue-detail",
                "X-CSRFToken": CSRF_SECRET,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            catch_response=True,
        ) as response:
            body = response.content or b""
            if response.status_code == 200 and not check(body):
                response.failure("refused: " + _alert(body))
            return body

    # --- Paths ------------------------------------------------------------------------------------

    def bare_select(self) -> None:
        self._get("bare_select", f"/bench/select/?pk={PLAN['go_live']}")

    def bare_insert(self) -> None:
        # Without the user's cookies: looking the tablet up is the submission's own work.
        cookie = f"{PLAN['csrf_cookie']}={CSRF_SECRET}"
        self._submit("bare_insert", "/bench/insert/", {"Cookie": cookie})

    def intake_get(self) -> None:
        self._get("intake_get", "/issues/new/")

    def intake_post(self) -> str:
        """Log an issue as the form sends it; the confirmation page's address."""
        return self._submit("intake_post", "/issues/new/")

    def _submit(self, key: str, url: str, headers: dict[str, str] | None = None) -> str:
        fields = {
            "csrfmiddlewaretoken": CSRF_SECRET,
            "client_key": str(uuid.uuid4()),
            "phi_confirmed": "",
            "category": str(PLAN["category"]),
            "impact": "several",
            "urgency": "workaround",
            "title": "Label printer prints blank labels",
            "description": "Since the morning round; the test page prints fine.",
            "location_detail": "Nurses' station",
            "application": "",
            "reporter_name": "Bench RN",
            "reporter_callback": "x4400",
        }
        if self.safety_reports and random.randrange(SAFETY_EVERY) == 0:
            fields["patient_safety"] = "on"
        with self.client.post(
            url,
            name=self.name(key),
            data=multipart(fields, ("photo",)),
            headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                **(headers or {}),
            },
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if key == "intake_post" and not (
                response.status_code == 302 and _CONFIRMATION.search(location)
            ):
                response.failure(f"not logged: {response.status_code} {_alert(response.content)}")
            return location

    def confirmation(self, url: str) -> None:
        self._get("confirmation", url)

    def similar(self) -> None:
        self._get("similar", "/issues/new/similar/?title=label+printer+blank", HTMX)

    def known(self) -> None:
        self._get("known", "/issues/known/")

    def call(self) -> None:
        self._get("call", f"/issues/call/?category={PLAN['category']}")

    def queue(self) -> None:
        self._get("queue", "/issues/queue/")

    def queue_poll(self) -> None:
        # What the page asks every few seconds: its rows, and how many are new since it opened.
        self._get(
            "queue_poll",
            "/issues/queue/rows/?" + urlencode({"page": 1, "since": PLAN["since"]}),
            {**HTMX, "X-Background-Refresh": "1"},
        )

    def detail(self, pk: int | None = None) -> None:
        self._get("detail", f"/issues/{pk or random.choice(PLAN['issues'])}/")

    def claim(self, pk: int | None = None) -> int:
        """Claim from the issue's page; the issue's version after it."""
        pk = pk or _take(self, "claim", _claims)
        body = self._post("claim", f"/issues/{pk}/claim/", {}, lambda page: b"You have " in page)
        found = _VERSION.search(body)
        return int(found.group(1)) if found else 0

    def resolve(self, pk: int | None = None, version: int = 0) -> None:
        if pk is None:
            pk, version = _take(self, "resolve", _resolves)
        self._post(
            "resolve",
            f"/issues/{pk}/status/",
            {
                "to": "resolved",
                "expected_version": str(version),
                "resolution": "Reseated the cable; the printer works.",
                "note": "",
            },
            lambda page: b"is resolved now" in page,
        )

    def grid(self) -> None:
        self._get("grid", f"/staffing/grid/?site={self.site}&start={PLAN['week']}&days=7")

    def shift_staffed(self) -> None:
        shift = random.choice(PLAN["shifts"][str(self.site)]["staffed"])
        self._get(
            "shift_staffed", f"/staffing/shifts/{shift}/", {**HTMX, "HX-Target": "shift-panel"}
        )

    def shift_open(self) -> None:
        shift = random.choice(PLAN["shifts"][str(self.site)]["open"])
        self._get("shift_open", f"/staffing/shifts/{shift}/", {**HTMX, "HX-Target": "shift-panel"})

    def whos_on(self) -> None:
        self._get("whos_on", "/staffing/whos-on/")


def _take(user: GoLiveUser, key: str, pool: deque[Any]) -> Any:
    """The next issue of a pool; a pool run dry ends the user with an error, as the benchmark
    must give each run enough issues."""
    if not pool:
        events.request.fire(
            request_type="POST",
            name=user.name(key),
            response_time=0,
            response_length=0,
            response=None,
            context={},
            exception=RuntimeError(f"the {key} pool is empty"),
        )
        raise StopUser
    return pool.popleft()


def _alert(body: bytes | None) -> str:
    """The first alert of a page, for the failure's message."""
    found = re.search(rb'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', body or b"", re.S)
    return re.sub(rb"<[^>]+>|\s+", b" ", found.group(1)).decode()[:200] if found else ""


class PathUser(GoLiveUser):
    """One path (`plan["paths"]`), again and again, without think time, after WARM_UP_REQUESTS
    of it (the first requests of a worker load templates and prepare statements). Given two
    paths, the users take both in turns of `plan["turn"]` seconds, all switching together, so both
    meet the same moments of a shared machine."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.become(PATH_ROLES[PLAN["paths"][-1]])
        self.steps = [getattr(self, path) for path in PLAN["paths"]]
        self.warming = True
        for step in self.steps:
            for _ in range(WARM_UP_REQUESTS):
                step()
        self.warming = False

    @task
    def again(self) -> None:
        self.steps[int(time.monotonic() / PLAN["turn"]) % len(self.steps)]()


class TabletUser(GoLiveUser):
    """A unit tablet: the known issues, then an issue logged through the form."""

    fixed_count = PLAN.get("counts", {}).get("tablets", 0)
    wait_time = constant(0)
    safety_reports = True

    def on_start(self) -> None:
        self.become("tablet")
        gevent.sleep(random.uniform(0, START_SPREAD))

    @task
    def log_an_issue(self) -> None:
        self.known()
        self.pause(THINK_TABLET_BOARD)
        self.intake_get()
        self.pause(THINK_TABLET_TYPING)
        self.similar()
        self.pause(THINK_TABLET_FINISH)
        if logged := self.intake_post():
            self.confirmation(logged)
        self.pause(THINK_TABLET_AFTER)
        if random.randrange(CALL_EVERY) == 0:
            self.call()


class AgentUser(GoLiveUser):
    """A help desk agent: the queue refreshing itself, then an issue opened, claimed, resolved."""

    fixed_count = PLAN.get("counts", {}).get("agents", 0)
    wait_time = constant(0)

    def on_start(self) -> None:
        self.become("agent")
        gevent.sleep(random.uniform(0, START_SPREAD))

    @task
    def work_the_queue(self) -> None:
        self.queue()
        for _ in range(random.randint(*AGENT_POLLS)):
            gevent.sleep(PLAN["poll_seconds"])
            self.queue_poll()
        pk = _take(self, "claim", _claims)
        self.detail(pk)
        self.pause(THINK_AGENT_READ)
        version = self.claim(pk)
        self.pause(THINK_AGENT_WORK)
        self.resolve(pk, version)
        self.pause(THINK_AGENT_AFTER)


class ManagerUser(GoLiveUser):
    """A clinic manager: the week's grid of her site, a staffed shift, a gap, who is on now."""

    fixed_count = PLAN.get("counts", {}).get("managers", 0)
    wait_time = constant(0)

    def on_start(self) -> None:
        self.become("manager")
        gevent.sleep(random.uniform(0, START_SPREAD))

    @task
    def plan_coverage(self) -> None:
        self.grid()
        self.pause(THINK_MANAGER_GRID)
        self.shift_staffed()
        self.pause(THINK_MANAGER_SHIFT)
        self.shift_open()
        self.pause(THINK_MANAGER_GRID)
        self.whos_on()
        self.pause(THINK_MANAGER_AFTER)
