"""The 電子納品 package of a work, built from the work's basic information, its decided proposals
and its document folders (seed 001 §4: 「工事関係書類出力機能」 … 仕様（フォルダ構成、
ファイル名等）に従い電子成果品を作成する).

Layout (deliverables-and-bonds.md §1.2 工事 / §1.3 業務; names §1.9):

- ``INDEX_C.XML`` (工事) or ``INDEX_D.XML`` (業務) with its DTD, from the work (§1.4/§1.5):
  工事名称/業務名称, 工事番号, 発注年度, 工期/履行期間, 住所, 工事分野, 工事業種, 境界座標,
  発注者 (名称, 8-digit 発注者コード), 受注者名, and one ``…フォルダ名`` per folder delivered;
- ``MEET/MEET.XML`` + ``MEET/ORG/MEETnnnm.XXX`` (工事): one 打合せ簿 per decided proposal, its
  printed PDF with the approval stamps as ``MEETnnn1.PDF`` and its attached files in their
  own formats after it; documents of folders mapped to MEET follow as further 打合せ簿;
- ``PLAN/PLAN.XML`` + ``PLAN/ORG/PLANnnn1.XXX`` (工事): one 施工計画書 per document;
- ``PHOTO/PHOTO.XML`` + ``PHOTO/PIC/Pnnnnnnn.JPG``: JPEG documents, 写真区分/工種/種別/細別 from
  their sub-folders, 撮影年月日 from EXIF (else the registration day);
- ``REGISTER/`` (工事, 要領 from 土木202003-01): ``REGISTER.XML`` with ``PRE-PIC.JPG`` and
  ``POST-PIC.JPG`` (the photos chosen, else the first and last photo);
- ``REPORT/REPORT.XML`` + ``REPORTnn.PDF`` (+ ``REPORT/ORG``) (業務);
- ``DRAWINGF/`` (工事) or ``DRAWING/`` (業務): drawings under their CAD製図基準 names;
- ``OTHRS/OTHRS.XML`` + ``OTHRS/ORGnnn/``: one sub-folder per mapped folder (業務: the decided
  proposals too, under 打合せ簿).

The builder is pure: it takes what ``api.handovers.collect`` read and returns the entries
(bytes, or the SHA-256 of content in the store) and notes. A note of level ``E`` blocks the
hand-over like an E finding of the validator (e.g. no 境界座標, no 発注者コード).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

from api.handovers.jis import ascii_ext
from api.handovers.xmlwrite import XmlWriter
from indexer.extract.deliverable import rules as R
from indexer.extract.deliverable.profiles import edition

Level = Literal["E", "W", "N"]
PHOTO_KINDS = R.PHOTO_KUBUN
MAX_ORIGINALS = 9  # MEETnnnm: m is one digit (§1.9 [M])


@dataclass(frozen=True)
class SourceFile:
    """A document of the work (a file node)."""

    node_id: str
    sha256: str
    size: int
    name: str
    title: str
    parts: tuple[str, ...]  # sub-folders below the mapped folder
    date: str  # registration day, YYYY-MM-DD (JST)
    photo_date: str | None = None  # EXIF date of a photo
    content_type: str = ""
    scope: str = ""  # the scope its content is stored in (api.keys.scopes)


@dataclass(frozen=True)
class MappedFolder:
    node_id: str
    name: str
    target: str  # PLAN, MEET, PHOTO, OTHRS, DRAWINGF, REPORT, DRAWING
    files: tuple[SourceFile, ...]


@dataclass(frozen=True)
class Original:
    name: str
    sha256: str
    size: int
    scope: str = ""


@dataclass(frozen=True)
class ProposalSource:
    proposal_id: str
    number: int
    title: str
    kind: str  # 打合せ簿種類 (発議事項)
    author: str
    issued: str | None
    received: str | None
    completed: str | None
    content: str
    pdf: bytes
    originals: tuple[Original, ...] = ()


@dataclass(frozen=True)
class WorkInfo:
    kind: Literal["C", "D"]
    standard: str
    title: str
    number: str
    fiscal_year: str
    period_start: str
    period_end: str
    address: str
    address_code: str
    field_name: str
    industry: str
    amount: int | None
    content: str
    datum: str
    bounds: dict[str, str] | None  # west, east, north, south (dddmmss / ddmmss)
    facilities: tuple[str, ...]
    orderer_major: str
    orderer_middle: str
    orderer_minor: str
    orderer_code: str
    section: str
    contractor: str
    contractor_code: str
    register_pre: str | None = None  # node ids of the 台帳 photos
    register_post: str | None = None


@dataclass
class Entry:
    path: str
    data: bytes | None = None
    sha256: str | None = None
    size: int = 0
    is_dir: bool = False
    scope: str = ""
    source: str = ""  # node id or proposal id it came from

    @property
    def length(self) -> int:
        return len(self.data) if self.data is not None else self.size


@dataclass
class Note:
    level: Level
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "message": self.message}


@dataclass
class Built:
    entries: list[Entry] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # top folders delivered

    def note(self, level: Level, message: str) -> None:
        self.notes.append(Note(level, message))

    def add(self, path: str, data: bytes, source: str = "") -> None:
        self.entries.append(Entry(path, data=data, source=source))

    def add_file(self, path: str, f: SourceFile | Original, source: str = "") -> None:
        self.entries.append(Entry(path, sha256=f.sha256, size=f.size, source=source, scope=f.scope))

    def add_dir(self, path: str) -> None:
        self.entries.append(Entry(path, is_dir=True))


# DTDs shipped beside each XML (rule 2): the bundled ones, in Shift_JIS like the official files.
def dtd_bytes(name: str) -> bytes:
    text = resources.files("indexer.extract.deliverable.dtd").joinpath(name).read_text("utf-8")
    return text.encode("cp932", errors="replace")


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def _jpeg(f: SourceFile) -> bool:
    return f.content_type in ("image/jpeg", "image/jpg") or (
        not f.content_type and f.name.lower().endswith((".jpg", ".jpeg"))
    )


def build(
    info: WorkInfo, folders: Sequence[MappedFolder], proposals: Sequence[ProposalSource]
) -> Built:
    out = Built()
    _required(out, info)
    by_target: dict[str, list[MappedFolder]] = {}
    for folder in folders:
        by_target.setdefault(folder.target, []).append(folder)
    writers: list[tuple[str, XmlWriter]] = []
    decl: dict[str, str] = {}
    if info.kind == "C":
        if _plan(out, info, by_target.get("PLAN", []), writers):
            decl["施工計画書フォルダ名"] = "PLAN"
            decl["施工計画書オリジナルファイルフォルダ名"] = "PLAN/ORG"
        if _meet(out, info, proposals, by_target.get("MEET", []), writers):
            decl["打合せ簿フォルダ名"] = "MEET"
            decl["打合せ簿オリジナルファイルフォルダ名"] = "MEET/ORG"
    else:
        if _report(out, info, by_target.get("REPORT", []), writers):
            decl["報告書フォルダ名"] = "REPORT"
            if any(e.path.startswith("REPORT/ORG/") for e in out.entries):
                decl["報告書オリジナルファイルフォルダ名"] = "REPORT/ORG"
        if _drawings(out, info, "DRAWING", by_target.get("DRAWING", []), writers):
            decl["図面フォルダ名"] = "DRAWING"
    photos = _photos(out, info, by_target.get("PHOTO", []), writers)
    if photos:
        decl["写真フォルダ名"] = "PHOTO"
    if info.kind == "C":
        if _drawings(out, info, "DRAWINGF", by_target.get("DRAWINGF", []), writers):
            decl["完成図フォルダ名"] = "DRAWINGF"
        if edition("C", info.standard).register_required:
            _register(out, info, photos, writers)
            decl["台帳フォルダ名"] = "REGISTER"
    extra = proposals if info.kind == "D" else ()
    if _others(out, info, by_target.get("OTHRS", []), extra, writers):
        decl["その他フォルダ名"] = "OTHRS"
    index = _index(info, decl)
    writers.insert(0, (f"INDEX_{info.kind}.XML", index))
    out.add(f"INDE_{info.kind}{'08' if info.kind == 'C' else '05'}.DTD", dtd_bytes(index.dtd))
    for path, writer in writers:
        out.add(path, writer.data())
        for element, ch in writer.replaced:
            out.note("W", f"{path}の「{element}」の文字「{ch}」は使えないため〓に置き換えました。")
    out.folders = sorted({p.path.split("/")[0] for p in out.entries if "/" in p.path})
    out.entries.sort(key=lambda e: (e.path.count("/") if not e.is_dir else -1, e.path))
    return out


def _required(out: Built, info: WorkInfo) -> None:
    """What the INDEX needs and the work lacks: blocking notes (E), said in the user's terms."""
    bounds = info.bounds or {}
    if not all(bounds.get(k) for k in ("west", "east", "north", "south")):
        out.note("E", "境界座標（東西の経度・南北の緯度）を入力してください（INDEXの場所情報）。")
    if not R.ORDERER_CODE.match(info.orderer_code or ""):
        out.note(
            "E",
            "発注機関の発注者コード（半角数字8桁）が登録されていません。"
            "組織の設定で登録してください。",
        )
    if not info.contractor:
        out.note("E", "受注者が登録されていません（受注者名はINDEXの必須項目です）。")
    if not info.title:
        out.note("E", "工事・業務の名称がありません。")


