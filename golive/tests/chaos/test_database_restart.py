"""PostgreSQL is restarted (fast shutdown, start again) while tablets submit issues, an integration
logs them through the API and agents read the queue, all through gunicorn. While it is down every
request is a short 503 with Retry-After, never a 500; gunicorn recovers on its own; the tablets and
the integration send each submission again with the same client key or Idempotency-Key until it is
logged, and every one is logged exactly once."""

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from golive.middleware import RETRY_AFTER_SECONDS
from golive.models import GoLive, Unit
from golive.services import create_api_token
from golive.tests.chaos.conftest import SECRET_KEY, Answer, Stack, wait_until
from issues.models import Category, Issue, IssueSettings
from issues.services import ensure_issue_setup
from issues.tests.test_tablets import enroll

pytestmark = pytest.mark.chaos

TABLETS = 10
PER_TABLET = 20
INTEGRATIONS = 2
PER_INTEGRATION = 20
AGENTS = 3
# Logged before PostgreSQL stops; 503s seen before it starts again.
STOP_AFTER = 60
UNAVAILABLE_BEFORE_START = 30
# A client's pause before it sends again: its pace, not a timing the test relies on.
PAUSE = 0.05


def test_postgres_restarted_under_load_answers_503_recovers_and_logs_each_submission_once(
    stack: Stack, mercy: GoLive, four_west: Unit, manager_maria: User, agent_alex: User
) -> None:
    ensure_issue_setup(go_live=mercy)
    IssueSettings.objects.filter(go_live=mercy).update(auto_assign=False)
    category = Category.objects.filter(go_live=mercy, is_enhancement=False).first()
    assert category is not None
    _tablet, secret = enroll(four_west, manager_maria)
    _token, token = create_api_token(
        user=agent_alex, name="EHR", created_by=agent_alex, expires_at=None
    )
    # Signed in as gunicorn signs sessions (its SECRET_KEY), as a browser would be.
    with override_settings(SECRET_KEY=SECRET_KEY):
        signed_in = Client()
        signed_in.force_login(agent_alex)
    session = {settings.SESSION_COOKIE_NAME: signed_in.cookies[settings.SESSION_COOKIE_NAME].value}
    web = stack.web()
    workers = web.worker_pids()

    answers: list[tuple[str, Answer]] = []
    lock = threading.Lock()
    restarted = threading.Event()
    finished = threading.Event()

    def keep(who: str, answer: Answer) -> Answer:
        with lock:
            answers.append((who, answer))
        return answer

    def until_logged(who: str, send: Callable[[], Answer], logged: set[int]) -> Answer:
        while (answer := keep(who, send())).status not in logged:
            time.sleep(PAUSE)
        return answer

    tablet_keys = [str(uuid.uuid4()) for _ in range(TABLETS * PER_TABLET)]
    confirmed: dict[str, Answer] = {}
    api_keys = [f"ehr-{n}" for n in range(INTEGRATIONS * PER_INTEGRATION)]

    def tablet(keys: list[str]) -> None:
        browser = web.tablet(secret)
        for key in keys:
            fields = {
                "client_key": key,
                "category": str(category.pk),
                "impact": "several",
                "urgency": "workaround",
                "title": "Label printer prints blank labels",
                "reporter_name": "Kim Rivera",
                "reporter_callback": "x4411",
            }
            confirmed[key] = until_logged(
                "tablet", lambda f=fields: browser.post_form(reverse("issues:new"), f), {302}
            )

    def integration(keys: list[str]) -> None:
        browser = web.api(token)
        path = reverse("api:issues", kwargs={"go_live": mercy.pk})
        body = {
            "unit": four_west.pk,
            "category": category.pk,
            "title": "Orders will not sign",
            "impact": "unit",
            "urgency": "workaround",
        }
        for key in keys:
            headers = {"Content-Type": "application/json", "Idempotency-Key": key}
            until_logged(
                "api",
                lambda h=headers: browser.request("POST", path, json.dumps(body).encode(), h),
                {200, 201},
            )

    def agent() -> None:
        browser = web.browser(session)
        while not finished.is_set():
            keep(
                "agent" if not restarted.is_set() else "agent after",
                browser.request("GET", reverse("issues:queue")),
            )
            time.sleep(PAUSE)

    submitters = [
        threading.Thread(target=tablet, args=(tablet_keys[n::TABLETS],)) for n in range(TABLETS)
    ] + [
        threading.Thread(target=integration, args=(api_keys[n::INTEGRATIONS],))
        for n in range(INTEGRATIONS)
    ]
    readers = [threading.Thread(target=agent) for _ in range(AGENTS)]
    for thread in submitters + readers:
        thread.start()

    def seen(who: str, status: int) -> int:
        with lock:
            return sum(w.startswith(who) and a.status == status for w, a in answers)

    wait_until(
        lambda: seen("tablet", 302) + seen("api", 201) >= STOP_AFTER,
        what=f"{STOP_AFTER} submissions logged",
    )
    stack.servers.postgres.stop()
    wait_until(
        lambda: (
            seen("", 503) >= UNAVAILABLE_BEFORE_START
            and all(seen(who, 503) for who in ("tablet", "api", "agent"))
        ),
        what="tablets, the integration and agents answered 503",
    )
    stack.servers.postgres.start()
    restarted.set()
    for thread in submitters:
        thread.join(timeout=120)
    wait_until(lambda: seen("agent after", 200) >= AGENTS, what="agents read the queue again")
    finished.set()
    for thread in readers:
        thread.join(timeout=30)
    connection.close()  # this process's own was ended by the restart

    # Nothing but successes and 503s: no 500, no connection dropped; gunicorn was not restarted.
    assert set(Counter(answer.status for _, answer in answers)) == {200, 201, 302, 503}
    assert web.process.poll() is None
    assert web.worker_pids() == workers
    # Each 503 short and plain, with Retry-After: the API's in its error shape.
    unavailable = [(who, answer) for who, answer in answers if answer.status == 503]
    for who, answer in unavailable:
        assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert len(answer.body) < 1000
        assert b"Traceback" not in answer.body
        if who == "api":
            assert json.loads(answer.body)["error"]["code"] == "service_unavailable"
        else:
            assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "Database unavailable, answered 503" in (stack.directory / "web.log").read_text()

    # Every submission logged once: retries with the same key made no second issue.
    tablet_issues = Counter(
        Issue.objects.filter(reporter_tablet__isnull=False).values_list("client_key", flat=True)
    )
    assert tablet_issues == dict.fromkeys(tablet_keys, 1)
    api_issues = Counter(
        Issue.objects.filter(reporter_user=agent_alex).values_list("client_key", flat=True)
    )
    assert api_issues == {f"api:{agent_alex.pk}:{key}": 1 for key in api_keys}
    assert Issue.objects.count() == len(tablet_keys) + len(api_keys)
    issues = dict(Issue.objects.values_list("client_key", "pk"))
    assert {key: answer.headers["location"] for key, answer in confirmed.items()} == {
        key: reverse("issues:confirmation", args=[issues[key]]) for key in tablet_keys
    }
