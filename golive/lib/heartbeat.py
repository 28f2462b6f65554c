"""Heartbeats of the beat sweeps: each records when it last finished, and /healthz reports how
long ago that was. Kept in the cache (Redis), which every process shares."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

# The sweeps with a heartbeat (named here, since the core checks them and the apps run them).
ESCALATION_SWEEP = "escalation"


def _key(name: str) -> str:
    return f"heartbeat:{name}"


def beat(name: str, *, at: dt.datetime | None = None) -> None:
    """Record that the sweep `name` finished at `at` (now)."""
    cache.set(_key(name), (at or timezone.now()).timestamp(), timeout=None)


def age(name: str, *, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How long ago the sweep `name` last finished; None if it never has (since Redis started)."""
    stamp = cache.get(_key(name))
    if stamp is None:
        return None
    return (now or timezone.now()) - dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC)
