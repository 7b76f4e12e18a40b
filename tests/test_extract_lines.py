"""Physical line splitting: LF / CRLF / CR, BOM, chunk boundaries, over-long lines."""

from __future__ import annotations

import io

import pytest

from etl.extract.lines import LineReader, LineTooLong, strip_terminator


def read(data: bytes, **kw: int) -> tuple[list[bytes | LineTooLong], LineReader]:
    reader = LineReader(io.BytesIO(data), **kw)
    out = [x if isinstance(x, LineTooLong) else strip_terminator(x) for x in reader]
    return out, reader


@pytest.mark.parametrize(("newline", "name"), [(b"\r\n", "\r\n"), (b"\n", "\n"), (b"\r", "\r")])
def test_each_line_ending_gives_the_same_lines(newline: bytes, name: str) -> None:
    lines, reader = read(newline.join([b"a", b"b", b"", b"c"]) + newline)
    assert lines == [b"a", b"b", b"", b"c"]
    assert reader.newline == name
    assert reader.terminated


def test_missing_final_terminator_is_noticed() -> None:
    lines, reader = read(b"a\nb")
    assert lines == [b"a", b"b"]
    assert not reader.terminated


def test_stray_cr_inside_an_lf_file_stays_in_the_line() -> None:
    lines, _ = read(b"a\rb\nc\n")
    assert lines == [b"a\rb", b"c"]


def test_stray_lf_inside_a_crlf_file_splits_the_line() -> None:
    # Joining the halves back is the Poliris layer's job (it knows the row width).
    lines, _ = read(b"a\nb\r\nc\r\n")
    assert lines == [b"a", b"b", b"c"]


def test_utf8_bom_is_stripped_and_reported() -> None:
    lines, reader = read(b"\xef\xbb\xbfa\nb\n")
    assert lines == [b"a", b"b"]
    assert reader.bom


def test_utf16_bom_is_reported_and_nothing_read() -> None:
    lines, reader = read("a\nb\n".encode("utf-16"))
    assert lines == []
    assert reader.utf16


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
def test_chunk_boundaries_never_change_the_lines(chunk: int) -> None:
    data = b"\xef\xbb\xbfline one\r\nline two\r\n\r\nlast"
    lines, reader = read(data, chunk_size=chunk)
    assert lines == [b"line one", b"line two", b"", b"last"]
    assert reader.newline == "\r\n"
    assert reader.bom


@pytest.mark.parametrize("chunk", [1, 4, 1 << 20])
def test_over_long_line_is_reported_not_accumulated(chunk: int) -> None:
    data = b"short\n" + b"x" * 5000 + b"\nafter\n"
    lines, _ = read(data, chunk_size=chunk, max_line=1000)
    assert lines[0] == b"short"
    assert isinstance(lines[1], LineTooLong) and lines[1].size >= 5000
    assert lines[2:] == [b"after"]


def test_over_long_first_line_without_terminator() -> None:
    lines, reader = read(b"y" * 3000, chunk_size=512, max_line=1000)
    assert len(lines) == 1 and isinstance(lines[0], LineTooLong)
    assert not reader.terminated
