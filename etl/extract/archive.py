"""Where a Poliris send lives: a ZIP, a folder, or a bare ``Annonces.csv``.

``open_bundle`` checks the whole source before anything is read (so a bad archive stops the
run before a single record is produced) and hands back a ``Bundle`` that streams
``Annonces.csv`` and reads the small side files.

ZIP safety: members are never extracted to disk, yet an archive with a dangerous member name
(absolute path, ``..``, drive letter, symbolic link) is refused outright: such a file was
built to attack unzip tools and cannot be a genuine export. Zip bombs are refused on the
sizes the archive declares (total, per member, compression ratio) and the declared size of
the member being streamed is enforced again while reading.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Final

from etl.extract.lines import Readable
from etl.extract.record import SourceUnreadable

ANNONCES: Final = "annonces.csv"
CONFIG: Final = "config.txt"
PHOTOS_CFG: Final = "photos.cfg"
_SIDE_FILES: Final = frozenset({ANNONCES, CONFIG, PHOTOS_CFG})
_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")  # local header, or an empty archive
_JUNK_DIRS: Final = ("__macosx/",)
_DRIVE_RE: Final = re.compile(r"^[A-Za-z]:")
# What reading a damaged archive or file raises (CRC mismatch, truncated deflate stream…).
_READ_ERRORS: Final = (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Zip-bomb guards. Generous for real sends (photos in FULL mode make big archives)."""

    max_total_bytes: int = 8 << 30  # sum of the declared uncompressed sizes
    max_member_bytes: int = 4 << 30  # any single member, Annonces.csv included
    # Uncompressed / compressed, for members above ratio_floor. Deflate tops out near 1,030:1 (what
    # bombs use); a Poliris CSV of almost only empty fields reaches ~270:1, a real one far less.
    max_ratio: float = 500.0
    ratio_floor: int = 1 << 20  # small members compress arbitrarily well and harm no one
    max_members: int = 200_000
    max_side_file_bytes: int = 1 << 20  # Config.txt, Photos.cfg
    max_photo_bytes: int = 64 << 20  # the spec allows 40 MB per image


DEFAULT_LIMITS: Final = ArchiveLimits()


def _number(x: float, decimals: int = 0) -> str:
    """French style: narrow no-break space between thousands, decimal comma."""
    return f"{x:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def _size(n: int) -> str:
    for unit, scale in (("Go", 1 << 30), ("Mo", 1 << 20), ("Ko", 1 << 10)):
        if n >= scale:
            return f"{_number(n / scale, 1)} {unit}"
    return f"{n} octets"


@dataclass(slots=True)
class Bundle:
    """One Poliris send. ``name`` is the display name used in locations and messages."""

    kind: str  # "zip" | "dir" | "file"
    path: Path
    name: str
    annonces: str  # member name (zip) or file path (dir/file)
    config: str | None = None
    photos_cfg: str | None = None
    # Other files beside Annonces.csv (images sent in FULL/DIFF mode), relative names.
    photo_files: list[str] = field(default_factory=list)
    limits: ArchiveLimits = DEFAULT_LIMITS
    _members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    _base: str = ""  # folder of Annonces.csv inside the archive ("" or "export/")

    @property
    def annonces_name(self) -> str:
        """How records' locations name the file: ``send.zip/Annonces.csv``, ``Annonces.csv``."""
        if self.kind == "file":
            return self.name
        return f"{self.name}/{self.annonces if self.kind == 'zip' else Path(self.annonces).name}"

    @contextmanager
    def open_annonces(self) -> Iterator[Readable]:
        """Stream Annonces.csv; I/O and archive errors, on opening or mid-stream, become ``SourceUnreadable``."""
        label = self.annonces_name
        try:
            if self.kind == "zip":
                info = self._members[self.annonces]
                zf = zipfile.ZipFile(self.path)
                try:
                    member = zf.open(info)
                except BaseException:
                    zf.close()
                    raise
                stream: IO[bytes] = member
                closers: tuple[IO[bytes] | zipfile.ZipFile, ...] = (member, zf)
            else:
                stream = open(self.annonces, "rb")  # noqa: SIM115 - closed below
                closers = (stream,)
        except _READ_ERRORS as exc:
            raise SourceUnreadable(f"{label} : ouverture impossible ({_reason(exc)}).") from exc
        try:
            declared = self._members[self.annonces].file_size if self.kind == "zip" else None
            yield _Guarded(stream, label, declared)
        finally:
            for c in closers:
                c.close()

    def read_side_file(self, which: str | None) -> bytes | None:
        """Config.txt or Photos.cfg (given as returned in ``config``/``photos_cfg``), bounded."""
        if which is None:
            return None
        return self._read(which, self.limits.max_side_file_bytes)

    def read_photo(self, name: str) -> bytes:
        """The bytes of an image sent in the archive/folder (``name`` as in ``photo_files``)."""
        if name not in self.photo_files:
            raise KeyError(name)
        return self._read(self._base + name if self.kind == "zip" else str(Path(self.annonces).parent / name),
                          self.limits.max_photo_bytes)

    def _read(self, what: str, limit: int) -> bytes:
        label = f"{self.name}/{what}" if self.kind == "zip" else what
        try:
            if self.kind == "zip":
                info = self._members[what]
                if info.file_size > limit:
                    raise SourceUnreadable(f"{label} : {_size(info.file_size)}, au-delà de la limite de {_size(limit)}.")
                with zipfile.ZipFile(self.path) as zf, zf.open(info) as member:
                    return member.read()
            with open(what, "rb") as f:
                data = f.read(limit + 1)
            if len(data) > limit:
                raise SourceUnreadable(f"{label} : fichier de plus de {_size(limit)}, refusé.")
            return data
        except _READ_ERRORS as exc:
            raise SourceUnreadable(f"{label} : illisible ({_reason(exc)}).") from exc


