"""Where a send lives (ZIP, folder, bare file) and the ZIP safety guards."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from etl.extract.container import ArchiveLimits
from etl.extract.poliris.bundle import open_bundle
from etl.extract.poliris import read_poliris
from etl.extract.poliris.writer import annonces_bytes, write_zip
from etl.records import SourceRecord
from etl.errors import SourceUnreadable


def rows(count: int = 2) -> list[dict[int, str]]:
    return [{1: "agence-a", 2: f"REF-{n}", 20: f"Maison n°{n}", 175: f"T{n}", 301: "4.09"} for n in range(1, count + 1)]


def keys(feed_source: Path | str, **kw: object) -> list[str]:
    return [r.source_key for r in read_poliris(feed_source, **kw).records() if isinstance(r, SourceRecord)]  # type: ignore[arg-type]


# --- finding the files -------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["canonical", "lower", "upper"])
def test_zip_members_are_matched_whatever_their_case(tmp_path: Path, case: str) -> None:
    path = write_zip(tmp_path / "immo_agence.zip", rows(), member_case=case, photos_mode="full")  # type: ignore[arg-type]
    feed = read_poliris(path)
    assert [r.source_key for r in feed.records()] == ["T1", "T2"]  # type: ignore[union-attr]
    assert feed.config["version"] == "4.09"
    assert feed.photos_mode == "FULL"
    member = {"lower": "annonces.csv", "upper": "ANNONCES.CSV"}.get(case, "Annonces.csv")
    assert feed.source == f"immo_agence.zip/{member}"


def test_zip_with_everything_inside_one_folder_and_photos(tmp_path: Path) -> None:
    photos = {"230.jpg": b"\xff\xd8jpeg-1", "plans/231.png": b"\x89PNG-2"}
    path = write_zip(tmp_path / "send.zip", rows(), folder="export_2026", photos_mode="DIFF", photos=photos)
    feed = read_poliris(path)
    assert keys(path) == ["T1", "T2"]
    assert feed.source == "send.zip/export_2026/Annonces.csv"
    assert feed.photos_mode == "DIFF"
    assert sorted(feed.photo_files) == ["230.jpg", "plans/231.png"]
    assert feed.read_photo("230.jpg") == b"\xff\xd8jpeg-1"
    with pytest.raises(KeyError):
        feed.read_photo("../Annonces.csv")


def test_mac_metadata_folder_is_ignored(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows(), photos={"__MACOSX/._Annonces.csv": b"\x00\x05\x16\x07"})
    feed = read_poliris(path)
    assert keys(path) == ["T1", "T2"] and feed.photo_files == []


def test_folder_source_with_lower_case_names(tmp_path: Path) -> None:
    folder = tmp_path / "envoi"
    folder.mkdir()
    (folder / "annonces.csv").write_bytes(annonces_bytes(rows()))
    (folder / "CONFIG.TXT").write_text("version = 4.09\napplication=Test\n")
    (folder / "photos.cfg").write_text("MODE=url")
    (folder / "12.jpg").write_bytes(b"img")
    feed = read_poliris(folder)
    assert keys(folder) == ["T1", "T2"]
    assert feed.config["Version"] == "4.09" and feed.photos_mode == "URL" and feed.photo_files == ["12.jpg"]
    assert feed.source == "envoi/annonces.csv"


def test_folder_source_with_a_single_sub_folder(tmp_path: Path) -> None:
    (tmp_path / "envoi" / "export").mkdir(parents=True)
    (tmp_path / "envoi" / "export" / "Annonces.csv").write_bytes(annonces_bytes(rows()))
    assert keys(tmp_path / "envoi") == ["T1", "T2"]


def test_bare_annonces_file_finds_its_side_files(tmp_path: Path) -> None:
    (tmp_path / "Annonces.csv").write_bytes(annonces_bytes(rows()))
    (tmp_path / "Photos.cfg").write_text("Mode=FULL\r\n")
    feed = read_poliris(tmp_path / "Annonces.csv")
    assert feed.photos_mode == "FULL" and feed.config_version is None
    assert feed.source == "Annonces.csv"


def test_unknown_photos_mode_is_a_feed_warning(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows(), photos_mode="FTP")
    feed = read_poliris(path)
    assert feed.photos_mode is None
    assert [i.code for i in feed.issues] == ["W_PHOTOS_MODE_UNKNOWN"] and "FTP" in feed.issues[0].message


def test_missing_annonces_is_unreadable_and_says_what_was_found(tmp_path: Path) -> None:
    path = tmp_path / "send.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Listings.csv", "x")
    with pytest.raises(SourceUnreadable, match=r"send\.zip : pas de fichier Annonces\.csv.*Listings\.csv"):
        read_poliris(path)


def test_two_candidate_annonces_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "send.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a/Annonces.csv", "x")
        zf.writestr("b/annonces.csv", "y")
    with pytest.raises(SourceUnreadable, match=r"plusieurs fichiers Annonces\.csv"):
        read_poliris(path)


def test_missing_source_and_empty_folder_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnreadable, match="introuvable"):
        read_poliris(tmp_path / "nope.zip")
    with pytest.raises(SourceUnreadable, match=r"aucun fichier Annonces\.csv"):
        read_poliris(tmp_path)


def test_damaged_zip_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "send.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(SourceUnreadable, match=r"send\.zip : archive ZIP illisible"):
        read_poliris(path)


def test_corruption_inside_the_member_stops_the_read_naming_the_file(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows(400))
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("Annonces.csv")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 200, start + 260):  # garble the deflate stream
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    feed = read_poliris(path)
    with pytest.raises(SourceUnreadable, match=r"send\.zip/Annonces\.csv : lecture interrompue"):
        list(feed.records())


# --- ZIP safety --------------------------------------------------------------------------------------


@pytest.mark.parametrize("evil", ["../evil.jpg", "photos/../../evil.jpg", "/etc/passwd", "..\\evil.jpg", "C:/evil.jpg"])
def test_path_traversal_names_are_refused(tmp_path: Path, evil: str) -> None:
    path = write_zip(tmp_path / "send.zip", rows(), photos={evil: b"x"})
    with pytest.raises(SourceUnreadable) as exc:
        read_poliris(path)
    assert "send.zip" in str(exc.value) and "chemin dangereux" in str(exc.value) and evil in str(exc.value)


def test_symbolic_link_members_are_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows())
    with zipfile.ZipFile(path, "a") as zf:
        link = zipfile.ZipInfo("1.jpg")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(SourceUnreadable, match=r"chemin dangereux « 1\.jpg »"):
        read_poliris(path)


def test_zip_bomb_is_refused_on_its_compression_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Annonces.csv", annonces_bytes(rows()))
        zf.writestr("1.jpg", b"\x00" * (40 << 20))  # 40 MB of zeros deflate ~1000:1
    with pytest.raises(SourceUnreadable) as exc:
        read_poliris(path)
    message = str(exc.value)
    assert message.startswith("bomb.zip : « 1.jpg » se décompresse en 40,0 Mo pour ")
    assert "zip bomb" in message


def test_highly_compressible_but_genuine_send_is_not_taken_for_a_bomb(tmp_path: Path) -> None:
    # Rows of almost only empty fields deflate ~250:1: legitimate, and above a naive 100:1 limit.
    path = write_zip(tmp_path / "send.zip", ({1: "ag", 175: f"T{n}"} for n in range(8000)), width=334)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("Annonces.csv")
    assert info.file_size / info.compress_size > 150
    assert len(keys(path)) == 8000


def test_total_uncompressed_size_is_limited(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows(), photos={f"{n}.jpg": bytes(range(256)) * 64 for n in range(20)})
    with pytest.raises(SourceUnreadable, match=r"send\.zip : l'archive se décompresse en"):
        read_poliris(path, limits=ArchiveLimits(max_total_bytes=100_000))


def test_member_size_is_limited(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows(50))
    with pytest.raises(SourceUnreadable, match=r"« Annonces\.csv » se décompresse en"):
        read_poliris(path, limits=ArchiveLimits(max_member_bytes=1000))


def test_encrypted_members_are_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows())
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag bit in every local and central header.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(signature)
        while pos >= 0:
            data[pos + flag_offset] |= 0x01
            pos = data.find(signature, pos + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(SourceUnreadable, match="chiffré"):
        read_poliris(path)


def test_bundle_streams_without_reading_the_whole_member(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "send.zip", rows(2000))
    bundle = open_bundle(path)
    with bundle.open_annonces() as stream:
        first = stream.read(4096)
    assert first.startswith(b'"agence-a"!#"REF-1"')
