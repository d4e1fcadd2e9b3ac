"""An abstract package tree (paths, sizes, byte ranges) and its adapters: a folder, a ZIP, and
bytes fetched beforehand (the archive's node tree). The validator only sees this interface,
so a folder, a ZIP and an archived package are checked by the same code.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol


@dataclass(frozen=True)
class Entry:
    """A file or folder of the package; ``path`` is relative, ``/``-separated, exact case.
    ``unsafe`` entries (absolute, ``..``, symlinks) are listed but never read (rule 26)."""

    path: str
    size: int = 0
    is_dir: bool = False
    unsafe: bool = False


class PackageTree(Protocol):
    def entries(self) -> Iterable[Entry]:
        """Every file and folder (folders may also be implied by file paths)."""

    def read(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        """The bytes ``[start, end)`` of a file (``end`` None: to the end)."""


def unsafe_path(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return path.startswith(("/", "\\")) or ".." in parts or (len(path) > 1 and path[1] == ":")


class FolderTree:
    """A deliverable as a folder on disk. Symlinks are reported, never followed."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def entries(self) -> Iterable[Entry]:
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            base = Path(dirpath)
            for name in sorted(dirnames) + sorted(filenames):
                full = base / name
                rel = full.relative_to(self.root).as_posix()
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    yield Entry(rel, 0, False, unsafe=True)
                elif stat.S_ISDIR(st.st_mode):
                    yield Entry(rel, 0, True)
                else:
                    yield Entry(rel, st.st_size)

    def read(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        full = self.root / path
        if full.is_symlink() or unsafe_path(path):
            raise PermissionError(path)
        with full.open("rb") as fh:
            fh.seek(start)
            return fh.read(-1 if end is None else max(0, end - start))


def zip_name(info: zipfile.ZipInfo) -> str:
    """The entry name: UTF-8 when flagged, otherwise CP932 (Japanese Windows), else cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for enc in ("utf-8", "cp932"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


class ZipTree:
    """A deliverable ZIP, read in place (no extraction)."""

    def __init__(self, source: zipfile.ZipFile | Path | str) -> None:
        self.zip = source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(source)
        self._infos: dict[str, zipfile.ZipInfo] = {}

    def entries(self) -> Iterable[Entry]:
        dirs: set[str] = set()
        out: list[Entry] = []
        for info in self.zip.infolist():
            name = zip_name(info)
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            if unsafe_path(name) or is_link:
                out.append(Entry(name, info.file_size, False, unsafe=True))
                continue
            clean = name.rstrip("/")
            parts = PurePosixPath(clean).parts
            for i in range(1, len(parts)):
                dirs.add("/".join(parts[:i]))
            if info.is_dir():
                dirs.add(clean)
            else:
                self._infos[clean] = info
                out.append(Entry(clean, info.file_size))
        return [Entry(d, 0, True) for d in sorted(dirs)] + out

    def read(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        if not self._infos:
            list(self.entries())
        info = self._infos[path]
        with self.zip.open(info) as fh:
            if start:
                fh.read(start)  # zip members are streams; skipping decompresses
            return fh.read(-1 if end is None else max(0, end - start))


class MemoryTree:
    """Entries plus bytes fetched beforehand for the ranges the validator asks for
    (``validate.reads_for``); used for packages already stored in the archive."""

    def __init__(self, entries: list[Entry], data: dict[tuple[str, int, int | None], bytes]):
        self._entries = entries
        self._data = data

    def entries(self) -> Iterable[Entry]:
        return list(self._entries)

    def read(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        try:
            return self._data[(path, start, end)]
        except KeyError:
            raise FileNotFoundError(path) from None
