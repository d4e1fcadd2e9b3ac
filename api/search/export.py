"""Search results as CSV and Excel listings (seed 001 別表1-1 5(7): 一覧の出力), streamed.

CSV is UTF-8 with a BOM (Excel opens Japanese text correctly) and written page by page while
the search pages through the index. Excel is written by xlsxwriter in ``constant_memory`` mode
to a temporary file (the format is a ZIP and needs its directory at the end), then streamed.
Both stop at ``EXPORT_CAP`` rows; when rows were left out a last row says so in Japanese.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import xlsxwriter  # type: ignore[import-untyped]  # no stubs; see report

from api.kit.clock import jst_text
from api.search.schemas import SearchHitRead
from api.search.service import ExportRun

# People read labels, never codes or ids (issue 8 §3 items 1, 5): 工事名 and 工事番号 of every
# row (a file's work), 業種 / 書類区分 / 状態 by name, times in JST.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("type", "種別"),
    ("title", "名称"),
    ("work_title", "工事名・業務名"),
    ("work_number", "工事番号・業務番号"),
    ("path", "パス"),
    ("category", "分類"),
    ("business_type", "業種"),
    ("doc_class", "書類区分"),
    ("orderer", "発注者"),
    ("contractor", "受注者"),
    ("work_kind", "工事・業務"),
    ("status", "状態"),
    ("file_type", "ファイル種別"),
    ("period_start", "工期・履行期間（開始）"),
    ("period_end", "工期・履行期間（終了）"),
    ("doc_date", "書類日付"),
    ("photo_date", "撮影日"),
    ("size", "サイズ（バイト）"),
    ("updated_at", "更新日時（日本時間）"),
)
TYPE_LABELS = {"work": "案件", "file": "ファイル"}
KIND_LABELS = {"construction": "工事", "service": "業務"}
STATUS_LABELS = {
    "registered": "登録済",
    "in_progress": "施工中",
    "completed": "完成",
    "archived": "保管",
}
STATUS_SERVICE = {**STATUS_LABELS, "in_progress": "履行中"}
DOC_CLASS_LABELS = {
    "PHOTO": "写真",
    "PLAN": "施工計画書",
    "MEET": "打合せ簿",
    "DRAWING": "図面",
    "DRAWINGF": "完成図",
    "REGISTER": "台帳",
    "OTHRS": "その他",
    "REPORT": "報告書",
    "SURVEY": "測量",
    "BORING": "地質",
    "ICON": "i-Construction",
}
CHUNK = 1 << 16
XLSX_BATCH = 1000  # rows written per hop to a worker thread


def row_values(hit: SearchHitRead, run: ExportRun) -> list[Any]:
    labels = run.labels
    out: list[Any] = []
    for name, _ in COLUMNS:
        value = getattr(hit, name)
        if name == "type":
            value = TYPE_LABELS.get(str(value), value)
        elif name == "work_title" and hit.type == "work":
            value = hit.title
        elif name == "work_number" and hit.type == "work":
            value = hit.number
        elif name == "orderer" and value:
            value = labels.get(str(value), value)
        elif name == "contractor":
            value = "、".join(labels.get(v, v) for v in value)
        elif name == "business_type" and value:
            value = run.business_types.get(str(value), value)
        elif name == "doc_class" and value:
            value = DOC_CLASS_LABELS.get(str(value), value)
        elif name == "work_kind" and value:
            value = KIND_LABELS.get(str(value), value)
        elif name == "status" and value:
            table = STATUS_SERVICE if hit.work_kind == "service" else STATUS_LABELS
            value = table.get(str(value), value)
        elif name == "updated_at" and value:
            value = jst_text(str(value), seconds=True)
        out.append("" if value is None else value)
    return out


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266 / 5987: an ASCII fallback and the UTF-8 name."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


async def csv_stream(rows: AsyncIterator[SearchHitRead], run: ExportRun) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow([label for _, label in COLUMNS])
    async for hit in rows:
        writer.writerow([_csv_safe(v) for v in row_values(hit, run)])
        if buf.tell() >= CHUNK:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if run.notice:
        writer.writerow([f"※ {run.notice}"])
    yield buf.getvalue().encode()


async def xlsx_stream(rows: AsyncIterator[SearchHitRead], run: ExportRun) -> AsyncIterator[bytes]:
    fd, path = tempfile.mkstemp(prefix="kura-export-", suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
        sheet = book.add_worksheet("検索結果")
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, [label for _, label in COLUMNS], bold)

        def write(first: int, values: list[list[Any]]) -> None:
            for line, cells in enumerate(values, first):
                for col, value in enumerate(cells):
                    if isinstance(value, int):
                        sheet.write_number(line, col, value)
                    elif value != "":
                        # write_string: a title such as "=1+1" must stay text, never a formula
                        sheet.write_string(line, col, str(value))

        # Written a batch at a time in a worker thread, off the event loop (issue 7 item 3).
        line, batch = 1, []
        async for hit in rows:
            batch.append(row_values(hit, run))
            if len(batch) >= XLSX_BATCH:
                await asyncio.to_thread(write, line, batch)
                line, batch = line + len(batch), []
        await asyncio.to_thread(write, line, batch)
        line += len(batch)
        if run.notice:
            sheet.write_string(line, 0, f"※ {run.notice}", bold)
        await asyncio.to_thread(book.close)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - a local temp file, read in chunks
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection): prefix a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "@", "\t", "\r"):
        return "'" + value
    return value
