"""Row boundaries in CSV bytes: quoted newlines never split a row."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from stratus.solutions.costs.domain.chunking import plan_chunks, scan_rows


def test_a_newline_inside_quotes_does_not_end_the_row() -> None:
    data = b'a,"multi\nline",c\nd,e,f\n'
    scan = scan_rows(data, 0)
    assert scan.row_ends == [len(b'a,"multi\nline",c\n'), len(data)]
    assert not scan.in_quotes


def test_escaped_quotes_do_not_change_the_quote_state() -> None:
    data = b'a,"say ""hi""",c\nd\n'
    assert scan_rows(data, 0).row_ends == [17, 19]


def test_the_bytes_after_the_last_newline_are_left_for_the_next_window() -> None:
    scan = scan_rows(b"a,b\nc,d", 100)
    assert scan.row_ends == [104]
    assert scan.resume_at == 104


def test_a_window_ending_inside_quotes_carries_the_state() -> None:
    scan = scan_rows(b'a,"open\n', 0)
    assert scan.row_ends == []
    assert scan.in_quotes
    assert scan.resume_at == 8
    assert scan_rows(b'still",x\n', 8, scan.in_quotes).row_ends == [17]


def test_chunks_cover_the_rows_in_order_without_gaps() -> None:
    chunks, left = plan_chunks([10, 20, 30, 40, 50], 0, 2, 0, 1)
    assert [(c.start, c.end, c.first_row) for c in chunks] == [(0, 20, 1), (20, 40, 3)]
    assert left == 1


cells = st.text(alphabet=st.sampled_from(["a", "b", ",", '"', "\n", "\r", "é"]), max_size=8)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=12),
       window=st.integers(min_value=1, max_value=40))  # fmt: skip
def test_scanning_in_any_window_size_finds_exactly_the_csv_rows(
    rows: list[list[str]], window: int
) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    data = out.getvalue().encode()
    ends: list[int] = []
    position, in_quotes = 0, False
    while position < len(data):
        scan = scan_rows(data[position : position + window], position, in_quotes)
        ends += scan.row_ends
        if scan.resume_at == position:  # no newline in this window: widen it
            window *= 2
            continue
        position, in_quotes = scan.resume_at, scan.in_quotes
    parsed = []
    start = 0
    for end in ends:
        parsed += list(csv.reader(io.StringIO(data[start:end].decode(), newline="")))
        start = end
    assert parsed == list(csv.reader(io.StringIO(data.decode(), newline="")))
