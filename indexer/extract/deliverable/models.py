"""Typed, version-tolerant readers of the 電子納品 management XMLs: records and the INDEX.

Element names are ONLY those in deliverables-and-bonds.md §1.4-1.7 (labels [V]/[C]/[C-]/[M]
there). Readers never depend on exact nesting or DTD generation: a record is a group element
and its leaves are looked up by tag among its descendants, so unknown elements are kept (in
``Rec.values``) and older spellings (請負者 vs 受注者, 発注者機関事務所名) are read beside
newer ones. Photos are read in ``photos``, the files other XMLs name in ``refs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from indexer.extract.deliverable.xmlread import XmlDoc

Pos = tuple[int | None, int | None]


@dataclass
class Rec:
    """A group element: every descendant leaf by tag (first value, all values, positions)."""

    tag: str
    line: int | None
    column: int | None
    values: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)
    where: dict[str, Pos] = field(default_factory=dict)

    def get(self, *names: str) -> str | None:
        """The first non-empty value among ``names`` (aliases across DTD versions)."""
        for name in names:
            value = self.values.get(name)
            if value:
                return value
        return None

    def all(self, *names: str) -> list[str]:
        return [v for name in names for v in self.multi.get(name, []) if v]

    def pos(self, *names: str) -> Pos:
        for name in names:
            if name in self.where:
                return self.where[name]
        return self.line, self.column

    def has(self, name: str) -> bool:
        return name in self.values


def _leaf_text(elem: Element) -> str:
    return "".join(elem.itertext()).strip()


def record(doc: XmlDoc, elem: Element) -> Rec:
    line, column = doc.pos(elem)
    rec = Rec(elem.tag, line, column)
    for child in elem.iter():
        if child is elem or len(child):
            continue
        value = _leaf_text(child)
        rec.values.setdefault(child.tag, value)
        rec.multi.setdefault(child.tag, []).append(value)
        rec.where.setdefault(child.tag, doc.pos(child))
    return rec


def groups(doc: XmlDoc, tag: str) -> list[Rec]:
    return [record(doc, e) for e in doc.root.iter(tag)]


def base_info(doc: XmlDoc) -> Rec:
    """``<基礎情報>`` (every management file has one), or an empty record."""
    found = next(doc.root.iter("基礎情報"), None)
    return record(doc, found) if found is not None else Rec("基礎情報", None, None)


# INDEX_C.XML / INDEX_D.XML -------------------------------------------------------------------
ROUTE_LEAVES = (
    "対象水系路線名",
    "現道-旧道区分",
    "対象河川コード",
    "左右岸上下線コード",
    "起点側測点-n",
    "起点側測点-m",
    "終点側測点-n",
    "終点側測点-m",
    "起点側距離標-n",
    "起点側距離標-m",
    "終点側距離標-n",
    "終点側距離標-m",
)


@dataclass
class IndexInfo:
    """工事管理ファイル (kind ``C``, §1.4) or 業務管理ファイル (kind ``D``, §1.5)."""

    kind: str
    doc: XmlDoc
    base: Rec
    main: Rec  # the whole root, leaves by tag

    @property
    def folders(self) -> dict[str, str]:
        """``<…フォルダ名>`` declared in 基礎情報: element name -> folder path."""
        return {k: v for k, v in self.base.values.items() if k.endswith("フォルダ名") and v}

    @property
    def applied_standard(self) -> str | None:
        return self.base.get("適用要領基準")

    @property
    def title(self) -> str | None:
        return self.main.get("工事名称", "業務名称")

    @property
    def period_start(self) -> str | None:
        return self.main.get("工期開始日", "履行期間-着手")

    @property
    def period_end(self) -> str | None:
        return self.main.get("工期終了日", "履行期間-完了")

    @property
    def contractor(self) -> str | None:
        return self.main.get("受注者名", "請負者名")

    @property
    def orderer_code(self) -> str | None:
        return self.main.get("発注者コード")

    @property
    def orderer_names(self) -> list[str]:
        """Every orderer name the INDEX gives (大分類/中分類/小分類, older 事務所名)."""
        m = self.main
        names = ("発注者-大分類", "発注者-中分類", "発注者-小分類", "発注者機関事務所名")
        return [v for v in (m.get(n) for n in (*names, "発注者名称")) if v]

    @property
    def media(self) -> tuple[int | None, int | None]:
        """(メディア番号, メディア総枚数) as integers when they are numbers."""
        number, total = self.base.get("メディア番号"), self.base.get("メディア総枚数")
        return _int(number), _int(total)

    def routes(self) -> list[dict[str, str]]:
        """Each ``<水系-路線情報>`` (§1.4 [M] group, children [C]) as its leaves."""
        out = []
        for rec in groups(self.doc, "水系-路線情報"):
            item = {k: rec.values[k] for k in ROUTE_LEAVES if rec.values.get(k)}
            if item:
                out.append(item)
        return out

    def fields(self) -> dict[str, Any]:
        """The fields stored on the deliverable record (codes kept as strings)."""
        m = self.main
        number, total = self.media
        out: dict[str, Any] = {
            "適用要領基準": self.applied_standard,
            "メディア番号": number,
            "メディア総枚数": total,
            "発注年度": m.get("発注年度"),
            "工事番号": m.get("工事番号"),
            "業務番号": m.get("業務番号"),
            "工事名称": m.get("工事名称"),
            "業務名称": m.get("業務名称"),
            "実績システム登録番号": m.get("工事実績システム登録番号", "業務実績システム登録番号"),
            "設計書コード": m.get("設計書コード"),
            "契約番号": m.get("契約番号"),
            "施工金額": m.get("施工金額"),
            "工事分野": m.get("工事分野"),
            "工事業種": m.get("工事業種"),
            "業務分野コード": m.all("業務分野コード"),
            "工種": m.all("工種"),
            "工法型式": m.all("工法型式"),
            "住所": m.all("住所"),
            "住所コード": m.all("住所コード"),
            "工期開始日": self.period_start,
            "工期終了日": self.period_end,
            "内容": m.get("工事内容", "業務概要", "主な業務の内容"),
            "業務キーワード": m.all("業務キーワード"),
            "測地系": m.get("測地系"),
            "水系-路線情報": self.routes(),
            "施設名称": m.all("施設名称"),
            "発注者-大分類": m.get("発注者-大分類"),
            "発注者-中分類": m.get("発注者-中分類"),
            "発注者-小分類": m.get("発注者-小分類"),
            "発注者機関事務所名": m.get("発注者機関事務所名"),
            "発注者機関コード": m.get("発注者機関コード"),
            "発注者コード": self.orderer_code,
            "工事担当課": m.get("工事担当課"),
            "受注者名": self.contractor,
            "受注者コード": m.get("受注者コード", "請負者コード"),
            "フォルダ": self.folders,
        }
        return {k: v for k, v in out.items() if v not in (None, [], {})}

    def text_names(self) -> list[str]:
        """Full-text values (§2.2 last paragraph): 名称, 内容, 施設名称, 住所, 業務キーワード,
        and the 水系・路線 names."""
        m = self.main
        values = [
            self.title,
            m.get("工事内容", "業務概要", "主な業務の内容"),
            *m.all("施設名称"),
            *m.all("住所"),
            *m.all("業務キーワード"),
            *m.all("対象水系路線名"),
        ]
        return list(dict.fromkeys(v for v in values if v))


def read_index(doc: XmlDoc, kind: str) -> IndexInfo:
    return IndexInfo(kind, doc, base_info(doc), record(doc, doc.root))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
