"""The receipt 送信完了 兼 受付票 (seed 004 第2 6(2)ア; 第1 8 no. 1: printed and sent as the cover
of the papers), rendered by the shared PDF renderer from ``templates/receipt.typ``.

It shows the receipt number, the municipalities applied to, the box for municipalities where
no local tax is owed (第1 8 注1: ticked by hand after printing, or pre-ticked when the applicant
marked them), the common papers this filing needs (第1 8: ○ always, △ by the answers, some only
for 県内業者), each municipality's own documents (第1 9: sent to that municipality, never to
the prefecture), where and by when the papers go (第1 2(2)), and the note that each
municipality publishes the content after certification (表紙 ※).

A municipality other than the host reads a copy showing itself alone (写し): it never sees the
other municipalities a company applied to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from api.kit.clock import from_iso
from api.qualifications import catalog
from api.qualifications.checks import section, text
from api.qualifications.windows import fmt_day, fmt_time

TEMPLATE = "qualifications/templates/receipt.typ"
KIND_LABELS = {
    "initial": "当初申請",
    "reapplication": "再申請",
    "correction": "訂正申請",
    "addition": "追加申請",
}
PUBLISHED_NOTE = (
    "この資格審査申請の内容については、申請先自治体ごとに、資格認定の上一般に公開します。"
)
OWN_NOTE = "各自治体独自書類は、該当する市・町に送付してください（県に送付しないでください）。"
NO_DECISION = "このシステムは申請の受付までを行うものであり、資格の認定及びその通知は行いません。"


def receipt_data(
    application: Mapping[str, Any],
    round_: Mapping[str, Any],
    *,
    only: str | None = None,
) -> dict[str, Any]:
    """The JSON the template reads. ``only``: a municipality's code for its own copy."""
    vals = application["values"]
    co = section(vals, "company")
    places = catalog.municipalities()
    names = {str(t["code"]): _name(places, str(t["code"])) for t in round_.get("targets") or []}
    targets = [str(t) for t in application.get("targets") or []]
    if only is not None:
        targets = [t for t in targets if t == only]
    no_tax = set(application.get("no_tax") or [])
    city = places.get(text(co, "city_code"))
    address = "".join(x for x in ((city.full_name if city else ""), text(co, "address")) if x)
    permit = section(co, "permit")
    categories = section(section(vals, "review"), "categories")
    kinds = {"general": "一般", "special": "特定"}
    papers = list(application.get("papers") or [])
    own = [o for o in application.get("own_papers") or [] if only is None or o["code"] == only]
    if only is not None:
        papers = [_only_tax(p, names.get(only, only)) for p in papers]
    return {
        "title": "送信完了 兼 受付票",
        "number": f"受付番号 {application['receipt_no']}",
        "copy": only is not None,
        "round": round_.get("name", ""),
        "kind": KIND_LABELS.get(str(application.get("kind")), ""),
        "receipt_no": application["receipt_no"],
        "sent_at": fmt_time(from_iso(str(application["sent_at"]))),
        "company": [
            ["商号又は名称", text(co, "name")],
            ["フリガナ", text(co, "name_kana")],
            ["法人番号", text(co, "corporate_number") or "（個人）"],
            ["代表者", f"{text(co, 'rep_title')}　{text(co, 'rep_name')}".strip("\u3000")],
            ["所在地", "\u3000".join(x for x in (address, text(co, "building")) if x)],
            ["建設業許可番号", _permit(permit)],
            ["電話番号", text(co, "phone")],
        ],
        "targets": [names.get(t, t) for t in targets],
        "no_tax": [{"name": names.get(t, t), "marked": t in no_tax} for t in targets],
        "categories": [
            f"{catalog.CATEGORY_BY_CODE[c].name}（{kinds.get(text(r, 'permit_kind'), '')}）"
            for c, r in categories.items()
            if c in catalog.CATEGORY_BY_CODE and isinstance(r, Mapping)
        ],
        "attachment": application.get("attachment_name") or "",
        "papers": [
            {"no": p["no"], "mark": p["mark"], "title": p["title"], "note": p.get("note", "")}
            for p in papers
        ],
        "own": [
            {"name": o["name"], "documents": list(o["documents"]), "note": o.get("note", "")}
            for o in own
        ],
        "paper_address": str(round_.get("paper_address") or ""),
        "paper_deadline": _day(round_.get("paper_deadline")),
        "notes": [PUBLISHED_NOTE, OWN_NOTE, NO_DECISION],
        "footer": round_.get("name", ""),
    }


def _permit(permit: Mapping[str, Any]) -> str:
    authority = dict(catalog.authorities()).get(text(permit, "authority"), "")
    return f"{authority} 第{text(permit, 'number')}号"


def _only_tax(paper: Mapping[str, Any], name: str) -> dict[str, Any]:
    if paper.get("no") != 3:
        return dict(paper)
    return {**paper, "note": f"対象: {name}（申請日の3か月前の日以降に発行されたもの）"}


def _name(places: Mapping[str, catalog.Municipality], code: str) -> str:
    found = places.get(code)
    return found.name if found else code


def _day(value: Any) -> str:
    return fmt_day(date.fromisoformat(str(value))) if value else ""


def receipt_text_lines(data: Mapping[str, Any]) -> Sequence[str]:
    """Plain lines of the receipt (for logs and tests that read the data, not the PDF)."""
    return [str(data["title"]), str(data["number"]), *map(str, data["targets"])]
