"""A municipality's list of the filings sent to it as CSV (UTF-8 with BOM) or Excel, streamed
(issue 14 §5). Text cells that look like formulas are neutralised (``api.search.export``)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from api.kit.clock import from_iso
from api.qualifications.receipt import KIND_LABELS
from api.qualifications.windows import JST
from api.search.export import _csv_safe

COLUMNS: tuple[tuple[str, str], ...] = (
    ("receipt_no", "受付番号"),
    ("kind", "申請区分"),
    ("sent_at", "送信日時"),
    ("company_name", "商号又は名称"),
    ("company_kana", "フリガナ"),
    ("corporate_number", "法人番号"),
    ("local", "県内・県外"),
    ("address", "主たる営業所の所在地"),
    ("phone", "電話番号"),
    ("email", "Eメールアドレス"),
    ("categories", "希望業種"),
    ("targets", "申請先"),
    ("offices", "営業所数"),
    ("attachment", "電子納税証明書"),
    ("status_label", "状態"),
    ("papers_received", "受領した共通書類（番号）"),
    ("own_received", "独自書類の受領"),
    ("notes", "メモ件数"),
)
CHUNK = 1 << 16


def cells(row: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for name, _ in COLUMNS:
        value = row.get(name)
        if name == "kind":
            value = KIND_LABELS.get(str(value), "")
        elif name == "sent_at":
            value = from_iso(str(value)).astimezone(JST).strftime("%Y-%m-%d %H:%M")
        elif name == "local":
            value = "県内" if value else "県外"
        elif name in ("categories", "targets"):
            value = "、".join(value or [])
        elif name == "papers_received":
            value = ",".join(map(str, value or []))
        elif name == "own_received":
            value = "受領済" if value else ""
        out.append("" if value is None else value)
    return out


async def csv_stream(rows: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow([label for _, label in COLUMNS])
    async for row in rows:
        writer.writerow([_csv_safe(v) for v in cells(row)])
        if buf.tell() >= CHUNK:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


async def xlsx_stream(rows: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    fd, path = tempfile.mkstemp(prefix="kura-qual-", suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
        sheet = book.add_worksheet("申請一覧")
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, [label for _, label in COLUMNS], bold)

        def write(first: int, batch: list[list[Any]]) -> None:
            for line, values in enumerate(batch, first):
                for col, value in enumerate(values):
                    if isinstance(value, int) and not isinstance(value, bool):
                        sheet.write_number(line, col, value)
                    elif value != "":
                        sheet.write_string(line, col, str(value))

        line, batch = 1, []
        async for row in rows:
            batch.append(cells(row))
            if len(batch) >= 1000:
                await asyncio.to_thread(write, line, batch)
                line, batch = line + len(batch), []
        await asyncio.to_thread(write, line, batch)
        await asyncio.to_thread(book.close)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - a local temp file, read in chunks
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)
