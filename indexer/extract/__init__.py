"""Content extraction behind one protocol (paperless-ngx style): detect the type once, pick an
extractor, extract.

``extract(fp, name)`` never raises on bad content: every problem becomes a flag (``broken``,
``encrypted``, ``not_text``) and a Japanese note on the ``Extraction``. Only ``indexer``
imports the parsing libraries (python-magic in ``mime``, pypdf in ``pdf``, Pillow in
``images``); callers see plain data.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Protocol

from indexer.extract.images import extract_image
from indexer.extract.mime import HEAD_BYTES, Detected, detect
from indexer.extract.pdf import PdfLimits, extract_pdf
from indexer.extract.text import decode, markup_text

log = logging.getLogger("kura.extract")

# Text files larger than this are indexed from their first bytes only.
MAX_TEXT_BYTES = 4 << 20
MAX_TOTAL_CHARS = 1_000_000
_TEXT_EXTS = frozenset({"txt", "csv", "xml", "p21", "sfc"})
# Markup whose tags are not the text: indexed without them (issue 8 §3 item 2).
_MARKUP_EXTS = frozenset({"xml", "dtd", "xsl", "xslt", "xsd"})


@dataclass(frozen=True)
class Limits:
    pdf: PdfLimits = field(default_factory=PdfLimits)
    text_bytes: int = MAX_TEXT_BYTES
    total_chars: int = MAX_TOTAL_CHARS
    thumb_size: int = 320


@dataclass
class Extraction:
    """What a file holds, as plain JSON-able data (``as_dict``) plus an optional thumbnail."""

    extractor: str = ""
    pages: list[str] = field(default_factory=list)
    page_count: int | None = None
    width: int | None = None
    height: int | None = None
    photo_date: str | None = None
    taken_at: str | None = None
    encoding: str | None = None
    encrypted: bool = False
    broken: bool = False
    not_text: bool = False
    notes: list[str] = field(default_factory=list)
    thumbnail: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        """Everything but pages and thumbnail (what goes on the file's record)."""
        data = asdict(self)
        data.pop("pages")
        data.pop("thumbnail")
        data["thumbnail"] = self.thumbnail is not None
        return data


class Extractor(Protocol):
    """One kind of content. Registered in ``EXTRACTORS``; the first that accepts wins."""

    name: str

    def accepts(self, detected: Detected) -> bool:
        """Whether this extractor reads content of the ``detected`` type."""

    def extract(self, fp: BinaryIO, detected: Detected, limits: Limits) -> Extraction:
        """Read ``fp`` (seekable, at offset 0); never raise on bad content."""


class PdfExtractor:
    name = "pdf"

    def accepts(self, detected: Detected) -> bool:
        return detected.family == "pdf"

    def extract(self, fp: BinaryIO, detected: Detected, limits: Limits) -> Extraction:
        got = extract_pdf(fp, limits.pdf)
        return Extraction(
            pages=got.pages,
            page_count=got.page_count,
            encrypted=got.encrypted,
            broken=got.broken,
            notes=got.notes,
        )


class ImageExtractor:
    name = "image"

    def accepts(self, detected: Detected) -> bool:
        return detected.family in ("jpeg", "png", "tiff") or detected.mime in (
            "image/gif",
            "image/bmp",
            "image/webp",
        )

    def extract(self, fp: BinaryIO, detected: Detected, limits: Limits) -> Extraction:
        got = extract_image(fp, limits.thumb_size)
        return Extraction(
            width=got.width,
            height=got.height,
            photo_date=got.photo_date,
            taken_at=got.taken_at,
            thumbnail=got.thumbnail,
            broken=got.broken,
            notes=got.notes,
        )


class TextExtractor:
    """Plain text, XML, CSV, STEP (.p21) and SXF (.sfc) drawings: their text is searchable.
    Also files labelled as text whose content libmagic cannot name (it is checked here)."""

    name = "text"

    def accepts(self, detected: Detected) -> bool:
        if detected.family in ("text", "xml"):
            return True
        return detected.family in ("binary", "other") and detected.extension in _TEXT_EXTS

    def extract(self, fp: BinaryIO, detected: Detected, limits: Limits) -> Extraction:
        data = fp.read(limits.text_bytes + 1)
        truncated = len(data) > limits.text_bytes
        got = decode(data[: limits.text_bytes], truncated=truncated)
        if not got.is_text:
            return Extraction(not_text=True, notes=["テキストファイルとして読み取れない内容です。"])
        notes = ["先頭部分のみ索引しました。"] if truncated else []
        text = got.text
        if detected.family == "xml" or detected.extension in _MARKUP_EXTS:
            text = markup_text(text)
        text = text[: limits.total_chars]
        return Extraction(pages=[text] if text else [], encoding=got.encoding, notes=notes)


EXTRACTORS: list[Extractor] = [PdfExtractor(), ImageExtractor(), TextExtractor()]


def register(extractor: Extractor, first: bool = False) -> None:
    """Add an extractor (e.g. for Office files); ``first`` puts it before the built-ins."""
    if first:
        EXTRACTORS.insert(0, extractor)
    else:
        EXTRACTORS.append(extractor)


def choose(detected: Detected) -> Extractor | None:
    for extractor in EXTRACTORS:
        if extractor.accepts(detected):
            return extractor
    return None


def sniff(fp: BinaryIO, name: str) -> Detected:
    """Detect the type from the first bytes of ``fp`` and rewind it."""
    head = fp.read(HEAD_BYTES)
    fp.seek(0)
    return detect(head, name)


def run(extractor: Extractor, fp: BinaryIO, detected: Detected, limits: Limits) -> Extraction:
    """Run ``extractor``; an unexpected exception becomes a ``broken`` flag, never an error."""
    try:
        result = extractor.extract(fp, detected, limits)
    except Exception as exc:
        log.warning("extractor %s failed: %r", extractor.name, exc)
        result = Extraction(
            broken=True, notes=[f"内容を読み取れませんでした（{type(exc).__name__}）。"]
        )
    result.extractor = extractor.name
    return result


def extract(fp: BinaryIO, name: str, limits: Limits | None = None) -> tuple[Detected, Extraction]:
    """Detect, choose, extract. Files no extractor reads get an empty ``Extraction``."""
    limits = limits or Limits()
    detected = sniff(fp, name)
    extractor = choose(detected)
    if extractor is None:
        return detected, Extraction()
    return detected, run(extractor, fp, detected, limits)


__all__ = [
    "EXTRACTORS",
    "Detected",
    "Extraction",
    "Extractor",
    "Limits",
    "choose",
    "detect",
    "extract",
    "register",
    "run",
    "sniff",
]
