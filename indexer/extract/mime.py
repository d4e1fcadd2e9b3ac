"""The true type of a file from its first bytes: the only python-magic call in the project.

``detect(head, name)`` sniffs the content (libmagic) once and derives everything the archive
needs from it: the MIME type, a short ``file_type`` for search facets, and whether the file's
extension says something else (a ``.pdf`` that is really a Windows program). The extension is
only trusted where the content is nondescript (``application/octet-stream``, plain text), e.g.
to tell STEP (``.p21``) and SXF (``.sfc``) drawings from other text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import magic

# libmagic needs about this much to recognise every format we care about.
HEAD_BYTES = 8192

# Short file types (the ``file_type`` facet).
FILE_TYPES = (
    "pdf",
    "jpeg",
    "png",
    "tiff",
    "xml",
    "text",
    "p21",
    "sfc",
    "dwg",
    "office",
    "zip",
    "other",
)

_FAMILY_OF_MIME: dict[str, str] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/tiff": "tiff",
    "text/xml": "xml",
    "application/xml": "xml",
    "image/svg+xml": "xml",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "image/vnd.dwg": "dwg",
    "image/x-dwg": "dwg",
    "application/acad": "dwg",
    "application/x-dosexec": "program",
    "application/x-executable": "program",
    "application/x-sharedlib": "program",
    "application/x-mach-binary": "program",
    "application/x-empty": "empty",
    "inode/x-empty": "empty",
    "application/octet-stream": "binary",
    "application/CDFV2": "office",
    "application/msword": "office",
}

# Extension -> the content families it may hold. Extensions not listed are never "mismatched".
_EXPECTED: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "jpg": frozenset({"jpeg"}),
    "jpeg": frozenset({"jpeg"}),
    "png": frozenset({"png"}),
    "tif": frozenset({"tiff"}),
    "tiff": frozenset({"tiff"}),
    "xml": frozenset({"xml", "text"}),
    "dtd": frozenset({"xml", "text"}),
    "xsl": frozenset({"xml", "text"}),
    "txt": frozenset({"text", "xml"}),
    "csv": frozenset({"text"}),
    "p21": frozenset({"text"}),
    "sfc": frozenset({"text"}),
    "dwg": frozenset({"dwg", "binary"}),
    "zip": frozenset({"zip"}),
    "doc": frozenset({"office", "binary"}),
    "xls": frozenset({"office", "binary"}),
    "ppt": frozenset({"office", "binary"}),
    "docx": frozenset({"office", "zip"}),
    "xlsx": frozenset({"office", "zip"}),
    "pptx": frozenset({"office", "zip"}),
}

# What the user is told the content is (Japanese, shown in the UI).
_LABEL: dict[str, str] = {
    "pdf": "PDF",
    "jpeg": "JPEG画像",
    "png": "PNG画像",
    "tiff": "TIFF画像",
    "xml": "XML",
    "text": "テキスト",
    "zip": "ZIP",
    "dwg": "DWG図面",
    "office": "Office文書",
    "program": "実行ファイル",
    "binary": "不明なバイナリ",
    "other": "その他",
}

_lock = threading.Lock()
_magic: magic.Magic | None = None


@dataclass(frozen=True)
class Detected:
    """What the content is, and whether the file name agrees."""

    mime: str
    family: str  # pdf, jpeg, png, tiff, xml, text, zip, dwg, office, program, binary, empty,...
    file_type: str  # one of FILE_TYPES
    extension: str  # lower case, without the dot; "" if none
    mismatch: bool
    message: str = ""  # Japanese, set when mismatch


def _sniff(head: bytes) -> str:
    global _magic
    with _lock:  # one libmagic handle is not safe across threads
        if _magic is None:
            _magic = magic.Magic(mime=True)
        return str(_magic.from_buffer(head))


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def family_of(mime: str) -> str:
    if mime in _FAMILY_OF_MIME:
        return _FAMILY_OF_MIME[mime]
    if mime.startswith(("application/vnd.openxmlformats", "application/vnd.ms-")):
        return "office"
    if mime.startswith("application/vnd.oasis.opendocument"):
        return "office"
    if mime.startswith("text/"):
        return "text"
    return "other"


def _file_type(family: str, ext: str) -> str:
    if family in ("text", "xml", "binary", "other") and ext in ("p21", "sfc"):
        return ext
    if family == "binary" and ext == "dwg":
        return "dwg"
    if family == "text" and ext == "xml":
        return "xml"
    if family in FILE_TYPES:
        return family
    return "other"


def detect(head: bytes, name: str = "") -> Detected:
    """Sniff ``head`` (the first ``HEAD_BYTES`` of the content) and compare with ``name``."""
    return classify(_sniff(head) if head else "application/x-empty", name)


def classify(mime: str, name: str = "") -> Detected:
    """Everything ``detect`` derives, from a MIME type sniffed earlier (same content under
    another name reuses its sniffed type)."""
    family = family_of(mime)
    ext = extension(name)
    expected = _EXPECTED.get(ext)
    mismatch = expected is not None and family != "empty" and family not in expected
    message = ""
    if mismatch:
        label = _LABEL.get(family, "その他")
        message = f"拡張子「.{ext}」とファイルの内容（{label}: {mime}）が一致しません。"
    return Detected(mime, family, _file_type(family, ext), ext, mismatch, message)
