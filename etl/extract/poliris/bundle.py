"""Where a Poliris send's files are: ``Annonces.csv``, ``Config.txt``, ``Photos.cfg`` and images.

A send is a ZIP, a folder, or a bare ``Annonces.csv`` (its side files then sit beside it). The
container (``etl.extract.container``) has already refused unsafe or unreadable sources; this
finds the send's files in it, at its root or in one sub-folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from etl.extract.container import DEFAULT_LIMITS, ArchiveLimits, Container, open_container
from etl.extract.lines import Readable
from etl.errors import SourceUnreadable

ANNONCES: Final = "annonces.csv"
CONFIG: Final = "config.txt"
PHOTOS_CFG: Final = "photos.cfg"
_SIDE_FILES: Final = frozenset({ANNONCES, CONFIG, PHOTOS_CFG})


@dataclass(slots=True)
class Bundle:
    """One Poliris send inside its container. Names are container members (``None``: the bare file)."""

    container: Container
    annonces: str | None
    config: str | None = None
    photos_cfg: str | None = None
    # Other files beside Annonces.csv (images sent in FULL/DIFF mode), relative to its folder.
    photo_files: list[str] = field(default_factory=list)
    _base: str = ""  # folder of Annonces.csv inside the container ("" or "export/")

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def annonces_name(self) -> str:
        """How records' locations name the file: ``send.zip/Annonces.csv``, ``Annonces.csv``."""
        c = self.container
        if c.kind == "dir" and self.annonces is not None:
            return f"{c.name}/{PurePosixPath(self.annonces).name}"
        return c.label(self.annonces)

    @contextmanager
    def open_annonces(self) -> Iterator[Readable]:
        with self.container.open(self.annonces) as stream:
            yield stream

    def read_side_file(self, which: str | None) -> bytes | None:
        """Config.txt or Photos.cfg (given as returned in ``config``/``photos_cfg``), bounded."""
        if which is None:
            return None
        return self._read(which, self.container.limits.max_side_file_bytes)

    def read_photo(self, name: str) -> bytes:
        """The bytes of an image sent in the archive/folder (``name`` as in ``photo_files``)."""
        if name not in self.photo_files:
            raise KeyError(name)
        return self._read(self._base + name, self.container.limits.max_photo_bytes)

    def _read(self, member: str, limit: int) -> bytes:
        c = self.container
        if c.kind == "file":  # side files of a bare Annonces.csv sit beside it
            return Container("file", c.path.parent / member, member, limits=c.limits).read(None, limit)
        return c.read(member, limit)


def open_bundle(source: str | Path, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> Bundle:
    """Locate Annonces.csv, Config.txt, Photos.cfg and images; refuse unsafe or unreadable sources."""
    return find_bundle(open_container(source, limits=limits))


def find_bundle(container: Container) -> Bundle:
    if container.kind == "file":
        siblings = sorted(p.name for p in container.path.parent.iterdir() if p.is_file())
        return Bundle(container, None, _match(siblings, CONFIG), _match(siblings, PHOTOS_CFG))
    annonces = annonces_member(container)
    if annonces is None:
        if container.kind == "dir":
            raise SourceUnreadable(f"{container.name} : aucun fichier Annonces.csv dans ce dossier (ni dans un sous-dossier).")
        listing = ", ".join(container.members[:10]) or "archive vide"
        raise SourceUnreadable(f"{container.name} : pas de fichier Annonces.csv dans l'archive (contenu : {listing}).")
    base = annonces[: annonces.rfind("/") + 1]
    beside = [m[len(base):] for m in container.members if m.startswith(base) and m != annonces]
    if container.kind == "dir":
        beside = [m for m in beside if "/" not in m]
    by_lower = {m.lower(): m for m in beside}
    photo_files = [m for m in beside if m.lower() not in _SIDE_FILES and not PurePosixPath(m).name.startswith(".")]
    config, photos = by_lower.get(CONFIG), by_lower.get(PHOTOS_CFG)
    return Bundle(container, annonces, base + config if config else None, base + photos if photos else None,
                  photo_files, base)


def annonces_member(container: Container) -> str | None:
    """The container's Annonces.csv (at its root, or alone in one sub-folder); ``None`` when there is none."""
    candidates = [m for m in container.members if PurePosixPath(m).name.lower() == ANNONCES and m.count("/") <= 1]
    if len(candidates) > 1:
        roots = [c for c in candidates if "/" not in c]
        if len(roots) != 1:
            shown = candidates if container.kind == "zip" else [c.split("/")[0] for c in candidates]
            raise SourceUnreadable(
                f"{container.name} : plusieurs fichiers Annonces.csv ({', '.join(shown)}) ; impossible de savoir lequel lire.")
        candidates = roots
    return candidates[0] if candidates else None


def _match(names: list[str], wanted: str) -> str | None:
    return next((n for n in names if n.lower() == wanted), None)
