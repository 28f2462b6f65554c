"""The password rules a hospital's IT security team asks for: at least 12 characters, not a common
password, not only digits, not close to the user's own name or address. Each weak password is
refused with the rule it breaks, on the change form and on the emailed reset form, and the old
password keeps working."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD

WEAK = [
    ("Rounds-at-7", "This password is too short. It must contain at least 12 characters."),
    ("password1234", "This password is too common."),
    ("204867193548", "This password is entirely numeric."),
    ("agent_alex@example", "The password is too similar to the"),
]


@pytest.mark.parametrize(("weak", "message"), WEAK)
def test_the_change_form_refuses_a_weak_password_with_the_rule_it_breaks(
    client: Client, agent_alex: User, weak: str, message: str
) -> None:
    client.force_login(agent_alex)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    agent_alex.refresh_from_db()
    assert agent_alex.check_password(PASSWORD)
    assert not agent_alex.check_password(weak)


def test_the_reset_form_applies_the_same_rules(client: Client, agent_alex: User) -> None:
    client.post(reverse("password_reset"), {"email": "agent_alex@example.org"})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    set_password = form.redirect_chain[-1][0]

    refused = client.post(set_password, {"new_password1": "short-1", "new_password2": "short-1"})
    assert refused.status_code == 200
    assert "This password is too short." in refused.content.decode()
    agent_alex.refresh_from_db()
    assert agent_alex.check_password(PASSWORD)

    # The link still works after a refusal: the nurse tries again with a good one.
    accepted = client.post(
        set_password,
        {"new_password1": "unit-four-west-huddle", "new_password2": "unit-four-west-huddle"},
    )
    assert accepted.status_code == 302
    agent_alex.refresh_from_db()
    assert agent_alex.check_password("unit-four-west-huddle")
