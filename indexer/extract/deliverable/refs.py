"""Typed, version-tolerant readers of the 電子納品 management XMLs.

Element names are ONLY those in deliverables-and-bonds.md §1.4-1.7 (labels [V]/[C]/[C-]/[M]
there). Readers never depend on exact nesting or DTD generation: a record is a group element
and its leaves are looked up by tag among its descendants, so unknown elements are kept (in
``Rec.values``) and older spellings (請負者 vs 受注者, 発注者機関事務所名) are read beside
newer ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

    def fields(self) -> dict[str, Any]:
        """The fields stored on the deliverable record (codes kept as strings)."""
        m = self.main
        out: dict[str, Any] = {
            "適用要領基準": self.applied_standard,
            "発注年度": m.get("発注年度"),
            "工事番号": m.get("工事番号"),
            "工事名称": m.get("工事名称"),
            "業務名称": m.get("業務名称"),
            "実績システム登録番号": m.get("工事実績システム登録番号", "業務実績システム登録番号"),
            "設計書コード": m.get("設計書コード"),
            "工事分野": m.get("工事分野"),
            "工事業種": m.get("工事業種"),
            "工種": m.all("工種"),
            "工法型式": m.all("工法型式"),
            "住所": m.all("住所"),
            "住所コード": m.all("住所コード"),
            "工期開始日": self.period_start,
            "工期終了日": self.period_end,
            "内容": m.get("工事内容", "業務概要", "主な業務の内容"),
            "業務キーワード": m.all("業務キーワード"),
            "測地系": m.get("測地系"),
            "施設名称": m.all("施設名称"),
            "発注者-大分類": m.get("発注者-大分類"),
            "発注者-中分類": m.get("発注者-中分類"),
            "発注者-小分類": m.get("発注者-小分類"),
            "発注者機関事務所名": m.get("発注者機関事務所名"),
            "発注者コード": self.orderer_code,
            "工事担当課": m.get("工事担当課"),
            "受注者名": self.contractor,
            "受注者コード": m.get("受注者コード", "請負者コード"),
            "フォルダ": self.folders,
        }
        return {k: v for k, v in out.items() if v not in (None, [], {})}

    def text_names(self) -> list[str]:
        """Full-text values (§2.2 last paragraph): 名称, 内容, 施設名称, 住所, 業務キーワード."""
        m = self.main
        return [
            v
            for v in [
                self.title,
                m.get("工事内容", "業務概要"),
                *m.all("施設名称"),
                *m.all("住所"),
                *m.all("業務キーワード"),
            ]
            if v
        ]


def read_index(doc: XmlDoc, kind: str) -> IndexInfo:
    return IndexInfo(kind, doc, base_info(doc), record(doc, doc.root))


# PHOTO.XML ---------------------------------------------------------------------------------
PHOTO_LEVELS = ("写真-大分類", "写真区分", "工種", "種別", "細別")


@dataclass
class Photo:
    """One ``<写真情報>`` (PHOTO05.DTD, §1.6)."""

    rec: Rec
    refs: list[Rec]  # <付加情報> groups (参考図)

    @property
    def serial(self) -> str | None:
        return self.rec.get("シリアル番号")

    @property
    def file(self) -> str | None:
        return self.rec.get("写真ファイル名")

    @property
    def title(self) -> str | None:
        return self.rec.get("写真タイトル")

    @property
    def date(self) -> str | None:
        return self.rec.get("撮影年月日")

    @property
    def levels(self) -> list[str | None]:
        return [self.rec.get(name) for name in PHOTO_LEVELS]

    @property
    def description(self) -> str | None:
        return self.rec.get("受注者説明文", "請負者説明文")


@dataclass
class PhotoInfo:
    doc: XmlDoc
    base: Rec
    photos: list[Photo]

    @property
    def pic_folder(self) -> str:
        return self.base.get("写真フォルダ名") or "PHOTO/PIC"

    @property
    def dra_folder(self) -> str | None:
        return self.base.get("参考図フォルダ名")


def read_photo(doc: XmlDoc) -> PhotoInfo:
    photos = [
        Photo(record(doc, e), [record(doc, r) for r in e.iter("付加情報")])
        for e in doc.root.iter("写真情報")
    ]
    return PhotoInfo(doc, base_info(doc), photos)


# MEET, PLAN, OTHRS, DRAWING(F), REPORT, REGISTER -----------------------------------------------
@dataclass(frozen=True)
class RefSpec:
    """A leaf naming a file, the folder (from the package root) where the file lives, and the
    leaves that describe it. ``folder`` ending in ``/**`` means "anywhere below"."""

    leaf: str
    folder: str
    doc_class: str
    title: tuple[str, ...] = ()
    date: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileRef:
    """A file named by a management XML, with what the XML says about it."""

    xml: str
    name: str
    folder: str
    doc_class: str
    line: int | None
    column: int | None
    title: str | None = None
    date: str | None = None
    names: tuple[str, ...] = ()
    photo_path: tuple[str, ...] = ()
    serial: str | None = None


# group element -> specs. Names per §1.5 and §1.7 ([C-]/[M] rows are aliases for search).
GROUPS: dict[str, tuple[str, tuple[RefSpec, ...]]] = {
    "MEET": (
        "打合せ簿情報",
        (
            RefSpec(
                "打合せ簿オリジナルファイル名",
                "MEET/ORG",
                "meeting",
                ("打合せ簿名称",),
                ("発行日付",),
                ("打合せ簿名称", "打合せ簿オリジナルファイル日本語名", "打合せ簿種類", "内容"),
            ),
        ),
    ),
    "PLAN": (
        "施工計画書情報",
        (
            RefSpec(
                "施工計画書オリジナルファイル名",
                "PLAN/ORG",
                "plan",
                ("施工計画書名称",),
                (),
                ("施工計画書名称", "施工計画書オリジナルファイル日本語名"),
            ),
        ),
    ),
    "OTHRS": (
        "その他資料情報",
        (
            RefSpec(
                "オリジナルファイル名",
                "OTHRS/**",
                "other",
                ("資料名",),
                (),
                ("資料名", "オリジナルファイル日本語名"),
            ),
        ),
    ),
    "DRAWINGF": (
        "",
        (
            RefSpec(
                "図面ファイル名", "DRAWINGF", "drawing", ("図面名",), (), ("図面名", "図面番号")
            ),
        ),
    ),
    "DRAWING": (
        "",
        (RefSpec("図面ファイル名", "DRAWING", "drawing", ("図面名",), (), ("図面名", "図面番号")),),
    ),
    "REPORT": (
        "",
        (
            RefSpec(
                "報告書ファイル名",
                "REPORT",
                "report",
                ("報告書名",),
                (),
                ("報告書名", "報告書副題", "報告書ファイル日本語名"),
            ),
            RefSpec(
                "報告書オリジナルファイル名",
                "REPORT/ORG",
                "report",
                ("報告書名",),
                (),
                ("報告書オリジナルファイル日本語名",),
            ),
        ),
    ),
    "REGISTER": (
        "",
        (
            RefSpec("着手前写真ファイル名", "REGISTER", "register", ()),
            RefSpec("完成写真ファイル名", "REGISTER", "register", ()),
        ),
    ),
}


def _parents(doc: XmlDoc, leaf: str) -> Iterator[Element]:
    """Group elements holding ``leaf`` (its parent), each once, in document order."""
    parent = {c: p for p in doc.root.iter() for c in p}
    seen: set[int] = set()
    for elem in doc.root.iter(leaf):
        group = parent.get(elem, doc.root)
        if id(group) not in seen:
            seen.add(id(group))
            yield group


def file_refs(kind: str, doc: XmlDoc, xml_path: str) -> list[FileRef]:
    """Every file a MEET/PLAN/OTHRS/DRAWING(F)/REPORT/REGISTER XML names."""
    group_tag, specs = GROUPS[kind]
    out: list[FileRef] = []
    for spec in specs:
        if group_tag:
            holders: Iterable[Element] = doc.root.iter(group_tag)
        else:
            holders = _parents(doc, spec.leaf)
        for holder in holders:
            rec = record(doc, holder)
            for i, name in enumerate(rec.multi.get(spec.leaf, [])):
                line, column = rec.where.get(spec.leaf, (rec.line, rec.column))
                if i:
                    line, column = _nth_pos(doc, holder, spec.leaf, i)
                out.append(
                    FileRef(
                        xml=xml_path,
                        name=name,
                        folder=spec.folder,
                        doc_class=spec.doc_class,
                        line=line,
                        column=column,
                        title=rec.get(*spec.title) if spec.title else None,
                        date=rec.get(*spec.date) if spec.date else None,
                        names=tuple(v for n in spec.names for v in rec.all(n)),
                        serial=rec.get("シリアル番号"),
                    )
                )
    return out


def _nth_pos(doc: XmlDoc, holder: Element, leaf: str, n: int) -> Pos:
    for i, elem in enumerate(holder.iter(leaf)):
        if i == n:
            return doc.pos(elem)
    return doc.pos(holder)


def photo_refs(info: PhotoInfo, xml_path: str) -> list[FileRef]:
    """Photos (in 写真フォルダ名) and 参考図 (in 参考図フォルダ名) named by PHOTO.XML."""
    out: list[FileRef] = []
    dra = info.dra_folder or "PHOTO/DRA"
    for p in info.photos:
        if p.file:
            line, column = p.rec.pos("写真ファイル名")
            names = [p.title, p.rec.get("撮影箇所"), p.rec.get("写真ファイル日本語名")]
            out.append(
                FileRef(
                    xml=xml_path,
                    name=p.file,
                    folder=info.pic_folder,
                    doc_class="photo",
                    line=line,
                    column=column,
                    title=p.title,
                    date=p.date,
                    names=tuple(n for n in names if n),
                    photo_path=_tree_path(p.levels),
                    serial=p.serial,
                )
            )
        for ref in p.refs:
            name = ref.get("参考図ファイル名")
            if name:
                line, column = ref.pos("参考図ファイル名")
                title = ref.get("参考図タイトル")
                out.append(FileRef(xml_path, name, dra, "reference_drawing", line, column, title))
    return out


def _tree_path(levels: list[str | None]) -> tuple[str, ...]:
    """Levels down to the last one given; a gap inside is labelled 未設定."""
    while levels and not levels[-1]:
        levels = levels[:-1]
    return tuple(v or "（未設定）" for v in levels) or ("（未設定）",)


# the photo tree ------------------------------------------------------------------------------
def photo_tree(refs: Iterable[FileRef]) -> list[dict[str, Any]]:
    """写真-大分類 → 写真区分 → 工種 → 種別 → 細別 (the viewer apps' tree, §2.2), each level with
    ``count``; leaves list the photos (title, file, date). Order is first appearance."""
    root: dict[str, Any] = {"children": {}, "photos": []}
    for ref in refs:
        if ref.doc_class != "photo":
            continue
        node = root
        for label in ref.photo_path:
            node = node["children"].setdefault(label, {"children": {}, "photos": []})
        node["photos"].append(
            {
                "title": ref.title,
                "file": f"{ref.folder}/{ref.name}",
                "date": ref.date,
                "serial": ref.serial,
            }
        )

    def render(children: dict[str, Any], depth: int) -> list[dict[str, Any]]:
        out = []
        for label, node in children.items():
            kids = render(node["children"], depth + 1)
            count = len(node["photos"]) + sum(k["count"] for k in kids)
            item: dict[str, Any] = {
                "level": PHOTO_LEVELS[depth],
                "label": label,
                "count": count,
                "children": kids,
            }
            if node["photos"]:
                item["photos"] = node["photos"]
            out.append(item)
        return out

    return render(root["children"], 0)
