"""PHOTO.XML (デジタル写真管理情報基準, PHOTO05.DTD, deliverables-and-bonds.md §1.6) and the
browse trees built from the XML, not from the folders (§2.2 "Browse-tree derivation"):

- photos: 写真-大分類 → 写真区分 → 工種 → 種別 → 細別 → 写真タイトル, each photo keeping its
  代表写真 and 提出頻度写真 flags (filterable, issue 8 item 11);
- MEET: 打合せ簿種類 → 発行日付;
- OTHRS: サブフォルダ日本語名 → 資料名.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from indexer.extract.deliverable.models import Rec, base_info, record
from indexer.extract.deliverable.refs import FileRef
from indexer.extract.deliverable.xmlread import XmlDoc

PHOTO_LEVELS = ("写真-大分類", "写真区分", "工種", "種別", "細別")
TITLE_LEVEL = "写真タイトル"
UNSET = "（未設定）"


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

    @property
    def media(self) -> int | None:
        value = self.rec.get("メディア番号")
        return int(value) if value and value.isdigit() else None

    def flag(self, name: str) -> bool:
        """代表写真 / 提出頻度写真: ``1`` is set (rule 15 checks the value is 0 or 1)."""
        return self.rec.get(name) == "1"


@dataclass
class PhotoInfo:
    doc: XmlDoc
    base: Rec
    photos: list[Photo]

    @property
    def pic_folder(self) -> str:
        return (self.base.get("写真フォルダ名") or "PHOTO/PIC").strip("/")

    @property
    def dra_folder(self) -> str | None:
        value = self.base.get("参考図フォルダ名")
        return value.strip("/") if value else None


def read_photo(doc: XmlDoc) -> PhotoInfo:
    photos = [
        Photo(record(doc, e), [record(doc, r) for r in e.iter("付加情報")])
        for e in doc.root.iter("写真情報")
    ]
    return PhotoInfo(doc, base_info(doc), photos)


def photo_refs(info: PhotoInfo, xml_path: str) -> list[FileRef]:
    """Photos (in 写真フォルダ名) and 参考図 (in 参考図フォルダ名) named by PHOTO.XML."""
    out: list[FileRef] = []
    dra = info.dra_folder or "PHOTO/DRA"
    for p in info.photos:
        if p.file:
            line, column = p.rec.pos("写真ファイル名")
            names = [p.title, p.rec.get("撮影箇所"), p.rec.get("写真ファイル日本語名")]
            names += [p.rec.get("施工管理値"), p.description]
            meta: dict[str, Any] = {
                "photo_category": p.rec.get("写真-大分類"),
                "photo_title": p.title,
                "representative": p.flag("代表写真"),
                "frequency": p.flag("提出頻度写真"),
                "shooting_spot": p.rec.get("撮影箇所"),
            }
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
                    media=p.media,
                    meta={k: v for k, v in meta.items() if v is not None},
                )
            )
        for ref in p.refs:
            name = ref.get("参考図ファイル名")
            if name:
                line, column = ref.pos("参考図ファイル名")
                title = ref.get("参考図タイトル")
                out.append(
                    FileRef(
                        xml_path,
                        name,
                        dra,
                        "reference_drawing",
                        line,
                        column,
                        title,
                        media=p.media,
                    )
                )
    return out


def _tree_path(levels: list[str | None]) -> tuple[str, ...]:
    """Levels down to the last one given; a gap inside is labelled 未設定."""
    while levels and not levels[-1]:
        levels = levels[:-1]
    return tuple(v or UNSET for v in levels) or (UNSET,)


# trees ---------------------------------------------------------------------------------------
def _grow(
    items: Iterable[tuple[list[tuple[str, str]], dict[str, Any]]], key: str
) -> list[dict[str, Any]]:
    """A tree from (path of (level, label), leaf item) pairs, first appearance order; each
    node has level, label, count, children and, where items end, ``key``."""
    root: dict[str, Any] = {"children": {}, "items": []}
    for path, item in items:
        node = root
        for level, label in path:
            node = node["children"].setdefault(
                (level, label), {"children": {}, "items": [], "level": level, "label": label}
            )
        node["items"].append(item)

    def render(children: dict[tuple[str, str], Any]) -> list[dict[str, Any]]:
        out = []
        for node in children.values():
            kids = render(node["children"])
            entry: dict[str, Any] = {
                "level": node["level"],
                "label": node["label"],
                "count": len(node["items"]) + sum(k["count"] for k in kids),
                "children": kids,
            }
            if node["items"]:
                entry[key] = node["items"]
            out.append(entry)
        return out

    return render(root["children"])


def photo_tree(
    refs: Iterable[FileRef],
    representative: bool | None = None,
    frequency: bool | None = None,
) -> list[dict[str, Any]]:
    """写真-大分類 → 写真区分 → 工種 → 種別 → 細別 → 写真タイトル (the viewer apps' tree,
    §2.2), each level with ``count``; leaves list the photos (title, file, date, flags).
    ``representative`` / ``frequency`` keep only photos whose 代表写真 / 提出頻度写真 flag
    has that value."""

    def items() -> Iterable[tuple[list[tuple[str, str]], dict[str, Any]]]:
        for ref in refs:
            if ref.doc_class != "photo":
                continue
            rep, freq = bool(ref.meta.get("representative")), bool(ref.meta.get("frequency"))
            if representative is not None and rep != representative:
                continue
            if frequency is not None and freq != frequency:
                continue
            path = list(zip(PHOTO_LEVELS, ref.photo_path, strict=False))
            path.append((TITLE_LEVEL, ref.title or UNSET))
            yield (
                path,
                {
                    "title": ref.title,
                    "file": f"{ref.folder}/{ref.name}",
                    "date": ref.date,
                    "serial": ref.serial,
                    "representative": rep,
                    "frequency": freq,
                },
            )

    return _grow(items(), "photos")


def meet_tree(refs: Iterable[FileRef]) -> list[dict[str, Any]]:
    """打合せ簿種類 → 発行日付 (§2.2 "MEET: by 打合せ簿種類 and 発行日付"), files at the leaves."""
    return _doc_tree(
        refs,
        "meeting",
        lambda r: [
            ("打合せ簿種類", str(r.meta.get("meeting_kind") or UNSET)),
            ("発行日付", str(r.meta.get("issued") or r.date or UNSET)),
        ],
    )


def othrs_tree(refs: Iterable[FileRef]) -> list[dict[str, Any]]:
    """サブフォルダ日本語名 → 資料名 (§2.2 "OTHRS: by サブフォルダ日本語名"), files at the
    leaves."""
    return _doc_tree(
        refs,
        "other",
        lambda r: [
            ("サブフォルダ日本語名", str(r.meta.get("other_folder") or UNSET)),
            ("資料名", str(r.meta.get("document") or r.title or UNSET)),
        ],
    )


def _doc_tree(
    refs: Iterable[FileRef], doc_class: str, path: Callable[[FileRef], list[tuple[str, str]]]
) -> list[dict[str, Any]]:
    def items() -> Iterable[tuple[list[tuple[str, str]], dict[str, Any]]]:
        for ref in refs:
            if ref.doc_class == doc_class:
                item = {"title": ref.title, "file": f"{ref.folder}/{ref.name}", "date": ref.date}
                yield path(ref), item

    return _grow(items(), "files")
