"""The files each management XML names (MEET, PLAN, OTHRS, DRAWING(F/S), REPORT, REGISTER,
SURVEY, BORING, ICON), with what the XML says about them.

Element names per deliverables-and-bonds.md §1.3, §1.5 and §1.7 ([C-]/[M] rows are read as
aliases for search). ORG folders come from the INDEX's ``…オリジナルファイルフォルダ名``
(issue 8 item 4), the usual names being defaults. BORING and ICON have no published element
list in the reference: every leaf whose name ends in ``ファイル名`` is taken as a file below
the XML's folder, so their files are cross-checked (rule 18) without inventing a schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from indexer.extract.deliverable.models import Pos, Rec, record
from indexer.extract.deliverable.xmlread import XmlDoc


@dataclass(frozen=True)
class RefSpec:
    """A leaf naming a file, the folder (from the package root) where the file lives, and the
    leaves that describe it. ``folder`` ending in ``/**`` means "anywhere below"; ``@`` is
    the folder of the XML itself. ``meta`` maps node-meta keys to leaves of the group or of
    its ancestors (``context``)."""

    leaf: str
    folder: str
    doc_class: str
    title: tuple[str, ...] = ()
    date: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()


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
    media: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


_DRAWING = (
    ("drawing_kind", "図面種類"),
    ("drawing_number", "図面番号"),
    ("scale", "尺度"),
    ("author", "作成者名"),
)


def _drawing(folder: str) -> tuple[str, tuple[RefSpec, ...]]:
    spec = RefSpec(
        "図面ファイル名",
        folder,
        "drawing",
        ("図面名",),
        (),
        ("図面名", "図面番号", "図面種類", "追加図面種類"),
        _DRAWING,
    )
    return "", (spec,)  # the group name is [M]: each file leaf's parent


# folder -> (group element, specs); "" group: the parent of each leaf
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
                (("meeting_kind", "打合せ簿種類"), ("issued", "発行日付")),
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
                ("資料名", "オリジナルファイル日本語名", "その他サブフォルダ日本語名"),
                (("other_folder", "その他サブフォルダ日本語名"), ("document", "資料名")),
            ),
        ),
    ),
    "DRAWINGF": _drawing("DRAWINGF"),
    "DRAWING": _drawing("DRAWING"),
    "DRAWINGS": _drawing("DRAWINGS"),
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
                ("報告書オリジナルファイル日本語名", "報告書名"),
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
    "SURVEY": (
        "",
        (
            RefSpec(
                "測量成果ファイル名",
                "@",
                "survey",
                ("測量成果ファイル名副題",),
                (),
                ("測量成果ファイル名副題", "測量成果名称", "測量細区分", "測量区分"),
                (("survey_kind", "測量成果名称"),),
            ),
        ),
    ),
}
# default ORG folders of the specs above, replaced by the declared ones
DEFAULT_ORG = {
    "MEET/ORG": "打合せ簿オリジナルファイルフォルダ名",
    "PLAN/ORG": "施工計画書オリジナルファイルフォルダ名",
    "REPORT/ORG": "報告書オリジナルファイルフォルダ名",
}
# Sub-trees read generically (no published element list): files named by ``…ファイル名`` leaves
GENERIC = {"BORING": "geology", "ICON": "icon"}


def _parents(doc: XmlDoc) -> dict[Element, Element]:
    return {c: p for p in doc.root.iter() for c in p}


def _holders(doc: XmlDoc, leaf: str, parent: dict[Element, Element]) -> Iterator[Element]:
    """Group elements holding ``leaf`` (its parent), each once, in document order."""
    seen: set[int] = set()
    for elem in doc.root.iter(leaf):
        group = parent.get(elem, doc.root)
        if id(group) not in seen:
            seen.add(id(group))
            yield group


def _context(
    holder: Element, parent: dict[Element, Element], doc_leaves: dict[str, str]
) -> dict[str, str]:
    """Leaf children of the holder's ancestors (closest first wins), then the first value of
    each leaf anywhere in the document (e.g. SURVEY's 測量成果名称 in a sibling group)."""
    out: dict[str, str] = {}
    node = parent.get(holder)
    while node is not None:
        for child in node:
            if not len(child) and child.tag not in out:
                out[child.tag] = "".join(child.itertext()).strip()
        node = parent.get(node)
    for tag, value in doc_leaves.items():
        out.setdefault(tag, value)
    return out


def _doc_leaves(doc: XmlDoc) -> dict[str, str]:
    out: dict[str, str] = {}
    for elem in doc.root.iter():
        if not len(elem) and elem.tag not in out:
            value = "".join(elem.itertext()).strip()
            if value:
                out[elem.tag] = value
    return out


def file_refs(
    kind: str, doc: XmlDoc, xml_path: str, declared: dict[str, str] | None = None
) -> list[FileRef]:
    """Every file a MEET/PLAN/OTHRS/DRAWING(F/S)/REPORT/REGISTER/SURVEY XML names
    (``declared``: the INDEX's 基礎情報 folder elements)."""
    declared = declared or {}
    group_tag, specs = GROUPS[kind]
    parent = _parents(doc)
    leaves = _doc_leaves(doc)
    here = xml_path.rsplit("/", 1)[0] if "/" in xml_path else ""
    out: list[FileRef] = []
    for spec in specs:
        folder = spec.folder
        if folder in DEFAULT_ORG:
            folder = (declared.get(DEFAULT_ORG[folder]) or folder).strip("/")
        elif folder == "@":
            folder = here
        holders: Iterable[Element] = (
            doc.root.iter(group_tag) if group_tag else _holders(doc, spec.leaf, parent)
        )
        for holder in holders:
            rec = record(doc, holder)
            context = _context(holder, parent, leaves)
            for i, name in enumerate(rec.multi.get(spec.leaf, [])):
                line, column = rec.where.get(spec.leaf, (rec.line, rec.column))
                if i:
                    line, column = _nth_pos(doc, holder, spec.leaf, i)
                out.append(_ref(spec, rec, context, xml_path, name, folder, line, column))
    return out


def _value(rec: Rec, context: dict[str, str], *names: str) -> str | None:
    return rec.get(*names) or next((context[n] for n in names if context.get(n)), None)


def _ref(
    spec: RefSpec,
    rec: Rec,
    context: dict[str, str],
    xml_path: str,
    name: str,
    folder: str,
    line: int | None,
    column: int | None,
) -> FileRef:
    names = [v for n in spec.names for v in (rec.all(n) or [context.get(n, "")])]
    meta = {key: v for key, leaf in spec.meta if (v := _value(rec, context, leaf))}
    return FileRef(
        xml=xml_path,
        name=name,
        folder=folder,
        doc_class=spec.doc_class,
        line=line,
        column=column,
        title=_value(rec, context, *spec.title) if spec.title else None,
        date=rec.get(*spec.date) if spec.date else None,
        names=tuple(dict.fromkeys(n for n in names if n)),
        serial=rec.get("シリアル番号"),
        meta=meta,
    )


def generic_refs(kind: str, doc: XmlDoc, xml_path: str) -> list[FileRef]:
    """Files named by any ``…ファイル名`` leaf of a BORING/ICON XML, below the XML's folder."""
    here = xml_path.rsplit("/", 1)[0] if "/" in xml_path else ""
    parent = _parents(doc)
    out: list[FileRef] = []
    for elem in doc.root.iter():
        if len(elem) or not elem.tag.endswith("ファイル名"):
            continue
        name = "".join(elem.itertext()).strip()
        if not name:
            continue
        holder = parent.get(elem, doc.root)
        rec = record(doc, holder)
        titles = [v for k, v in rec.values.items() if k.endswith(("名称", "名", "タイトル")) and v]
        line, column = doc.pos(elem)
        out.append(
            FileRef(
                xml=xml_path,
                name=name,
                folder=f"{here}/**",
                doc_class=GENERIC[kind],
                line=line,
                column=column,
                title=next((t for t in titles if t != name), None),
                names=tuple(t for t in titles if t != name),
            )
        )
    return out


def _nth_pos(doc: XmlDoc, holder: Element, leaf: str, n: int) -> Pos:
    for i, elem in enumerate(holder.iter(leaf)):
        if i == n:
            return doc.pos(elem)
    return doc.pos(holder)


def drawing_groups(doc: XmlDoc) -> list[tuple[Rec, Element]]:
    """Each drawing entry of a DRAWING(F/S).XML (the parent of a 図面ファイル名), as a record
    and its element (for the CH-120 check)."""
    return [(record(doc, e), e) for e in _holders(doc, "図面ファイル名", _parents(doc))]
