"""The folder set a work starts with, per kind of work (seed 001 §3-4), editable per orderer.

§3-4: 受注者は、情報共有システムで扱う工事等関係書類について、受発注者が容易に閲覧・検索できる
よう種別ごとにフォルダ分けを行い整理する. §3-1 names the documents: those of the contract and of
the 共通仕様書 (農業土木工事共通仕様書 / 調査測量設計業務共通仕様書). The built-in sets below
follow those document types; each folder carries

- ``doc_type``: the 書類種別 its documents belong to (別表1-1 5(4): search and sort by class);
- ``delivery``: where its documents go in the 電子納品 package (§4, deliverables-and-bonds.md
  §1.2/§1.3): ``PLAN``, ``MEET``, ``PHOTO``, ``OTHRS``, ``DRAWINGF`` (工事); ``REPORT``,
  ``DRAWING``, ``PHOTO``, ``OTHRS`` (業務); ``""`` not delivered (e.g. 貸与資料);
- ``children``: sub-folders (at most ``MAX_DEPTH`` levels).

An orderer organization may replace the set for its works (``folder_templates``, id
``<org_id>:<kind>``; 別表1-1 8(4) master data, edited by holders of ``master.manage``). The set
is data: validated here (names, unique siblings, known targets, size), never code.
"""

from __future__ import annotations

from typing import Any

from api.archive.models import clean_name
from api.errors import ValidationFailed

TEMPLATES = "folder_templates"
MAX_FOLDERS = 200
MAX_DEPTH = 3

# Targets a folder's documents may be mapped to, per kind of work (INDEX_C / INDEX_D).
DELIVERY_TARGETS: dict[str, tuple[str, ...]] = {
    "construction": ("", "PLAN", "MEET", "PHOTO", "OTHRS", "DRAWINGF"),
    "service": ("", "REPORT", "DRAWING", "PHOTO", "OTHRS"),
}
DELIVERY_LABELS: dict[str, str] = {
    "": "納品しない",
    "PLAN": "施工計画書（PLAN）",
    "MEET": "打合せ簿（MEET）",
    "PHOTO": "写真（PHOTO）",
    "OTHRS": "その他（OTHRS）",
    "DRAWINGF": "完成図（DRAWINGF）",
    "REPORT": "報告書（REPORT）",
    "DRAWING": "図面（DRAWING）",
}
# The document type decided proposals are filed under (別表1-1 3, 4 → 打合せ簿).
PROPOSALS_TYPE = "打合せ簿"


def _f(name: str, doc_type: str, delivery: str, *children: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "doc_type": doc_type, "delivery": delivery, "children": list(children)}


# 工事 (別表1-1): the 工事関係書類 of the contract and the 共通仕様書 (§3-1), by type (§3-4).
CONSTRUCTION: list[dict[str, Any]] = [
    _f("01_契約関係書類", "契約関係書類", "OTHRS"),
    _f("02_施工計画書", "施工計画書", "PLAN"),
    _f("03_打合せ簿", PROPOSALS_TYPE, "MEET"),
    _f("04_工程管理", "工程管理", "OTHRS"),
    _f("05_段階確認・立会", "段階確認・立会", "OTHRS"),
    _f("06_材料確認", "材料確認", "OTHRS"),
    _f("07_品質管理", "品質管理", "OTHRS"),
    _f("08_出来形管理", "出来形管理", "OTHRS"),
    _f("09_安全管理", "安全管理", "OTHRS"),
    _f("10_工事写真", "工事写真", "PHOTO"),
    _f("11_完成図", "完成図", "DRAWINGF"),
    _f("12_その他", "その他", "OTHRS"),
]
# 業務 (別表1-2): the 業務関係書類 of the contract and the 調査測量設計業務共通仕様書.
SERVICE: list[dict[str, Any]] = [
    _f("01_契約関係書類", "契約関係書類", "OTHRS"),
    _f("02_業務計画書", "業務計画書", "OTHRS"),
    _f("03_打合せ簿", PROPOSALS_TYPE, "OTHRS"),
    _f("04_報告書", "報告書", "REPORT"),
    _f("05_図面", "図面", "DRAWING"),
    _f("06_写真", "写真", "PHOTO"),
    _f("07_貸与資料", "貸与資料", ""),
    _f("08_その他", "その他", "OTHRS"),
]
BUILT_IN: dict[str, list[dict[str, Any]]] = {"construction": CONSTRUCTION, "service": SERVICE}


def template_id(org_id: str, kind: str) -> str:
    return f"{org_id}:{kind}"


def check_kind(kind: str) -> str:
    if kind not in BUILT_IN:
        raise ValidationFailed(f"工事・業務の種類「{kind}」が正しくありません。")
    return kind


def normalise(kind: str, folders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A submitted folder set, checked and cleaned: names as the tree stores them, unique among
    siblings, types at most 50 characters, delivery targets of the kind, depth and size capped.
    Raises ``ValidationFailed`` naming the folder."""
    targets = DELIVERY_TARGETS[check_kind(kind)]
    count = 0

    def walk(items: list[dict[str, Any]], depth: int, where: str) -> list[dict[str, Any]]:
        nonlocal count
        if depth > MAX_DEPTH:
            raise ValidationFailed(f"フォルダの階層は{MAX_DEPTH}段までです（{where}）。")
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        for item in items:
            count += 1
            if count > MAX_FOLDERS:
                raise ValidationFailed(f"標準フォルダは{MAX_FOLDERS}個までです。")
            name = clean_name(str(item.get("name") or ""))
            if name.casefold() in seen:
                raise ValidationFailed(f"同じ名前のフォルダが二つあります: {where}{name}")
            seen.add(name.casefold())
            doc_type = str(item.get("doc_type") or "").strip()
            if len(doc_type) > 50 or not doc_type.isprintable():
                raise ValidationFailed(f"書類種別が正しくありません: {where}{name}")
            delivery = str(item.get("delivery") or "")
            if delivery not in targets:
                raise ValidationFailed(
                    f"電子納品の格納先「{delivery}」はこの種類の案件にはありません: {where}{name}"
                )
            children = walk(list(item.get("children") or []), depth + 1, f"{where}{name}/")
            out.append(
                {"name": name, "doc_type": doc_type, "delivery": delivery, "children": children}
            )
        return out

    return walk(folders, 1, "")


def flatten(folders: list[dict[str, Any]], prefix: tuple[str, ...] = ()) -> list[Any]:
    """``(path parts, folder)`` of every folder of a set, parents first."""
    out: list[Any] = []
    for item in folders:
        parts = (*prefix, str(item["name"]))
        out.append((parts, item))
        out.extend(flatten(list(item.get("children") or []), parts))
    return out
