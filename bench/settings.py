"""The production settings with the benchmarks' URLs (the app's plus the two bare views)."""

from golive.settings import *  # noqa: F403 (the whole settings module, one line changed)

ROOT_URLCONF = "bench.urls"