# INDEX ----------------------------------------------------------------------------------------
_DECL_ORDER_C = (
    "施工計画書フォルダ名",
    "施工計画書オリジナルファイルフォルダ名",
    "打合せ簿フォルダ名",
    "打合せ簿オリジナルファイルフォルダ名",
    "写真フォルダ名",
    "完成図フォルダ名",
    "台帳フォルダ名",
    "その他フォルダ名",
)
_DECL_ORDER_D = (
    "報告書フォルダ名",
    "報告書オリジナルファイルフォルダ名",
    "図面フォルダ名",
    "写真フォルダ名",
    "その他フォルダ名",
)


def _index(info: WorkInfo, decl: dict[str, str]) -> XmlWriter:
    c = info.kind == "C"
    w = XmlWriter(
        "constdata" if c else "projectdata",
        "INDE_C08.DTD" if c else "INDE_D05.DTD",
        "08" if c else "05",
    )
    w.open("基礎情報")
    w.leaf("メディア番号", "1")
    w.leaf("メディア総枚数", "1")
    w.leaf("適用要領基準", info.standard)
    for element in _DECL_ORDER_C if c else _DECL_ORDER_D:
        if element in decl:
            w.leaf(element, decl[element])
    w.close()
    w.open("工事件名等" if c else "業務件名等")
    w.leaf("発注年度", info.fiscal_year)
    w.leaf("工事番号" if c else "業務番号", info.number)
    w.leaf("工事名称" if c else "業務名称", info.title, keep_empty=True)
    if c:
        w.leaf("工事分野", info.field_name)
        w.leaf("工事業種", info.industry)
    if info.address_code or info.address:
        w.open("住所情報")
        w.leaf("住所コード", info.address_code, keep_empty=True)
        w.leaf("住所", info.address)
        w.close()
    w.leaf("工期開始日" if c else "履行期間-着手", info.period_start, keep_empty=True)
    w.leaf("工期終了日" if c else "履行期間-完了", info.period_end, keep_empty=True)
    if c:
        w.leaf("工事内容", info.content)
        if info.amount is not None:
            w.leaf("施工金額", str(info.amount))
    w.close()
    w.open("場所情報")
    w.leaf("測地系", info.datum)
    w.open("境界座標情報")
    bounds = info.bounds or {}
    for element, key in (
        ("西側境界座標経度", "west"),
        ("東側境界座標経度", "east"),
        ("北側境界座標緯度", "north"),
        ("南側境界座標緯度", "south"),
    ):
        w.leaf(element, bounds.get(key, ""), keep_empty=True)
    w.close()
    w.close()
    for name in info.facilities:
        w.open("施設情報")
        w.leaf("施設名称", name)
        w.close()
    w.open("発注者情報")
    if c:
        w.leaf("発注者-大分類", info.orderer_major, keep_empty=True)
        w.leaf("発注者-中分類", info.orderer_middle, keep_empty=True)
        w.leaf("発注者-小分類", info.orderer_minor, keep_empty=True)
        w.leaf("発注者コード", info.orderer_code, keep_empty=True)
        w.leaf("工事担当課", info.section, keep_empty=True)
    else:
        w.leaf("発注者-大分類", info.orderer_major)
        w.leaf("発注者-中分類", info.orderer_middle)
        w.leaf("発注者-小分類", info.orderer_minor)
        w.leaf("発注者コード", info.orderer_code)
    w.close()
    w.open("受注者情報")
    w.leaf("受注者名", info.contractor, keep_empty=True)
    w.leaf("受注者コード", info.contractor_code)
    w.close()
    if not c and info.content:
        w.open("業務情報")
        w.leaf("業務概要", info.content)
        w.close()
    return w


