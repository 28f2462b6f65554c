"""Links written in bulk: a view's path reversed once, then formatted per row."""

from __future__ import annotations

from django.urls import reverse

# Stands in for the one argument while reversing: digits, so both int and str converters take it,
# and long enough to appear nowhere else in a path.
_MARK = "987654321"


def url_format(viewname: str) -> str:
    """The path of `viewname`, which takes one argument, as a `str.format` pattern:
    `url_format(name).format(value)` is `reverse(name, args=[value])` without reversing for each
    of the thousands of rows, messages or cells that link somewhere."""
    path = reverse(viewname, args=[_MARK])
    if path.count(_MARK) != 1:
        raise ValueError(f"{viewname}'s path holds its argument more than once: {path}")
    return path.replace(_MARK, "{}")
