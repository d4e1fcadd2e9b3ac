"""File listings of a work as CSV and Excel (issue 3 item 7; seed 001 別表1-1 5(7): the
stored deliverables can be listed and output as a ledger).

Both read the work's nodes in keyset pages by path, so memory stays flat at any size:
CSV is streamed row by row (UTF-8 with a BOM so Excel opens Japanese correctly); the xlsx
is written with xlsxwriter's ``constant_memory`` mode into a temporary file that is then
streamed and removed. Cells that would start a formula in a spreadsheet (``= + - @``) are
prefixed with ``'`` in the CSV (OWASP CSV injection); the xlsx stores every cell as a string.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import anyio

from api.archive.download import content_type
from api.archive.tree import walk
from storage.ports import RecordStore
from storage.query import Eq, Record

HEADERS = (
    "パス",
    "名前",
    "種別",
    "サイズ",
    "ファイル形式",
    "SHA-256",
    "登録日時",
    "更新日時",
    "取込状態",
    "書類区分",
    "表題",
)
_KIND = {"folder": "フォルダ", "file": "ファイル"}
_STATE = {"queued": "待機中", "processing": "処理中", "done": "完了", "failed": "失敗"}
_PAGE = 1000


def listing_nodes(records: RecordStore, work_id: str) -> AsyncIterator[Record]:
    return walk(records, (Eq("work_id", work_id),), _PAGE)


def row(node: Record) -> list[Any]:
    meta = node.get("meta") or {}
    ingest = node.get("ingest") or {}
    is_file = node.get("kind") == "file"
    state = str(ingest.get("state") or "")
    if state == "failed" and ingest.get("reason"):
        state = f"failed: {ingest['reason']}"
    return [
        node.get("path", ""),
        node.get("name", ""),
        _KIND.get(str(node.get("kind")), str(node.get("kind"))),
        int(node.get("size") or 0) if is_file else "",
        content_type(node) if is_file else "",
        node.get("sha256") or "",
        node.get("created_at") or "",
        node.get("updated_at") or "",
        _STATE.get(state, state),
        str(meta.get("doc_class") or ""),
        str(meta.get("title") or ""),
    ]


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def csv_stream(records: RecordStore, work_id: str) -> AsyncIterator[bytes]:
    """The listing as CSV bytes, UTF-8 with BOM, CRLF line ends; ~1000 rows per chunk."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    first = True
    n = 0
    async for node in listing_nodes(records, work_id):
        writer.writerow([_safe(v) for v in row(node)])
        n += 1
        if n % _PAGE == 0:
            data = buf.getvalue().encode("utf-8")
            yield (b"\xef\xbb\xbf" + data) if first else data
            first = False
            buf.seek(0)
            buf.truncate()
    data = buf.getvalue().encode("utf-8")
    yield (b"\xef\xbb\xbf" + data) if first else data


async def xlsx_file(records: RecordStore, work_id: str) -> str:
    """Write the listing to a temporary .xlsx and return its path (the caller deletes it)."""
    fd, path = tempfile.mkstemp(prefix="kura-listing-", suffix=".xlsx")
    os.close(fd)
    import xlsxwriter  # type: ignore[import-untyped]  # lazily: few processes write Excel

    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False})
    try:
        sheet = book.add_worksheet("ファイル一覧")
        bold = book.add_format({"bold": True})
        widths = (60, 30, 8, 14, 24, 20, 22, 22, 10, 16, 30)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        for col, title in enumerate(HEADERS):
            sheet.write_string(0, col, title, bold)

        def write(first: int, rows: list[list[Any]]) -> None:
            for r, values in enumerate(rows, first):
                for col, value in enumerate(values):
                    if isinstance(value, int):
                        sheet.write_number(r, col, value)
                    else:
                        sheet.write_string(r, col, str(value))

        # Cells are formatted and written (constant_memory: to disk) a page at a time in a
        # worker thread: a large work's listing must not hold the event loop (issue 7 item 3).
        written, batch = 1, []
        async for node in listing_nodes(records, work_id):
            batch.append(row(node))
            if len(batch) >= _PAGE:
                await anyio.to_thread.run_sync(write, written, batch)
                written, batch = written + len(batch), []
        await anyio.to_thread.run_sync(write, written, batch)
        await anyio.to_thread.run_sync(book.close)
    except BaseException:
        os.unlink(path)
        raise
    return path


async def file_chunks(path: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
    """Stream a temporary file and delete it afterwards (also when the client goes away)."""
    try:
        async with await anyio.open_file(path, "rb") as f:
            while chunk := await f.read(chunk_size):
                yield chunk
    finally:
        os.unlink(path)