# MEET (工事) ------------------------------------------------------------------------------
def _meet(
    out: Built,
    info: WorkInfo,
    proposals: Sequence[ProposalSource],
    folders: Sequence[MappedFolder],
    writers: list[tuple[str, XmlWriter]],
) -> bool:
    files = [f for folder in folders for f in folder.files]
    if not proposals and not files:
        return False
    w = XmlWriter("meetdata", "MEET05.DTD", "05")
    _base(
        w, {"打合せ簿フォルダ名": "MEET", "打合せ簿オリジナルファイルフォルダ名": "MEET/ORG"}, info
    )
    serial = 0
    for p in proposals:
        serial += 1
        if serial > 999:
            out.note("E", "打合せ簿が999件を超えるため、ファイル名（MEETnnnm）を付けられません。")
            break
        w.open("打合せ簿情報")
        w.leaf("シリアル番号", str(serial))
        w.leaf("打合せ簿種類", p.kind)
        w.leaf("打合せ簿名称", p.title or f"打合せ簿 No.{p.number}", keep_empty=True)
        w.leaf("作成者", p.author)
        w.leaf("発行日付", p.issued)
        w.leaf("受理日付", p.received)
        w.leaf("完了日付", p.completed)
        w.leaf("内容", p.content)
        name = f"MEET{serial:03d}1.PDF"
        w.leaf("打合せ簿オリジナルファイル名", name)
        w.leaf("打合せ簿オリジナルファイル日本語名", f"発議No.{p.number} {p.title}.pdf")
        out.add(f"MEET/ORG/{name}", p.pdf, source=p.proposal_id)
        originals = list(p.originals)
        if len(originals) > MAX_ORIGINALS - 1:
            out.note(
                "W",
                f"発議No.{p.number}の添付ファイルが多いため、{MAX_ORIGINALS - 1}件を超える分は"
                "綴じたPDFにのみ含まれます。",
            )
            originals = originals[: MAX_ORIGINALS - 1]
        for i, original in enumerate(originals, start=2):
            oname = f"MEET{serial:03d}{i}.{ascii_ext(original.name)}"
            w.leaf("打合せ簿オリジナルファイル名", oname)
            w.leaf("打合せ簿オリジナルファイル日本語名", original.name)
            out.add_file(f"MEET/ORG/{oname}", original, source=p.proposal_id)
        w.close()
    for f in files:
        serial += 1
        if serial > 999:
            break
        w.open("打合せ簿情報")
        w.leaf("シリアル番号", str(serial))
        w.leaf("打合せ簿名称", f.title or _stem(f.name), keep_empty=True)
        w.leaf("発行日付", f.date)
        name = f"MEET{serial:03d}1.{ascii_ext(f.name)}"
        w.leaf("打合せ簿オリジナルファイル名", name)
        w.leaf("打合せ簿オリジナルファイル日本語名", f.name)
        out.add_file(f"MEET/ORG/{name}", f, source=f.node_id)
        w.close()
    writers.append(("MEET/MEET.XML", w))
    out.add("MEET/MEET05.DTD", dtd_bytes("MEET05.DTD"))
    return True


