"""The Celery app. Every CELERY_* setting (serializer, time limits, beat schedule) is in settings.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")

app = Celery("golive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
