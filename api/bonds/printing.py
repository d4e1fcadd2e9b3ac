"""Copies (写し) of a bond as PDF, at any revision, through the shared renderer.

F01<3>, F02<3>: ボンドの原本はボンド管理システムにあるものとしコピーのダウンロードを可能とする.
The original is the versioned record; a copy prints one revision with ``copy: true`` (the
写し mark of ``api.pdf.DOCUMENT`` on every page) and says which revision of which original
it is, so a printed copy is never taken for the bond itself.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from api.bonds.models import KIND_LABELS, BondKind
from api.bonds.views import EVENT_LABELS
from api.kit.clock import from_iso
from api.pdf import DOCUMENT
from storage.query import Record

if TYPE_CHECKING:
    from api.container import Container


def _yen(value: Any) -> str:
    return f"{int(value):,} 円" if value is not None else "—"


def _day(value: Any) -> str:
    if not value:
        return "—"
    d = date.fromisoformat(str(value)[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def _jst(value: Any) -> str:
    if not value:
        return "—"
    from zoneinfo import ZoneInfo

    at = from_iso(str(value)).astimezone(ZoneInfo("Asia/Tokyo"))
    return f"{at.year}年{at.month}月{at.day}日 {at.hour:02d}:{at.minute:02d}"


def document(bond: Record, revision: Record, printed_at: str) -> dict[str, Any]:
    """The DOCUMENT data of a copy of ``revision`` of ``bond`` (pure)."""
    c = revision.get("contents") or {}
    kind = BondKind(revision.get("kind") or bond["kind"])
    event = revision.get("event")
    fields = [
        ["証券番号", str(c.get("certificate_no") or "—")],
        ["保証金額", _yen(c.get("amount"))],
        ["契約金額", _yen(c.get("contract_amount"))],
        ["保証期間", f"{_day(c.get('period_start'))} 〜 {_day(c.get('period_end'))}"],
        ["請求期限", _day(c.get("claim_deadline"))],
        ["保証料", _yen(c.get("premium"))],
        ["保証料の増減", _yen(c.get("premium_difference"))],
        ["発行日", _day(c.get("issued_on") or c.get("paid_on"))],
    ]
    if revision.get("opening_at"):
        fields.append(["開札日時", _jst(revision["opening_at"])])
    sections: list[dict[str, Any]] = [
        {"heading": "保証の内容", "fields": fields},
    ]
    if c.get("conditions"):
        sections.append({"heading": "特約・条件", "text": str(c["conditions"])})
    sections.append(
        {
            "heading": "この写しについて",
            "fields": [
                ["原本", f"ボンド管理システムのボンド {bond['id']}"],
                [
                    "版",
                    f"第{revision['revision']}版（{EVENT_LABELS.get(event, event) if event else ''}"
                    "）",
                ],
                ["版の日時", _jst(revision.get("at"))],
                ["印刷日時", _jst(printed_at)],
            ],
        }
    )
    return {
        "title": f"{KIND_LABELS[kind]}（写し）",
        "number": f"証券番号 {c.get('certificate_no') or '—'} ／ 第{revision['revision']}版",
        "copy": True,
        "parties": [
            [
                "発行機関（保証人）",
                str(revision.get("issuer_name") or bond.get("issuer_name") or "—"),
            ],
            [
                "債務者（受注者）",
                str(revision.get("obligor_name") or bond.get("obligor_name") or ""),
            ],
            [
                "債権者（発注者）",
                str(revision.get("obligee_name") or bond.get("obligee_name") or ""),
            ],
            [
                "工事",
                f"{revision.get('work_number') or ''} {revision.get('work_title') or ''}".strip(),
            ],
        ],
        "sections": sections,
        "note": "この書面は写しです。原本はボンド管理システムに保管されている電子データです。"
        "内容は認証キーでボンド管理システムにて確認してください。",
        "footer": "Kura ボンド管理",
    }


async def render_copy(container: Container, bond: Record, revision: Record) -> bytes:
    from api.kit.clock import to_iso

    data = document(bond, revision, to_iso(container.clock.now()))
    return await container.pdf.render(DOCUMENT, data)
