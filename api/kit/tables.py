"""Listings streamed as CSV (UTF-8 with a BOM, so Excel opens Japanese text correctly) or Excel
(xlsxwriter in ``constant_memory`` mode into a temporary file — the format is a ZIP and needs
its directory at the end — then streamed). Rows arrive as lists of cell values, already in
words; the search export and the qualification desk's list both write through here."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

CHUNK = 1 << 16
XLSX_BATCH = 1000  # rows written per hop to a worker thread
Footer = Callable[[], str | None]  # the last line's text, asked after the last row


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection): prefix a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "@", "\t", "\r"):
        return "'" + value
    return value


async def csv_table(
    labels: Sequence[str], rows: AsyncIterator[list[Any]], footer: Footer | None = None
) -> AsyncIterator[bytes]:
    """The header, the rows (formulas neutralised) and, when ``footer()`` (asked once the rows
    are out, e.g. whether a cap left rows out) says something, a last line ``※ ...``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow(labels)
    async for row in rows:
        writer.writerow([csv_safe(v) for v in row])
        if buf.tell() >= CHUNK:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    note = footer() if footer else None
    if note:
        writer.writerow([f"※ {note}"])
    yield buf.getvalue().encode()


async def xlsx_table(
    sheet_name: str,
    labels: Sequence[str],
    rows: AsyncIterator[list[Any]],
    *,
    prefix: str,
    footer: Footer | None = None,
) -> AsyncIterator[bytes]:
    """One sheet: a bold header, numbers as numbers, text always as text (a title such as
    "=1+1" never becomes a formula), and a bold last line ``※ footer()`` as ``csv_table``."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".xlsx")
    os.close(fd)
    try:
        import xlsxwriter  # type: ignore[import-untyped]  # no stubs; lazily (few processes)

        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
        sheet = book.add_worksheet(sheet_name)
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, list(labels), bold)

        def write(first: int, batch: list[list[Any]]) -> None:
            for line, values in enumerate(batch, first):
                for col, value in enumerate(values):
                    if isinstance(value, int) and not isinstance(value, bool):
                        sheet.write_number(line, col, value)
                    elif value != "":
                        sheet.write_string(line, col, str(value))

        # Written a batch at a time in a worker thread, off the event loop (issue 7 item 3).
        line, batch = 1, []
        async for row in rows:
            batch.append(row)
            if len(batch) >= XLSX_BATCH:
                await asyncio.to_thread(write, line, batch)
                line, batch = line + len(batch), []
        await asyncio.to_thread(write, line, batch)
        line += len(batch)
        note = footer() if footer else None
        if note:
            sheet.write_string(line, 0, f"※ {note}", bold)
        await asyncio.to_thread(book.close)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - a local temp file, read in chunks
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)
