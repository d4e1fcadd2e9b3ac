"""Management XML checks: rules 2, 9-17 and 27-28 over every XML, the INDEX (rules 3, 12,
15-17, REGISTER from 土木202003-01), PHOTO.XML and the other management files.

deliverables-and-bonds.md §1.4-1.8 and §2.2. The structure of each XML is checked against
the bundled DTD of its declared ``DTD_version`` (``dtd``, ``dtdcheck``; rule 10).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexer.extract.deliverable import dtd as D
from indexer.extract.deliverable import rules as R
from indexer.extract.deliverable.dtdcheck import validate as validate_dtd
from indexer.extract.deliverable.models import Rec, read_index
from indexer.extract.deliverable.names import org_folders
from indexer.extract.deliverable.photos import photo_refs, read_photo
from indexer.extract.deliverable.profiles import edition
from indexer.extract.deliverable.refs import (
    FileRef,
    drawing_groups,
    file_refs,
    generic_refs,
)
from indexer.extract.deliverable.state import MAX_XML, Run
from indexer.extract.deliverable.xmlread import XmlDoc, XmlError, parse

STANDARD_C = frozenset(
    {"PLAN", "MEET", "PHOTO", "DRAWINGF", "DRAWINGS", "REGISTER", "OTHRS", "ICON", "BORING"}
)
STANDARD_D = frozenset({"REPORT", "DRAWING", "PHOTO", "SURVEY", "BORING", "ICON", "OTHRS"})
STANDARD_NAMES = {"C": "工事完成図書の電子納品等要領", "D": "土木設計業務等の電子納品要領"}
# CH-120 [V]: drawings of these kinds need 境界座標 and 基準点情報
LOCATED_DRAWINGS = frozenset({"位置図", "平面図", "一般図"})
CORNERS = ("西側境界座標経度", "東側境界座標経度", "北側境界座標緯度", "南側境界座標緯度")
_SYSTEM_VERSION = re.compile(r"(\d\d)\.DTD$", re.I)


def parse_xml(run: Run, rel: str, kind: str) -> XmlDoc | None:
    """Read one management XML: rules 27, 9, 28, 11, 2 and 10, then the leaf rules."""
    run.managed.add(rel)
    entry = run.files[rel]
    if entry.size > MAX_XML:
        run.add("too_large", rel, size=entry.size, name=run.full(rel))
        return None
    data = run.read(rel)
    if data is None:
        run.add("xml.malformed", rel, detail="読み込めません")
        return None
    try:
        doc = parse(data)
    except XmlError as exc:
        check = "xml.entities" if exc.kind == "entities" else "xml.malformed"
        run.add(check, rel, exc.line, exc.column, detail=exc.message)
        return None
    checks = {
        "platform": "char.platform",
        "outside": "char.outside",
        "halfwidth_kana": "char.halfkana",
    }
    for issue in doc.issues:
        check = checks.get(issue.kind, "char.undecodable")
        code = f"{ord(issue.char):04X}"
        run.add(check, rel, issue.line, issue.column, char=issue.char, code=code)
    if run.edition.sjis_required and (not doc.shift_jis or not doc.declared):
        shown = doc.encoding if doc.declared else "宣言なし"
        run.add("encoding", rel, 1, 1, encoding=shown)
    dtd_file(run, rel, doc)
    structure(run, rel, kind, doc)
    leaves(run, rel, doc)
    return doc


def dtd_file(run: Run, rel: str, doc: XmlDoc) -> None:
    """Rule 2: the DOCTYPE names a DTD file that sits beside the XML (never fetched)."""
    folder = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
    system = doc.system_id
    if not system:
        run.add("dtd", rel, 1, 1, detail="DOCTYPE宣言（DTDの指定）がありません。")
    elif "://" in system or system.startswith(("/", "\\")) or ".." in system:
        detail = f"DTDの指定「{system}」は外部を指しています（取得しません）。"
        run.add("dtd", rel, 1, 1, detail=detail)
    else:
        dtd_path = folder + system
        if dtd_path in run.files:
            run.managed.add(dtd_path)
        else:
            found = run.find(dtd_path)
            if found:
                run.managed.add(found)
            run.add("dtd", rel, 1, 1, detail=f"DTDファイル「{system}」がありません。")
    if doc.doctype_name and doc.doctype_name != doc.root.tag:
        detail = f"DOCTYPE名「{doc.doctype_name}」とルート要素「{doc.root.tag}」が一致しません。"
        run.add("xml.structure", rel, *doc.pos(doc.root), detail=detail)
    for name in list(run.files):
        local = name.startswith(folder) and "/" not in name[len(folder) :]
        if local and name.upper().endswith((".DTD", ".XSL")):
            run.managed.add(name)


def declared_version(doc: XmlDoc) -> str | None:
    """``DTD_version`` of the root, else the digits of the DOCTYPE's DTD name."""
    if doc.dtd_version:
        return doc.dtd_version
    match = _SYSTEM_VERSION.search(doc.system_id or "")
    return match.group(1) if match else None


