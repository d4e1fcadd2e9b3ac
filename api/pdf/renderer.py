"""The shared PDF renderer: every printed document of Kura comes from here.

Typst (the ``typst`` wheel: a Rust compiler, no network, no external process) turns a template
and a JSON document into a PDF. Why Typst rather than WeasyPrint or ReportLab (see
docs/architecture.md): it embeds a subset of the Japanese font (Noto Sans CJK JP) so every viewer
shows the same page, output is byte-for-byte deterministic for the same input (no creation
date, stable object ids), a warm compile of a one-page form takes a few milliseconds, and data
cannot become markup: templates read the data with ``json()`` and place strings as text, so a
title such as ``#panic()`` or ``*bold*`` prints as typed.

Templates live beside the module that owns them (``api/<module>/templates/*.typ``) and are
named by their path under the ``api`` package (``"pdf/templates/document.typ"``); they import
the shared page set-up with ``#import "/pdf/templates/kura.typ": ...``. Only this package calls
``typst`` (and, in ``bundle``, pypdf's writer).

One compiler serves every template (each compile names its template): Typst caches fonts and
parsed sources inside it, which is what makes the warm path fast, and the fonts are the bulk
of its memory (the CJK collections: about 60 MiB once used). A compiler per template held
them once per template: a bundle (the form, then the page-number overlay) peaked at 160 MiB
of compilers instead of 83 (measured, bench_proposals). A compiler is not shareable between
threads, so it has a lock; ``render`` runs the compile in a worker thread so the event loop
never waits on it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from api.kit.memory import cap_malloc_arenas

API_ROOT = Path(__file__).resolve().parent.parent
FONT_FAMILY = "Noto Sans CJK JP"
# Where Debian's fonts-noto-cjk puts the OpenType collections; settings may add more.
DEFAULT_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
)
_TEMPLATE = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*\.typ$")
MAX_DATA_BYTES = 32 << 20


class RenderError(Exception):
    """A template failed to compile with the given data (a programming error, or bad data
    that slipped past validation). The message names the template, never the data."""


class FontsMissing(RenderError):
    """The Japanese font is not installed where the renderer looks."""


@dataclass(frozen=True)
class RendererHealth:
    ok: bool
    detail: str


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable for a PDF: {type(value).__name__}")


def encode_data(data: Mapping[str, Any]) -> str:
    """The document data as the JSON string templates decode (dates as ISO strings,
    Decimals as exact strings). Raises ``RenderError`` for data over 32 MiB."""
    raw = json.dumps(data, ensure_ascii=False, default=_json_default, sort_keys=True)
    if len(raw.encode()) > MAX_DATA_BYTES:
        raise RenderError("document data over 32 MiB")
    return raw


def find_font_dirs(extra: Sequence[Path] = (), *, defaults: bool = True) -> list[Path]:
    """The existing font folders, settings first, then (unless told not to) Debian's."""
    return [p for p in (*extra, *(DEFAULT_FONT_DIRS if defaults else ())) if p.is_dir()]


class PdfRenderer:
    """Render ``template`` with ``data`` to PDF bytes. Thread-safe; one per process."""

    def __init__(
        self,
        font_dirs: Sequence[Path] = (),
        *,
        default_fonts: bool = True,
        max_children: int = 2,
    ) -> None:
        # Typst's worker threads would each keep a malloc arena (api.kit.memory).
        cap_malloc_arenas()
        self.font_dirs = find_font_dirs(font_dirs, defaults=default_fonts)
        # Bundle child processes (api.pdf.bundle.IsolatedBundle) this process runs at once.
        self.max_children = max_children
        self._children: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self._compiler_entry: tuple[Any, threading.Lock] | None = None
        self._guard = threading.Lock()
        self._fonts_checked = False

    def health(self) -> RendererHealth:
        """Whether the Japanese font is found (without it nothing can be printed)."""
        try:
            self._check_fonts()
        except FontsMissing as exc:
            return RendererHealth(False, str(exc))
        return RendererHealth(True, f"{FONT_FAMILY} in {', '.join(map(str, self.font_dirs))}")

    def _check_fonts(self) -> None:
        if self._fonts_checked:
            return
        families: set[str] = set()
        if self.font_dirs:
            import typst  # lazily: most processes never print (6 MiB)

            fonts = typst.Fonts(
                include_system_fonts=False,
                include_embedded_fonts=False,
                font_paths=[str(p) for p in self.font_dirs],
            )
            families = {f.family for f in fonts.fonts()}
        if FONT_FAMILY not in families:
            raise FontsMissing(
                f"font {FONT_FAMILY!r} not found (install Debian's fonts-noto-cjk or set "
                "KURA_PDF__FONT_DIRS)"
            )
        self._fonts_checked = True

    def _template(self, template: str) -> Path:
        if not _TEMPLATE.match(template):
            raise RenderError(f"bad template name: {template!r}")
        path = API_ROOT / template
        if not path.is_file():
            raise RenderError(f"no such template: {template}")
        return path

    def _compiler(self, path: Path) -> tuple[Any, threading.Lock]:
        with self._guard:
            if self._compiler_entry is None:
                self._check_fonts()
                import typst

                compiler = typst.Compiler(
                    str(path),
                    root=str(API_ROOT),
                    font_paths=[str(p) for p in self.font_dirs],
                    ignore_system_fonts=True,
                    sys_inputs={"data": "{}"},
                )
                self._compiler_entry = (compiler, threading.Lock())
            return self._compiler_entry

    def render_sync(self, template: str, data: Mapping[str, Any]) -> bytes:
        """Compile on the calling thread (CLI, workers)."""
        raw = encode_data(data)
        path = self._template(template)
        compiler, lock = self._compiler(path)
        with lock:
            try:
                pdf = compiler.compile(input=str(path), sys_inputs={"data": raw})
            except Exception as exc:  # typst raises its own error types with source positions
                raise RenderError(f"template {template} failed: {_first_line(exc)}") from exc
        if not isinstance(pdf, bytes):
            raise RenderError(f"template {template} produced no PDF")
        return pdf

    def child_slots(self) -> asyncio.Semaphore:
        """The running loop's limit on bundle child processes (``max_children`` at once)."""
        loop = asyncio.get_running_loop()
        with self._guard:
            for old in [k for k in self._children if k.is_closed()]:
                del self._children[old]
            slots = self._children.get(loop)
            if slots is None:
                slots = self._children[loop] = asyncio.Semaphore(self.max_children)
            return slots

    async def render(self, template: str, data: Mapping[str, Any]) -> bytes:
        """Compile in a worker thread: the event loop never waits on a compile."""
        return await asyncio.to_thread(self.render_sync, template, data)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


_shared: PdfRenderer | None = None
_shared_lock = threading.Lock()


def shared_renderer(font_dirs: Sequence[Path] = (), *, max_children: int = 2) -> PdfRenderer:
    """The process's renderer (compilers are expensive to build, cheap to reuse)."""
    global _shared
    with _shared_lock:
        if _shared is None or (font_dirs and _shared.font_dirs != find_font_dirs(font_dirs)):
            _shared = PdfRenderer(font_dirs, max_children=max_children)
        _shared.max_children = max_children  # a new limit counts for loops started after
        return _shared
