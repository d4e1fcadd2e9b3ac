"""One PDF from several: the printed bundle of a proposal (seed 001 別表1-1 3(8)-(10)) and any
other "print these together" of Kura.

Parts are PDFs (a rendered form, uploaded PDFs, converted documents), each with an optional
list of pages in the order wanted; the result keeps that order and, when asked, stamps
``n / N`` at the foot of every page with an overlay rendered by the shared renderer (so the
numbers use the same embedded font as every other document). Pages with a ``/Rotate`` are
normalised first so the number lands at the visual foot.

Bad parts are refused with ``BundleError`` naming the part (encrypted, unreadable, a page
number that does not exist); nothing is written half.

Large bundles are printed in a short-lived child process (``IsolatedBundle``, ``api.pdf.child``):
the parts are written to a temporary folder (streamed, so the caller need not hold them), the
child prints the same bytes as ``bundle_sync`` and exits, and the calling process (an API
server or a worker with the whole app loaded) does not grow by the bundle's working memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from api.pdf.renderer import API_ROOT, PdfRenderer, RenderError

PAGE_NUMBERS_TEMPLATE = "pdf/templates/page_numbers.typ"
MAX_PAGES = 5000
OVERLAY_CHUNK = 50  # pages numbered per compile of the overlay
log = logging.getLogger("kura.pdf")

if TYPE_CHECKING:  # pypdf is imported where PDFs are bundled (5 MiB a process)
    from pypdf import PdfReader
CHILD_TIMEOUT = 300.0  # seconds a child may take for one bundle (5000 pages at most)
STDERR_KEPT = 4000  # characters of a failed child's stderr kept in the error


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
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

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
    from pypdf import PdfReader, PdfWriter

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


class IsolatedBundle:
    """A bundle printed by a child process (``python -m api.pdf.child``)::

        async with IsolatedBundle(renderer) as job:
            await job.add(form_bytes, name="発議書類")
            await job.add(blob_chunks, name="資料.pdf", pages=[1, 3])
            pdf = await job.run(label="No.12")

    Parts are bytes or async iterables of chunks written straight to the job's temporary
    folder; the folder is removed on exit, whatever happened. ``run`` raises the same
    ``BundleError`` as ``bundle_sync`` for a refused part, and ``RenderError`` (with the
    child's stderr) when the child fails or outlives ``time_limit`` seconds (it is killed).
    """

    def __init__(self, renderer: PdfRenderer, *, time_limit: float = CHILD_TIMEOUT) -> None:
        self.renderer = renderer
        self.time_limit = time_limit
        self._folder: Path | None = None
        self._parts: list[dict[str, Any]] = []
        self.child_seconds: float | None = None  # after ``run``: the child's own time
        self.child_peak_rss_mib: float | None = None  # and its peak RSS (Linux)

    async def __aenter__(self) -> IsolatedBundle:
        self._folder = Path(tempfile.mkdtemp(prefix="kura-bundle-"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._folder is not None:
            await asyncio.to_thread(shutil.rmtree, self._folder, True)
            self._folder = None

    @property
    def folder(self) -> Path:
        if self._folder is None:
            raise RuntimeError("IsolatedBundle used outside its 'async with'")
        return self._folder

    async def add(
        self,
        data: bytes | AsyncIterable[bytes],
        *,
        name: str = "",
        pages: Sequence[int] | None = None,
    ) -> None:
        """Write one part (its bytes, or its chunks as they come) to the job's folder."""
        file = f"part-{len(self._parts)}.pdf"
        path = self.folder / file
        if isinstance(data, bytes):
            await asyncio.to_thread(path.write_bytes, data)
        else:
            with path.open("wb") as out:
                async for chunk in data:
                    out.write(chunk)
        self._parts.append(
            {"file": file, "name": name, "pages": None if pages is None else list(pages)}
        )

    async def run(self, *, number_pages: bool = True, label: str = "") -> bytes:
        """Print the bundle in a child process and return its bytes."""
        from api.pdf import child

        folder = self.folder
        job = {
            "parts": self._parts,
            "number_pages": number_pages,
            "label": label,
            "font_dirs": [str(p) for p in self.renderer.font_dirs],
        }
        (folder / child.JOB).write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        # At most ``max_children`` children of this process at once (each holds the fonts,
        # about 100 MiB); the others wait here for a free slot.
        async with self.renderer.child_slots():
            return await self._run_child(folder)

    async def _run_child(self, folder: Path) -> bytes:
        from api.pdf import child

        env = dict(os.environ)
        # The child imports this very ``api`` package, installed or not.
        root = str(API_ROOT.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "api.pdf.child",
            str(folder),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            _, err = await asyncio.wait_for(process.communicate(), self.time_limit)
        except TimeoutError:
            await _kill(process)
            raise RenderError(
                f"PDFの綴じ込みが {self.time_limit:g} 秒以内に終わりませんでした。"
            ) from None
        except BaseException:  # cancelled: the child must not outlive its caller
            await _kill(process)
            raise
        stderr = err.decode("utf-8", "replace")[-STDERR_KEPT:]
        error_file = folder / child.ERROR
        if process.returncode == child.EXIT_REFUSED and error_file.is_file():
            error = json.loads(error_file.read_text(encoding="utf-8"))
            if error.get("kind") == "bundle":
                raise BundleError(
                    str(error["message"]), part=int(error["part"]), name=str(error["name"])
                )
            raise RenderError(str(error["message"]))
        out = folder / child.OUT
        if process.returncode != 0 or not out.is_file():
            raise RenderError(
                f"PDFの綴じ込みに失敗しました（子プロセスの終了コード {process.returncode}）。"
                f"\n{stderr}".rstrip()
            )
        stats_file = folder / child.STATS
        if stats_file.is_file():
            stats = json.loads(stats_file.read_text(encoding="utf-8"))
            self.child_seconds = float(stats["seconds"])
            kib = stats.get("peak_rss_kib")
            self.child_peak_rss_mib = None if kib is None else int(kib) / 1024
        log.info(
            "bundle of %d parts printed by a child process in %.2f s, its peak RSS %s MiB",
            len(self._parts),
            self.child_seconds or 0.0,
            "?" if self.child_peak_rss_mib is None else f"{self.child_peak_rss_mib:.1f}",
            extra={"child_peak_rss_mib": self.child_peak_rss_mib},
        )
        return await asyncio.to_thread(out.read_bytes)


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(Exception):
        await asyncio.shield(process.wait())


async def bundle_isolated(
    renderer: PdfRenderer,
    parts: Sequence[BundlePart],
    *,
    number_pages: bool = True,
    label: str = "",
    time_limit: float = CHILD_TIMEOUT,
) -> bytes:
    """``bundle`` printed by a child process (see ``IsolatedBundle``): the same bytes."""
    async with IsolatedBundle(renderer, time_limit=time_limit) as job:
        for part in parts:
            await job.add(part.data, name=part.name, pages=part.pages)
        return await job.run(number_pages=number_pages, label=label)
