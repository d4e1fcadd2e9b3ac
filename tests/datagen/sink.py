"""Where generated files go: a folder or a ZIP, written as they are produced (streaming).

``ZipSink(cp932_names=True)`` stores non-ASCII names as CP932 bytes *without* the UTF-8 flag
(general purpose bit 11), as Windows' built-in "compressed folder" and most Japanese tools do;
with ``cp932_names=False`` names are UTF-8 with the flag, as Python writes them.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# 1980-01-01 would be rejected by nothing, but a fixed stamp inside the 工期 era looks real
# and keeps ZIP bytes identical across runs.
ZIP_STAMP = (2026, 3, 31, 17, 0, 0)
_STORED_SUFFIXES = (".JPG", ".JPEG", ".PDF", ".TIF")


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the package root, "/"-separated
    size: int
    sha256: str
    role: str


class Sink(Protocol):
    def write(self, path: str, data: bytes, role: str) -> FileEntry:
        """Store ``data`` at ``path`` (relative, "/"-separated) and describe it."""
        ...

    def folder(self, path: str) -> None:
        """Make an (possibly empty) folder."""
        ...

    def close(self) -> None:
        """Finish writing (the ZIP central directory)."""
        ...


def describe(path: str, data: bytes, role: str) -> FileEntry:
    return FileEntry(path, len(data), hashlib.sha256(data).hexdigest(), role)


class FolderSink:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()
        root.mkdir(parents=True, exist_ok=True)

    def _dir(self, path: Path) -> None:
        if path not in self._made:
            path.mkdir(parents=True, exist_ok=True)
            self._made.add(path)

    def write(self, path: str, data: bytes, role: str) -> FileEntry:
        target = self.root / path
        self._dir(target.parent)
        target.write_bytes(data)
        return describe(path, data, role)

    def folder(self, path: str) -> None:
        self._dir(self.root / path)

    def close(self) -> None:
        return None


class _Cp932Info(zipfile.ZipInfo):
    """A ZipInfo whose name is written in CP932 with the UTF-8 flag clear."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        try:
            return self.filename.encode("ascii"), self.flag_bits
        except UnicodeEncodeError:
            return self.filename.encode("cp932"), self.flag_bits & ~0x800


class ZipSink:
    def __init__(self, path: Path, *, cp932_names: bool = True, prefix: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.zf = zipfile.ZipFile(path, "w", allowZip64=True)
        self.cp932_names = cp932_names
        self.prefix = prefix

    def _info(self, name: str) -> zipfile.ZipInfo:
        cls = _Cp932Info if self.cp932_names else zipfile.ZipInfo
        info = cls(self.prefix + name, ZIP_STAMP)
        info.create_system = 0  # MS-DOS, like Windows tools
        info.external_attr = 0x10 if name.endswith("/") else 0x20
        stored = name.upper().endswith(_STORED_SUFFIXES)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        return info

    def write(self, path: str, data: bytes, role: str) -> FileEntry:
        self.zf.writestr(self._info(path), data, compresslevel=1)
        return describe(path, data, role)

    def folder(self, path: str) -> None:
        self.zf.writestr(self._info(path.rstrip("/") + "/"), b"")

    def close(self) -> None:
        self.zf.close()
