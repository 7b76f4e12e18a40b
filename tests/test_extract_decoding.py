"""Decoding rules: UTF-8 when valid, Windows-1252 otherwise (never Latin-1), mojibake repair."""

from __future__ import annotations

import pytest

from etl.extract.decoding import (
    CP1252,
    MIXED,
    UTF8,
    LineDecoder,
    decode_text,
    decode_windows_1252,
    has_mojibake,
    repair_mojibake,
)


def mangle(text: str) -> str:
    """What a producer does when it reads UTF-8 bytes as cp1252."""
    return decode_windows_1252(text.encode("utf-8"))


def test_valid_utf8_line_is_decoded_as_utf8() -> None:
    d = LineDecoder()
    assert d.decode("Saint-Raphaël – l’été à 3 500 €".encode("utf-8")) == "Saint-Raphaël – l’été à 3 500 €"
    assert d.encoding == UTF8


def test_invalid_utf8_line_is_decoded_as_cp1252_not_latin1() -> None:
    d = LineDecoder()
    # 0x80 € / 0x92 ’ / 0x9C œ are C1 controls in Latin-1: cp1252 must be used.
    assert d.decode("Saint-Raphaël, l’œuvre à 3 500 €".encode("cp1252")) == "Saint-Raphaël, l’œuvre à 3 500 €"
    assert d.encoding == CP1252


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_undefined_in_cp1252_do_not_crash_and_are_reported(byte: int) -> None:
    d = LineDecoder()
    text = d.decode(b"caf\xe9 " + bytes([byte]))
    assert text == "café " + chr(byte)
    assert d.undefined_bytes == bytes([byte])


def test_windows_1252_table_maps_undefined_bytes_to_c1_controls() -> None:
    assert decode_windows_1252(bytes(range(0x80, 0xA0))) == "€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ"


def test_a_cp1252_line_after_utf8_lines_marks_the_file_mixed() -> None:
    d = LineDecoder()
    d.decode("première".encode("utf-8"))
    assert not d.mixed
    d.decode("deuxième".encode("cp1252"))
    assert d.mixed
    assert d.encoding == MIXED
    d.decode("troisième".encode("utf-8"))
    assert not d.mixed


@pytest.mark.parametrize(
    "original",
    ["été à la mer", "Chambre n°2 « calme »", "l’œuvre – 3 500 €", "cœur™ ŒUVRE", "Déjà\xa0vu", "Àà Éé Ïï Ùù Çç ÁÍÐÝ"],
)
def test_mojibake_is_repaired(original: str) -> None:
    damaged = mangle(original)
    assert damaged != original
    assert has_mojibake(damaged)
    repaired, sample = repair_mojibake(damaged)
    assert repaired == original
    assert sample is not None


def test_double_mojibake_is_repaired() -> None:
    twice = mangle(mangle("été"))
    assert repair_mojibake(twice)[0] == "été"


def test_mojibake_using_undefined_cp1252_bytes_is_repaired() -> None:
    # "Á" is C3 81 in UTF-8: 0x81 has no cp1252 character, so our decoding keeps it as U+0081.
    damaged = mangle("ÁÍÏÐÝ")
    assert "\x81" in damaged
    assert repair_mojibake(damaged)[0] == "ÁÍÏÐÝ"


def test_mixed_damaged_and_sound_text_repairs_only_the_damage() -> None:
    text = "Château " + mangle("à rénover") + " – bâtiment"
    assert repair_mojibake(text)[0] == "Château à rénover – bâtiment"


@pytest.mark.parametrize(
    "sound",
    ["CHÂTEAU « été »", "bâtiment, âge, pâte", "Åsa", "Â ", "théâtre", "Ã"],
)
def test_sound_text_is_left_alone(sound: str) -> None:
    repaired, sample = repair_mojibake(sound)
    assert repaired == sound
    assert sample is None


def test_decode_text_strips_bom_and_falls_back_to_cp1252() -> None:
    assert decode_text(b"\xef\xbb\xbfVersion=4.09\r\n") == ("Version=4.09\r\n", UTF8)
    assert decode_text("Application=Léo".encode("cp1252")) == ("Application=Léo", CP1252)
