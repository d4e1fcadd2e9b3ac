"""Text of a PDF, page by page: the only pypdf call in the project.

Bad PDFs are a property of the file, never an error of the pipeline (issue 3 "Bad input"):
an unreadable file comes back ``broken`` with a reason, an encrypted one ``encrypted`` with no
text, and pages that take too long or hold absurd amounts of text are cut, so a hostile or
huge file costs a bounded amount of time and memory.

Time guard: each page gets ``page_seconds``. On the main thread of a process (a Celery prefork
worker runs tasks there) an interval timer interrupts a page that overruns; elsewhere (eager
tests, threads) the budget is checked between pages. The whole file also gets
``total_seconds``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # pypdf is imported where a PDF is read (5 MiB a process)
    from pypdf import PdfReader

log = logging.getLogger("kura.extract.pdf")


@dataclass(frozen=True)
class PdfLimits:
    max_pages: int = 2000  # pages whose text is extracted; page_count is always the true count
    page_chars: int = 50_000
    total_chars: int = 1_000_000
    page_seconds: float = 5.0
    total_seconds: float = 60.0


@dataclass
class PdfResult:
    pages: list[str] = field(default_factory=list)
    page_count: int = 0
    encrypted: bool = False
    broken: bool = False
    notes: list[str] = field(default_factory=list)  # Japanese, shown with the file


class _PageTimeout(Exception):
    pass


@contextlib.contextmanager
def _page_timer(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _PageTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _open(fp: BinaryIO, result: PdfResult) -> PdfReader | None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(fp)
    except Exception as exc:  # pypdf raises many types on malformed input
        result.broken = True
        result.notes.append(f"PDFを読み取れませんでした（{type(exc).__name__}）。")
        return None
    if reader.is_encrypted:
        result.encrypted = True
        try:
            # Owner-password-only files open with an empty user password.
            opened = bool(reader.decrypt(""))
        except Exception:
            opened = False
        if not opened:
            result.notes.append("暗号化されたPDFのため、本文を抽出できません。")
            with contextlib.suppress(Exception):
                result.page_count = _count(reader)
            return None
        result.notes.append("暗号化されたPDFです（閲覧用パスワードなし）。")
    return reader


def _count(reader: PdfReader) -> int:
    return len(reader.pages)


def extract_pdf(fp: BinaryIO, limits: PdfLimits | None = None) -> PdfResult:
    """Per-page text of the PDF in ``fp`` (seekable); never raises on bad content."""
    limits = limits or PdfLimits()
    result = PdfResult()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about every sloppy PDF
        reader = _open(fp, result)
        if reader is None:
            return result
        try:
            result.page_count = _count(reader)
        except Exception as exc:
            result.broken = True
            result.notes.append(f"PDFのページ構造が壊れています（{type(exc).__name__}）。")
            return result
        _pages(reader, result, limits)
    return result


def _pages(reader: PdfReader, result: PdfResult, limits: PdfLimits) -> None:
    started = time.monotonic()
    total = 0
    skipped = timed_out = failed = 0
    for number in range(result.page_count):
        if number >= limits.max_pages or total >= limits.total_chars:
            skipped = result.page_count - number
            break
        if time.monotonic() - started > limits.total_seconds:
            skipped = result.page_count - number
            break
        page_started = time.monotonic()
        text = ""
        try:
            with _page_timer(limits.page_seconds):
                text = (reader.pages[number].extract_text() or "").rstrip()
        except _PageTimeout:
            pass  # counted below
        except Exception as exc:
            failed += 1
            log.debug("page %d: %s", number + 1, exc)
        if time.monotonic() - page_started >= limits.page_seconds:
            timed_out += 1
        text = text[: min(limits.page_chars, limits.total_chars - total)]
        total += len(text)
        result.pages.append(text)
    if skipped:
        result.notes.append(
            f"上限を超えたため、{result.page_count}ページ中{len(result.pages)}ページまでの"
            "本文を索引しました。"
        )
    if timed_out:
        result.notes.append(f"{timed_out}ページの本文抽出が時間切れになりました。")
    if failed:
        result.broken = True
        result.notes.append(f"{failed}ページの本文を読み取れませんでした。")
