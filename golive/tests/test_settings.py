"""Settings come from the environment; production settings pass `check --deploy` with no warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from golive.settings import email_settings, env_bool, redis_urls
from golive.tests.xdist_redis import worker_redis_url

BASE_DIR = Path(__file__).resolve().parents[2]


def _manage(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh interpreter with exactly the variables a deployment would set."""
    base = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "golive.mercy.example",
    "CSRF_TRUSTED_ORIGINS": "https://golive.mercy.example",
    "EMAIL_URL": "smtp://golive:s3cret@smtp.mercy.example:587",
    "SMS_BACKEND": "golive.sms.HttpGatewaySmsBackend",
    "SMS_GATEWAY_URL": "https://sms.mercy.example/send",
}


def test_production_settings_pass_check_deploy_without_a_warning() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(60),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_static_files_collect_with_production_settings(tmp_path: Path) -> None:
    # The manifest storage follows every url() and sourceMappingURL: a missing file fails here.
    result = _manage(
        "collectstatic",
        "--noinput",
        "-v0",
        # Compressing Swagger UI's bundle (gzip and Brotli) takes a minute on a busy 2-core machine.
        timeout=300,
        SECRET_KEY=secrets.token_urlsafe(60),
        STATIC_ROOT=str(tmp_path),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    result = _manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_a_database_that_is_not_postgresql() -> None:
    result = _manage("check", DEBUG="true", DATABASE_URL="sqlite:///golive.db")
    assert result.returncode != 0
    assert "golive needs PostgreSQL" in result.stderr


def test_debug_defaults_keep_development_safe() -> None:
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.EMAIL_BACKEND, s.SESSION_COOKIE_AGE, s.SECURE_SSL_REDIRECT)",
        DEBUG="true",
        SESSION_IDLE_MINUTES="30",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True ['127.0.0.1', 'localhost'] django.core.mail.backends.console.EmailBackend 1800 False"
    )


def _debug_seen_by_manage_py(**env: str) -> str:
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_manage_py_in_a_bare_checkout_runs_in_development_mode() -> None:
    assert _debug_seen_by_manage_py() == "True"


def test_manage_py_on_a_deployment_keeps_debug_off() -> None:
    assert _debug_seen_by_manage_py(SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="x") == (
        "False"
    )


def test_the_web_process_collects_garbage_less_often_and_freezes_start_up_objects() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, golive.wsgi; print(gc.get_threshold(), gc.get_freeze_count() > 0)",
        ],
        cwd=BASE_DIR,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(50000, 20, 20) True"


def test_email_url_becomes_smtp_settings() -> None:
    config = email_settings("smtp://ops%40mercy.example:pa%2Fss@smtp.mercy.example:2525?tls=0")
    assert config == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.mercy.example",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "ops@mercy.example",
        "EMAIL_HOST_PASSWORD": "pa/ss",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": False,
        "EMAIL_TIMEOUT": 10,
    }
    assert email_settings("smtps://smtp.mercy.example")["EMAIL_PORT"] == 465


def test_an_unknown_email_scheme_is_a_clear_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme must be one of"):
        email_settings("pigeon://coop")


def test_a_unix_socket_redis_url_is_spelled_for_celery() -> None:
    assert redis_urls("unix:///srv/var/redis.sock") == (
        "unix:///srv/var/redis.sock",
        "redis+socket:///srv/var/redis.sock",
    )
    assert redis_urls("unix:///srv/var/redis.sock?db=3") == (
        "unix:///srv/var/redis.sock?db=3",
        "redis+socket:///srv/var/redis.sock?virtual_host=3",
    )
    assert redis_urls("redis://cache:6379/2") == ("redis://cache:6379/2", "redis://cache:6379/2")


def test_each_test_process_gets_a_redis_database_of_its_own() -> None:
    assert worker_redis_url("redis://127.0.0.1:6379/1", 0) == "redis://127.0.0.1:6379/1"
    assert worker_redis_url("redis://127.0.0.1:6379/1", 1) == "redis://127.0.0.1:6379/2"
    assert worker_redis_url("redis://:pw@cache:6379", 2) == "redis://:pw@cache:6379/2"
    assert worker_redis_url("unix:///srv/var/redis.sock", 1) == "unix:///srv/var/redis.sock?db=1"
    assert worker_redis_url("unix:///srv/r.sock?db=3&x=y", 2) == "unix:///srv/r.sock?x=y&db=5"
    with pytest.raises(pytest.UsageError, match="leaves no Redis database for xdist worker 2"):
        worker_redis_url("redis://127.0.0.1:6379/14", 2)


def test_a_boolean_variable_with_a_typo_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURE_COOKIES", "yess")
    with pytest.raises(ImproperlyConfigured, match="SECURE_COOKIES must be true or false"):
        env_bool("SECURE_COOKIES")


@pytest.mark.parametrize(("value", "threshold"), [(None, "2"), ("false", "None")])
def test_prepared_statements_are_on_unless_a_pooler_needs_them_off(
    value: str | None, threshold: str
) -> None:
    env = {"DEBUG": "true"} | ({"DB_PREPARED_STATEMENTS": value} if value else {})
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.connection.prepare_threshold)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == threshold
