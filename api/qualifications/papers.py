"""The paper documents an applicant sends after filing, derived from the answers.

Seed 004 第1 8 (共通書類, to the prefecture, one set): ○ always, △ by condition, and some only
for 県内業者 (main office in the prefecture); 注1 (tax certificates only for the chosen
municipalities, none where no local tax is owed). 第1 9: each municipality's own documents
(独自書類), sent to that municipality, never to the prefecture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.qualifications import catalog
from api.qualifications.checks import section, text
from api.qualifications.form import Context, is_local


@dataclass(frozen=True)
class Paper:
    no: int
    title: str
    mark: str  # ○ required, △ by condition
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"no": self.no, "title": self.title, "mark": self.mark, "note": self.note}


def _units(value: str) -> int:
    return int(value) if value.isdigit() else 0


def common_papers(
    values: Mapping[str, Any],
    ctx: Context,
    *,
    has_attachment: bool,
    target_names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """第1 8: what goes to the prefecture, in the table's order."""
    co = section(values, "company")
    p = section(values, "points")
    review = section(values, "review")
    local = is_local(values, ctx)
    minister = text(section(co, "permit"), "authority") == "00"
    iso = text(review, "iso14001") == "有"
    targets = [t for t in values.get("targets") or [] if isinstance(t, str)]
    no_tax = {t for t in values.get("no_tax") or [] if isinstance(t, str)}
    out = [Paper(1, "送信完了 兼 受付票", "○", "提出書類の表紙として一番上に添付してください。")]
    if not local or minister:
        # 第1 8 no. 2: 県内業者 send it only when licensed by the minister.
        out.append(
            Paper(
                2,
                "建設業の許可証明書又は許可確認書（写し可）",
                "○",
                "申請日の3か月前の日以降に発行されたもの。",
            )
        )
    owed = [target_names.get(t, t) for t in targets if t not in no_tax]
    if owed:
        out.append(
            Paper(
                3,
                "申請先自治体の県税・市町税について滞納がないことを証する書面（写し不可）",
                "○",
                "対象: " + "、".join(owed) + "（申請日の3か月前の日以降に発行されたもの）",
            )
        )
    if not has_attachment:
        out.append(
            Paper(
                4,
                "消費税及び地方消費税の納税証明書（その3、その3の2、その3の3のいずれか）又はその写し",
                "○",
                "電子納税証明書を添付しなかったため必要です。",
            )
        )
    if text(co, "kensaibou") == "yes":
        out.append(Paper(5, "建設業労働災害防止協会加入証明書の写し", "△"))
    eco = text(p, "eco")
    if not iso and eco == "ea21":
        out.append(Paper(6, "エコアクション21の認証・登録を示す認証・登録証の写し", "△"))
    if not iso and eco == "iso14005":
        out.append(Paper(7, "ISO14005準拠の制度における合格判定に係る合格証の写し", "△"))
    if _units(text(p, "cpds_units")) > 0:
        out.append(Paper(8, "CPDS学習単位数を証する書面の写し", "△"))
    cpd = section(p, "kenchiku_cpd")
    if any(_units(text(cpd, key)) > 0 for key in cpd):
        out.append(Paper(9, "建築CPD運営会議が証する書面（様式3-3）の写し", "△"))
        out.append(Paper(10, "建築CPD実績証明書内訳書（様式第6号）", "△", "紙で提出してください。"))
    if _units(text(p, "zouen_cpd_units")) > 0:
        out.append(Paper(11, "造園CPD学習単位数を証する書面の写し", "△"))
    if local and text(p, "disability") == "yes":
        out.append(Paper(12, "障害者雇用状況報告書の写し又は障害者の雇用状況を確認できる書類", "△"))
    if text(p, "disaster") == "yes":
        out.append(Paper(13, "広島県公共土木施設災害支援団体認定証等の写し", "△"))
    if local and text(p, "fire_brigade") == "yes":
        out.append(Paper(14, "消防団協力事業所表示制度認定証明書の写し", "△"))
    coop = text(p, "cooperating")
    if local and coop in ("employer", "both"):
        out.append(Paper(15, "協力雇用主登録証明書の写し", "△"))
    if local and coop in ("rehabilitation", "both"):
        out.append(Paper(16, "暴力団離脱者社会復帰支援事業協力事業所登録を証する書面の写し", "△"))
    if text(p, "street_tree") == "yes" and catalog.ZOUEN in section(review, "categories"):
        out.append(Paper(17, "街路樹剪定士の登録認定証の写し", "△"))
    return [paper.as_dict() for paper in out]


def own_papers(
    targets: Sequence[str], round_targets: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """第1 9: each chosen municipality's own documents, sent to it (not to the prefecture)."""
    out = []
    for code in targets:
        target = round_targets.get(code)
        if target is None:
            continue
        docs = [str(d) for d in target.get("own_documents") or []]
        out.append(
            {
                "code": code,
                "name": str(target.get("name") or code),
                "documents": docs,
                "note": str(target.get("own_documents_note") or ""),
            }
        )
    return out
