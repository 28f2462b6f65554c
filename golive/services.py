"""Workflows of the core that span several rows: opening a go-live with its default directory."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from golive.models import ApiToken, Application, EscalationTier, GoLive, Membership, Role
from golive.rest import TOKEN_PREFIX, hash_token_key, new_token_key

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, User

# The usual support structure of a go-live (level, name, description, leadership line).
DEFAULT_TIERS: list[tuple[int, str, str, bool]] = [
    (1, "Floor support & help desk", "At-the-elbow support, super users, help desk", False),
    (2, "Command center & application analysts", "Triage leads and application analysts", False),
    (3, "Build & technical", "Build analysts, interfaces, devices, infrastructure", False),
    (4, "Vendor", "The EHR vendor's and third parties' support lines", False),
    (9, "Leadership line", "Told at once of patient-safety issues", True),
]

DEFAULT_APPLICATIONS: list[str] = [
    "ADT / Registration",
    "Scheduling",
    "Clinical documentation",
    "Orders",
    "Pharmacy / eMAR",
    "Lab",
    "Radiology",
    "ED",
    "OR / Anesthesia",
    "Billing",
]


def ensure_default_directory(*, go_live: GoLive) -> None:
    """Create the default tiers and applications a go-live lacks; existing ones are left alone."""
    taken_levels = set(go_live.tiers.values_list("level", flat=True))
    has_leadership = go_live.tiers.filter(is_leadership=True).exists()
    for level, name, description, is_leadership in DEFAULT_TIERS:
        if level in taken_levels or (is_leadership and has_leadership):
            continue
        EscalationTier.objects.create(
            go_live=go_live,
            level=level,
            name=name,
            description=description,
            is_leadership=is_leadership,
        )
    for name in DEFAULT_APPLICATIONS:
        Application.objects.get_or_create(go_live=go_live, name=name)


@transaction.atomic
def create_go_live(
    *,
    creator: User,
    name: str,
    organization: str,
    cutover_at: dt.datetime,
    support_ends_at: dt.datetime,
    time_zone: str,
    phase: str = GoLive.Phase.PLANNING,
    command_center_phone: str = "",
    command_center_location: str = "",
) -> GoLive:
    """Open a go-live: its creator leads its command center and it starts with the usual directory."""
    go_live = GoLive(
        name=name,
        organization=organization,
        cutover_at=cutover_at,
        support_ends_at=support_ends_at,
        time_zone=time_zone,
        phase=phase,
        command_center_phone=command_center_phone,
        command_center_location=command_center_location,
    )
    go_live.full_clean()
    go_live.save()
    Membership.objects.create(user=creator, go_live=go_live, role=Role.COMMAND_CENTER_LEAD)
    set_up_go_live(go_live=go_live)
    return go_live


def set_up_go_live(*, go_live: GoLive) -> None:
    """The defaults a go-live starts with: the core's directory, then each app's own (named in
    settings.GO_LIVE_SETUP, so the core needs no import of the apps above it). Repeatable."""
    ensure_default_directory(go_live=go_live)
    for path in settings.GO_LIVE_SETUP:
        import_string(path)(go_live=go_live)


# --- API tokens -------------------------------------------------------------------------------

# A user's tokens that still work, at most: one per system that reads golive is the usual need.
MAX_ACTIVE_TOKENS = 10


class TokenRefused(Exception):
    """A token cannot be made: the message says why and what to do."""


def create_api_token(
    *,
    user: AbstractBaseUser,
    name: str,
    created_by: AbstractBaseUser,
    expires_at: dt.datetime | None,
) -> tuple[ApiToken, str]:
    """A new token for `user`, and its key: the only time the key is known (only its hash is
    kept). The count of active tokens is checked under a lock on the user's row, so two requests
    at once cannot both pass the limit."""
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise TokenRefused("Choose an expiry date in the future.")
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiToken.objects.filter(user=user).usable(now).count() >= MAX_ACTIVE_TOKENS:
            raise TokenRefused(
                f"You have {MAX_ACTIVE_TOKENS} working tokens already. Revoke one you no longer "
                "use first."
            )
        key = new_token_key()
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=key[: len(TOKEN_PREFIX) + 4],
            key_hash=hash_token_key(key),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    return token, key


def revoke_api_tokens(*, tokens: QuerySet[ApiToken], by: AbstractBaseUser) -> int:
    """Revoke the tokens still working; how many were. A revoked token stays revoked (the
    condition keeps the first revocation's time and author)."""
    return tokens.filter(revoked_at=None).update(revoked_at=timezone.now(), revoked_by=by)
