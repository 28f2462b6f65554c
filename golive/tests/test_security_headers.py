"""With production settings every answer carries the security headers: a page, a redirect, a 404
and the API alike, with a Content-Security-Policy that allows no inline code and nothing from
elsewhere. (`check --deploy` with the same settings: test_settings.py.)"""

import json
import secrets
from typing import Any

import pytest

from golive.tests.test_settings import PRODUCTION, _manage

# Requests made inside a production process (DEBUG off, HTTPS as behind the load balancer) by
# Django's test client; what each answered, as JSON. Anonymous requests: no database row is read.
# Static files are named without the manifest, which only collectstatic writes (a minute here);
# how their URLs are spelled changes no header.
FETCH = """
import json
from django.test import Client
from django.test.utils import override_settings

client = Client(HTTP_HOST="golive.mercy.example")
paths = {
    "page": "/accounts/login/",
    "redirect": "/",
    "not found": "/no-such-page/",
    "api": "/api/v1/go-lives/",
}
answers = {}
plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
with override_settings(STORAGES={"staticfiles": plain_static}):
    for kind, path in paths.items():
        response = client.get(path, secure=True)
        answers[kind] = {"status": response.status_code, "headers": dict(response.headers)}
print(json.dumps(answers))
"""

Answers = dict[str, dict[str, Any]]

EXPECTED_STATUS = {"page": 200, "redirect": 302, "not found": 404, "api": 401}

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": (
        "accelerometer=(), browsing-topics=(), camera=(self), display-capture=(), geolocation=(), "
        "gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), serial=(), "
        "usb=()"
    ),
}


def parse_policy(header: str) -> dict[str, list[str]]:
    """`a x y; b z` as {"a": ["x", "y"], "b": ["z"]}: django-csp does not keep the order."""
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.fixture(scope="module")
def answers() -> Answers:
    fetched = _manage(
        "shell", "--no-imports", "-c", FETCH, SECRET_KEY=secrets.token_urlsafe(60), **PRODUCTION
    )
    assert fetched.returncode == 0, fetched.stderr
    return json.loads(fetched.stdout)


@pytest.mark.parametrize("kind", EXPECTED_STATUS)
def test_every_kind_of_answer_carries_the_security_headers(answers: Answers, kind: str) -> None:
    status, headers = answers[kind]["status"], answers[kind]["headers"]

    assert status == EXPECTED_STATUS[kind]
    assert {name: headers.get(name) for name in HEADERS} == HEADERS
    assert parse_policy(headers["Content-Security-Policy"]) == POLICY


def test_the_policy_allows_no_inline_code_no_eval_and_no_other_origin(answers: Answers) -> None:
    policy = answers["page"]["headers"]["Content-Security-Policy"]
    sources = {source for values in parse_policy(policy).values() for source in values}

    assert "unsafe" not in policy
    assert sources == {"'self'", "'none'", "data:"}
