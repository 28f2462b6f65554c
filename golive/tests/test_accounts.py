"""Signing in and out, passwords, the idle timeout and the friendly error pages."""

import datetime as dt
import re

import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.defaults import server_error

from conftest import PASSWORD


def test_it_signs_in_with_the_login_form_and_out_with_a_post(
    client: Client, agent_alex: User
) -> None:
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Sign in to golive" in page.content

    response = client.post(reverse("login"), {"username": "agent_alex", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(agent_alex.pk)

    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_refused_with_a_message(client: Client, agent_alex: User) -> None:
    response = client.post(reverse("login"), {"username": "agent_alex", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_pages_ask_a_stranger_to_sign_in(client: Client) -> None:
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_changes_their_password(client: Client, agent_alex: User) -> None:
    client.force_login(agent_alex)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "night-shift-rounds-42",
            "new_password2": "night-shift-rounds-42",
        },
    )
    assert response.status_code == 302
    agent_alex.refresh_from_db()
    assert agent_alex.check_password("night-shift-rounds-42")


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    client: Client, agent_alex: User
) -> None:
    response = client.post(reverse("password_reset"), {"email": "agent_alex@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Reset your golive password"
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link is not None

    form = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "morning-huddle-at-ten", "new_password2": "morning-huddle-at-ten"},
    )
    assert done.status_code == 302
    agent_alex.refresh_from_db()
    assert agent_alex.check_password("morning-huddle-at-ten")


def test_a_tampered_or_too_old_reset_link_changes_nothing(client: Client, agent_alex: User) -> None:
    client.post(reverse("password_reset"), {"email": "agent_alex@example.org"})
    found = re.search(r"/accounts/reset/([^/\s]+)/([^/\s]+)/", mail.outbox[0].body)
    assert found is not None
    uid, token = found.groups()
    # The token with its last character changed; then the real one after Django's three days
    # (PASSWORD_RESET_TIMEOUT, left at its default).
    tampered = client.get(
        f"/accounts/reset/{uid}/{token[:-1]}{'a' if token[-1] != 'a' else 'b'}/", follow=True
    )
    assert b"This link no longer works" in tampered.content
    fresh = Client().get(f"/accounts/reset/{uid}/{token}/", follow=True)
    assert b"Choose a new password" in fresh.content
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):
        too_old = client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    assert b"This link no longer works" in too_old.content
    agent_alex.refresh_from_db()
    assert agent_alex.check_password(PASSWORD)


def test_a_session_ends_after_the_idle_time_but_not_while_in_use(
    client: Client, agent_alex: User, settings: object
) -> None:
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)  # type: ignore[attr-defined]
    start = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    page = reverse("password_change")
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(agent_alex)
        # Each request renews the session: two steps of most of the idle time stay signed in.
        for _ in range(2):
            clock.shift(idle - dt.timedelta(minutes=5))
            assert client.get(page).status_code == 200
        clock.shift(idle + dt.timedelta(minutes=1))
        response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_pages_renew_the_session_at_most_once_a_minute(client: Client, agent_alex: User) -> None:
    """Renewing writes the session row: an agent clicking through pages writes it once a minute,
    not on every page."""
    page = reverse("password_change")

    def writes_session() -> bool:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        return any('UPDATE "django_session"' in q["sql"] for q in queries.captured_queries)

    with time_machine.travel(dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.force_login(agent_alex)
        assert writes_session()
        clock.shift(dt.timedelta(seconds=30))
        assert not writes_session()
        clock.shift(dt.timedelta(seconds=31))
        assert writes_session()
        assert not writes_session()


def test_a_page_refreshing_itself_does_not_keep_an_idle_session_alive(
    client: Client, agent_alex: User, settings: object
) -> None:
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)  # type: ignore[attr-defined]
    page = reverse("password_change")
    with time_machine.travel(dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.force_login(agent_alex)
        assert client.get(page).status_code == 200  # the last thing the agent did
        # A board polling all night: each refresh is answered, none counts as the user's activity.
        for _ in range(3):
            clock.shift(idle / 3 - dt.timedelta(minutes=1))
            assert client.get(page, headers={"X-Background-Refresh": "1"}).status_code == 200
        clock.shift(dt.timedelta(minutes=5))
        response = client.get(page, headers={"X-Background-Refresh": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_unknown_page_gets_the_friendly_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"We could not find that page" in response.content


def test_a_server_error_gets_a_page_that_needs_no_context(db: None) -> None:
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
