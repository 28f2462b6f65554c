"""CSV downloads: written in pieces of whole lines, marked as UTF-8, every cell shown as text."""

import csv
import io

from golive.lib.csvfile import CHUNK_CHARS, csv_chunks, csv_safe


def test_a_long_file_comes_in_pieces_of_whole_lines_that_read_back_as_written() -> None:
    rows = [
        [f"GL-{n}", "Labels print blank on the med room printer " * 2, "x4411"] for n in range(3000)
    ]
    pieces = list(csv_chunks(rows))
    assert len(pieces) > 2
    assert all(len(piece) >= CHUNK_CHARS for piece in pieces[:-1])
    assert all(piece.endswith("\r\n") for piece in pieces)
    text = "".join(pieces)
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == rows


def test_a_short_file_is_one_piece_and_an_empty_one_is_just_its_mark() -> None:
    assert list(csv_chunks([["issue"], ["GL-1001"]])) == ["\ufeffissue\r\nGL-1001\r\n"]
    assert list(csv_chunks([])) == ["\ufeff"]


def test_a_cell_a_spreadsheet_would_run_gets_a_quote_and_others_stay() -> None:
    for formula in ("=1+2", "+1 312 555 0100", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(formula) == f"'{formula}"
    for text in ("GL-1001", "x4411", "", "'quoted"):
        assert csv_safe(text) == text
