"""Who to record as the author of a change."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def signed_in(user: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser | None:
    """`user` when it is a real account; None for nobody (a worker, a sweep) or a visitor."""
    return user if user is not None and user.is_authenticated else None


def display_name(user: AbstractBaseUser) -> str:
    """How people see a user: their full name, else their username."""
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


def name_from(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """`display_name` from a user's columns read as values (no user loaded); "" for no user
    (all three None)."""
    return f"{first_name or ''} {last_name or ''}".strip() or username or ""
