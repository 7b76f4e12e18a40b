"""An XML value as the plain string a mapping expects: pure functions, no parser state.

Feeds put HTML in their texts two ways: as markup the parser sees as child elements
(``<texte>Bel appartement<br/>vue mer</texte>``) and as escaped text or CDATA
(``<![CDATA[<p>Bel appartement</p>]]>``). Both become plain text: block tags are line breaks,
other tags vanish, entities are decoded (only well-formed ``&name;`` ones, so a URL's
``&copy=2`` is left alone), spaces are collapsed, each line trimmed, empty lines dropped.
"""

from __future__ import annotations

import html
import re
from typing import Final

from lxml import etree

from etl.extract.decoding import has_mojibake, repair_mojibake

_BLOCK_TAGS: Final = frozenset({"br", "p", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})
_TAG: Final = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_BLOCK: Final = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|h[1-6])\b[^<>]*>", re.IGNORECASE)
_ENTITY: Final = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACES: Final = re.compile(r"[ \t\u00a0\u202f\u2007\f\v]+")
_NEWLINES: Final = re.compile(r"\n{2,}")


def element_text(el: etree._Element) -> str:
    """The text of an element and its descendants, child block elements (``<br/>``, ``<p>``) as
    line breaks; comments, processing instructions and entity references contribute nothing."""
    if len(el) == 0:
        return el.text or ""
    parts: list[str] = [el.text or ""]
    _walk(el, parts)
    return "".join(parts)


def _walk(el: etree._Element, parts: list[str]) -> None:
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            block = tag.rpartition("}")[2].lower() in _BLOCK_TAGS
            if block:
                parts.append("\n")
            if child.text:
                parts.append(child.text)
            if len(child):
                _walk(child, parts)
            if block and (child.text or len(child)):
                parts.append("\n")  # after a paragraph; a <br/> is one break, not two
        if child.tail:
            parts.append(child.tail)


def plain(raw: str) -> str:
    """HTML and stray spaces out of a value (see the module's docstring)."""
    s = raw
    if "<" in s and _TAG.search(s):
        s = _TAG.sub("", _BLOCK.sub("\n", s))
    if "&" in s and ";" in s:
        s = _ENTITY.sub(lambda m: html.unescape(m.group()), s)
    if "\n" in s or "\r" in s:
        # Each block boundary is one line break: « </p><p> » and « </li><li> » must not leave blank lines.
        lines = [_SPACES.sub(" ", line).strip() for line in s.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        return _NEWLINES.sub("\n", "\n".join(lines)).strip()
    if "  " in s or "\t" in s or "\u00a0" in s or "\u202f" in s:
        s = _SPACES.sub(" ", s)
    return s.strip()


def repaired(value: str) -> tuple[str, str | None]:
    """Double-encoded UTF-8 (« GrundstÃ¼ck ») undone; the damaged sequence seen, or None."""
    if has_mojibake(value):
        return repair_mojibake(value)
    return value, None
