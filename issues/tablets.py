"""Unit tablets: enrollment with a one-time code, claiming it on the device, revocation, and the
rate limits that keep codes from being guessed or sprayed.

Only hashes are stored (`issues.access.hash_secret`). The code is 12 characters of Crockford's
base 32 (60 random bits): short enough to type when the camera cannot read the QR code, and with
ten wrong guesses per address per ten minutes and fifteen minutes of life, out of reach of guessing.
A code is claimed by one conditional UPDATE, so two devices racing for one code cannot both win.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from golive.models import GoLive, Unit
from issues.access import hash_secret
from issues.models import UnitTablet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

CODE_LIFETIME = dt.timedelta(minutes=15)
CODE_LENGTH = 12
# Crockford's base 32: no I, L, O or U, so what is read aloud or typed is what was meant.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})

ENROLLMENTS_PER_HOUR = 30
WRONG_CODES_LIMIT = 10
WRONG_CODES_WINDOW = dt.timedelta(minutes=10)


class TabletRefused(Exception):
    """The tablet action is not allowed; the message says why, for the person who asked."""


class RateLimited(TabletRefused):
    """Too many attempts in the window: answered with 429."""


# --- Codes ---------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str:
    """What someone typed, as the code was made: upper case, no spaces or dashes, O/I/L read as
    0/1."""
    return "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_TYPO)


def display_code(code: str) -> str:
    """ABCD-EFGH-JKMN: groups of four are easier to type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _valid_shape(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


# --- Status --------------------------------------------------------------------------------------


class Status:
    WAITING = "waiting"
    EXPIRED = "expired"
    ENROLLED = "enrolled"
    REVOKED = "revoked"

    LABELS = {
        WAITING: "Waiting to be enrolled",
        EXPIRED: "Code expired",
        ENROLLED: "Enrolled",
        REVOKED: "Revoked",
    }


def tablet_status(tablet: UnitTablet, now: dt.datetime) -> str:
    if tablet.revoked_at is not None:
        return Status.REVOKED
    if tablet.enrolled_at is not None:
        return Status.ENROLLED
    if tablet.code_expires_at <= now:
        return Status.EXPIRED
    return Status.WAITING


# --- Rate limits (the cache is Redis; when it is down the limits are not enforced) ---------------


def _count(key: str, window: dt.timedelta) -> int | None:
    """Add one to the counter of a fixed window; None when the cache cannot answer."""
    try:
        cache.add(key, 0, timeout=int(window.total_seconds()))
        return cache.incr(key)
    except (RedisError, OSError, ValueError):
        # Fail open: a cache outage must not stop a manager enrolling the tablets of a go-live.
        logger.warning("Rate limit %s not counted: the cache did not answer.", key)
        return None


def _current(key: str) -> int:
    try:
        return int(cache.get(key) or 0)
    except (RedisError, OSError, ValueError):
        logger.warning("Rate limit %s not read: the cache did not answer.", key)
        return 0


def _enrollments_key(user: AbstractBaseUser) -> str:
    return f"issues:tablets:enrollments:{user.pk}"


def _wrong_codes_key(client_ip: str) -> str:
    return f"issues:tablets:wrong-codes:{client_ip}"


def _count_enrollment(actor: AbstractBaseUser) -> None:
    count = _count(_enrollments_key(actor), dt.timedelta(hours=1))
    if count is not None and count > ENROLLMENTS_PER_HOUR:
        raise RateLimited(
            f"You have made {ENROLLMENTS_PER_HOUR} enrollment codes in the last hour, the most "
            "allowed. Wait a little, or ask the command center."
        )


def check_wrong_codes(client_ip: str) -> None:
    """Refuse a client that has tried too many wrong codes lately, even with a good one."""
    if _current(_wrong_codes_key(client_ip)) >= WRONG_CODES_LIMIT:
        raise RateLimited(
            "Too many wrong enrollment codes were tried from this network. "
            "Wait ten minutes, then open the link again or type the code carefully."
        )


def count_wrong_code(client_ip: str) -> None:
    _count(_wrong_codes_key(client_ip), WRONG_CODES_WINDOW)


# --- Enrollment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrollment:
    """A tablet and its one-time code, shown once to the manager and never stored."""

    tablet: UnitTablet
    code: str

    @property
    def display_code(self) -> str:
        return display_code(self.code)


def create_enrollment(
    *, go_live: GoLive, unit: Unit, label: str, actor: AbstractBaseUser
) -> Enrollment:
    """A new tablet for `unit`, waiting for its one-time code (valid 15 minutes) to be claimed."""
    if unit.site.go_live_id != go_live.pk:
        raise TabletRefused("Choose a unit of this go-live.")
    _count_enrollment(actor)
    code = new_code()
    now = timezone.now()
    tablet = UnitTablet.objects.create(
        go_live=go_live,
        unit=unit,
        label=label.strip(),
        code_hash=hash_secret(code),
        code_expires_at=now + CODE_LIFETIME,
        created_by=actor,
        created_at=now,
    )
    return Enrollment(tablet, code)


def reissue_code(*, tablet: UnitTablet, actor: AbstractBaseUser) -> Enrollment:
    """A fresh code for a tablet not enrolled yet (the first one expired or was lost)."""
    _count_enrollment(actor)
    code = new_code()
    now = timezone.now()
    updated = UnitTablet.objects.filter(
        pk=tablet.pk, enrolled_at__isnull=True, revoked_at__isnull=True
    ).update(code_hash=hash_secret(code), code_expires_at=now + CODE_LIFETIME)
    if not updated:
        raise TabletRefused(
            f"{tablet} is already enrolled or revoked: a new code would not be used. "
            "Enroll a new tablet instead."
        )
    tablet.code_hash = hash_secret(code)
    tablet.code_expires_at = now + CODE_LIFETIME
    return Enrollment(tablet, code)


def revoke_tablet(*, tablet: UnitTablet, actor: AbstractBaseUser) -> UnitTablet:
    """The tablet stops working at its next request; its code, if unused, dies with it."""
    now = timezone.now()
    updated = UnitTablet.objects.filter(pk=tablet.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor
    )
    if not updated:
        raise TabletRefused(f"{tablet} was already revoked.")
    tablet.revoked_at = now
    tablet.revoked_by = actor
    return tablet


def find_by_code(code: str) -> UnitTablet | None:
    """The tablet a code belongs to, whatever its state (to say why a code no longer works)."""
    code = normalize_code(code)
    if not _valid_shape(code):
        return None
    return (
        UnitTablet.objects.select_related("go_live", "unit__site")
        .filter(code_hash=hash_secret(code))
        .first()
    )


def why_refused(tablet: UnitTablet | None, now: dt.datetime) -> str:
    """Why a code cannot be claimed, in words for the person holding the tablet."""
    if tablet is not None and tablet.enrolled_at is None:
        if tablet.revoked_at is not None:
            return "This tablet's enrollment was cancelled by a manager. Ask for a new link."
        if tablet.code_expires_at <= now:
            return (
                "This enrollment link has expired (links work for 15 minutes). "
                "Ask your manager to make a fresh code."
            )
    return "This enrollment code is not valid or was already used. Ask your manager for a new link."


def claim_enrollment(*, code: str) -> tuple[UnitTablet, str]:
    """Enroll this device: (tablet, device secret for the cookie). Raises TabletRefused.

    One conditional UPDATE decides: the code matches, the tablet is neither enrolled nor revoked,
    and the code has not expired. The code is cleared, so it works once.
    """
    code = normalize_code(code)
    now = timezone.now()
    secret = secrets.token_urlsafe(32)
    claimed = 0
    if _valid_shape(code):
        claimed = UnitTablet.objects.filter(
            code_hash=hash_secret(code),
            enrolled_at__isnull=True,
            revoked_at__isnull=True,
            code_expires_at__gt=now,
        ).update(secret_hash=hash_secret(secret), enrolled_at=now, last_used_at=now, code_hash="")
    if not claimed:
        raise TabletRefused(why_refused(find_by_code(code), now))
    tablet = UnitTablet.objects.select_related("go_live", "unit__site").get(
        secret_hash=hash_secret(secret)
    )
    return tablet, secret
