"""Settings for golive: one file, everything that differs between machines read from the environment.

Development defaults are safe (DEBUG on, console email, logging SMS backend). With DEBUG off a
missing SECRET_KEY stops the process at start-up instead of running with a guessable key.
See the configuration table in README.md for every variable.
"""

import datetime as dt
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from golive.embedded import DEFAULT_REDIS_URL, socket_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def email_settings(url: str) -> dict[str, object]:
    """Translate EMAIL_URL (smtp://user:pass@host:587?tls=1, console://, locmem://) to settings."""
    parts = urlsplit(url)
    backends = {
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
    }
    if parts.scheme not in backends:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme must be one of {', '.join(sorted(backends))}, not {parts.scheme!r}."
        )
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    result: dict[str, object] = {"EMAIL_BACKEND": backends[parts.scheme]}
    if parts.scheme.startswith("smtp"):
        result.update(
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=parts.port or (465 if parts.scheme == "smtps" else 587),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_SSL=parts.scheme == "smtps",
            EMAIL_USE_TLS=parts.scheme == "smtp" and options.get("tls", "1") not in {"0", "false"},
            EMAIL_TIMEOUT=int(options.get("timeout", "10")),
        )
    return result


def redis_urls(url: str) -> tuple[str, str]:
    """Return (Django cache URL, Celery broker URL) for REDIS_URL.

    A Unix socket (the embedded Redis) is written unix:///path[?db=N]; Celery spells that
    redis+socket:///path[?virtual_host=N].
    """
    if url.startswith("unix://"):
        parts = urlsplit(url)
        db = parse_qs(parts.query).get("db", [""])[0]
        return url, f"redis+socket://{parts.path}" + (f"?virtual_host={db}" if db else "")
    return url, url


# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (see README), or set DEBUG=true "
            "for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "golive",
    "staffing",
    "issues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files get the headers too (see Security below).
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything that reads the database: a database that cannot be reached is a 503.
    "golive.middleware.DatabaseUnavailableMiddleware",
    "golive.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "golive.middleware.CurrentGoLiveMiddleware",
    "issues.access.TabletMiddleware",
    # Answers a locked-out sign-in with the lockout page (django-axes); last, as it asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "golive.urls"

# The REST API (golive/api.py): personal bearer tokens (or the browser's session, CSRF checked),
# JSON only, one error body, pages of 50.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "golive.rest.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "golive.rest.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "golive.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "golive API",
    "DESCRIPTION": (
        "The go-live's issues, staffing and directory for the hospital's own systems. "
        "Send `Authorization: Bearer <token>` with a token from your “API tokens” page."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's scripts come from the installed package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "IssueStatusEnum": "issues.models.Issue.Status",
        "AssignmentStatusEnum": "staffing.models.Assignment.Status",
    },
}

# What each app adds to a new go-live after the core's directory (see golive.services).
GO_LIVE_SETUP = ["issues.services.ensure_issue_setup"]
WSGI_APPLICATION = "golive.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "golive.context_processors.current_go_live",
            ],
        },
    },
]

# --- Database and Redis ---------------------------------------------------------------------------
# Unset, both point at the embedded servers that `make run` starts under var/ (golive/embedded.py),
# so `python manage.py shell` in a checkout reaches the same data as the running app.

DATABASE_URL = env_str("DATABASE_URL") or socket_database_url(BASE_DIR / "var" / "postgres")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
# Django binds parameters on the client, so PostgreSQL parses and plans every statement again. The
# few hot statements written by hand (golive.lib.rows.prepared_cursor) are prepared once per
# connection instead, after this many runs. Behind a pooler in transaction mode that cannot keep
# prepared statements (PgBouncer before 1.21, or without max_prepared_statements), set
# DB_PREPARED_STATEMENTS=false.
if env_bool("DB_PREPARED_STATEMENTS", True):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("golive needs PostgreSQL: DATABASE_URL must be a postgres:// URL.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL") or DEFAULT_REDIS_URL
CACHE_URL, CELERY_BROKER_URL = redis_urls(REDIS_URL)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "golive"),
        # A cache that cannot answer must not hang a request: fail fast, the database is the truth.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- Celery (app in golive/celery.py reads every CELERY_* setting) --------------------------------

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 90)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing happens after commit from web requests: when Redis is down the request must not wait
# for retries. The row stays pending and the beat sweep enqueues it again once Redis is back.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # Longer than the longest task time limit, so an acks_late task is not redelivered while running.
    "visibility_timeout": 3600,
}
# How often beat sweeps for issues due to escalate (the end-to-end test runs it every second).
ESCALATION_SWEEP_SECONDS = env_int("ESCALATION_SWEEP_SECONDS", 30)
# How often beat offers pending notifications again, and sweeps shift reminders and late
# arrivals (the fault tests, golive/tests/chaos, run them every second or two).
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 60)
SHIFT_SWEEP_SECONDS = env_int("SHIFT_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "deliver-pending-notifications": {
        "task": "golive.tasks.deliver_pending_notifications",
        "schedule": float(OUTBOX_SWEEP_SECONDS),
        "options": {"expires": max(OUTBOX_SWEEP_SECONDS - 5, 1)},
    },
    "send-shift-reminders": {
        "task": "staffing.tasks.send_shift_reminders",
        "schedule": float(SHIFT_SWEEP_SECONDS),
        "options": {"expires": max(SHIFT_SWEEP_SECONDS - 5, 1)},
    },
    "report-late-arrivals": {
        "task": "staffing.tasks.report_late_arrivals",
        "schedule": float(SHIFT_SWEEP_SECONDS),
        "options": {"expires": max(SHIFT_SWEEP_SECONDS - 5, 1)},
    },
    # Warnings and escalation of issues missing their service level (issues/escalation.py).
    "escalate-due-issues": {
        "task": "issues.tasks.escalate_due_issues",
        "schedule": float(ESCALATION_SWEEP_SECONDS),
        "options": {"expires": ESCALATION_SWEEP_SECONDS},
    },
    "audit-escalations": {
        "task": "issues.tasks.audit_escalations",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Auto-assignment of new issues: within seconds of their filing.
    "route-pending-issues": {
        "task": "issues.tasks.route_pending_issues",
        "schedule": 5.0,
        "options": {"expires": 5},
    },
}

