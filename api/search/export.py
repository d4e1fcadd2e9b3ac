"""Search results as CSV and Excel listings (seed 001 別表1-1 5(7): 一覧の出力), streamed.

CSV is UTF-8 with a BOM (Excel opens Japanese text correctly) and written page by page while
the search pages through the index; Excel is written to a temporary file and then streamed
(both by ``api.kit.tables``).
Both stop at ``EXPORT_CAP`` rows; when rows were left out a last row says so in Japanese.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from api.kit.clock import jst_text
from api.kit.tables import csv_table, xlsx_table
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


async def _values(rows: AsyncIterator[SearchHitRead], run: ExportRun) -> AsyncIterator[list[Any]]:
    async for hit in rows:
        yield row_values(hit, run)


def csv_stream(rows: AsyncIterator[SearchHitRead], run: ExportRun) -> AsyncIterator[bytes]:
    return csv_table([label for _, label in COLUMNS], _values(rows, run), lambda: run.notice)


def xlsx_stream(rows: AsyncIterator[SearchHitRead], run: ExportRun) -> AsyncIterator[bytes]:
    return xlsx_table(
        "検索結果",
        [label for _, label in COLUMNS],
        _values(rows, run),
        prefix="kura-export-",
        footer=lambda: run.notice,
    )
