"""A municipality's list of the filings sent to it as CSV (UTF-8 with BOM) or Excel, streamed
(issue 14 §5). Text cells that look like formulas are neutralised (``api.kit.tables``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from api.kit.clock import from_iso
from api.kit.tables import csv_table, xlsx_table
from api.qualifications.receipt import KIND_LABELS
from api.qualifications.windows import JST

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


async def _values(rows: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[list[Any]]:
    async for row in rows:
        yield cells(row)


def csv_stream(rows: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    return csv_table([label for _, label in COLUMNS], _values(rows))


def xlsx_stream(rows: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    return xlsx_table(
        "申請一覧", [label for _, label in COLUMNS], _values(rows), prefix="kura-qual-"
    )