def structure(run: Run, rel: str, kind: str, doc: XmlDoc) -> None:
    """Rule 10: the bundled DTD of the declared version (issue 8 item 1)."""
    version = declared_version(doc)
    choice = D.lookup(kind, version)
    if choice is None:
        detail = (
            f"{kind}のDTD（DTD_version「{version or '－'}」）は同梱していないため、"
            "構造（要素の構成）は検査していません。"
        )
        run.add("xml.nodtd", rel, *doc.pos(doc.root), detail=detail)
        return
    run.report.dtds[run.full(rel)] = choice.dtd.file
    if not choice.exact:
        detail = (
            f"DTD_version「{version}」のDTDは同梱していないため、{choice.dtd.file}で検査しました。"
        )
        run.add("xml.nodtd", rel, *doc.pos(doc.root), detail=detail)
    missing: set[str] = set()
    for issue in validate_dtd(doc, choice.dtd):
        if issue.kind == "undeclared" and not choice.dtd.complete:
            run.add("xml.unknown", rel, issue.line, issue.column, detail=issue.detail)
        else:
            run.add("xml.structure", rel, issue.line, issue.column, detail=issue.detail)
        missing.update(issue.names)
    run.dtd_missing[rel] = missing


def leaves(run: Run, rel: str, doc: XmlDoc) -> None:
    """Rules 11 (全角英数字, every element), 13 and 14 (format) over every leaf."""
    for elem in doc.root.iter():
        if len(elem):
            continue
        value = "".join(elem.itertext()).strip()
        if not value:
            continue
        line, column = doc.pos(elem)
        if elem.tag in R.DATE_FIELDS and not R.valid_date(value):
            run.add("date.format", rel, line, column, element=elem.tag, value=value)
        limit = R.LENGTH_LIMITS.get(elem.tag)
        if limit is not None and R.too_long(value, limit):
            run.add("length", rel, line, column, element=elem.tag, limit=limit)
        char = R.fullwidth_alnum(value)
        if char:
            run.add("char.fullwidth", rel, line, column, element=elem.tag, char=char)


def required(run: Run, rel: str, where: Rec, names: Iterable[tuple[str, ...]]) -> None:
    """Rule 12: the leaves are given (an element the DTD check found missing is not
    reported twice)."""
    reported = run.dtd_missing.get(rel, set())
    for alts in names:
        if where.get(*alts):
            continue
        if not any(where.has(a) for a in alts) and reported & set(alts):
            continue
        line, column = where.pos(*alts)
        run.add("required", rel, line, column, element=alts[0])


def check_index(run: Run, rel: str, kind: str) -> None:
    doc = parse_xml(run, rel, f"INDEX_{kind}")
    if doc is None:
        return
    info = run.index = read_index(doc, kind)
    rep = run.report
    rep.index_kind, rep.standard = kind, STANDARD_NAMES[kind]
    rep.applied_standard, rep.dtd_version = info.applied_standard, doc.dtd_version
    rep.fields = info.fields()
    rep.text_names = info.text_names()
    run.edition = edition(kind, info.applied_standard)
    rep.edition = run.edition.label
    run.orgs = org_folders(info.folders)
    code = info.applied_standard
    if code and (run.edition.family is None or not run.edition.known):
        used = run.edition.family.name if run.edition.family else "国土交通省"
        run.add("enum.standard", rel, *info.base.pos("適用要領基準"), value=code, used=used)
    required(run, rel, info.base, [("適用要領基準",)])
    if kind == "C":
        main = [("工事名称",), ("工期開始日",), ("工期終了日",), ("受注者名", "請負者名")]
        main.append(("発注者コード",))
    else:
        main = [("業務名称",), ("履行期間-着手",), ("履行期間-完了",), ("受注者名", "請負者名")]
    required(run, rel, info.main, main)
    m = info.main
    code = info.orderer_code
    if code and not R.ORDERER_CODE.match(code):
        run.add("orderer_code", rel, *m.pos("発注者コード"), value=code)
    for value in m.all("住所コード"):
        if not R.ADDRESS_CODE.match(value):
            run.add("address_code", rel, *m.pos("住所コード"), value=value)
    datum = m.get("測地系")
    if datum and datum not in R.DATUM_CODES:
        run.add("enum.datum", rel, *m.pos("測地系"), value=datum)
    values = [m.get(c) for c in CORNERS]
    if any(values):
        problems, decimal = R.check_bounds(*(v or "" for v in values))
        if problems:
            run.add("bounds", rel, *m.pos(*CORNERS), detail="、".join(problems))
        if decimal:
            rep.fields["境界座標"] = decimal
    _media(run, rel, info.media, info.base)
    _folders(run, rel, kind, info.folders, info.base)


