"""One PDF from several: the printed bundle of a proposal (seed 001 別表1-1 3(8)-(10)) and any
other "print these together" of Kura.

Parts are PDFs (a rendered form, uploaded PDFs, converted documents), each with an optional
list of pages in the order wanted; the result keeps that order and, when asked, stamps
``n / N`` at the foot of every page with an overlay rendered by the shared renderer (so the
numbers use the same embedded font as every other document). Pages with a ``/Rotate`` are
normalised first so the number lands at the visual foot.

Bad parts are refused with ``BundleError`` naming the part (encrypted, unreadable, a page
number that does not exist); nothing is written half.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from api.pdf.renderer import PdfRenderer, RenderError

PAGE_NUMBERS_TEMPLATE = "pdf/templates/page_numbers.typ"
MAX_PAGES = 5000
OVERLAY_CHUNK = 50  # pages numbered per compile of the overlay


class BundleError(RenderError):
    """A part cannot go into the bundle; ``part`` is its index, ``name`` its label."""

    def __init__(self, message: str, *, part: int, name: str) -> None:
        super().__init__(message)
        self.part = part
        self.name = name


@dataclass(frozen=True)
class BundlePart:
    """A PDF and the 1-based pages to take from it, in order (None: all pages)."""

    data: bytes
    name: str = ""
    pages: Sequence[int] | None = None


def _reader(part: BundlePart, index: int) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(part.data), strict=False)
        if reader.is_encrypted:
            raise BundleError(
                "パスワードで保護されたPDFは綴じられません。", part=index, name=part.name
            )
        _ = len(reader.pages)
    except BundleError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BundleError("PDFとして読み取れません。", part=index, name=part.name) from exc
    return reader


def bundle_sync(
    renderer: PdfRenderer,
    parts: Sequence[BundlePart],
    *,
    number_pages: bool = True,
    label: str = "",
) -> bytes:
    """Concatenate ``parts`` (their chosen pages, in order); stamp page numbers if asked."""
    writer = PdfWriter()
    total = 0
    for index, part in enumerate(parts):
        reader = _reader(part, index)
        count = len(reader.pages)
        taken: set[int] = set()
        wanted = list(part.pages) if part.pages is not None else list(range(1, count + 1))
        for number in wanted:
            if not 1 <= number <= count:
                raise BundleError(
                    f"{number} ページはありません（全 {count} ページ）。",
                    part=index,
                    name=part.name,
                )
            total += 1
            if total > MAX_PAGES:
                raise BundleError(
                    f"綴じられるのは {MAX_PAGES} ページまでです。", part=index, name=part.name
                )
            if number in taken:
                # pypdf hands back the same object for a page added twice; stamping it would
                # print two numbers on both copies, so a repeated page comes from a new reader.
                reader, taken = _reader(part, index), set()
            taken.add(number)
            page = writer.add_page(reader.pages[number - 1])
            if page.rotation:
                page.transfer_rotation_to_content()
    if number_pages and total:
        sizes = [[float(page.mediabox.width), float(page.mediabox.height)] for page in writer.pages]
        # The numbers are laid out a part at a time: one compile of a few hundred pages held
        # its whole layout at once (about 10 MiB more at the peak for 200 pages).
        for first in range(0, total, OVERLAY_CHUNK):
            chunk = sizes[first : first + OVERLAY_CHUNK]
            data = {"sizes": chunk, "label": label, "first": first + 1, "total": total}
            overlay = PdfReader(io.BytesIO(renderer.render_sync(PAGE_NUMBERS_TEMPLATE, data)))
            pages = writer.pages[first : first + len(chunk)]
            for page, stamp in zip(pages, overlay.pages, strict=True):
                page.merge_page(stamp, over=True)
    writer.add_metadata({"/Producer": "Kura"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def bundle(
    renderer: PdfRenderer,
    parts: Sequence[BundlePart],
    *,
    number_pages: bool = True,
    label: str = "",
) -> bytes:
    """``bundle_sync`` in a worker thread."""
    return await asyncio.to_thread(
        bundle_sync, renderer, parts, number_pages=number_pages, label=label
    )
