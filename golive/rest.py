"""The REST framework's plug-ins that settings.REST_FRAMEWORK names: token sign-in and pages.

They live apart from golive/api.py because DRF imports them while its own views module is still
loading: this module must not import DRF's views or generics.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from golive.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

TOKEN_PREFIX = "glv_"
# A token's last use is written at most this often: not a write on every request.
LAST_USED_EVERY = dt.timedelta(minutes=5)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PAGE_PARAMS = frozenset({"page", "page_size"})


# --- Tokens -----------------------------------------------------------------------------------


def new_token_key() -> str:
    """A random 32-byte secret, recognisable as golive's by its prefix (for secret scanners)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token_key(key: str) -> str:
    """Keys are random 32-byte secrets: a plain SHA-256 is enough to store and look them up."""
    return hashlib.sha256(key.encode()).hexdigest()


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`: one query finds the token and its user."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != b"bearer":
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as “Authorization: Bearer <token>”, with nothing after it."
            )
        try:
            key = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("This token is not one of golive's.") from None
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This token is not known. Make one on your “API tokens” page."
            )
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC."
            )
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC. Make a new one."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This token's user may no longer sign in.")
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes a missing or bad token a 401 (with this challenge) rather than a 403.
        return 'Bearer realm="golive"'


def whole_number(raw: str) -> int | None:
    """A query parameter's whole number of at most 18 digits (any bigint), else None. Plain
    ASCII digits only: str.isdigit also takes "²", which int() does not."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


# --- Pages ------------------------------------------------------------------------------------


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get("page_size")
        if raw is None:
            return PAGE_SIZE
        size = whole_number(raw) or 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise exceptions.ValidationError(
                {"page_size": [f"Give a whole number from 1 to {MAX_PAGE_SIZE}."]}
            )
        return size

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        raw = request.query_params.get("page", "1")
        number = whole_number(raw)
        if number is None or number < 1:
            raise exceptions.ValidationError({"page": ["Give a page number: 1 or more."]})
        return super().paginate_queryset(queryset, request, view)
