"""Signing in: too many wrong passwords for one name from one address pause that pair (django-axes),
the pause ends by itself, nobody can lock a colleague out from elsewhere, and the session key
changes at sign-in (no session fixation)."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from golive.models import AuditEntry, GoLive

A = AuditEntry.Action


def sign_in(client: Client, password: str, username: str = "lead_lena") -> int:
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code


def test_too_many_wrong_passwords_pause_the_name_from_that_address(
    lead_lena: User, mercy: GoLive
) -> None:
    client = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong") == 200  # the form again, with its message

    refused = client.post(reverse("login"), {"username": "lead_lena", "password": "wrong"})
    right_password = client.post(reverse("login"), {"username": "lead_lena", "password": PASSWORD})

    assert refused.status_code == right_password.status_code == 429
    assert "Sign-in paused" in right_password.content.decode()
    assert "0:15:00" in right_password.content.decode()
    assert "_auth_user_id" not in client.session
    entries = AuditEntry.objects.filter(username="lead_lena")
    assert entries.filter(action=A.LOCKED_OUT).exists()
    assert not entries.filter(action=A.SIGN_IN).exists()


def test_the_same_name_still_signs_in_from_another_address(lead_lena: User, mercy: GoLive) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        sign_in(attacker, "guess")

    lena = Client(REMOTE_ADDR="10.1.1.2")
    assert sign_in(lena, PASSWORD) == 302
    assert lena.session["_auth_user_id"] == str(lead_lena.pk)


def test_the_pause_ends_by_itself_counted_from_the_last_try(lead_lena: User, mercy: GoLive) -> None:
    client = Client(REMOTE_ADDR="10.1.1.3")
    start = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, "wrong")
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        # A try during the pause is refused and starts the wait again.
        assert sign_in(client, PASSWORD) == 429
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        assert sign_in(client, PASSWORD) == 429  # 15 minutes after 08:00, but not after 08:10
    with time_machine.travel(start + dt.timedelta(minutes=36), tick=False):
        assert sign_in(client, PASSWORD) == 302


def test_signing_in_gives_a_new_session_key(lead_lena: User, mercy: GoLive) -> None:
    client = Client(REMOTE_ADDR="10.1.1.4")
    session = client.session
    session["planted"] = "by someone else"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key

    assert sign_in(client, PASSWORD) == 302

    assert client.session.session_key != before
