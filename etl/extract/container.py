"""Where a source lives — a file, a folder or a ZIP archive — opened safely for any format.

``open_container`` checks the whole source before anything is read (so a bad archive stops the
run before a single record is produced) and hands back a ``Container`` that lists its files and
streams or reads any of them within bounds. Formats find their own files in it (Poliris its
``Annonces.csv``; a spreadsheet or an XML feed may arrive zipped too).

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
from typing import IO, Any, Final, Literal

from etl.extract.lines import Readable
from etl.errors import SourceUnreadable

_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")  # local header, or an empty archive
_JUNK_DIRS: Final = ("__macosx/",)
_DRIVE_RE: Final = re.compile(r"^[A-Za-z]:")
# What reading a damaged archive or file raises (CRC mismatch, truncated deflate stream…).
_READ_ERRORS: Final = (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)
_DIR_DEPTH: Final = 2  # a folder's files and those of its direct sub-folders
HEAD_BYTES: Final = 64 << 10  # what format detection reads of a file


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
class Container:
    """A source opened safely. ``members`` are the files inside a ZIP or folder (POSIX names
    relative to it, junk folders left out); a bare file has none and is read as ``member=None``."""

    kind: Literal["zip", "dir", "file"]
    path: Path
    name: str  # display name: the file or folder name
    members: list[str] = field(default_factory=list)
    limits: ArchiveLimits = DEFAULT_LIMITS
    _infos: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    _heads: dict[tuple[str | None, int], bytes] = field(default_factory=dict)

    def label(self, member: str | None = None) -> str:
        """How messages and locations name a file: ``send.zip/Annonces.csv``, ``Annonces.csv``."""
        if member is None or self.kind == "file":
            return self.name
        return f"{self.name}/{member}"

    def size(self, member: str | None = None) -> int:
        if self.kind == "zip" and member is not None:
            return self._infos[member].file_size
        return os.path.getsize(self._file(member))

    def local_path(self, member: str | None = None) -> Path | None:
        """The file on disk another process can open and seek in; None inside a ZIP (deflated)."""
        return None if self.kind == "zip" else self._file(member)

    def _file(self, member: str | None) -> Path:
        return self.path if member is None or self.kind == "file" else self.path / member

    @contextmanager
    def open(self, member: str | None = None) -> Iterator[Readable]:
        """Stream one file; I/O and archive errors, on opening or mid-stream, become ``SourceUnreadable``."""
        label = self.label(member)
        try:
            if self.kind == "zip":
                if member is None:
                    raise SourceUnreadable(f"{label} : archive ZIP, un fichier de l'archive doit être désigné.")
                zf = zipfile.ZipFile(self.path)
                try:
                    stream: IO[bytes] = zf.open(self._infos[member])
                except BaseException:
                    zf.close()
                    raise
                closers: tuple[IO[bytes] | zipfile.ZipFile, ...] = (stream, zf)
            else:
                stream = open(self._file(member), "rb")  # noqa: SIM115 - closed below
                closers = (stream,)
        except _READ_ERRORS as exc:
            raise SourceUnreadable(f"{label} : ouverture impossible ({_reason(exc)}).") from exc
        try:
            declared = self._infos[member].file_size if self.kind == "zip" and member is not None else None
            yield _Guarded(stream, label, declared)
        finally:
            for c in closers:
                c.close()

    def read(self, member: str | None, limit: int) -> bytes:
        """A whole small file, refused beyond ``limit`` bytes."""
        label = self.label(member)
        try:
            if self.kind == "zip" and member is not None:
                info = self._infos[member]
                if info.file_size > limit:
                    raise SourceUnreadable(f"{label} : {_size(info.file_size)}, au-delà de la limite de {_size(limit)}.")
                with zipfile.ZipFile(self.path) as zf, zf.open(info) as stream:
                    return stream.read()
            with open(self._file(member), "rb") as f:
                data = f.read(limit + 1)
            if len(data) > limit:
                raise SourceUnreadable(f"{label} : fichier de plus de {_size(limit)}, refusé.")
            return data
        except _READ_ERRORS as exc:
            raise SourceUnreadable(f"{label} : illisible ({_reason(exc)}).") from exc

    def head(self, member: str | None = None, n: int = HEAD_BYTES) -> bytes:
        """The first ``n`` bytes of a file (format detection): never more, whatever its size. Read
        once: every registered format looks at the same head (a ZIP member is inflated each time)."""
        if (member, n) not in self._heads:
            with self.open(member) as stream:
                chunks, left = [], n
                while left > 0 and (chunk := stream.read(left)):
                    chunks.append(chunk)
                    left -= len(chunk)
            self._heads[(member, n)] = b"".join(chunks)
        return self._heads[(member, n)]


class _Guarded(io.RawIOBase):
    """The stream the parser reads: read errors become ``SourceUnreadable`` naming the file,
    and an archive member may not yield more than the size its header declared."""

    def __init__(self, inner: IO[bytes], label: str, declared: int | None) -> None:
        self._inner = inner
        self._label = label
        self._left = declared

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # so formats may wrap it in io.BufferedReader / TextIOWrapper
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

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


def open_container(source: str | Path, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> Container:
    """Open a file, folder or ZIP archive; refuse unsafe or unreadable sources (``SourceUnreadable``)."""
    path = Path(source)
    try:
        if path.is_dir():
            return Container("dir", path, path.name, _dir_members(path, limits), limits)
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise SourceUnreadable(f"{path.name or path} : {_reason(exc)}.") from exc
    if magic in _ZIP_MAGIC:
        infos = _checked_zip(path, limits)
        files = {i.filename: i for i in infos if not i.is_dir() and not i.filename.lower().startswith(_JUNK_DIRS)}
        return Container("zip", path, path.name, list(files), limits, files)
    return Container("file", path, path.name, [], limits)


def _dir_members(path: Path, limits: ArchiveLimits) -> list[str]:
    found: list[str] = []
    todo = [(path, 1)]
    while todo:
        folder, depth = todo.pop(0)
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") or p.name.lower() == "__macosx":
                continue
            if p.is_file():
                found.append(PurePosixPath(p.relative_to(path).as_posix()).as_posix())
                if len(found) > limits.max_members:
                    raise SourceUnreadable(f"{path.name} : plus de {_number(limits.max_members)} fichiers dans ce dossier ; refusé.")
            elif p.is_dir() and depth < _DIR_DEPTH:
                todo.append((p, depth + 1))
    return found


def _unsafe_name(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or _DRIVE_RE.match(name) or "\x00" in name:
        return True
    if any(part == ".." for part in name.split("/")):
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def _checked_zip(path: Path, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
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
    return infos