def _base(w: XmlWriter, folders: dict[str, str], info: WorkInfo) -> None:
    w.open("基礎情報")
    for element, value in folders.items():
        w.leaf(element, value)
    w.leaf("適用要領基準", info.standard)
    w.close()


# PLAN (工事) ------------------------------------------------------------------------------
def _plan(
    out: Built,
    info: WorkInfo,
    folders: Sequence[MappedFolder],
    writers: list[tuple[str, XmlWriter]],
) -> bool:
    files = [f for folder in folders for f in folder.files]
    if not files:
        return False
    w = XmlWriter("plandata", "PLAN05.DTD", "05")
    _base(
        w,
        {"施工計画書フォルダ名": "PLAN", "施工計画書オリジナルファイルフォルダ名": "PLAN/ORG"},
        info,
    )
    for serial, f in enumerate(files[:999], start=1):
        name = f"PLAN{serial:03d}1.{ascii_ext(f.name)}"
        w.open("施工計画書情報")
        w.leaf("シリアル番号", str(serial))
        w.leaf("施工計画書名称", f.title or _stem(f.name), keep_empty=True)
        w.leaf("施工計画書オリジナルファイル名", name)
        w.leaf("施工計画書オリジナルファイル日本語名", f.name)
        w.close()
        out.add_file(f"PLAN/ORG/{name}", f, source=f.node_id)
    if len(files) > 999:
        out.note("E", "施工計画書が999件を超えるため、ファイル名（PLANnnnm）を付けられません。")
    writers.append(("PLAN/PLAN.XML", w))
    out.add("PLAN/PLAN05.DTD", dtd_bytes("PLAN05.DTD"))
    return True


