"""Auto-assignment benchmark: a burst of 500 issues filed at once, routed by beat's sweep.

On the issue log's data set (60,000 issues over 40 units) with the staffing roster (1,500 people,
28 days of shifts), 20 help desk agents are on a shift covering now and checked in, each with the
history of a busy fortnight: 2,500 resolved issues that were assigned to them, with the timeline
entry that gave each one (routing reads it to find who got an issue longest ago), and 3 open
issues in hand. Then 500 new issues with no tier wait for routing, and one sweep
(`route_pending_issues`, as beat runs it every few seconds) routes them in this process: each
gets the first-line tier, then the agent with the fewest open issues under the cap, or a note
that it waits in the queue.

Two cases: a cap with room for all 500, and the default cap of 8 (60 places left, 440 wait). The
comparison is one bare INSERT in autocommit, the write every issue costs at the least, timed in
the same run. Results are appended to docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

from bench.issues_data import build as build_issue_log  # noqa: E402
from bench.staffing_bench import add_roster  # noqa: E402
from golive.models import Application, GoLive, Membership, Notification, Role, Unit  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.assignment import route_pending_issues  # noqa: E402
from issues.models import Issue, IssueEvent, IssueSettings  # noqa: E402
from staffing.models import Assignment, Shift, SupportPerson, SupportRole  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
AGENTS = 20
HISTORY = 2_500  # resolved issues each agent was given
IN_HAND = 3  # open issues each agent holds when the burst comes
BURST = 500
ROUNDS = 3
ROOMY_CAP = 40


def add_help_desk(go_live: GoLive, unit: Unit) -> list[User]:
    """AGENTS help desk agents, knowing every application, checked in on a shift covering now."""
    now = timezone.now()
    shift = Shift.objects.create(
        go_live=go_live,
        unit=unit,
        role=SupportRole.HELP_DESK,
        label="Help desk",
        start=now - dt.timedelta(hours=2),
        end=now + dt.timedelta(hours=10),
        needed=AGENTS,
    )
    apps = list(Application.objects.filter(go_live=go_live))
    agents = []
    for n in range(AGENTS):
        user = User.objects.create_user(f"agent{n:02}", first_name="Agent", last_name=f"{n:02}")
        Membership.objects.create(user=user, go_live=go_live, role=Role.HELP_DESK_AGENT)
        person = SupportPerson.objects.create(
            go_live=go_live,
            name=f"Agent {n:02}",
            role=SupportRole.HELP_DESK,
            user=user,
            email=f"agent{n:02}@bench.example",
        )
        person.skills.add(*apps)
        Assignment.objects.create(
            shift=shift,
            person=person,
            period=DateTimeTZRange(shift.start, shift.end, "[)"),
            status=Assignment.Status.CHECKED_IN,
            checked_in_at=shift.start,
        )
        agents.append(user)
    return agents


def add_history(go_live: GoLive, agents: list[User]) -> None:
    """Closed issues given to the agents in turn, each with the timeline entry that gave it; and
    IN_HAND open issues each."""
    closed = list(
        Issue.objects.filter(go_live=go_live, status="closed")
        .order_by("pk")
        .values_list("pk", "created_at")[: HISTORY * len(agents)]
    )
    events = []
    for n, (pk, created) in enumerate(closed):
        agent = agents[n % len(agents)]
        events.append(
            IssueEvent(
                issue_id=pk,
                kind=IssueEvent.Kind.ASSIGNEE,
                at=created + dt.timedelta(minutes=5),
                new=agent.get_full_name(),
            )
        )
    IssueEvent.objects.bulk_create(events, batch_size=5000)
    with connection.cursor() as db:
        # One UPDATE per agent: the closed issues given to them.
        for n, agent in enumerate(agents):
            ids = [pk for i, (pk, _) in enumerate(closed) if i % len(agents) == n]
            db.execute(
                "UPDATE issues_issue SET assignee_id = %s WHERE id = ANY(%s)", [agent.pk, ids]
            )
    in_hand = list(
        Issue.objects.filter(go_live=go_live, status="in_progress")
        .order_by("pk")
        .values_list("pk", flat=True)[: IN_HAND * len(agents)]
    )
    for n, agent in enumerate(agents):
        Issue.objects.filter(pk__in=in_hand[n :: len(agents)]).update(assignee=agent)


def add_burst(go_live: GoLive) -> list[int]:
    """BURST new issues waiting for routing, copied from the newest open ones; their ids."""
    now = timezone.now()
    template = list(Issue.objects.filter(go_live=go_live, status="new").order_by("-pk")[:BURST])
    last = Issue.objects.filter(go_live=go_live).order_by("-number").values_list("number")[0][0]
    for n, issue in enumerate(template):
        issue.pk = None
        issue.number = last + 1 + n
        issue.created_at = issue.updated_at = now
        issue.respond_by = None
        issue.routing_pending = True
    created = Issue.objects.bulk_create(template)
    return [issue.pk for issue in created]


def reset(burst: list[int]) -> None:
    """The burst as filed: no tier, nobody, waiting for routing; the last sweep's writes gone."""
    IssueEvent.objects.filter(issue_id__in=burst).delete()
    Notification.objects.all().delete()
    Issue.objects.filter(pk__in=burst).update(
        tier=None, assignee=None, routing_pending=True, version=1
    )
    with connection.cursor() as db:
        db.execute("VACUUM ANALYZE issues_issue")
        db.execute("VACUUM ANALYZE issues_issueevent")