def _media(run: Run, rel: str, media: tuple[int | None, int | None], base: Rec) -> None:
    number, total = media
    for name, value in (("メディア番号", number), ("メディア総枚数", total)):
        raw = base.get(name)
        if raw and value is None:
            run.add("media", rel, *base.pos(name), detail=f"{name}「{raw}」は数字ではありません。")
    if number is not None and total is not None and not 1 <= number <= total:
        detail = f"メディア番号{number}がメディア総枚数{total}の範囲外です。"
        run.add("media", rel, *base.pos("メディア番号"), detail=detail)


def _folders(run: Run, rel: str, kind: str, folders: dict[str, str], base: Rec) -> None:
    """Rule 3 (declared folders exist; standard folders are declared) and the REGISTER
    requirement of 土木202003-01 and later (§1.1, §2.1 [V], issue 8 item 2)."""
    for element, folder in folders.items():
        if not run.find(folder.strip("/")):
            run.add("folder.missing", rel, *base.pos(element), element=element, folder=folder)
    if kind == "C" and run.edition.register_required and "台帳フォルダ名" not in folders:
        run.add("required", rel, *base.pos("適用要領基準"), element="台帳フォルダ名")
        if not run.find("REGISTER"):
            run.add("register", "REGISTER", code=run.edition.code)
    declared = {f.strip("/").split("/")[0].upper() for f in folders.values()}
    standard = STANDARD_C if kind == "C" else STANDARD_D
    for top in sorted(d for d in run.dirs if "/" not in d):
        if top.upper() in standard and top.upper() not in declared:
            run.add("folder.undeclared", top, folder=top)


def period(run: Run) -> tuple[str, str] | None:
    if run.index is None:
        return None
    start, end = run.index.period_start, run.index.period_end
    if start and end and R.valid_date(start) and R.valid_date(end):
        return start, end
    return None


def in_period(run: Run, rel: str, doc: XmlDoc) -> None:
    """Rule 14: photo and meeting dates lie within the 工期 (W MLIT, E 農水)."""
    span = period(run)
    if span is None:
        return
    for elem in doc.root.iter():
        if elem.tag in R.IN_PERIOD and not len(elem):
            value = (elem.text or "").strip()
            if R.valid_date(value) and not span[0] <= value <= span[1]:
                run.add(
                    "date.range",
                    rel,
                    *doc.pos(elem),
                    element=elem.tag,
                    value=value,
                    start=span[0],
                    end=span[1],
                )


def serials(run: Run, rel: str, doc: XmlDoc) -> None:
    """Rule 19: シリアル番号 unique within each XML."""
    seen: set[str] = set()
    for elem in doc.root.iter("シリアル番号"):
        value = (elem.text or "").strip()
        if value and value in seen:
            run.add("serial", rel, *doc.pos(elem), value=value)
        seen.add(value)


