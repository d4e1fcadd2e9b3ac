"""``validate_tree(tree, profile) -> Report``: the §2.2 checks over any package tree.

Order: safety and structure (rules 26, 5, 1, 6, 7, 8), then each management XML (9-17, 28),
then cross-references (18-21, 4), then content heads (22-24). A finding never stops the run;
an unreadable XML only skips the checks that need its contents.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexer.extract.deliverable import rules as R
from indexer.extract.deliverable.models import (
    FileRef,
    IndexInfo,
    PhotoInfo,
    file_refs,
    photo_refs,
    photo_tree,
    read_index,
    read_photo,
)
from indexer.extract.deliverable.rules import Finding, Profile, finding
from indexer.extract.deliverable.tree import Entry, FolderTree, PackageTree, ZipTree
from indexer.extract.deliverable.xmlread import XmlDoc, XmlError, parse

MAX_XML = 64 << 20  # rule 27
HEAD = 128 << 10  # JPEG header + EXIF, PDF header
TAIL = 1 << 20  # PDF trailer (/Encrypt)
PIXELS_WARN = 6_000_000

# folder -> management XML inside it, per index kind
MANAGED_C = ("PLAN", "MEET", "PHOTO", "DRAWINGF", "REGISTER", "OTHRS")
MANAGED_D = ("REPORT", "DRAWING", "PHOTO", "OTHRS")
STANDARD_C = frozenset(MANAGED_C) | {"ICON", "BORING", "DRAWINGS"}
STANDARD_D = frozenset(MANAGED_D) | {"SURVEY", "BORING", "ICON"}
STANDARD_NAMES = {"C": "工事完成図書の電子納品等要領", "D": "土木設計業務等の電子納品要領"}


@dataclass
class Report:
    profile: Profile
    findings: list[Finding] = field(default_factory=list)
    root: str = ""  # the package's folder inside the tree ("" = top)
    index_kind: str | None = None  # "C" | "D"
    standard: str | None = None
    applied_standard: str | None = None
    dtd_version: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileRef] = field(default_factory=dict)  # tree path -> what the XML says
    text_names: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {"E": 0, "W": 0, "N": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out

    @property
    def ok(self) -> bool:
        return self.counts["E"] == 0

    def photo_tree(self) -> list[dict[str, Any]]:
        return photo_tree(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "findings": [f.to_dict() for f in self.findings],
            "counts": self.counts,
        }


def suggest_profile(applied_standard: str | None) -> Profile:
    """農水 packages name their 要領 with 農 in 適用要領基準 [M]; everything else is MLIT."""
    return "maff" if applied_standard and "農" in applied_standard else "mlit"


def reads_for(entry: Entry) -> list[tuple[int, int | None]]:
    """Byte ranges the validator reads from a file: whole XMLs, heads of JPEGs and PDFs, the
    tail of PDFs. The archive adapter prefetches exactly these."""
    upper = entry.path.upper()
    if entry.is_dir or entry.unsafe:
        return []
    if upper.endswith(".XML"):
        return [(0, None)] if entry.size <= MAX_XML else []
    if upper.endswith((".JPG", ".JPEG")):
        return [(0, HEAD)]
    if upper.endswith(".PDF"):
        tail = max(0, entry.size - TAIL)
        return [(0, HEAD), (tail, entry.size)] if tail > HEAD else [(0, None)]
    return []


class _Run:
    def __init__(self, tree: PackageTree, profile: Profile) -> None:
        self.tree = tree
        self.profile = profile
        self.report = Report(profile)
        self.files: dict[str, Entry] = {}  # relative to the package root
        self.dirs: set[str] = set()
        self.upper: dict[str, str] = {}
        self.referenced: set[str] = set()
        self.managed: set[str] = set()
        self.index: IndexInfo | None = None
        self.photo: PhotoInfo | None = None

    # helpers -----------------------------------------------------------------------------------
    def add(
        self,
        check: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        **values: object,
    ) -> None:
        full = self.full(path) if path is not None else None
        self.report.findings.append(finding(check, self.profile, full, line, column, **values))

    def full(self, rel: str) -> str:
        return f"{self.report.root}/{rel}" if self.report.root else rel

    def read(self, rel: str, start: int = 0, end: int | None = None) -> bytes | None:
        try:
            return self.tree.read(self.full(rel), start, end)
        except (OSError, KeyError):
            return None

    def find(self, rel: str) -> str | None:
        """The existing path equal to ``rel`` ignoring case."""
        return self.upper.get(rel.upper())

    # structure --------------------------------------------------------------------------------
    def load(self) -> None:
        raw = list(self.tree.entries())
        for e in raw:
            if e.unsafe:
                self.report.findings.append(
                    finding("unsafe_path", self.profile, e.path, name=e.path)
                )
        safe = [e for e in raw if not e.unsafe]
        self.report.root = _package_root(safe)
        prefix = self.report.root + "/" if self.report.root else ""
        for e in safe:
            if prefix and not e.path.startswith(prefix):
                if not e.is_dir and not any(R.is_junk(p) for p in e.path.split("/")):
                    self.add_outside(e.path)
                continue
            rel = e.path[len(prefix) :]
            parts = rel.split("/")
            for i in range(1, len(parts)):
                self.dirs.add("/".join(parts[:i]))
            if e.is_dir:
                self.dirs.add(rel)
            else:
                self.files[rel] = e
        for rel in list(self.files) + sorted(self.dirs):
            self.upper.setdefault(rel.upper(), rel)

    def add_outside(self, path: str) -> None:
        self.report.findings.append(
            finding("unreferenced", self.profile, path, what="ファイル", name=path)
        )

    def junk(self) -> None:
        reported: set[str] = set()
        for rel in sorted(self.dirs) + sorted(self.files):
            parts = rel.split("/")
            for i, part in enumerate(parts):
                if R.is_junk(part):
                    top = "/".join(parts[: i + 1])
                    if top not in reported:
                        reported.add(top)
                        self.add("junk", top, name=top)
                    break
        for top in reported:
            self.files = {k: v for k, v in self.files.items() if not _under(k, top)}
            self.dirs = {d for d in self.dirs if not _under(d, top)}

    def index_file(self) -> tuple[str, str] | None:
        found = [
            (rel, rel.upper()[6])
            for rel in self.files
            if "/" not in rel and rel.upper() in ("INDEX_C.XML", "INDEX_D.XML")
        ]
        if len(found) != 1:
            detail = (
                "INDEX_C.XMLとINDEX_D.XMLの両方があります。どちらか一方にしてください。"
                if found
                else "管理ファイル（INDEX_C.XMLまたはINDEX_D.XML）がありません。"
            )
            self.add("index", "" if not found else found[0][0], detail=detail)
            return None
        rel, kind = found[0]
        if rel != rel.upper():
            self.add("index.case", rel, name=rel)
        return rel, kind

    def names(self) -> None:
        for rel in sorted(self.dirs | set(self.files)):
            name = rel.rsplit("/", 1)[-1]
            parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if not R.name_ok(name):
                self.add("name", rel, name=rel)
                continue
            pattern = R.PATTERNS.get(parent.upper())
            managed = name.upper().endswith((".XML", ".DTD", ".XSL"))
            if rel in self.files and pattern and not pattern[0].match(name) and not managed:
                self.add("name.pattern", rel, pattern=pattern[1], name=rel)
        for folder in ("PHOTO/PIC", "PHOTO/DRA"):
            subs = {
                "/".join(p.split("/")[:3])
                for p in self.dirs | set(self.files)
                if p.upper().startswith(folder + "/") and p.count("/") >= 3
            }
            for sub in sorted(subs):
                self.add("subfolder", sub, folder=folder, name=sub)

    # XML ---------------------------------------------------------------------------------------
    def parse(self, rel: str) -> XmlDoc | None:
        self.managed.add(rel)
        entry = self.files[rel]
        if entry.size > MAX_XML:
            self.add("too_large", rel, size=entry.size, name=rel)
            return None
        data = self.read(rel)
        if data is None:
            self.add("xml.malformed", rel, detail="読み込めません")
            return None
        try:
            doc = parse(data)
        except XmlError as exc:
            check = "xml.entities" if exc.kind == "entities" else "xml.malformed"
            self.add(check, rel, exc.line, exc.column, detail=exc.message)
            return None
        for issue in doc.issues:
            check = {
                "platform": "char.platform",
                "halfwidth_kana": "char.halfkana",
            }.get(issue.kind, "char.undecodable")
            code = f"{ord(issue.char):04X}"
            self.add(check, rel, issue.line, issue.column, char=issue.char, code=code)
        self.dtd(rel, doc)
        self.leaves(rel, doc)
        return doc

    def dtd(self, rel: str, doc: XmlDoc) -> None:
        folder = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
        system = doc.system_id
        if not system:
            self.add("dtd", rel, 1, 1, detail="DOCTYPE宣言（DTDの指定）がありません。")
        elif "://" in system or system.startswith(("/", "\\")) or ".." in system:
            detail = f"DTDの指定「{system}」は外部を指しています（取得しません）。"
            self.add("dtd", rel, 1, 1, detail=detail)
        else:
            dtd_path = folder + system
            if dtd_path in self.files:
                self.managed.add(dtd_path)
            else:
                found = self.find(dtd_path)
                if found:
                    self.managed.add(found)
                self.add("dtd", rel, 1, 1, detail=f"DTDファイル「{system}」がありません。")
        if doc.doctype_name and doc.doctype_name != doc.root.tag:
            detail = (
                f"DOCTYPE名「{doc.doctype_name}」とルート要素「{doc.root.tag}」が一致しません。"
            )
            self.add("xml.structure", rel, *doc.pos(doc.root), detail=detail)
        for name in list(self.files):
            local = name.startswith(folder) and "/" not in name[len(folder) :]
            if local and name.upper().endswith((".DTD", ".XSL")):
                self.managed.add(name)

    def leaves(self, rel: str, doc: XmlDoc) -> None:
        """Rules 11 (全角英数字), 13 and 14 (format) over every leaf of any management XML."""
        for elem in doc.root.iter():
            if len(elem):
                continue
            value = "".join(elem.itertext()).strip()
            if not value:
                continue
            line, column = doc.pos(elem)
            if elem.tag in R.DATE_FIELDS and not R.valid_date(value):
                self.add("date.format", rel, line, column, element=elem.tag, value=value)
            limit = R.LENGTH_LIMITS.get(elem.tag)
            if limit is not None:
                if R.too_long(value, limit):
                    self.add("length", rel, line, column, element=elem.tag, limit=limit)
                char = R.fullwidth_alnum(value)
                if char:
                    self.add("char.fullwidth", rel, line, column, element=elem.tag, char=char)

    def required(self, rel: str, doc: XmlDoc, where: Any, names: Iterable[tuple[str, ...]]) -> None:
        for alts in names:
            if not where.get(*alts):
                line, column = where.pos(*alts)
                self.add("required", rel, line, column, element=alts[0])

    def check_index(self, rel: str, kind: str) -> None:
        doc = self.parse(rel)
        if doc is None:
            return
        info = self.index = read_index(doc, kind)
        rep = self.report
        rep.index_kind, rep.standard = kind, STANDARD_NAMES[kind]
        rep.applied_standard, rep.dtd_version = info.applied_standard, doc.dtd_version
        rep.fields = info.fields()
        rep.text_names = info.text_names()
        base_required = [("適用要領基準",)]
        self.required(rel, doc, info.base, base_required)
        if kind == "C":
            main = [
                ("工事名称",),
                ("工期開始日",),
                ("工期終了日",),
                ("受注者名", "請負者名"),
                ("発注者コード",),
            ]
        else:
            main = [("業務名称",), ("履行期間-着手",), ("履行期間-完了",), ("受注者名", "請負者名")]
        self.required(rel, doc, info.main, main)
        m = info.main
        code = info.orderer_code
        if code and not R.ORDERER_CODE.match(code):
            self.add("orderer_code", rel, *m.pos("発注者コード"), value=code)
        for value in m.all("住所コード"):
            if not R.ADDRESS_CODE.match(value):
                self.add("address_code", rel, *m.pos("住所コード"), value=value)
        datum = m.get("測地系")
        if datum and datum not in R.DATUM_CODES:
            self.add("enum.datum", rel, *m.pos("測地系"), value=datum)
        corners = ("西側境界座標経度", "東側境界座標経度", "北側境界座標緯度", "南側境界座標緯度")
        values = [m.get(c) for c in corners]
        if any(values):
            problems, decimal = R.check_bounds(*(v or "" for v in values))
            if problems:
                self.add("bounds", rel, *m.pos(*corners), detail="、".join(problems))
            if decimal:
                rep.fields["境界座標"] = decimal
        for element, folder in info.folders.items():
            if not self.find(folder):
                self.add(
                    "folder.missing", rel, *info.base.pos(element), element=element, folder=folder
                )
        declared = {f.split("/")[0].upper() for f in info.folders.values()}
        standard = STANDARD_C if kind == "C" else STANDARD_D
        for top in sorted(d for d in self.dirs if "/" not in d):
            if top.upper() in standard and top.upper() not in declared:
                self.add("folder.undeclared", top, folder=top)

    def period(self) -> tuple[str, str] | None:
        if self.index is None:
            return None
        start, end = self.index.period_start, self.index.period_end
        if start and end and R.valid_date(start) and R.valid_date(end):
            return start, end
        return None

    def in_period(self, rel: str, doc: XmlDoc) -> None:
        span = self.period()
        if span is None:
            return
        for elem in doc.root.iter():
            if elem.tag in R.IN_PERIOD and not len(elem):
                value = (elem.text or "").strip()
                if R.valid_date(value) and not span[0] <= value <= span[1]:
                    self.add(
                        "date.range",
                        rel,
                        *doc.pos(elem),
                        element=elem.tag,
                        value=value,
                        start=span[0],
                        end=span[1],
                    )

    def serials(self, rel: str, doc: XmlDoc) -> None:
        seen: set[str] = set()
        for elem in doc.root.iter("シリアル番号"):
            value = (elem.text or "").strip()
            if value and value in seen:
                self.add("serial", rel, *doc.pos(elem), value=value)
            seen.add(value)

    def check_photo(self, rel: str) -> list[FileRef]:
        doc = self.parse(rel)
        if doc is None:
            return []
        info = self.photo = read_photo(doc)
        self.required(rel, doc, info.base, [("写真フォルダ名",), ("適用要領基準",)])
        if not info.photos:
            self.add(
                "xml.structure",
                rel,
                *doc.pos(doc.root),
                detail="写真情報が1件もありません（PHOTO05.DTD）。",
            )
        parts = ("写真ファイル情報", "撮影工種区分", "撮影情報", "代表写真", "提出頻度写真")
        for photo in info.photos:
            rec = photo.rec
            for part in parts:
                if part not in {c.tag for c in _children(doc, rec)}:
                    self.add(
                        "xml.structure",
                        rel,
                        rec.line,
                        rec.column,
                        detail=f"写真情報に「{part}」がありません。",
                    )
            need = [
                ("シリアル番号",),
                ("写真ファイル名",),
                ("写真-大分類",),
                ("写真タイトル",),
                ("撮影年月日",),
            ]
            self.required(rel, doc, rec, need)
            for flag in ("代表写真", "提出頻度写真"):
                value = rec.get(flag)
                if value is not None and value not in R.FLAGS:
                    self.add("enum", rel, *rec.pos(flag), element=flag, value=value, allowed="0/1")
            category, kubun = rec.get("写真-大分類"), rec.get("写真区分")
            if category and category not in R.PHOTO_CATEGORIES:
                self.add(
                    "enum.category",
                    rel,
                    *rec.pos("写真-大分類"),
                    element="写真-大分類",
                    value=category,
                )
            if category == "工事" and kubun and kubun not in R.PHOTO_KUBUN:
                self.add(
                    "enum",
                    rel,
                    *rec.pos("写真区分"),
                    element="写真区分",
                    value=kubun,
                    allowed="写真管理基準の写真区分",
                )
        self.in_period(rel, doc)
        self.serials(rel, doc)
        return photo_refs(info, rel)

    def check_other(self, kind: str, rel: str) -> list[FileRef]:
        doc = self.parse(rel)
        if doc is None:
            return []
        if kind == "REGISTER":
            pre = next(doc.root.iter("着手前写真ファイル名"), None)
            post = next(doc.root.iter("完成写真ファイル名"), None)
            for elem, name in ((pre, "着手前写真ファイル名"), (post, "完成写真ファイル名")):
                if elem is None or not (elem.text or "").strip():
                    self.add("required", rel, *doc.pos(elem or doc.root), element=name)
        self.in_period(rel, doc)
        self.serials(rel, doc)
        return file_refs(kind, doc, rel)

    # cross-references ---------------------------------------------------------------------------
    def resolve(self, refs: list[FileRef]) -> None:
        for ref in refs:
            if ref.folder.endswith("/**"):
                top = ref.folder[:-3]
                hits = [
                    p for p in self.files if _under(p, top) and p.rsplit("/", 1)[-1] == ref.name
                ]
                path = hits[0] if hits else None
                loose = (
                    None
                    if hits
                    else next(
                        (
                            p
                            for p in self.files
                            if _under(p.upper(), top.upper())
                            and p.rsplit("/", 1)[-1].upper() == ref.name.upper()
                        ),
                        None,
                    )
                )
            else:
                want = f"{ref.folder}/{ref.name}"
                path = want if want in self.files else None
                loose = None if path else self.find(want)
            if path is None:
                hint = f"（大文字・小文字が違う「{loose}」があります）" if loose else ""
                self.add(
                    "missing_file",
                    ref.xml,
                    ref.line,
                    ref.column,
                    xml=ref.xml,
                    name=f"{ref.folder.rstrip('*/')}/{ref.name}",
                    hint=hint,
                )
                if loose:
                    self.referenced.add(loose)
                continue
            self.referenced.add(path)
            self.report.files.setdefault(self.full(path), ref)

    def dra(self, refs: list[FileRef]) -> None:
        dra_dirs = [d for d in self.dirs if d.upper() == "PHOTO/DRA"]
        declared = self.photo is not None and self.photo.dra_folder
        if dra_dirs and self.photo is not None and not declared:
            self.add(
                "dra_folder",
                dra_dirs[0],
                detail="DRAフォルダがありますが参考図フォルダ名がありません。",
            )
        if declared and not dra_dirs:
            self.add(
                "dra_folder",
                "PHOTO/PHOTO.XML",
                detail="参考図フォルダ名がありますがDRAフォルダがありません。",
            )
        used = {f"{r.folder}/{r.name}" for r in refs if r.doc_class == "reference_drawing"}
        for path in sorted(self.files):
            in_dra = path.upper().startswith("PHOTO/DRA/") and path.count("/") == 2
            if in_dra and path not in used:
                self.add("dra_unused", path, name=path)

    def unreferenced(self, kind: str) -> None:
        managed = set(MANAGED_C if kind == "C" else MANAGED_D)
        standard = STANDARD_C if kind == "C" else STANDARD_D
        for top in sorted(d for d in self.dirs if "/" not in d):
            if top.upper() not in standard:
                self.add("unreferenced", top, what="フォルダ", name=top)
        for path in sorted(self.files):
            top = path.split("/")[0].upper() if "/" in path else ""
            if path in self.referenced or path in self.managed:
                continue
            if path.upper().startswith("PHOTO/DRA/") and path.count("/") == 2:
                continue  # rule 20 reports these
            if top == "" or top in managed:
                self.add("unreferenced", path, what="ファイル", name=path)

    # content ------------------------------------------------------------------------------------
    def content(self) -> None:
        for path, entry in sorted(self.files.items()):
            upper = path.upper()
            if upper.endswith((".JPG", ".JPEG")) and (
                upper.startswith("PHOTO/") or upper.startswith("REGISTER/")
            ):
                self.jpeg(path, entry)
            elif upper.endswith(".PDF"):
                chunks = [self.read(path, s, e) for s, e in reads_for(entry)]
                if any(c and b"/Encrypt" in c for c in chunks):
                    self.add("pdf_security", path, name=path)

    def jpeg(self, path: str, entry: Entry) -> None:
        head = self.read(path, 0, HEAD)
        if not head or not head.startswith(b"\xff\xd8\xff"):
            self.add("jpeg", path, name=path)
            return
        from PIL import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(head)) as im:
                    pixels = im.size[0] * im.size[1]
                    exif = im.getexif().get_ifd(0x8769).get(36867)
        except Exception:
            self.add("jpeg", path, name=path)
            return
        if pixels > PIXELS_WARN:
            self.add("jpeg.pixels", path, pixels=f"{pixels:,}", name=path)
        ref = self.report.files.get(self.full(path))
        if ref and ref.date and isinstance(exif, str) and R.valid_date(ref.date):
            exif_date = exif[:10].replace(":", "-")
            if re.match(r"^\d{4}-\d{2}-\d{2}$", exif_date) and exif_date != ref.date:
                self.add("exif_date", path, value=ref.date, exif=exif_date, name=path)


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


def _children(doc: XmlDoc, rec: Any) -> list[Any]:
    for elem in doc.root.iter(rec.tag):
        if doc.pos(elem) == (rec.line, rec.column):
            return list(elem)
    return []


def _package_root(entries: list[Entry]) -> str:
    """ "" when INDEX_*.XML is at the top; else the single folder holding it (ZIPs often wrap
    the package in one folder)."""
    tops = {
        e.path.split("/")[0]
        for e in entries
        if not R.is_junk(e.path.split("/")[0]) and ("/" in e.path or e.is_dir)
    }
    top_index = any(
        "/" not in e.path and e.path.upper() in ("INDEX_C.XML", "INDEX_D.XML") for e in entries
    )
    if top_index or len(tops) != 1:
        return ""
    (top,) = tops
    for e in entries:
        inside = e.path.count("/") == 1 and e.path.startswith(top + "/")
        if inside and e.path.split("/")[1].upper() in ("INDEX_C.XML", "INDEX_D.XML"):
            return top
    return ""


def validate_tree(tree: PackageTree | Path | str, profile: Profile | None = None) -> Report:
    """Check a 電子納品 package (a PackageTree, a folder path or a ``.zip`` path) with the §2.2
    rules under ``profile`` (None: chosen from 適用要領基準, MLIT by default)."""
    if isinstance(tree, (str, Path)):
        path = Path(tree)
        tree = FolderTree(path) if path.is_dir() else ZipTree(path)
    run = _Run(tree, profile or "mlit")
    run.load()
    run.junk()
    found = run.index_file()
    run.names()
    if found is None:
        return run.report
    rel, kind = found
    run.check_index(rel, kind)
    if profile is None:
        # Severities depend on the profile only; recompute the ones found so far.
        run.profile = run.report.profile = suggest_profile(run.report.applied_standard)
        run.report.findings = [
            replace(f, severity=R.RULES[f.check].severity(run.profile)) for f in run.report.findings
        ]
    refs: list[FileRef] = []
    for folder in MANAGED_C if kind == "C" else MANAGED_D:
        xml = run.find(f"{folder}/{folder}.XML")
        if xml is None or xml not in run.files:
            continue
        refs += run.check_photo(xml) if folder == "PHOTO" else run.check_other(folder, xml)
    run.resolve(refs)
    run.dra(refs)
    run.unreferenced(kind)
    run.content()
    return run.report