class _Guarded(io.RawIOBase):
    """The stream the parser reads: read errors become ``SourceUnreadable`` naming the file,
    and an archive member may not yield more than the size its header declared."""

    def __init__(self, inner: IO[bytes], label: str, declared: int | None) -> None:
        self._inner = inner
        self._label = label
        self._left = declared

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size)
        except _READ_ERRORS as exc:
            raise SourceUnreadable(
                f"{self._label} : lecture interrompue ({_reason(exc)}) ; "
                "le fichier est corrompu ou incomplet.") from exc
        if self._left is not None:
            self._left -= len(data)
            if self._left < 0:
                raise SourceUnreadable(
                    f"{self._label} : plus de données que la taille annoncée par l'archive ; "
                    "archive piégée ou corrompue, refusée.")
        return data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "fichier introuvable"
    if isinstance(exc, PermissionError):
        return "accès refusé"
    if isinstance(exc, zipfile.BadZipFile):
        return f"archive ZIP invalide : {exc}"
    if isinstance(exc, NotImplementedError):
        return f"méthode de compression non prise en charge : {exc}"
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc).lower():
        return "archive chiffrée (mot de passe)"
    return exc.__class__.__name__ + (f" : {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else "")


def open_bundle(source: str | Path, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> Bundle:
    """Locate Annonces.csv, Config.txt, Photos.cfg and images; refuse unsafe or unreadable sources."""
    path = Path(source)
    try:
        if path.is_dir():
            return _dir_bundle(path, limits)
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise SourceUnreadable(f"{path.name or path} : {_reason(exc)}.") from exc
    if head in _ZIP_MAGIC:
        return _zip_bundle(path, limits)
    return _file_bundle(path, limits)


def _match(names: list[str], wanted: str) -> str | None:
    for n in names:
        if n.lower() == wanted:
            return n
    return None


def _dir_bundle(path: Path, limits: ArchiveLimits) -> Bundle:
    folder = _find_annonces_dir(path)
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    annonces = _match(files, ANNONCES)
    assert annonces is not None
    config, photos = _match(files, CONFIG), _match(files, PHOTOS_CFG)
    return Bundle(
        kind="dir", path=path, name=path.name, annonces=str(folder / annonces),
        config=str(folder / config) if config else None,
        photos_cfg=str(folder / photos) if photos else None,
        photo_files=[f for f in files if f.lower() not in _SIDE_FILES and not f.startswith(".")],
        limits=limits,
    )


def _find_annonces_dir(path: Path) -> Path:
    if any(p.is_file() and p.name.lower() == ANNONCES for p in path.iterdir()):
        return path
    subs = [d for d in path.iterdir() if d.is_dir() and any(p.is_file() and p.name.lower() == ANNONCES for p in d.iterdir())]
    if len(subs) == 1:
        return subs[0]
    if not subs:
        raise SourceUnreadable(f"{path.name} : aucun fichier Annonces.csv dans ce dossier (ni dans un sous-dossier).")
    raise SourceUnreadable(
        f"{path.name} : plusieurs fichiers Annonces.csv ({', '.join(d.name for d in subs)}) ; "
        "impossible de savoir lequel lire.")


def _file_bundle(path: Path, limits: ArchiveLimits) -> Bundle:
    # A bare Annonces.csv: its side files, when present, sit beside it.
    siblings = sorted(p.name for p in path.parent.iterdir() if p.is_file())
    config, photos = _match(siblings, CONFIG), _match(siblings, PHOTOS_CFG)
    return Bundle(
        kind="file", path=path, name=path.name, annonces=str(path),
        config=str(path.parent / config) if config else None,
        photos_cfg=str(path.parent / photos) if photos else None,
        limits=limits,
    )


def _unsafe_name(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or _DRIVE_RE.match(name) or "\x00" in name:
        return True
    if any(part == ".." for part in name.split("/")):
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def _zip_bundle(path: Path, limits: ArchiveLimits) -> Bundle:
    label = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceUnreadable(f"{label} : archive ZIP illisible ({_reason(exc)}).") from exc
    if len(infos) > limits.max_members:
        raise SourceUnreadable(
            f"{label} : {_number(len(infos))} fichiers dans l'archive, au-delà de la limite de {_number(limits.max_members)} ; "
            "archive refusée.")
    total = 0
    archive_size = os.path.getsize(path)
    for info in infos:
        if _unsafe_name(info):
            raise SourceUnreadable(
                f"{label} : l'archive contient un chemin dangereux « {info.filename} » (chemin absolu, « .. » ou lien) ; "
                "archive refusée.")
        if info.flag_bits & 0x1:
            raise SourceUnreadable(
                f"{label} : « {info.filename} » est chiffré (mot de passe) ; "
                "envoyez une archive sans mot de passe.")
        if info.file_size > limits.max_member_bytes:
            raise SourceUnreadable(
                f"{label} : « {info.filename} » se décompresse en {_size(info.file_size)}, "
                f"au-delà de la limite de {_size(limits.max_member_bytes)} ; archive refusée.")
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise SourceUnreadable(
                f"{label} : « {info.filename} » se décompresse en {_size(info.file_size)} "
                f"pour {_size(info.compress_size)} compressés (taux {_number(ratio)}:1, limite {_number(limits.max_ratio)}:1) ; "
                "archive piégée (« zip bomb ») ou corrompue, refusée.")
        total += info.file_size
    if total > limits.max_total_bytes or (total > limits.ratio_floor and total > limits.max_ratio * max(archive_size, 1)):
        raise SourceUnreadable(
            f"{label} : l'archive se décompresse en {_size(total)} pour {_size(archive_size)} "
            f"(limites : {_size(limits.max_total_bytes)}, taux {_number(limits.max_ratio)}:1) ; "
            "archive piégée (« zip bomb ») ou corrompue, refusée.")

    files = [i for i in infos if not i.is_dir() and not i.filename.lower().startswith(_JUNK_DIRS)]
    candidates = [i for i in files if PurePosixPath(i.filename).name.lower() == ANNONCES and i.filename.count("/") <= 1]
    if not candidates:
        listing = ", ".join(i.filename for i in files[:10]) or "archive vide"
        raise SourceUnreadable(f"{label} : pas de fichier Annonces.csv dans l'archive (contenu : {listing}).")
    if len(candidates) > 1:
        roots = [c for c in candidates if "/" not in c.filename]
        if len(roots) != 1:
            raise SourceUnreadable(
                f"{label} : plusieurs fichiers Annonces.csv ({', '.join(c.filename for c in candidates)}) ; "
                "impossible de savoir lequel lire.")
        candidates = roots
    annonces = candidates[0]
    base = annonces.filename[: annonces.filename.rfind("/") + 1]
    beside = [i for i in files if i.filename.startswith(base) and i.filename != annonces.filename]
    by_lower = {i.filename[len(base):].lower(): i.filename for i in beside}
    photo_files = [
        i.filename[len(base):] for i in beside
        if i.filename[len(base):].lower() not in _SIDE_FILES and not PurePosixPath(i.filename).name.startswith(".")
    ]
    return Bundle(
        kind="zip", path=path, name=label, annonces=annonces.filename,
        config=by_lower.get(CONFIG), photos_cfg=by_lower.get(PHOTOS_CFG),
        photo_files=photo_files, limits=limits,
        _members={i.filename: i for i in files}, _base=base,
    )
