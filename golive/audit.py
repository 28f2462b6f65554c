"""The audit log (AuditEntry): sign-ins and failed sign-ins, membership changes, exports and API
tokens, each with who, when and from which address. Views and the auth signals call `record`;
the command center reads its go-live's entries on the Audit log tab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from golive.models import AuditEntry, GoLive, Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.http import HttpRequest

A = AuditEntry.Action


def record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    username: str = "",
    go_live: GoLive | int | None = None,
    detail: str = "",
) -> AuditEntry:
    """Write one entry; the user and the address come from `request` unless given."""
    if user is None and request is not None:
        user = request.user
    account = user if user is not None and user.is_authenticated else None
    address = request.META.get("REMOTE_ADDR") or None if request is not None else None
    return AuditEntry.objects.create(
        action=action,
        user=account,
        username=username or (account.get_username() if account is not None else ""),
        go_live_id=go_live.pk if isinstance(go_live, GoLive) else go_live,
        detail=detail[:300],
        address=address,
    )


def entries_for(go_live: GoLive) -> QuerySet[AuditEntry]:
    """The go-live's entries, and the sign-ins, sign-outs and failed sign-ins of its members
    (past ones included: their membership rows stay)."""
    members = Membership.objects.filter(go_live=go_live).values("user_id")
    return AuditEntry.objects.filter(
        Q(go_live=go_live) | Q(go_live__isnull=True, user__in=members)
    ).select_related("user")


# --- Receivers of django.contrib.auth's signals (connected in GoliveConfig.ready) -----------------


def signed_in(sender: Any, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> None:
    record(action=A.SIGN_IN, request=request, user=user)


def signed_out(
    sender: Any, request: HttpRequest, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    if user is not None:
        record(action=A.SIGN_OUT, request=request, user=user)


def locked_out(sender: Any, request: HttpRequest, username: str, **kwargs: Any) -> None:
    """django-axes locked this name and address out after too many failed sign-ins."""
    _attempt(
        A.LOCKED_OUT,
        request,
        username,
        "Too many failed sign-ins from this address: refused for a while.",
    )


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django masks the password in `credentials`; only the name typed is kept.
    _attempt(A.SIGN_IN_FAILED, request, credentials.get("username"), "")


def _attempt(action: str, request: HttpRequest | None, typed: object, detail: str) -> None:
    """A refused sign-in, under the account whose name was typed if there is one."""
    name = str(typed or "")[:150]
    account = get_user_model().objects.filter(username=name).first() if name else None
    if account is None and action == A.SIGN_IN_FAILED:
        detail = "No account has this user name."
    record(action=action, request=request, user=account, username=name, detail=detail)