# PHOTO ------------------------------------------------------------------------------------
def _photos(
    out: Built,
    info: WorkInfo,
    folders: Sequence[MappedFolder],
    writers: list[tuple[str, XmlWriter]],
) -> list[tuple[str, SourceFile]]:
    chosen: list[SourceFile] = []
    for folder in folders:
        for f in folder.files:
            if _jpeg(f):
                chosen.append(f)
            else:
                out.note(
                    "W",
                    f"写真フォルダ「{folder.name}」の「{f.name}」はJPEGではないため納品しません。",
                )
    if not chosen:
        return []
    w = XmlWriter("photodata", "PHOTO05.DTD", "05")
    w.open("基礎情報")
    w.leaf("写真フォルダ名", "PHOTO/PIC")
    w.leaf("適用要領基準", info.standard)
    w.close()
    placed: list[tuple[str, SourceFile]] = []
    category = "工事" if info.kind == "C" else "設計"
    for serial, f in enumerate(chosen, start=1):
        name = f"P{serial:07d}.JPG"
        parts = list(f.parts)
        kubun = (
            parts.pop(0)
            if parts and parts[0] in PHOTO_KINDS
            else ("施工状況写真" if info.kind == "C" else "")
        )
        w.open("写真情報")
        w.open("写真ファイル情報")
        w.leaf("シリアル番号", str(serial))
        w.leaf("写真ファイル名", name)
        w.leaf("写真ファイル日本語名", f.name)
        w.leaf("メディア番号", "1")
        w.close()
        w.open("撮影工種区分")
        w.leaf("写真-大分類", category)
        w.leaf("写真区分", kubun)
        for element, value in zip(("工種", "種別", "細別"), parts, strict=False):
            w.leaf(element, value)
        w.leaf("写真タイトル", f.title or _stem(f.name), keep_empty=True)
        w.close()
        w.open("撮影情報")
        w.leaf(
            "撮影年月日", f.photo_date if f.photo_date and R.valid_date(f.photo_date) else f.date
        )
        w.close()
        w.leaf("代表写真", "0")
        w.leaf("提出頻度写真", "0")
        w.close()
        path = f"PHOTO/PIC/{name}"
        out.add_file(path, f, source=f.node_id)
        placed.append((path, f))
    writers.append(("PHOTO/PHOTO.XML", w))
    out.add("PHOTO/PHOTO05.DTD", dtd_bytes("PHOTO05.DTD"))
    return placed


