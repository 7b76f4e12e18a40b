"""Text decoding for agency exports: UTF-8 when the bytes are UTF-8, Windows-1252 otherwise.

Agency software writes Poliris files in cp1252 (what 4.08 required) or UTF-8 (newer tools),
never says which, and sometimes mixes both in one file (a UTF-8 description pasted into a
cp1252 export). The decision is therefore taken **per line**, in one streaming pass:

* a line that is valid UTF-8 is UTF-8. A cp1252 line of real text is practically never valid
  UTF-8: every accented letter (0xC0-0xFF) would have to be followed by one to three symbols
  from 0x80-0xBF (€, ’, «, °…) and never by a plain letter;
* any other line is Windows-1252, WHATWG flavour: the five bytes cp1252 leaves undefined
  (0x81, 0x8D, 0x8F, 0x90, 0x9D) decode to the C1 control of the same number instead of
  failing, so decoding never raises and the bytes stay recoverable for mojibake repair.
  Latin-1 is never used: it would turn €, œ and ’ into control characters.

A first pass deciding for the whole file would read the source twice (a ZIP member would be
inflated twice) and still be wrong on mixed files; deciding on a bounded sample is wrong
whenever the first non-UTF-8 byte comes late. The per-line rule gives the file-level answer
for any single-encoding file and the right answer line by line for mixed ones, which are
reported (``LineDecoder.mixed_lines``).

Mojibake (UTF-8 bytes decoded once as cp1252 upstream, "Ã©" for "é") is repaired by
``repair_mojibake``; callers run the cheap ``has_mojibake`` check first.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")

UTF8: Final = "utf-8"
CP1252: Final = "cp1252"
MIXED: Final = "mixed"

UNDEFINED_CP1252_BYTES: Final = b"\x81\x8d\x8f\x90\x9d"


def _windows_1252_table() -> str:
    chars = []
    for b in range(256):
        try:
            chars.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(b))
    return "".join(chars)


WINDOWS_1252_TABLE: Final = _windows_1252_table()
_TO_WINDOWS_1252: Final = {ch: b for b, ch in enumerate(WINDOWS_1252_TABLE)}


def decode_windows_1252(raw: bytes) -> str:
    """cp1252 that never fails: undefined bytes become U+0081, U+008D… (as browsers do)."""
    return codecs.charmap_decode(raw, "strict", WINDOWS_1252_TABLE)[0]


def utf16_bom(head: bytes) -> bool:
    """True when the data starts with a UTF-16 byte-order mark (an encoding we refuse)."""
    return head.startswith(_UTF16_BOMS)


# --- mojibake -----------------------------------------------------------------------------
# What UTF-8 sequences look like once decoded as cp1252: a lead byte shown as a letter, then
# continuation bytes 0x80-0xBF shown as symbols. Only the leads French text produces are
# searched: C2/C3 (the whole Latin-1 supplement: é à ç ô « » ° and the no-break space),
# C5 (œ Œ Š Ÿ Ž) and E2 (’ “ ” … – — € ™). "Ã" is not a French letter and "Â"/"Å"/"â" are
# never followed by such symbols in real text, so a match is mojibake.
_CONTINUATION = re.escape(WINDOWS_1252_TABLE[0x80:0xC0])
_MOJIBAKE_RE: Final = re.compile(f"[\u00c2\u00c3\u00c5][{_CONTINUATION}]|\u00e2[{_CONTINUATION}]{{2}}")


def has_mojibake(text: str) -> bool:
    """Cheap pre-check (a few substring scans) before running ``repair_mojibake``."""
    # Unrolled: this runs on every accented line.
    return ("\u00c3" in text or "\u00c2" in text or "\u00c5" in text or (
        "\u00e2" in text and ("\u00e2\u20ac" in text or "\u00e2\u201a" in text or "\u00e2\u201e" in text)))


def _undo(match: re.Match[str]) -> str:
    seq = match.group()
    try:
        return bytes(_TO_WINDOWS_1252[c] for c in seq).decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - every match is a well-formed sequence
        return seq


def repair_mojibake(text: str) -> tuple[str, str | None]:
    """Undo UTF-8-read-as-cp1252 damage, applied up to twice over (e.g. "ÃƒÂ©" → "é").

    Returns the text and the first damaged sequence seen (for the warning), or None when
    nothing was changed. Text without damage comes back unchanged, whatever else it holds.
    """
    sample: str | None = None
    for _ in range(3):
        first = _MOJIBAKE_RE.search(text)
        if first is None:
            break
        if sample is None:
            sample = first.group()
        text = _MOJIBAKE_RE.sub(_undo, text)
    return text, sample


# --- decoding ----------------------------------------------------------------------------


class LineDecoder:
    """Decodes the lines of one file and remembers what it saw.

    ``encoding`` is the file-level answer once every line went through: "utf-8" (also for
    pure ASCII), "cp1252", or "mixed" when both kinds of non-ASCII line occurred. The first
    non-ASCII line fixes the file's encoding; later lines of the other kind set ``mixed``
    (the caller warns on that record).
    """

    __slots__ = ("cp1252_lines", "first_encoding", "mixed", "undefined_bytes", "utf8_lines")

    def __init__(self) -> None:
        self.first_encoding: str | None = None
        self.utf8_lines = 0
        self.cp1252_lines = 0
        # Per call: did the last line disagree with the file's encoding / hold undefined bytes?
        self.mixed = False
        self.undefined_bytes: bytes = b""

    def decode(self, raw: bytes, *, invalid_utf8: bool = False) -> str:
        """Decode a line that is not pure ASCII (``invalid_utf8``: the caller already tried)."""
        # A cp1252 line is told by the caller (``invalid_utf8``) rather than by an exception
        # raised here: raising and catching one cost as much as decoding the line.
        text: str | None = None
        if not invalid_utf8:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
        if text is not None:
            enc = UTF8
            self.utf8_lines += 1
            self.undefined_bytes = b""
        else:
            text = decode_windows_1252(raw)
            enc = CP1252
            self.cp1252_lines += 1
            self.undefined_bytes = (
                bytes(b for b in UNDEFINED_CP1252_BYTES if b in raw)
                if b"\x81" in raw or b"\x8d" in raw or b"\x8f" in raw or b"\x90" in raw or b"\x9d" in raw
                else b"")
        if self.first_encoding is None:
            self.first_encoding = enc
            self.mixed = False
        else:
            self.mixed = enc != self.first_encoding
        return text

    @property
    def encoding(self) -> str:
        if self.utf8_lines and self.cp1252_lines:
            return MIXED
        return CP1252 if self.cp1252_lines else UTF8


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode a small whole file (Config.txt, Photos.cfg): BOM stripped, UTF-8 else cp1252.

    Returns the text (mojibake repaired) and the encoding used.
    """
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        text, enc = raw.decode("utf-8"), UTF8
    except UnicodeDecodeError:
        text, enc = decode_windows_1252(raw), CP1252
    if has_mojibake(text):
        text, _ = repair_mojibake(text)
    return text, enc
