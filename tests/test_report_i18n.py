"""Every issue code the project can emit has its words in French and in English, and every
text of the pages and e-mails exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl.report.i18n import CODES, LANGS, TEXTS, code_text, field_label, has_text, stem, tr

ROOT = Path(__file__).resolve().parents[1]
PORTALS = ("SL", "BD", "BUCOM", "SLN", "SLC")
_LITERAL = re.compile(r"(?<![.\w])([EW]_[A-Z][A-Z0-9_]*[A-Z0-9])\b")
# portal rules are written without their E_/W_ prefix: out.append(("BD_NO_PICTURE", "BD", …
_REASON = re.compile(r"out\.append\(\(\s*\"([A-Z][A-Z0-9_]+)\"")


def emitted_codes() -> set[str]:
    """Every code literal in the sources (the sandbox's own API errors aside), and the portal rules."""
    codes: set[str] = set()
    files = [p for p in (ROOT / "etl").rglob("*.py") if "sandbox" not in p.parts and p.name != "i18n.py"]
    files += list((ROOT / "mappings").rglob("*.yaml"))
    for p in files:
        codes.update(_LITERAL.findall(p.read_text(encoding="utf-8")))
    for p in (ROOT / "etl" / "validate").rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        stems = set(_REASON.findall(text))
        if "{portal}_PRICE_MISSING" in text:
            stems.update(f"{x}_PRICE_MISSING" for x in PORTALS)
        codes.update(f"{sev}_{s}" for s in stems for sev in "EW")
    return codes


def test_the_scan_finds_codes_of_every_stage() -> None:
    codes = emitted_codes()
    for code in ("E_LINE_MALFORMED", "E_VALUE_INVALID", "E_SCHEMA_EXTRA", "W_BD_DESCRIPTION_SHORT",
                 "E_SL_PRICE_MISSING", "E_PAYLOAD_UNREADABLE", "E_PRICE_MISSING"):
        assert code in codes, code
    assert len(codes) > 80


def test_every_emitted_code_has_french_and_english_words() -> None:
    missing = sorted(c for c in emitted_codes() if not has_text(c))
    assert missing == [], f"add these codes to etl/report/i18n.py CODES (French and English): {missing}"


@pytest.mark.parametrize("key", sorted(CODES))
def test_each_code_text_is_complete(key: str) -> None:
    t = CODES[key]
    for text in (t.fr_title, t.fr_fix, t.en_title, t.en_fix):
        assert text.strip() and not re.search(r"\b[EW]_[A-Z_]{3,}", text), key
    assert t.fr_title != t.en_title or t.fr_title.isupper(), f"{key}: English title not translated"


def test_every_page_text_exists_in_both_languages_with_the_same_fields() -> None:
    for key, (fr, en) in TEXTS.items():
        assert fr.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)}", fr)) == set(re.findall(r"{(\w+)}", en)), key


def test_plurals_and_numbers() -> None:
    assert tr("s_rejected", "fr", n=1) == "1 refusée, à corriger"
    assert tr("s_rejected", "fr", n=1200) == "1\u202f200 refusées, à corriger"
    assert tr("s_rejected", "en", n=1200) == "1,200 refused, to fix"
    assert tr("fail_api", "fr", n=2).startswith("2 envois au portail ont échoué ; ils seront refaits")
    assert tr("fail_api", "en", n=1).startswith("1 transmission to the portal failed; it will be retried")


def test_code_lookup_by_stem_and_english_field_names() -> None:
    assert stem("W_BD_PRICE_BELOW_FLOOR") == stem("E_BD_PRICE_BELOW_FLOOR") == "BD_PRICE_BELOW_FLOOR"
    assert code_text("E_PRICE_MISSING").title("en") == "Price missing"
    assert field_label("champ 11 (Prix / Loyer)", "en") == "field 11 (Prix / Loyer)"
    assert field_label("champ 11 (Prix / Loyer)", "fr") == "champ 11 (Prix / Loyer)"
    assert LANGS == ("fr", "en")
