"""CSV files people open in a spreadsheet: streamed a piece at a time, every cell shown as text.

Used by the roster and schedule exports (staffing) and the issue export (issues).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_CHARS = 64 * 1024


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote before it."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_unescape(text: str) -> str:
    """Undo `csv_safe`, so an exported file imports back with the same values."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class _Echo:
    """A file that hands back what is written to it, so csv.writer can feed a streamed response."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text, every cell safe from formula injection, in pieces of about `CHUNK_CHARS`: one
    write to the network per piece rather than per line.

    It starts with a byte-order mark so that Excel opens the file as UTF-8 (the roster import
    accepts it).
    """
    writer = csv.writer(_Echo())
    chunk, size = ["\ufeff"], 1
    for row in rows:
        line = writer.writerow([csv_safe(cell) for cell in row])
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield "".join(chunk)


def csv_response(rows: Iterable[list[str]], filename: str) -> StreamingHttpResponse:
    """A download of `rows` (the header first) that never holds the whole file: it is written a
    piece at a time as the rows come."""
    return StreamingHttpResponse(
        csv_chunks(rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
