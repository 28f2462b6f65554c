"""WSGI entry point: `gunicorn golive.wsgi`."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")

GC_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collector() -> None:
    """Collect less often, and never scan what start-up loaded.

    A planning request builds thousands of short-lived rows (1,500 people ranked for one shift);
    at Python's default first threshold (700 allocations) the collector runs dozens of times
    inside it and doubles its 95th percentile (see docs/benchmarks.md). Freezing moves the
    objects loaded at start-up, which live as long as the process, out of every collection.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


application = get_wsgi_application()
tune_garbage_collector()