def check_photo(run: Run, rel: str) -> list[FileRef]:
    """PHOTO.XML: rules 12 and 15 per photo (the element structure is the DTD's, rule 10)."""
    doc = parse_xml(run, rel, "PHOTO")
    if doc is None:
        return []
    info = run.photo = read_photo(doc)
    required(run, rel, info.base, [("写真フォルダ名",), ("適用要領基準",)])
    need: list[tuple[str, ...]] = [("シリアル番号",), ("写真ファイル名",), ("写真-大分類",)]
    need.append(("写真タイトル",))
    need.append(("撮影年月日",))
    for photo in info.photos:
        rec = photo.rec
        _required_in_group(run, rel, rec, need)
        for flag in ("代表写真", "提出頻度写真"):
            value = rec.get(flag)
            if value is not None and value not in R.FLAGS:
                run.add("enum", rel, *rec.pos(flag), element=flag, value=value, allowed="0/1")
        category, kubun = rec.get("写真-大分類"), rec.get("写真区分")
        if category and category not in R.PHOTO_CATEGORIES:
            allowed = "/".join(sorted(R.PHOTO_CATEGORIES))
            pos = rec.pos("写真-大分類")
            run.add(
                "enum.category", rel, *pos, element="写真-大分類", value=category, allowed=allowed
            )
        if category == "工事" and kubun and kubun not in R.PHOTO_KUBUN:
            allowed = "写真管理基準の写真区分"
            run.add(
                "enum", rel, *rec.pos("写真区分"), element="写真区分", value=kubun, allowed=allowed
            )
    in_period(run, rel, doc)
    serials(run, rel, doc)
    return photo_refs(info, rel)


def _required_in_group(run: Run, rel: str, rec: Rec, names: list[tuple[str, ...]]) -> None:
    """Rule 12 inside one group: an element present but empty (absent ones are rule 10's)."""
    for alts in names:
        if not rec.get(*alts) and any(rec.has(a) for a in alts):
            run.add("required", rel, *rec.pos(*alts), element=alts[0])
        elif not any(rec.has(a) for a in alts) and not run.report.dtds.get(run.full(rel)):
            run.add("required", rel, rec.line, rec.column, element=alts[0])


def check_other(run: Run, kind: str, rel: str) -> list[FileRef]:
    """MEET, PLAN, OTHRS, REGISTER, DRAWING(F/S), REPORT, SURVEY, BORING, ICON."""
    doc = parse_xml(run, rel, kind)
    if doc is None:
        return []
    if kind == "REGISTER":
        for name in ("着手前写真ファイル名", "完成写真ファイル名"):
            elem = next(doc.root.iter(name), None)
            if elem is not None and not "".join(elem.itertext()).strip():
                run.add("required", rel, *doc.pos(elem), element=name)
            elif elem is None and name not in run.dtd_missing.get(rel, set()):
                run.add("required", rel, *doc.pos(doc.root), element=name)
    if kind in ("DRAWINGF", "DRAWING", "DRAWINGS"):
        located_drawings(run, rel, doc)
    if kind == "SURVEY" and rel.upper() == "SURVEY/SURVEY.XML":
        for elem in doc.root.iter("測量記録フォルダパス名"):
            folder = "".join(elem.itertext()).strip().strip("/")
            if folder and not run.find(folder):
                name = f"{folder}/"
                run.add("missing_file", rel, *doc.pos(elem), xml=rel, name=name, hint="")
    in_period(run, rel, doc)
    serials(run, rel, doc)
    if kind in ("BORING", "ICON"):
        return generic_refs(kind, doc, rel)
    declared = run.index.folders if run.index is not None else {}
    return file_refs(kind, doc, rel, declared)


def located_drawings(run: Run, rel: str, doc: XmlDoc) -> None:
    """NILIM Q&A CH-120 [V] (§1.7): 位置図, 平面図 and 一般図 carry 境界座標 and 基準点情報."""
    for rec, elem in drawing_groups(doc):
        kind = (rec.get("図面種類") or "").strip()
        if kind not in LOCATED_DRAWINGS:
            continue
        missing = []
        corners = [rec.get(c) for c in CORNERS]
        if not all(corners):
            missing.append("境界座標")
        else:
            problems, _ = R.check_bounds(*(c or "" for c in corners))
            if problems:
                run.add("bounds", rel, *rec.pos(*CORNERS), detail="、".join(problems))
        points = [
            "".join(e.itertext()).strip() for e in elem.iter("基準点情報") if len(e) or e.text
        ]
        if not any(points):
            missing.append("基準点情報")
        if missing:
            name = rec.get("図面ファイル名") or rec.get("図面名") or ""
            pos = rec.pos("図面種類")
            run.add("drawing.location", rel, *pos, kind=kind, name=name, missing="と".join(missing))
