"""What the load benchmark's users do (bench/locustfile.py) and how the report names it
(bench/load_bench.py): the requests' names, who makes each, and the go-live morning's think times.
Kept apart from the locustfile, whose import patches the standard library for gevent."""

NAMES = {
    "bare_select": "bare view: one indexed SELECT",
    "bare_insert": "bare view: one INSERT (form POST)",
    "intake_get": "intake form (tablet GET)",
    "intake_post": "issue submission (tablet POST)",
    "confirmation": "confirmation page (tablet)",
    "similar": "similar issues while typing (tablet)",
    "known": "known issues board (tablet)",
    "call": "who do I call now (tablet)",
    "queue": "triage queue page",
    "queue_poll": "queue refresh fragment",
    "detail": "issue page",
    "claim": "claim an issue",
    "resolve": "resolve an issue",
    "grid": "coverage grid, one site, one week",
    "shift_staffed": "shift panel, staffed shift",
    "shift_open": "shift panel, open shift (ranks 1,500 people)",
    "whos_on": "who's on now",
}
# Who requests each path in a path run.
PATH_ROLES = {
    "bare_select": "agent",
    "bare_insert": "anonymous",
    "intake_get": "tablet",
    "intake_post": "tablet",
    "known": "tablet",
    "call": "tablet",
    "queue": "agent",
    "queue_poll": "agent",
    "detail": "agent",
    "claim": "agent",
    "resolve": "agent",
    "grid": "manager",
    "shift_staffed": "manager",
    "shift_open": "manager",
    "whos_on": "manager",
}
# Each user of a path's run makes this many requests of it before those measured.
WARM_UP_REQUESTS = 3
# Think times of the go-live morning, in seconds (each a uniform range).
THINK_TABLET_BOARD = (5, 15)  # reading the known issues before logging one
THINK_TABLET_TYPING = (10, 20)  # typing the title: the similar issues show up meanwhile
THINK_TABLET_FINISH = (5, 15)  # the rest of the form
THINK_TABLET_AFTER = (10, 30)  # reading the confirmation, back to work
THINK_AGENT_READ = (5, 15)  # reading an issue before claiming it
THINK_AGENT_WORK = (20, 60)  # working the issue before resolving it
THINK_AGENT_AFTER = (5, 10)
# The queue page refreshes itself (issues.queue.POLL_SECONDS) this many times while an agent
# watches it, before she opens an issue.
AGENT_POLLS = (1, 3)
THINK_MANAGER_GRID = (10, 30)
THINK_MANAGER_SHIFT = (10, 20)
THINK_MANAGER_AFTER = (20, 40)
# A tablet looks up whom to call after one filing in this many; one report in this many is a
# patient-safety report (P1, the leadership emailed at once: the Celery worker sends those).
CALL_EVERY = 4
SAFETY_EVERY = 50
# Users start at a random moment within this many seconds, not all at once.
START_SPREAD = 20
