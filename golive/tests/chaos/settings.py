"""The production settings for the fault tests' gunicorn, with one change: static files are
collected with Django's manifest storage instead of whitenoise's compressing one (the same hashed
names; compressing every file of the API docs took a minute, which the tests do not need)."""

from golive.settings import *  # noqa: F403 (the whole settings module, one line changed)

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