# REGISTER (工事, from 土木202003-01) ----------------------------------------------------------
def _register(
    out: Built,
    info: WorkInfo,
    photos: list[tuple[str, SourceFile]],
    writers: list[tuple[str, XmlWriter]],
) -> None:
    by_id = {f.node_id: f for _, f in photos}
    ordered = sorted((f for _, f in photos), key=lambda f: (f.photo_date or f.date, f.node_id))
    pre = by_id.get(info.register_pre or "") or (ordered[0] if ordered else None)
    post = by_id.get(info.register_post or "") or (ordered[-1] if ordered else None)
    out.add_dir("REGISTER")
    if pre is None or post is None:
        out.note(
            "W",
            "台帳（REGISTER）の着手前写真・完成写真がありません（写真フォルダにJPEGを登録して"
            "選んでください）。空のREGISTERフォルダで納品します。",
        )
        return
    if not info.register_pre or not info.register_post:
        out.note(
            "N", "台帳の着手前写真・完成写真には、撮影日の最も早い写真と遅い写真を使いました。"
        )
    w = XmlWriter("registerdata", "REGIST06.DTD", "06")
    _base(w, {"台帳フォルダ名": "REGISTER"}, info)
    w.leaf("着手前写真ファイル名", "PRE-PIC.JPG")
    w.leaf("完成写真ファイル名", "POST-PIC.JPG")
    out.add_file("REGISTER/PRE-PIC.JPG", pre, source=pre.node_id)
    out.add_file("REGISTER/POST-PIC.JPG", post, source=post.node_id)
    writers.append(("REGISTER/REGISTER.XML", w))
    out.add("REGISTER/REGIST06.DTD", dtd_bytes("REGIST06.DTD"))


# REPORT (業務) ------------------------------------------------------------------------------
def _report(
    out: Built,
    info: WorkInfo,
    folders: Sequence[MappedFolder],
    writers: list[tuple[str, XmlWriter]],
) -> bool:
    files = [f for folder in folders for f in folder.files]
    pdfs = [
        f for f in files if f.name.lower().endswith(".pdf") or f.content_type == "application/pdf"
    ]
    others = [f for f in files if f not in pdfs]
    if not pdfs:
        if others:
            out.note("E", "報告書フォルダにPDFがありません。報告書はPDFで登録してください。")
        return False
    if len(pdfs) > 99:
        out.note("E", "報告書が99件を超えるため、ファイル名（REPORTnn.PDF）を付けられません。")
        pdfs = pdfs[:99]
    w = XmlWriter("reportdata", "REP05.DTD", "05")
    folders_decl = {"報告書フォルダ名": "REPORT"}
    if others:
        folders_decl["報告書オリジナルファイルフォルダ名"] = "REPORT/ORG"
    _base(w, folders_decl, info)
    for n, f in enumerate(pdfs, start=1):
        name = f"REPORT{n:02d}.PDF"
        w.open("報告書ファイル情報")
        w.leaf("報告書名", f.title or _stem(f.name), keep_empty=True)
        w.leaf("報告書ファイル名", name)
        w.leaf("報告書ファイル日本語名", f.name)
        if n == 1:
            for i, o in enumerate(others, start=1):
                oname = f"REP{i:05d}.{ascii_ext(o.name)}"
                w.open("報告書オリジナルファイル情報")
                w.leaf("報告書オリジナルファイル名", oname)
                w.leaf("報告書オリジナルファイル日本語名", o.name)
                w.close()
                out.add_file(f"REPORT/ORG/{oname}", o, source=o.node_id)
        w.close()
        out.add_file(f"REPORT/{name}", f, source=f.node_id)
    writers.append(("REPORT/REPORT.XML", w))
    out.add("REPORT/REP05.DTD", dtd_bytes("REP05.DTD"))
    return True


