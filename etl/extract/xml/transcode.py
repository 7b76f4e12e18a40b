"""Bytes of an XML feed → UTF-8 bytes for the parser, whatever encoding the feed declares or lies about.

The parser is always fed UTF-8 with a declaration saying so, because real feeds lie: one
"declared UTF-8 but was latin-1" (feed-quirks.md), and libxml2 stops dead at the first such
byte, which would cut the feed there. The rules are those of ``etl.extract.decoding``:

* declared UTF-8 (or nothing, the XML default): UTF-8, and any byte sequence that is not
  UTF-8 is read as Windows-1252 (never latin-1: cp1252 maps 0x80-0x9F to €, œ, ’…), counted
  so the feed can warn that its declaration is wrong;
* declared ISO-8859-1 / latin-1: Windows-1252 (what such producers write in practice);
* any other declared encoding Python knows: that encoding; an unknown one stops the feed.

Decoding is incremental (a character cut by a chunk boundary is completed by the next chunk),
and newlines are untouched, so the parser's line numbers are the file's.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Final

from etl.errors import SourceUnreadable
from etl.extract.decoding import UTF8_BOM, decode_windows_1252
from etl.extract.lines import Readable

CHUNK: Final = 64 << 10
_DECLARATION: Final = re.compile(rb"^\s*<\?xml\b[^>]*?\?>")
_DECLARATION_TEXT: Final = re.compile(_DECLARATION.pattern.decode())
_ENCODING: Final = re.compile(r"""(\bencoding\s*=\s*)(["'])([A-Za-z][A-Za-z0-9._-]*)\2""")
_LATIN1_NAMES: Final = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "iso-ir-100", "cp819",
                                  "us-ascii", "ascii", "windows-1252", "cp1252"})
_FALLBACK: Final = "etl-xml-cp1252-fallback"


class _FallbackCounter:
    """Shared by the codec error handler: how many invalid UTF-8 sequences each decoder met."""

    count = 0


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    # Registered once per process; the count tells the transcoder that its declaration lied.
    assert isinstance(exc, UnicodeDecodeError)
    _FallbackCounter.count += 1
    bad = exc.object[exc.start:exc.end]
    return decode_windows_1252(bad), exc.end


codecs.register_error(_FALLBACK, _cp1252_fallback)


class Utf8Feed:
    """Iterates UTF-8 chunks of a feed; ``declared`` and ``encoding`` say what it was."""

    def __init__(self, stream: Readable, label: str, chunk: int = CHUNK) -> None:
        self._stream = stream
        self._label = label
        self._chunk = chunk
        self.declared: str | None = None  # the declaration's encoding, as written
        self.encoding = "utf-8"  # what was used: utf-8, cp1252, or the declared codec
        self.invalid_utf8 = 0  # sequences of a "UTF-8" feed read as Windows-1252

    def __iter__(self) -> Iterator[bytes]:
        first = self._stream.read(self._chunk)
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            decoder = codecs.getincrementaldecoder("utf-16")()
            self.encoding = self.declared = "utf-16"
            text = decoder.decode(first)
        else:
            if first.startswith(UTF8_BOM):
                first = first[len(UTF8_BOM):]
            decoder = self._decoder(first)
            text = self._decode(decoder, first)
        yield _redeclare(text).encode("utf-8")
        while chunk := self._stream.read(self._chunk):
            text = self._decode(decoder, chunk)
            if text:
                yield text.encode("utf-8")
        tail = self._decode(decoder, b"", final=True)
        if tail:
            yield tail.encode("utf-8")

    def _decoder(self, head: bytes) -> codecs.IncrementalDecoder:
        m = _DECLARATION.match(head)
        name = None
        if m:
            enc = _ENCODING.search(m.group().decode("ascii", "replace"))
            name = enc.group(3) if enc else None
        self.declared = name
        key = (name or "utf-8").lower()
        if key in ("utf-8", "utf8"):
            return codecs.getincrementaldecoder("utf-8")(errors=_FALLBACK)
        if key in _LATIN1_NAMES:
            self.encoding = "cp1252"
            return _Windows1252Decoder()
        try:
            info = codecs.lookup(key)
        except LookupError:
            raise SourceUnreadable(
                f"{self._label} : encodage « {name} » déclaré par le fichier XML inconnu ; "
                "exportez le flux en UTF-8.") from None
        self.encoding = info.name
        return info.incrementaldecoder(errors="replace")

    def _decode(self, decoder: codecs.IncrementalDecoder, data: bytes, final: bool = False) -> str:
        before = _FallbackCounter.count
        text = decoder.decode(data, final)
        if _FallbackCounter.count != before:
            self.invalid_utf8 += _FallbackCounter.count - before
        return text


class _Windows1252Decoder(codecs.IncrementalDecoder):
    """cp1252 that never fails (one byte, one character: no state between chunks)."""

    def decode(self, input: bytes, final: bool = False) -> str:  # noqa: A002 - codecs' own name
        return decode_windows_1252(input)


def _redeclare(text: str) -> str:
    """The same declaration, saying UTF-8 (what the parser is now given)."""
    m = _DECLARATION_TEXT.match(text)
    if not m:
        return text
    decl = _ENCODING.sub(lambda e: f'{e.group(1)}{e.group(2)}UTF-8{e.group(2)}', m.group(), count=1)
    return decl + text[m.end():]
