"""Acknowledging from an escalation message: the short signed link each email and SMS carries,
the SMS's one-time code, what acknowledging does (the first response, or the rest of a "still
not resolved" round stopped), the timeline's who and from where, and every refusal: a forged or
altered link, an expired one, a code used twice, wrong codes, someone who may not.

Mercy's default P1 path (issues/services.py DEFAULT_PATHS): not acknowledged at the 15 min
response target, floor support by app, email and SMS; 10 min later the command center the same
way; the 4 h resolution target missed, the command center by email and SMS.
"""

import datetime as dt
import re
from dataclasses import replace

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from conftest import at_once
from golive.models import Contact, EscalationTier, GoLive, Notification
from issues import acks
from issues.escalation import escalate_due_issues
from issues.models import (
    EscalationAck,
    EscalationPath,
    EscalationStep,
    Impact,
    Issue,
    IssueEvent,
    Priority,
    Urgency,
)
from issues.schedule import outline
from issues.services import (
    AckLink,
    AckRefused,
    ack_link,
    acknowledge_from_message,
    change_status,
    set_priority,
)
from issues.tests.conftest import LogIssue
from staffing.tests import conftest as staffing_cast

now = staffing_cast.now
MIN = dt.timedelta(minutes=1)
LINK = re.compile(r"(http://\S+/a/(\S+)/)")
CODE = re.compile(r" code (\d{6})$")
ANSWER = "its escalation has stopped and the reporter is told."


@pytest.fixture
def p1(log_issue: LogIssue, nurse_nina: User, now: dt.datetime) -> Issue:
    issue = log_issue(
        impact=Impact.UNIT,
        urgency=Urgency.BLOCKED,
        title="eMAR <b>will not</b> scan",
        reporter_user=nurse_nina,
    )
    assert issue.priority == Priority.P1
    return issue


def message(issue: Issue, channel: str, address: str, level: int = 1) -> Notification:
    return Notification.objects.get(
        dedupe_key__startswith=f"escalation:{issue.pk}:r",
        dedupe_key__contains=f":l{level}:",
        channel=channel,
        recipient_address=address,
    )


def message_in_app(issue: Issue) -> Notification:
    return Notification.objects.filter(
        dedupe_key__startswith=f"escalation:{issue.pk}:", channel=Notification.Channel.IN_APP
    ).first() or Notification(body="")


def link_and_code(notification: Notification) -> tuple[str, str]:
    """The acknowledge link's path and, for an SMS, its code."""
    found = LINK.search(notification.body)
    assert found is not None, notification.body
    path = found.group(1).removeprefix("http://127.0.0.1:8000")
    code = CODE.search(notification.body)
    return path, code.group(1) if code else ""


def message_of(path: str) -> acks.Message:
    said = acks.read(path.removeprefix("/a/").removesuffix("/"))
    assert said is not None, path
    return said


def link_of(said: acks.Message) -> AckLink:
    link = ack_link(said)
    assert link is not None
    return link


def refusal_status(result: object) -> object:
    """An acknowledgement's answer, or the HTTP status of its refusal."""
    return result.status if isinstance(result, AckRefused) else result


def state(issue: Issue) -> tuple[str, dt.datetime | None, dt.datetime | None, int]:
    issue.refresh_from_db()
    return issue.status, issue.next_escalation_at, issue.escalation_stopped_at, issue.version


def test_each_email_and_sms_of_a_step_carries_its_own_short_signed_link(
    now: dt.datetime, p1: Issue, desk: Contact
) -> None:
    escalate_due_issues(now=now + 16 * MIN)

    sms = message(p1, Notification.Channel.SMS, desk.sms_number)
    email = message(p1, Notification.Channel.EMAIL, desk.email)
    sms_path, code = link_and_code(sms)
    email_path, no_code = link_and_code(email)
    assert re.fullmatch(r"\d{6}", code) and no_code == ""
    assert sms_path != email_path
    # Short enough for an SMS, and it says which message it came in.
    assert len(sms_path) < 40
    said = message_of(sms_path)
    assert said == acks.Message(
        issue_id=p1.pk,
        round=1,
        level=1,
        trigger="no_response",
        channel="sms",
        recipient_key=f"contact{desk.pk}",
        sent_at=now + 16 * MIN,
    )
    assert said.expires_at == now + 16 * MIN + dt.timedelta(hours=24)
    assert acks.code_for(said) == code
    assert "Acknowledge it (this stops the escalation): http://127.0.0.1:8000/a/" in email.body
    # The sweep stores nothing for a link: a record appears when it is used.
    assert not EscalationAck.objects.exists()
    # The in-app message links to the issue's page.
    assert "/a/" not in message_in_app(p1).body


