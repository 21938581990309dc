"""io.parsing: the one number parser (scalar and vectorised agree) and the one delimiter sniffer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stridekeeper.io.parsing import parse_number, parse_numbers, sniff_delimiter

_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**7), 10**7).map(lambda i: f"{i:,}"),
    st.sampled_from(["--", "", " ", "NA", "null", "5,02", "1.067", "1\u00a0067", "x", "1e3"]),
    st.text(alphabet="0123456789,.- ", max_size=8),
)


@given(st.lists(_TEXT, max_size=12), st.booleans(), st.booleans())
def test_vectorised_and_scalar_agree(
    values: list[str], decimal_comma: bool, thousands: bool
) -> None:
    got = parse_numbers(values, decimal_comma=decimal_comma, thousands=thousands)
    want = [parse_number(v, decimal_comma=decimal_comma, thousands=thousands) for v in values]
    np.testing.assert_array_equal(got, np.array(want, dtype=float))


@pytest.mark.parametrize(
    ("text", "kw", "value"),
    [("1,067", {}, 1067.0), ("1,067", {"thousands": False}, np.nan), ("5,02", {"decimal_comma": True}, 5.02),
     ("1.067", {"decimal_comma": True}, 1067.0), ("--", {}, np.nan), ("inf", {}, np.nan), (" 3 ", {}, 3.0)],
)  # fmt: skip
def test_numbers_as_exports_write_them(text: str, kw: dict, value: float) -> None:
    np.testing.assert_equal(parse_number(text, **kw), value)


def test_the_delimiter_of_a_header() -> None:
    assert sniff_delimiter("a,b;c;d") == ";"
    assert sniff_delimiter("a\tb\tc,d") == "\t"
    assert sniff_delimiter("a,b;c") == ","  # a tie: the first of , ; tab
    assert sniff_delimiter("just one column") is None
    known = {"date", "duration_min", "notes"}.__contains__
    # counting says ',' (the notes' commas); the known names say ';'
    assert sniff_delimiter("date;duration_min;notes, as, typed", known) == ";"
    assert sniff_delimiter("x y z", known) == ","
