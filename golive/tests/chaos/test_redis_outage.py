"""Redis stops in the middle of a burst of tablet submissions and comes back empty: every
submission is logged once, and every message the submissions cause is delivered once, by the
worker and beat's sweep of pending rows once Redis is back."""

import queue
import threading
import uuid
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from golive.models import (
    Contact,
    EscalationTier,
    GoLive,
    Notification,
    Unit,
    WebhookEndpoint,
    WebhookEvent,
)
from golive.tests.chaos.conftest import Answer, Stack, wait_until
from issues.assignment import NOBODY_NOTE
from issues.models import Category, Issue, IssueEvent
from issues.services import ensure_issue_setup
from issues.tests.test_tablets import enroll

pytestmark = pytest.mark.chaos

SUBMISSIONS = 500
CLIENTS = 20
STOP_AFTER = 100
START_AFTER = 300
# Every fifth report is a patient-safety issue: the leadership line gets an SMS at once.
PATIENT_SAFETY_EVERY = 5


def test_redis_stopped_during_a_burst_of_500_submissions_loses_and_doubles_nothing(
    stack: Stack,
    mercy: GoLive,
    four_west: Unit,
    manager_maria: User,
    lead_lena: User,
    tiers: dict[str, EscalationTier],
) -> None:
    # Each submission causes a webhook to the hospital's systems; a patient-safety one also an
    # SMS to the leadership line (and an in-app alert to the command center lead).
    # Routing is on and nobody is on shift: each issue is offered to routing once, by beat's
    # sweep, which notes that it waits in the queue.
    ensure_issue_setup(go_live=mercy)
    category = Category.objects.filter(go_live=mercy, is_enhancement=False).first()
    assert category is not None
    WebhookEndpoint.objects.create(
        go_live=mercy, url=stack.inbox.url("/hooks"), events=[WebhookEvent.ISSUE_CREATED]
    )
    Contact.objects.create(
        go_live=mercy, tier=tiers["leadership"], name="Leadership line", sms_number="+13125550190"
    )
    _tablet, secret = enroll(four_west, manager_maria)
    stack.worker()
    stack.beat()
    web = stack.web()

    work: queue.Queue[tuple[int, str]] = queue.Queue()
    keys = [str(uuid.uuid4()) for _ in range(SUBMISSIONS)]
    for n, key in enumerate(keys):
        work.put((n, key))
    answers: dict[str, Answer] = {}
    answered_while_down: list[str] = []
    redis_down = threading.Event()
    lock = threading.Lock()

    def tablet() -> None:
        browser = web.tablet(secret)
        while True:
            try:
                n, key = work.get_nowait()
            except queue.Empty:
                return
            fields = {
                "client_key": key,
                "category": str(category.pk),
                "impact": "several",
                "urgency": "workaround",
                "title": f"Label printer prints blank labels ({n})",
                "reporter_name": "Kim Rivera",
                "reporter_callback": "x4411",
            }
            if n % PATIENT_SAFETY_EVERY == 0:
                fields["patient_safety"] = "on"
            answer = browser.post_form(reverse("issues:new"), fields)
            with lock:
                answers[key] = answer
                if redis_down.is_set():
                    answered_while_down.append(key)

    clients = [threading.Thread(target=tablet) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    wait_until(lambda: len(answers) >= STOP_AFTER, what=f"{STOP_AFTER} submissions answered")
    stack.servers.redis.stop()
    redis_down.set()
    wait_until(lambda: len(answers) >= START_AFTER, what=f"{START_AFTER} submissions answered")
    redis_down.clear()
    stack.servers.redis.start()
    for client in clients:
        client.join(timeout=120)

    # Every submission was answered with the confirmation of its own issue, Redis or not.
    issues = {issue.client_key: issue for issue in Issue.objects.all()}
    assert len(issues) == SUBMISSIONS
    assert sorted(issues) == sorted(keys)
    assert {
        key: (answer.status, answer.headers.get("location")) for key, answer in answers.items()
    } == {key: (302, reverse("issues:confirmation", args=[issues[key].pk])) for key in keys}
    # The outage was real: a good share of the burst was answered while Redis was down, and the
    # web processes could not enqueue those deliveries.
    assert len(answered_while_down) >= (START_AFTER - STOP_AFTER) // 2
    assert "Could not enqueue" in (stack.directory / "web.log").read_text()

    # Every message goes out once Redis is back, through the worker and beat's sweep.
    safety = [issue for issue in issues.values() if issue.patient_safety]
    assert len(safety) == SUBMISSIONS // PATIENT_SAFETY_EVERY
    wait_until(
        lambda: (
            not Notification.objects.exclude(status=Notification.Status.SENT).exists()
            and len(stack.inbox.at("/hooks")) >= SUBMISSIONS
            and len(stack.inbox.at("/sms")) >= len(safety)
        ),
        what="every notification is delivered",
    )
    rows = Counter(Notification.objects.values_list("channel", flat=True))
    assert rows == {"webhook": SUBMISSIONS, "sms": len(safety), "in_app": len(safety)}

    # None twice at the far end: one webhook per issue, one SMS per patient-safety issue.
    hooks = stack.inbox.at("/hooks")
    assert sorted(hook.body["data"]["id"] for hook in hooks) == sorted(
        issue.pk for issue in issues.values()
    )
    assert Counter(hook.headers["x-golive-delivery"] for hook in hooks).most_common(1)[0][1] == 1
    texts = [sms.body["body"].splitlines()[0] for sms in stack.inbox.at("/sms")]
    assert sorted(texts) == sorted(
        f"Patient safety: {issue.code} {issue.title}" for issue in safety
    )
    assert stack.mail.received() == []

    # Routing got through the burst once Redis was back, and offered each issue once.
    wait_until(
        lambda: not Issue.objects.filter(routing_pending=True).exists(),
        what="every issue is routed",
    )
    notes = Counter(
        IssueEvent.objects.filter(
            kind=IssueEvent.Kind.COMMENT, body__startswith=NOBODY_NOTE
        ).values_list("issue_id", flat=True)
    )
    assert notes == {issue.pk: 1 for issue in issues.values()}