def test_the_sms_code_acknowledges_the_issue_and_stops_its_escalation(
    now: dt.datetime, p1: Issue, desk: Contact, analyst: Contact, nurse_nina: User
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    client = Client()

    # Opening the link (as a mail or SMS scanner would) changes nothing.
    page = client.get(path)
    before = state(p1)
    assert page.status_code == 200
    assert before[0] == Issue.Status.NEW
    html = page.content.decode()
    assert "Acknowledge " + p1.code in html and "Code from the SMS" in html
    assert "eMAR &lt;b&gt;will not&lt;/b&gt; scan" in html

    done = client.post(path, {"code": f"{code[:3]} {code[3:]}"})

    assert done.status_code == 200
    assert f"{p1.code} is acknowledged" in done.content.decode()
    p1.refresh_from_db()
    assert p1.status == Issue.Status.ACKNOWLEDGED
    assert p1.acknowledged_at == now
    assert done.content.decode().count(ANSWER) == 1
    entry = p1.events.filter(kind=IssueEvent.Kind.STATUS).get()
    assert entry.actor is None
    assert entry.body == (
        "Acknowledged by Mercy help desk, with the one-time code of the SMS of escalation "
        "level 1, from 127.0.0.1."
    )
    used = EscalationAck.objects.get(issue=p1, channel="sms")
    assert (used.used_at, used.used_via, used.used_from) == (now, "code", "127.0.0.1")
    assert (used.round, used.level, used.recipient_key) == (1, 1, f"contact{desk.pk}")
    # The reporter hears someone has it.
    assert Notification.objects.filter(
        recipient_user=nurse_nina, subject__startswith=f"{p1.code} acknowledged"
    ).exists()
    # Level 2 (the command center, 10 min after level 1) never comes.
    assert p1.next_escalation_at == now + 2 * dt.timedelta(hours=1)  # the 50% resolution warning
    escalate_due_issues(now=now + 40 * MIN)
    assert not Notification.objects.filter(dedupe_key__contains=":l2:").exists()


def test_a_code_used_twice_is_refused_and_changes_nothing(
    now: dt.datetime, p1: Issue, desk: Contact
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    client = Client()
    assert client.post(path, {"code": code}).status_code == 200
    after_first = state(p1)

    again = client.post(path, {"code": code})

    assert again.status_code == 409
    assert "This link was used already, at Tue 03 Nov 06:00 (one-time code)" in (
        again.content.decode()
    )
    assert state(p1) == after_first
    assert p1.events.filter(kind=IssueEvent.Kind.STATUS).count() == 1
    # Its page says so too, and offers no form.
    page = client.get(path)
    assert page.status_code == 409 and "Code from the SMS" not in page.content.decode()


def test_wrong_codes_are_counted_and_lock_the_link(
    now: dt.datetime, p1: Issue, desk: Contact
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    client = Client()

    answers = [client.post(path, {"code": wrong}) for _ in range(acks.MAX_CODE_TRIES)]
    assert [a.status_code for a in answers] == [400] * acks.MAX_CODE_TRIES
    assert "4 more tries before the link is locked" in answers[0].content.decode()
    assert "1 more try before" in answers[3].content.decode()
    assert "Now the link is locked" in answers[4].content.decode()
    # Even the right code now: signing in still works.
    locked = client.post(path, {"code": code})
    assert locked.status_code == 429
    assert "it is locked" in locked.content.decode()
    assert state(p1)[0] == Issue.Status.NEW
    assert EscalationAck.objects.get(issue=p1, channel="sms").code_tries == 5


def test_a_code_that_is_not_six_digits_is_refused_without_counting(
    now: dt.datetime, p1: Issue, desk: Contact
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, _ = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))

    answer = Client().post(path, {"code": "12ab"})

    assert answer.status_code == 400
    assert "The code is the 6 digits at the end of the SMS." in answer.content.decode()
    assert not EscalationAck.objects.exists()
    assert state(p1)[0] == Issue.Status.NEW


@pytest.mark.parametrize("change", ["altered", "cut short", "made up", "unknown issue"])
def test_a_forged_or_altered_link_is_refused(
    now: dt.datetime, p1: Issue, desk: Contact, change: str
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    token = path.removeprefix("/a/").removesuffix("/")
    forged = {
        # Another issue's number, with this link's signature.
        "altered": "1" + token,
        "cut short": token[:-2],
        "made up": "x" * len(token),
        # Signed as golive signs, but of an issue that does not exist.
        "unknown issue": acks.token_for(replace(message_of(path), issue_id=p1.pk + 1000)),
    }[change]
    client = Client()

    page = client.get(f"/a/{forged}/")
    answer = client.post(f"/a/{forged}/", {"code": code})

    if change == "unknown issue":
        assert (page.status_code, answer.status_code) == (404, 404)
        assert "The issue of this link no longer exists." in answer.content.decode()
    else:
        assert (page.status_code, answer.status_code) == (400, 400)
        assert "This link is not one golive made" in answer.content.decode()
    assert state(p1)[0] == Issue.Status.NEW
    assert not EscalationAck.objects.exists()


def test_an_expired_link_is_refused(
    now: dt.datetime, p1: Issue, desk: Contact, time_machine: time_machine.TimeMachineFixture
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    time_machine.move_to(now + 16 * MIN + dt.timedelta(hours=24), tick=False)

    answer = Client().post(path, {"code": code})

    assert answer.status_code == 410
    assert (
        f"This link expired at Wed 04 Nov 06:16. Open {p1.code} in golive to acknowledge it"
        in answer.content.decode()
    )
    assert state(p1)[0] == Issue.Status.NEW
    assert not EscalationAck.objects.exists()


def test_an_email_link_acknowledges_once_signed_in(
    now: dt.datetime,
    p1: Issue,
    desk: Contact,
    agent_alex: User,
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, _ = link_and_code(message(p1, Notification.Channel.EMAIL, desk.email))
    client = Client()

    page = client.get(path)
    assert page.status_code == 200
    assert f'href="/accounts/login/?next={path}"' in page.content.decode()
    refused = client.post(path, {"code": "123456"})
    assert refused.status_code == 403
    assert "The link of an email works after signing in" in refused.content.decode()
    assert state(p1)[0] == Issue.Status.NEW

    client.force_login(agent_alex)
    assert client.post(path).status_code == 200

    p1.refresh_from_db()
    assert p1.status == Issue.Status.ACKNOWLEDGED
    entry = p1.events.filter(kind=IssueEvent.Kind.STATUS).get()
    assert entry.actor == agent_alex
    assert entry.body == (
        "Acknowledged by Alex Agent, signed in, from the link in the email of escalation level 1 "
        "sent to Mercy help desk, from 127.0.0.1."
    )
    assert EscalationAck.objects.get(issue=p1, channel="email").used_by == agent_alex


@pytest.mark.parametrize("who", ["nurse_nina", "manager_maria", "outsider_oscar"])
def test_someone_signed_in_who_does_not_work_the_issues_is_refused(
    now: dt.datetime, p1: Issue, desk: Contact, who: str, request: pytest.FixtureRequest
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, _ = link_and_code(message(p1, Notification.Channel.EMAIL, desk.email))
    user: User = request.getfixturevalue(who)
    client = Client()
    client.force_login(user)

    assert "does not work on this go-live" in client.get(path).content.decode()
    answer = client.post(path)

    assert answer.status_code == 403
    assert "who does not work on this go-live" in answer.content.decode()
    assert state(p1)[0] == Issue.Status.NEW


def test_someone_signed_in_who_may_not_can_still_use_the_sms_code(
    now: dt.datetime, p1: Issue, desk: Contact, nurse_nina: User
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    client = Client()
    client.force_login(nurse_nina)

    assert client.post(path, {"code": code}).status_code == 200

    entry = p1.events.filter(kind=IssueEvent.Kind.STATUS).get()
    assert entry.actor is None
    assert entry.body.startswith("Acknowledged by Mercy help desk, with the one-time code")


def test_a_link_of_an_issue_acknowledged_meanwhile_stays_unused(
    now: dt.datetime, p1: Issue, desk: Contact, agent_alex: User
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    change_status(issue=p1, to=Issue.Status.ACKNOWLEDGED, actor=agent_alex)
    before = state(p1)

    answer = Client().post(path, {"code": code})

    assert answer.status_code == 200
    assert f"{p1.code} was acknowledged already" in answer.content.decode()
    assert state(p1) == before
    assert not EscalationAck.objects.filter(used_at__isnull=False).exists()


def test_a_link_of_a_resolved_issue_is_refused(
    now: dt.datetime, p1: Issue, desk: Contact, agent_alex: User
) -> None:
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    change_status(issue=p1, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Rebooted")

    answer = Client().post(path, {"code": code})

    assert answer.status_code == 409
    assert f"{p1.code} is resolved already: there is nothing to acknowledge." in (
        answer.content.decode()
    )
    assert not EscalationAck.objects.filter(used_at__isnull=False).exists()


@pytest.fixture
def two_unresolved_steps(mercy: GoLive, tiers: dict[str, EscalationTier]) -> None:
    """Mercy's P1 path with a fourth step: the floor tier again 30 min after the third."""
    path = EscalationPath.objects.get(go_live=mercy, priority=Priority.P1, category=None)
    EscalationStep.objects.create(
        path=path,
        position=4,
        trigger=EscalationStep.Trigger.UNRESOLVED,
        wait=30 * MIN,
        tier=tiers["floor"],
        channels=[EscalationStep.Channel.EMAIL, EscalationStep.Channel.SMS],
    )


def test_acknowledging_a_still_not_resolved_message_stops_the_rest_of_its_round(
    now: dt.datetime,
    p1: Issue,
    desk: Contact,
    analyst: Contact,
    agent_alex: User,
    two_unresolved_steps: None,
) -> None:
    change_status(issue=p1, to=Issue.Status.ACKNOWLEDGED, actor=agent_alex)
    four_hours = dt.timedelta(hours=4)
    escalate_due_issues(now=now + four_hours + MIN)
    sms = message(p1, Notification.Channel.SMS, analyst.sms_number, level=3)
    path, code = link_and_code(sms)
    p1.refresh_from_db()
    assert p1.next_escalation_at == now + four_hours + 30 * MIN

    answer = Client().post(path, {"code": code})

    assert answer.status_code == 200
    assert f"Escalation of {p1.code} stopped" in answer.content.decode()
    p1.refresh_from_db()
    assert p1.status == Issue.Status.ACKNOWLEDGED
    assert p1.escalation_stopped_at == now
    assert p1.next_escalation_at is None
    entry = p1.events.filter(kind=IssueEvent.Kind.ESCALATION).order_by("pk").last()
    assert entry is not None and entry.internal
    assert entry.body == (
        "Acknowledged by Cara Command, with the one-time code of the SMS of escalation level 3, "
        "from 127.0.0.1. The rest of escalation round 1 is stopped."
    )
    # Level 4 never comes; the issue's page says why.
    escalate_due_issues(now=now + four_hours + 45 * MIN)
    assert not Notification.objects.filter(dedupe_key__contains=":l4:").exists()
    plan = outline(p1)
    assert plan is not None and plan.stopped_at == now
    assert [row.state for row in plan.steps] == ["skipped", "skipped", "done", "stopped"]

    # A new priority starts a new round, which escalates again.
    set_priority(issue=p1, priority=Priority.P2, actor=agent_alex)
    p1.refresh_from_db()
    assert p1.escalation_stopped_at is None
    assert p1.next_escalation_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_people_using_one_link_at_once_acknowledge_once(
    now: dt.datetime, p1: Issue, desk: Contact, agent_alex: User
) -> None:
    """The issue's row lock settles it: the second waits for the first and is told it was used."""
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    said = message_of(path)

    results = at_once(lambda: acknowledge_from_message(link=link_of(said), user=None, code=code))

    assert sorted(map(refusal_status, results), key=str) == [
        409,
        f"{p1.code} is acknowledged: " + ANSWER,
    ]
    assert p1.events.filter(kind=IssueEvent.Kind.STATUS).count() == 1


def test_a_code_typed_just_after_someone_used_the_link_is_told_it_was_used(
    now: dt.datetime, p1: Issue, desk: Contact
) -> None:
    """The race above, in order: the second person's link was read before the first used it,
    so only the code's count finds it used. They hear the link was used, not that it is locked."""
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    said = message_of(path)
    read_before = link_of(said)
    acknowledge_from_message(link=link_of(said), user=None, code=code)

    with pytest.raises(AckRefused, match="This link was used already") as refused:
        acknowledge_from_message(link=read_before, user=None, code=code)

    assert refused.value.status == 409


@pytest.mark.django_db(transaction=True)
def test_codes_typed_at_once_cannot_get_past_the_limit(
    now: dt.datetime, p1: Issue, desk: Contact
) -> None:
    """Each code is counted in the database before it is compared: eight typed at once get five
    comparisons, whatever the timing."""
    escalate_due_issues(now=now + 16 * MIN)
    path, code = link_and_code(message(p1, Notification.Channel.SMS, desk.sms_number))
    said = message_of(path)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    results = at_once(
        lambda: acknowledge_from_message(link=link_of(said), user=None, code=wrong), times=8
    )

    assert sorted(map(refusal_status, results)) == [400] * 5 + [429] * 3
    assert EscalationAck.objects.get(issue=p1, channel="sms").code_tries == 5
    assert state(p1)[0] == Issue.Status.NEW