def sweep(burst: list[int]) -> tuple[float, int, Counter[str]]:
    """Milliseconds of one sweep over the burst, its queries, and who got how many."""
    reset(burst)
    queries = 0

    def count(execute: Callable[..., object], *args: object) -> object:
        nonlocal queries
        queries += 1
        return execute(*args)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        routed = route_pending_issues()
        elapsed = (time.perf_counter() - start) * 1000
    assert routed == len(burst), (routed, len(burst))
    given = Counter(
        str(assignee)
        for assignee in Issue.objects.filter(pk__in=burst).values_list("assignee_id", flat=True)
    )
    return elapsed, queries, given


def bare_insert_ms(rounds: int = BURST) -> float:
    """Median milliseconds of one INSERT in autocommit (the bare view's write)."""
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        Notification.objects.create(
            channel=Notification.Channel.EMAIL,
            subject="bench",
            recipient_address="bench@example.org",
            dedupe_key=f"bench:routing:{n}",
        )
        times.append((time.perf_counter() - start) * 1000)
    Notification.objects.filter(dedupe_key__startswith="bench:routing:").delete()
    return statistics.median(times)


def main() -> None:
    tune_garbage_collector()
    setup_test_environment(debug=False)
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        started = time.perf_counter()
        go_live, _lead, _unit = build_issue_log()
        GoLive.objects.filter(pk=go_live.pk).update(
            support_ends_at=timezone.now() + dt.timedelta(days=35)
        )
        go_live.refresh_from_db()
        units = list(Unit.objects.filter(site__go_live=go_live).order_by("pk"))
        add_roster(go_live, units, list(Application.objects.filter(go_live=go_live)))
        agents = add_help_desk(go_live, units[0])
        add_history(go_live, agents)
        burst = add_burst(go_live)
        build_seconds = time.perf_counter() - started
        rows = []
        for label, cap in (
            (f"room for all (cap {ROOMY_CAP})", ROOMY_CAP),
            ("cap 8: 100 places, 400 wait", 8),
        ):
            IssueSettings.objects.filter(go_live=go_live).update(assignee_cap=cap)
            runs = [sweep(burst) for _ in range(ROUNDS)]
            median = statistics.median(run[0] for run in runs)
            _, queries, given = runs[-1]
            waiting = given.pop("None", 0)
            rows.append((label, median, queries, BURST - waiting, waiting, given))
        insert = bare_insert_ms()
        write_report(rows, insert, build_seconds)
    finally:
        teardown_databases(databases, verbosity=0)


def write_report(
    rows: list[tuple[str, float, int, int, int, Counter[str]]],
    insert_ms: float,
    build_seconds: float,
) -> None:
    lines = [
        "",
        "## Auto-assignment of a burst",
        "",
        "Written by `make bench` (bench/routing_bench.py): one routing sweep (`route_pending_"
        f"issues`, as beat runs it) over {BURST} issues filed at once, in this process, each in "
        "its own transaction under the go-live's routing lock. The data set: 60,000 issues over "
        f"40 units, the 1,500-person roster, and {AGENTS} help desk agents checked in, each with "
        f"{HISTORY:,} resolved issues given to them (and the timeline entry that gave each) and "
        f"{IN_HAND} open ones in hand; built in {build_seconds:.0f} s. Every issue gets the "
        "first-line tier and an agent (told in-app), or a note that it waits. Median of "
        f"{ROUNDS} sweeps. The bare INSERT in autocommit took {insert_ms:.2f} ms (median of "
        f"{BURST}) in the same run.",
        "",
        "| burst of 500 | sweep s | ms per issue | × bare INSERT | queries per issue | assigned "
        "| waiting | most / fewest given |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, median, queries, assigned, waiting, given in rows:
        per_issue = median / BURST
        spread = f"{max(given.values())} / {min(given.values())}" if given else ""
        lines.append(
            f"| {label} | {median / 1000:.1f} | {per_issue:.1f} | {per_issue / insert_ms:.0f} "
            f"| {queries / BURST:.1f} | {assigned} | {waiting} | {spread} |"
        )
    with OUT.open("a") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
