"""The 『書類添付』 screen (seed 004 第1 7, 第2 1, 第2 5).

One attachment only: the e-Tax electronic tax payment certificate (消費税及び地方消費税の電子
納税証明書), an electronic original (XML, or e-Tax's PDF), the file named 「nouzei」 and its
title in half-width alphanumerics; the applicant ticks that it was checked (5(2)). Without it
the paper certificate (第1 8 no. 4) goes to the prefecture instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from api.qualifications.checks import Checker, section, text

STEM = "nouzei"
TYPES = {
    ".xml": ("application/xml", "text/xml"),
    ".pdf": ("application/pdf",),
}
_TITLE = re.compile(r"^[A-Za-z0-9]{1,50}$")


def check_attachment(
    values: Mapping[str, Any], record: Mapping[str, Any] | None, today: date
) -> list[dict[str, Any]]:
    """``record``: the attachment named by the draft (None: none, or not found)."""
    c = Checker("attachment", today)
    a = section(values, "attachment")
    if not text(a, "id"):
        return c.errors
    label = "添付ファイル（電子納税証明書）"
    if record is None:
        c.add("attachment.file", label, "添付ファイルが見つかりません。もう一度添付してください。")
        return c.errors
    name = str(record.get("name") or "")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem != STEM:
        c.add(
            "attachment.file",
            label,
            f"電子納税証明書はファイル名を「{STEM}」としてください（添付されたファイル: {name}）。",
        )
    elif f".{ext.lower()}" not in TYPES or not _type_ok(record, f".{ext.lower()}"):
        c.add(
            "attachment.file",
            label,
            "電子納税証明書の電子データ（XMLまたはPDF）を添付してください。"
            "紙の証明書を電子化したものは添付できません。",
        )
    title = text(a, "title")
    if not title:
        c.add("attachment.title", "添付ファイルのタイトル名", "必須項目です。入力してください。")
    elif not _TITLE.match(title):
        c.add(
            "attachment.title",
            "添付ファイルのタイトル名",
            "タイトル名は半角英数字で入力してください。",
        )
    if a.get("checked") is not True:
        c.add(
            "attachment.checked",
            "申請者の確認",
            "添付ファイルを確認したらチェックを付けてください。",
        )
    return c.errors


def _type_ok(record: Mapping[str, Any], ext: str) -> bool:
    """The declared type (and the detected one, once ingest ran) agree with the extension."""
    allowed = TYPES[ext]
    declared = str(record.get("declared_type") or "").split(";")[0].strip().lower()
    detected = str(record.get("content_type") or "").split(";")[0].strip().lower()
    if declared and declared not in allowed and declared != "application/octet-stream":
        return False
    return not (detected and detected not in allowed)