# /healthz fails when the escalation sweep (every 30 s) last ran longer ago than this.
HEALTH_SWEEP_MAX_AGE_SECONDS = env_int("HEALTH_SWEEP_MAX_AGE_SECONDS", 180)
# How long the acknowledge link (and SMS code) of an escalation message works.
ESCALATION_ACK_HOURS = env_int("ESCALATION_ACK_HOURS", 24)

# --- Notifications --------------------------------------------------------------------------------

globals().update(email_settings(env_str("EMAIL_URL", "console://")))
# Where people open golive: links in email and SMS start with it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "golive <golive@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

SMS_BACKEND = env_str("SMS_BACKEND", "golive.sms.LoggingSmsBackend")
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL")
SMS_GATEWAY_TOKEN = env_str("SMS_GATEWAY_TOKEN")
SMS_FROM = env_str("SMS_FROM", "golive")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)

OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 5)
# A row left in `sending` longer than this (a worker died mid-send) is offered again.
OUTBOX_SENDING_LEASE_SECONDS = env_int("OUTBOX_SENDING_LEASE_SECONDS", 300)

# Webhooks (golive/webhooks.py) go out through the outbox above, with its retries and backoff.
# How long a receiver has to connect and to answer each read, in seconds.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
# Failed attempts in a row (across deliveries) after which an endpoint is disabled.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 10)
# Off, a webhook URL must resolve to public addresses only, so the command center cannot make the
# server call into its own network (cloud metadata, databases, admin consoles). An on-premise
# install whose receivers live on the private network turns it on.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)

# --- Auth and sessions ----------------------------------------------------------------------------

# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user name
# from one address, that pair is refused for LOGIN_LOCKOUT_MINUTES, even with the right password.
# By pair, not by name alone, so that nobody can lock a colleague out from elsewhere; the address
# is the one the server sees (as for the tablets: X-Forwarded-For is not trusted). Staff unlock
# early in the admin (Access attempts) or with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        # Hospital policies ask for 12 or more; a deployment may ask for longer.
        "OPTIONS": {"min_length": max(12, int(os.environ.get("PASSWORD_MIN_LENGTH", "12")))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle timeout: the cookie lives SESSION_IDLE_MINUTES; the user's requests renew it, at most once a
# minute (golive.middleware.IdleSessionMiddleware), rather than saving the session on every request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 480) * 60
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Security (production values come with DEBUG off) ---------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# The header alone adds nothing to browser preload lists; submitting the domain is a separate step.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp), the same in development, so tests and `make run` obey it:
# the app's own files only. No inline <script>, <style>, style= or on...= attribute: code and styles
# live under static/ (golive/tests/test_csp_templates.py keeps it so). data: images are Bootstrap's
# icons, drawn as SVG data URLs in its CSS. Photos are served by the app; nothing needs blob:,
# fonts from elsewhere, workers or frames.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features (django-permissions-policy): the camera for the intake form's photo of a screen
# (a unit tablet's file input opens it), and none of the other sensitive ones.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "browsing-topics": [],
    "camera": ["self"],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "serial": [],
    "usb": [],
}
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])
# The health check answers load balancers over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Internationalisation and time ----------------------------------------------------------------

LANGUAGE_CODE = "en-us"
# The server's default zone; each go-live shows its own zone (GoLive.time_zone).
TIME_ZONE = env_str("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Logging --------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint (the huddle report's PDF) logs every step of every page at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}},
}

# --- Issue intake ---------------------------------------------------------------------------------
# The largest photo of a screen a reporter may attach, and the most pixels it may decode to: a small
# file that would inflate to gigabytes in memory is refused before it is decoded.
ISSUE_PHOTO_MAX_BYTES = env_int("ISSUE_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
ISSUE_PHOTO_MAX_PIXELS = env_int("ISSUE_PHOTO_MAX_PIXELS", 40_000_000)
