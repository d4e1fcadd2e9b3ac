"""Attached documents as PDF pages for a proposal's bundle (seed 001 別表1-1 3(8): forms made in
other systems, PDF, Excel, Word, bound per proposal).

Why not LibreOffice (see docs/architecture.md): it is not installed here, a headless office
suite is ~400 MB on every machine, starts a second process per conversion (seconds, and RSS
beyond the bundle's 200 MB budget), and prints differently by version and fonts. Instead the
content of the workbook or document is read with openpyxl / python-docx and laid out by the
shared Typst renderer (``templates/sheet.typ``, ``templates/docx.typ``): the cell values,
merged-cell text, bold cells and column proportions of each sheet; the headings, paragraphs
(bold runs) and tables of a document, in order. Drawings, charts and exact print areas are
not reproduced; a note on the form's attachment list says the page is a conversion, and the
original file stays attached. Images (JPEG, PNG, TIFF, ...) become one page each (Pillow).
Legacy .xls/.doc binaries are refused with a clear message.

Conversions are deterministic per content, so each is cached beside the content's other
derived artefacts (``derived/<sha256>/as.pdf``) and dropped with it.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from api.pdf import PdfRenderer

SHEET_TEMPLATE = "proposals/templates/sheet.typ"
DOCX_TEMPLATE = "proposals/templates/docx.typ"
MAX_ROWS = 2000
MAX_COLS = 40
MAX_CELL = 500
MAX_BLOCKS = 5000
MAX_UNZIPPED = 200 << 20  # refuse a zip bomb before openpyxl / python-docx read it

XLSX = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
}
DOCX = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
LEGACY = {
    "application/vnd.ms-excel": "Excel 97-2003 形式（.xls）",
    "application/msword": "Word 97-2003 形式（.doc）",
}
IMAGES = {"image/jpeg", "image/png", "image/tiff", "image/gif", "image/bmp", "image/webp"}


class NotConvertible(ValueError):
    """The file cannot become PDF pages; the message says why, in Japanese."""


def kind_of(name: str, content_type: str) -> str:
    """``pdf``, ``xlsx``, ``docx``, ``image``, ``text`` or ``other`` from the detected type
    (ingest) and, for the office formats python-magic names as zip, the extension."""
    lower = name.lower()
    if content_type == "application/pdf" or (lower.endswith(".pdf") and not content_type):
        return "pdf"
    if content_type in XLSX or lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if content_type in DOCX or lower.endswith(".docx"):
        return "docx"
    if content_type in IMAGES:
        return "image"
    if content_type in LEGACY or lower.endswith((".xls", ".doc")):
        return "legacy"
    if content_type.startswith("text/"):
        return "text"
    return "other"


def _zip_guard(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED:
                raise NotConvertible("展開後のサイズが大きすぎるため綴じられません。")
    except zipfile.BadZipFile as exc:
        raise NotConvertible("ファイルが壊れているため綴じられません。") from exc


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return (
            value.strftime("%Y/%m/%d %H:%M")
            if value.time() != dt.time()
            else value.strftime("%Y/%m/%d")
        )
    if isinstance(value, dt.date):
        return value.strftime("%Y/%m/%d")
    if isinstance(value, float):
        return f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)[:MAX_CELL]


def xlsx_document(data: bytes, title: str) -> dict[str, Any]:
    """The printable content of a workbook: each visible sheet's used range."""
    _zip_guard(data)
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise NotConvertible("Excel ファイルとして読み取れません。") from exc
    sheets = []
    for sheet in book.worksheets:
        if sheet.sheet_state != "visible":
            continue
        max_row = min(sheet.max_row or 0, MAX_ROWS)
        max_col = min(sheet.max_column or 0, MAX_COLS)
        rows: list[list[str]] = []
        bold: list[list[int]] = []
        for r, row in enumerate(
            sheet.iter_rows(min_row=1, max_row=max_row, max_col=max_col), start=0
        ):
            texts = []
            for c, cell in enumerate(row):
                texts.append(_cell_text(cell.value))
                if cell.value is not None and cell.font is not None and cell.font.b:
                    bold.append([r, c])
            rows.append(texts)
        # trim empty trailing rows and columns
        while rows and not any(rows[-1]):
            rows.pop()
        used = max(
            (max((i for i, t in enumerate(row) if t), default=-1) for row in rows), default=-1
        )
        rows = [row[: used + 1] for row in rows]
        widths = [
            max(3, min(40, max((len(row[c]) for row in rows if c < len(row)), default=3)))
            for c in range(used + 1)
        ]
        sheets.append(
            {
                "name": sheet.title,
                "rows": rows,
                "widths": widths,
                "bold": [b for b in bold if b[0] < len(rows) and b[1] <= used],
                "landscape": sum(widths) > 90,
            }
        )
    return {"title": title, "sheets": sheets}


def docx_document(data: bytes, title: str) -> dict[str, Any]:
    """The printable content of a Word document: headings, paragraphs, tables in order."""
    _zip_guard(data)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise NotConvertible("Word ファイルとして読み取れません。") from exc
    blocks: list[dict[str, Any]] = []
    for item in document.iter_inner_content():
        if len(blocks) >= MAX_BLOCKS:
            break
        if isinstance(item, Paragraph):
            style = (item.style.name if item.style is not None else "") or ""
            text = item.text
            if style.startswith("Heading") or style.startswith("見出し") or style == "Title":
                digits = "".join(ch for ch in style if ch.isdigit())
                blocks.append({"kind": "heading", "level": int(digits or 1), "text": text})
                continue
            runs = [[r.text, bool(r.bold)] for r in item.runs if r.text]
            blocks.append({"kind": "paragraph", "runs": runs or [[" ", False]]})
        elif isinstance(item, Table):
            rows = [[cell.text[:MAX_CELL] for cell in row.cells] for row in item.rows]
            blocks.append({"kind": "table", "rows": rows})
    return {"title": title, "blocks": blocks}


def image_pdf(data: bytes) -> bytes:
    """One A4-fitting page per image frame (the first frame of animations)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            page = img.convert("RGB")
    except Exception as exc:
        raise NotConvertible("画像として読み取れません。") from exc
    # A resolution that fits the image on A4 (8.27 x 11.69 in) at most.
    dpi = max(72.0, page.width / 8.27, page.height / 11.69)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=dpi)
    return out.getvalue()


def text_document(data: bytes, title: str) -> dict[str, Any]:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise NotConvertible("文字コードを判別できません。")
    return {"title": title, "sections": [{"text": text[:200_000]}], "page_numbers": False}


def to_pdf(renderer: PdfRenderer, kind: str, data: bytes, name: str) -> bytes:
    """PDF bytes of an attachment of ``kind`` (blocking: call from a worker thread)."""
    if kind == "pdf":
        return data
    if kind == "xlsx":
        return renderer.render_sync(SHEET_TEMPLATE, xlsx_document(data, name))
    if kind == "docx":
        return renderer.render_sync(DOCX_TEMPLATE, docx_document(data, name))
    if kind == "image":
        return image_pdf(data)
    if kind == "text":
        from api.pdf import DOCUMENT

        return renderer.render_sync(DOCUMENT, text_document(data, name))
    if kind == "legacy":
        raise NotConvertible(
            "古い Office 形式は綴じられません。.xlsx / .docx で保存し直してください。"
        )
    raise NotConvertible("この形式のファイルは PDF に綴じられません（添付のままになります）。")
