"""Physical lines of a byte stream, in bounded memory, whatever the line endings.

The terminator is decided once per file from its first 64 KiB: LF (CRLF included) or, for
old Mac exports, a bare CR. In LF files a CR that is not part of a CRLF stays inside the line
(the Poliris layer turns it into a line break inside the value). Lines come out with their
LF or CRLF still attached (callers strip them anyway, and not cutting them off saves a copy
of every line); ``strip_terminator`` gives the bare line. A line longer than ``max_line`` is
never accumulated: it comes out as a ``LineTooLong`` marker so the caller can report it, and
reading resumes after it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from etl.extract.decoding import UTF8_BOM, utf16_bom

CHUNK_SIZE: Final = 256 << 10
MAX_LINE_BYTES: Final = 8 << 20
_DECIDE_AFTER: Final = 64 << 10


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class LineTooLong:
    size: int  # bytes the line had (at least max_line)


def strip_terminator(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
    return line[:-1] if line.endswith(b"\r") else line


class LineReader:
    """Iterate the raw lines of ``stream`` (bytes, possibly ending with LF or CRLF), once.

    After iteration: ``utf16`` (the data starts with a UTF-16 BOM and was not read),
    ``newline`` ("\\r\\n", "\\n", "\\r", or None when no terminator was met), ``bom`` (a
    UTF-8 BOM was stripped), ``terminated`` (the last line ended with a terminator; False
    hints at a truncated upload, though many writers omit the final one).
    """

    def __init__(self, stream: Readable, *, chunk_size: int = CHUNK_SIZE, max_line: int = MAX_LINE_BYTES,
                 separator: bytes | None = None) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._max_line = max_line
        # Given when reading from the middle of a file (a chunk): the file's own terminator, as
        # decided on its head, and no byte-order mark to look for.
        self._separator = separator
        self.newline: str | None = None
        self.bom = False
        self.utf16 = False
        self.terminated = True

    def _chunks(self) -> Iterator[bytes]:
        read = self._stream.read
        size = self._chunk_size
        if self._separator is not None:
            while chunk := read(size):
                yield chunk
            return
        head = b""
        while len(head) < len(UTF8_BOM):  # a short first read must not hide a BOM
            more = read(size)
            if not more:
                break
            head += more
        if utf16_bom(head):
            self.utf16 = True
            return
        if head.startswith(UTF8_BOM):
            head = head[len(UTF8_BOM):]
            self.bom = True
        if head:
            yield head
        while chunk := read(size):
            yield chunk

    def _detect(self, buf: bytes) -> bytes | None:
        """LF (with or without CR) unless bare CRs outnumber LFs: one stray CR or LF inside a
        value must not decide for the whole file."""
        body = buf[:-1] if buf.endswith(b"\r") else buf  # that CR may be half of a CRLF
        lf = body.count(b"\n")
        crlf = body.count(b"\r\n")
        cr = body.count(b"\r") - crlf
        if not lf and not cr:
            return None
        if cr > lf:
            self.newline = "\r"
            return b"\r"
        self.newline = "\r\n" if 2 * crlf > lf else "\n"
        return b"\n"

    def _cut(self, buf: bytes, sep: bytes, skipping: int) -> tuple[Sequence[bytes | LineTooLong], bytes, int]:
        """Split a buffer into complete lines, the unfinished rest, and the over-long state."""
        max_line = self._max_line
        head: list[bytes | LineTooLong] = []
        if skipping >= 0:
            cut = buf.find(sep)
            if cut < 0:
                return head, b"", skipping + len(buf)
            head.append(LineTooLong(skipping + cut))
            skipping = -1
            buf = buf[cut + 1:]
        if sep == b"\n":
            # readlines() of an in-memory buffer finds LFs with memchr: much faster than
            # bytes.split, and it leaves the terminators on (see the module docstring).
            parts = io.BytesIO(buf).readlines()
            carry = parts.pop() if parts and not parts[-1].endswith(b"\n") else b""
        else:
            parts = buf.split(sep)
            carry = parts.pop()
        lines: Sequence[bytes | LineTooLong] = parts
        if parts and max(map(len, parts)) > max_line:
            lines = [LineTooLong(len(x)) if len(x) > max_line else x for x in parts]
        if head:
            lines = [*head, *lines]
        if len(carry) > max_line:
            return lines, b"", len(carry)
        return lines, carry, skipping

    @property
    def separator(self) -> bytes | None:
        """The byte lines are cut on (b"\\n" or b"\\r"), once decided."""
        return None if self.newline is None else (b"\r" if self.newline == "\r" else b"\n")

    def __iter__(self) -> Iterator[bytes | LineTooLong]:
        sep: bytes | None = self._separator
        carry = b""
        skipping = -1  # >= 0: length so far of an over-long line being discarded
        for chunk in self._chunks():
            buf = carry + chunk if carry else chunk
            carry = b""
            if sep is None:
                if len(buf) < _DECIDE_AFTER:
                    carry = buf  # judge the line endings on a fair sample
                    continue
                sep = self._detect(buf)
                if sep is None:
                    if skipping >= 0 or len(buf) > self._max_line:
                        skipping = max(skipping, 0) + len(buf)
                    else:
                        carry = buf
                    continue
            lines, carry, skipping = self._cut(buf, sep, skipping)
            yield from lines
        if sep is None and carry:  # a small file: judge it whole
            sep = self._detect(carry) or b"\n"
            lines, carry, skipping = self._cut(carry, sep, skipping)
            yield from lines
        if skipping >= 0:
            self.terminated = False
            yield LineTooLong(skipping)
        elif carry:
            self.terminated = False
            yield carry