# DRAWINGF / DRAWING -------------------------------------------------------------------------
def _drawings(
    out: Built,
    info: WorkInfo,
    folder_name: str,
    folders: Sequence[MappedFolder],
    writers: list[tuple[str, XmlWriter]],
) -> bool:
    from indexer.extract.deliverable.names import CAD

    files = [f for folder in folders for f in folder.files]
    if not files:
        return False
    root = "drawingfdata" if folder_name == "DRAWINGF" else "drawingdata"
    w = XmlWriter(root, "DRAW05.DTD", "05")
    w.open("基礎情報")
    w.leaf("図面フォルダ名", folder_name)
    w.leaf("適用要領基準", info.standard)
    w.close()
    seen: set[str] = set()
    for f in files:
        name = f.name.upper()
        if not CAD.regex.match(name):
            out.note(
                "E",
                f"図面「{f.name}」のファイル名がCAD製図基準の命名（{CAD.label}）に沿っていません。"
                "名前を変えて登録し直してください。",
            )
        if name in seen:
            out.note("E", f"図面のファイル名「{name}」が重複しています。")
            continue
        seen.add(name)
        w.open("図面情報")
        w.leaf("図面名", f.title or _stem(f.name), keep_empty=True)
        w.leaf("図面ファイル名", name)
        w.close()
        out.add_file(f"{folder_name}/{name}", f, source=f.node_id)
    writers.append((f"{folder_name}/{folder_name}.XML", w))
    out.add(f"{folder_name}/DRAW05.DTD", dtd_bytes("DRAW05.DTD"))
    return True


# OTHRS -------------------------------------------------------------------------------------
def _others(
    out: Built,
    info: WorkInfo,
    folders: Sequence[MappedFolder],
    proposals: Sequence[ProposalSource],
    writers: list[tuple[str, XmlWriter]],
) -> bool:
    groups: list[tuple[str, list[tuple[str, list[tuple[str, SourceFile | Original | bytes]]]]]] = []
    if proposals:
        docs: list[tuple[str, list[tuple[str, SourceFile | Original | bytes]]]] = []
        for p in proposals:
            items: list[tuple[str, SourceFile | Original | bytes]] = [
                (f"発議No.{p.number} {p.title}.pdf", p.pdf)
            ]
            items += [(o.name, o) for o in p.originals]
            docs.append((p.title or f"打合せ簿 No.{p.number}", items))
        groups.append(("打合せ簿", docs))
    for folder in folders:
        if folder.files:
            groups.append(
                (folder.name, [(f.title or _stem(f.name), [(f.name, f)]) for f in folder.files])
            )
    if not groups:
        return False
    if len(groups) > 999:
        out.note("E", "その他のサブフォルダが999を超えます。")
        groups = groups[:999]
    w = XmlWriter("othrsdata", "OTHRS05.DTD", "05")
    _base(w, {"その他フォルダ名": "OTHRS"}, info)
    serial = 0
    for n, (label, docs) in enumerate(groups, start=1):
        sub = f"ORG{n:03d}"
        out.add_dir(f"OTHRS/{sub}")
        w.open("サブフォルダ情報")
        w.leaf("その他サブフォルダ日本語名", label, keep_empty=True)
        for title, items in docs:
            w.open("その他資料情報")
            w.leaf("資料名", title, keep_empty=True)
            for original_name, item in items:
                serial += 1
                name = f"DOC{serial:05d}.{ascii_ext(original_name)}"
                w.open("オリジナルファイル情報")
                w.leaf("シリアル番号", str(serial))
                w.leaf("オリジナルファイル名", name)
                w.leaf("オリジナルファイル日本語名", original_name)
                w.close()
                if isinstance(item, bytes):
                    out.add(f"OTHRS/{sub}/{name}", item)
                else:
                    source = item.node_id if isinstance(item, SourceFile) else ""
                    out.add_file(f"OTHRS/{sub}/{name}", item, source=source)
            w.close()
        w.close()
    if serial > 99_999:
        out.note("E", "その他の資料が99,999件を超えるため、ファイル名を付けられません。")
    writers.append(("OTHRS/OTHRS.XML", w))
    out.add("OTHRS/OTHRS05.DTD", dtd_bytes("OTHRS05.DTD"))
    return True
