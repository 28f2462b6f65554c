"""The production settings with the benchmarks' URLs (the app's plus the two bare views) and a
count of each request's queries in a response header (bench/middleware.py)."""

from golive.settings import *  # noqa: F403 (the whole settings module, two lines changed)
from golive.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
