"""Links written in bulk or on every request: a view's path reversed once, then formatted."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# Stands in for the one argument while reversing: digits, so both int and str converters take it,
# and long enough to appear nowhere else in a path.
_MARK = "987654321"


def url_format(viewname: str, *rest: object) -> str:
    """The path of `viewname` as a `str.format` pattern of its first argument (the others are
    `rest`): `url_format(name, *rest).format(value)` is `reverse(name, args=[value, *rest])`
    without reversing for each of the thousands of rows, messages or cells that link somewhere."""
    path = reverse(viewname, args=[_MARK, *rest])
    if path.count(_MARK) != 1:
        raise ValueError(f"{viewname}'s path holds its argument more than once: {path}")
    return path.replace(_MARK, "{}")


def path_of(viewname: str, pk: int) -> str:
    """`reverse(viewname, args=[pk])` for a path made on every request (a redirect after a
    submission): the pattern is reversed once per URLconf and script prefix, which costs a
    submission more than the rest of its response."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _format_of(viewname, urlconf, get_script_prefix()).format(int(pk))


@lru_cache(maxsize=64)
def _format_of(viewname: str, urlconf: str, script_prefix: str) -> str:
    # The URLconf and prefix are the key only: reverse reads the current ones itself.
    return url_format(viewname)
