"""What a source looks like, in words, when no registered format recognises it.

The refusal must tell the agency what it sent (« flux XML (racine <root>, probablement
Kyero v3) », « fichier CSV (séparateur « ; », en-tête : Référence, Prix…) », « document PDF »),
so these guesses read only the first bytes and never trust a file name. Everything quoted from
the file is cleaned of control characters before it reaches a message.
"""

from __future__ import annotations

import re
from typing import Final

from etl.extract.container import Container

_XML_ROOT: Final = re.compile(rb"<([A-Za-z_][\w.\-:]*)")
_SKIP_XML: Final = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)", re.S)
_DELIMITERS: Final = (";", "\t", ",", "|")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SHOWN_MEMBERS: Final = 5

# Root element (and a child seen in the head) → the dialect it probably is.
_XML_DIALECTS: Final = (
    (b"openimmo", None, "OpenImmo"),
    (b"trovit", None, "Trovit"),
    (b"root", b"<kyero", "Kyero v3"),
    (b"root", b"<property", "Kyero v3"),
    (b"flux", None, "Ubiflow / AC3"),
    (b"client", b"<annonce", "Ubiflow / AC3"),
    (b"rss", None, "RSS"),
)


def clean(text: str, limit: int = 60) -> str:
    """A piece of a file, safe to quote: control characters gone, length bounded."""
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(container: Container) -> str:
    """« flux XML (racine <root>, probablement Kyero v3) »: what the source seems to be."""
    if container.kind == "file":
        return describe_bytes(container.head())
    if not container.members:
        return "archive ZIP vide" if container.kind == "zip" else "dossier vide"
    if container.kind == "zip" and (office := _office_members(container.members)):
        return office
    # The biggest file is the one that holds the listings, in any export seen so far.
    main = max(container.members, key=container.size)
    where = "archive ZIP" if container.kind == "zip" else "dossier"
    shown = ", ".join(clean(m, 40) for m in container.members[:_SHOWN_MEMBERS])
    more = "…" if len(container.members) > _SHOWN_MEMBERS else ""
    return f"{where} contenant {shown}{more} ; son plus gros fichier, {clean(main, 40)}, est un {describe_bytes(container.head(main))}"


def describe_bytes(head: bytes) -> str:
    if not head.strip():
        return "fichier vide"
    if head.startswith(b"%PDF"):
        return "document PDF"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "fichier Office 97-2003 (classeur .xls ou document .doc)"
    if head.startswith(b"PK\x03\x04"):
        return _office_zip(head)
    for magic, what in ((b"\x89PNG", "image PNG"), (b"\xff\xd8\xff", "image JPEG"), (b"GIF8", "image GIF"),
                        (b"\x1f\x8b", "fichier compressé gzip"), (b"Rar!", "archive RAR"), (b"7z\xbc\xaf", "archive 7-Zip")):
        if head.startswith(magic):
            return what
    text = _text(head)
    if text is None:
        return "fichier binaire"
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("<"):
        return _xml(head)
    if body[:1] in "{[":
        return "fichier JSON"
    return _delimited(body)


def _office_members(members: list[str]) -> str | None:
    names = set(members)
    if "xl/workbook.xml" in names:
        return "classeur Excel (.xlsx)"
    if "word/document.xml" in names:
        return "document Word (.docx)"
    if "mimetype" in names and "content.xml" in names:
        return "document OpenDocument (.ods / .odt)"
    return None


def _office_zip(head: bytes) -> str:
    # Office files are ZIPs; their first member names tell which (inside a ZIP, read as a file).
    if b"xl/" in head:
        return "classeur Excel (.xlsx)"
    if b"word/" in head:
        return "document Word (.docx)"
    if b"opendocument.spreadsheet" in head:
        return "classeur OpenDocument (.ods)"
    return "archive ZIP"


def _text(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if head.count(b"\x00") > len(head) // 100:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else head.decode("cp1252", errors="replace")
    controls = len(_CONTROL.findall(text))
    return None if controls > len(text) // 50 else text


def xml_root(head: bytes) -> bytes | None:
    """The root element's name as written (``ns:flux``), past the BOM, declaration, comments and
    DOCTYPE; None when no element starts there."""
    rest = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    while (m := _SKIP_XML.match(rest)) and m.end() > 0:
        rest = rest[m.end():]
    root = _XML_ROOT.match(rest.lstrip())
    return root.group(1) if root else None


def _xml(head: bytes) -> str:
    name = xml_root(head)
    if name is None:
        return "fichier XML"
    local = name.split(b":")[-1].lower()
    for tag, child, dialect in _XML_DIALECTS:
        if local == tag and (child is None or child in head):
            return f"flux XML (racine <{clean(name.decode('utf-8', 'replace'), 40)}>, probablement {dialect})"
    return f"flux XML (racine <{clean(name.decode('utf-8', 'replace'), 40)}>)"


def _delimited(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return "fichier texte"
    best, best_cols = None, 1
    for d in _DELIMITERS:
        counts = [line.count(d) for line in lines[:10]]
        if min(counts) >= 1 and counts.count(counts[0]) >= len(counts) * 0.6 and counts[0] + 1 > best_cols:
            best, best_cols = d, counts[0] + 1
    if best is None:
        return "fichier texte"
    shown = "tabulation" if best == "\t" else f"« {best} »"
    header = [clean(c.strip().strip('"'), 20) for c in lines[0].split(best)[:6]]
    more = "…" if best_cols > 6 else ""
    return f"fichier CSV (séparateur {shown}, {best_cols} colonnes, en-tête : {', '.join(header)}{more})"

