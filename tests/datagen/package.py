"""Generate a realistic 電子納品 package (工事 INDEX_C or 業務 INDEX_D) of any size.

    manifest = generate(out_dir, Options(kind="construction", files=1000, seed=7))

Layout (deliverables-and-bonds.md §1.2 / §1.3): management XML in Shift_JIS (CP932 bytes)
with their DTD files beside them, photos ``PHOTO/PIC/Pnnnnnnn.JPG`` with EXIF dates inside the
工期, 参考図 ``PHOTO/DRA/Dnnnnnnn.JPG``, SXF drawings ``.P21``, PDFs with Japanese text on
several pages (each page carries a unique phrase recorded in the manifest with its page
number), and for 業務 SIMA survey text files in CP932.

``files`` is the size of the clean package: file count exactly ``files`` (minimum
``MIN_FILES``); defects then add or remove a file or two (the manifest lists what was
written). Files are written as they are produced; only the management XML text is held until
the end. Same options and seed give byte-identical output.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from tests.datagen import drawings, fidelity, pdfs, photos, vocab
from tests.datagen import xml as X
from tests.datagen.defects import DEFECTS, DOCUMENTS_NEEDED, PHOTOS_NEEDED, applies
from tests.datagen.sink import FileEntry, FolderSink, Sink, ZipSink

Kind = Literal["construction", "service"]
Profile = Literal["mlit", "maff"]
MIN_FILES = 34
STANDARD = {"mlit": "土木202203-01", "maff": "農林水産省農業農村整備202303-01"}  # maff value [M]
PACKAGE_DIR = "package"
PACKAGE_ZIP = "package.zip"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Options:
    kind: Kind = "construction"
    files: int = 60
    seed: int = 1
    profile: Profile = "mlit"
    defects: tuple[str, ...] = ()
    zip: bool = False
    cp932_names: bool = True  # ZIP only: CP932 names without the UTF-8 flag
    photo_size: tuple[int, int] = photos.SMALL
    pdf_pages: tuple[int, int] = (2, 4)  # pages per PDF, inclusive range
    tiny: bool = False  # 100,000-file mode: 8x8 photos, 1-page ASCII PDFs, short drawings
    duplicates: int = 0  # the last N photos repeat the content of the first N
    volumes: int = 1  # メディア総枚数: >1 writes VOL1/, VOL2/ … each with its INDEX (§1.4)
    blackboard: bool = False  # photos carry 小黒板情報 XMP with a hashCode (rule 25)
    photo_detail: bool = False  # photos as large as real ones (noise; for benchmarks)


@dataclass
class Manifest:
    kind: Kind
    seed: int
    profile: Profile
    files_requested: int
    root: str  # the package folder or ZIP
    index_file: str
    files: list[FileEntry] = field(default_factory=list)
    phrases: dict[str, tuple[str, int]] = field(default_factory=dict)  # phrase -> (path, page)
    work: dict[str, str] = field(default_factory=dict)
    photos: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (copy, original)
    defects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_path(self) -> dict[str, FileEntry]:
        return {f.path: f for f in self.files}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        data["phrases"] = {k: list(v) for k, v in self.phrases.items()}
        data["total_bytes"] = sum(f.size for f in self.files)
        return data

    def write_json(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), "utf-8")
        return path


def generate(out_dir: Path, options: Options) -> Manifest:
    """Write the package to ``out_dir/package/`` (or ``out_dir/package.zip``) and the manifest
    to ``out_dir/manifest.json``; return the manifest."""
    unknown = [d for d in options.defects if d not in DEFECTS]
    if unknown:
        raise ValueError(f"unknown defects: {unknown}")
    if options.files < MIN_FILES:
        raise ValueError(f"files must be >= {MIN_FILES}")
    if options.volumes > 1 and options.defects:
        raise ValueError("defects are written on single-volume packages only")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (PACKAGE_ZIP if options.zip else PACKAGE_DIR)
    if target.exists():
        raise FileExistsError(target)
    sink: Sink = (
        ZipSink(target, cp932_names=options.cp932_names) if options.zip else FolderSink(target)
    )
    builder = _Builder(options, sink, target)
    try:
        builder.build()
    finally:
        sink.close()
    builder.manifest.write_json(out_dir / MANIFEST)
    return builder.manifest


def _v(check: str, path: str, **extra: str) -> dict[str, str]:
    return {"source": "validate", "check": check, "path": path, **extra}


def _i(flag: str, path: str) -> dict[str, str]:
    return {"source": "ingest", "flag": flag, "path": path}


@dataclass
class _Photo:
    serial: int
    name: str
    day: date
    time: str
    kubun: str
    kouju: str
    shubetsu: str
    saibetsu: str
    title: str
    spot: str
    dra: str | None = None
    value: str | None = None
    volume: int = 1


@dataclass
class _Doc:
    path: str
    title: str
    pages: int


class _Builder:
    def __init__(self, options: Options, sink: Sink, target: Path) -> None:
        self.o = options
        self.sink = sink
        self.rng = random.Random(options.seed)
        self.defects = set(options.defects)
        construction = options.kind == "construction"
        self.index_name = "INDEX_C.XML" if construction else "INDEX_D.XML"
        self.manifest = Manifest(
            options.kind, options.seed, options.profile, options.files, str(target), self.index_name
        )
        self.phrase_no = 0
        self.docs: list[_Doc] = []  # the PDFs the PDF defects pick from (MEET or REPORT)
        self.drawing_folder = "DRAWINGF" if construction else "DRAWING"
        self.utf8_xml = "PLAN/PLAN.XML" if construction else "REPORT/REPORT.XML"
        self.volume = 1  # the INDEX being written (multi-volume packages)
        self._setup_work()

    # -- work-level values ---------------------------------------------------------------------
    def _setup_work(self) -> None:
        rng, o = self.rng, self.o
        self.place = vocab.pick_place(rng)
        self.start, self.end = vocab.period(rng)
        n = 1 + rng.randrange(4)
        fill = {
            "route": vocab.pick(rng, vocab.ROUTES),
            "river": vocab.pick(rng, vocab.RIVERS),
            "area": vocab.pick(rng, vocab.AREAS),
            "n": str(n),
        }
        titles: tuple[str, ...]
        if o.kind == "service":
            titles = vocab.SERVICE_TITLES
            contractor = vocab.pick(rng, vocab.CONSULTANT_FORMS)
        else:
            titles = vocab.FARM_TITLES if o.profile == "maff" else vocab.CONSTRUCTION_TITLES
            contractor = vocab.pick(rng, vocab.CONTRACTOR_FORMS)
        stem = vocab.pick(rng, vocab.CONTRACTOR_STEMS)
        self.title = vocab.pick(rng, titles).format(**fill)
        self.route = fill["route"]
        self.contractor = contractor.format(x=stem)
        self.orderer_code = f"{rng.randrange(10**8):08d}"
        self.address = self.place.address + vocab.pick(rng, vocab.CITY_PARTS)
        self.works = rng.sample(sorted(vocab.WORK_TREE), 3 + rng.randrange(3))
        self.manifest.work = {
            "title": self.title,
            "kind": o.kind,
            "contractor": self.contractor,
            "orderer": f"{self.place.pref} {self.place.office}",
            "orderer_code": self.orderer_code,
            "address_code": self.place.address_code,
            "address": self.address,
            "period_start": self.start.isoformat(),
            "period_end": self.end.isoformat(),
            "fiscal_year": str(vocab.fiscal_year(self.start)),
            "applied_standard": STANDARD[o.profile],
        }

    # -- sizes ---------------------------------------------------------------------------------
    def _budget(self, fixed: int) -> dict[str, int]:
        """Split the variable part of the package between the file groups."""
        rest = self.o.files - fixed
        pdf_floor = DOCUMENTS_NEEDED
        counts = {
            "docs": max(pdf_floor, rest * 10 // 100),
            "plan": max(1, rest * 3 // 100),
            "other": max(2, rest * 6 // 100),
            "drawings": max(1, rest * 8 // 100),
            "dra": max(1, rest * 2 // 100),
            "survey": max(2, rest * 6 // 100) if self.o.kind == "service" else 0,
        }
        if self.o.kind == "service":
            counts["plan"] = 0
            counts["docs"] = min(counts["docs"], 99)  # REPORTnn.PDF
        caps = {"docs": 999 * 3, "plan": 999, "other": 99_999, "drawings": 6 * 10 * 999}
        for key, cap in caps.items():
            counts[key] = min(counts[key], cap)
        counts["photos"] = rest - sum(counts.values())
        if counts["photos"] < PHOTOS_NEEDED:
            raise ValueError(f"files too small for this layout: need >= {MIN_FILES}")
        counts["dra"] = min(counts["dra"], counts["photos"])
        return counts

    # -- writing -------------------------------------------------------------------------------
    def put(self, path: str, data: bytes, role: str, volume: int = 1) -> None:
        """Write a file; in a multi-volume package onto medium ``volume`` (``VOLn/``)."""
        if self.o.volumes > 1:
            path = f"VOL{volume}/{path}"
        self.manifest.files.append(self.sink.write(path, data, role))

    def put_all(self, path: str, data: bytes, role: str) -> None:
        """A management file: on every medium of the package."""
        for volume in range(1, self.o.volumes + 1):
            self.put(path, data, role, volume)

    def volume_of(self, serial: int, count: int) -> int:
        return 1 + (serial - 1) * self.o.volumes // max(1, count)

    def build(self) -> None:
        if self.o.kind == "construction":
            self._construction()
        else:
            self._service()
        self._expect()

    def _expect(self) -> None:
        """What each injected defect should produce (see ``tests.datagen.defects``)."""
        photo_xml = "PHOTO/PHOTO.XML"
        last = self.manifest.photos[-1]["path"] if self.manifest.photos else ""
        docs = [d.path for d in self.docs] + ["", "", "", ""]
        table: dict[str, list[dict[str, str]]] = {
            "kishu": [_v("char.platform", self.index_name)],
            "hankaku": [_v("char.halfkana", photo_xml)],
            "missing_field": [_v("required", photo_xml)],
            "bad_date": [_v("date.format", photo_xml)],
            "photo_outside_period": [_v("date.range", photo_xml)],
            "missing_file": [_v("missing_file", photo_xml, file=last)],
            "dup_serial": [_v("serial", photo_xml)],
            "bad_name": [_v("name", "OTHRS/ORG001/打合せメモ.pdf")],
            "thumbs_db": [_v("junk", "PHOTO/PIC/Thumbs.db")],
            "pic_subfolder": [_v("subfolder", "PHOTO/PIC/OLD")],
            "network_dtd": [_v("dtd", photo_xml)],
            "billion_laughs": [_v("xml.entities", "OTHRS/OTHRS.XML")],
            "exe_as_pdf": [_i("type_mismatch", docs[0])],
            "encrypted_pdf": [_v("pdf_security", docs[1]), _i("encrypted", docs[1])],
            "broken_pdf": [_i("broken", docs[2])],
            "zero_byte": [_i("empty", docs[3])],
            "missing_element": [_v("xml.structure", photo_xml)],
            "no_register": [_v("required", self.index_name), _v("register", "REGISTER")],
            "unreferenced": [_v("unreferenced", "OTHRS/ORG001/MEMO0001.PDF")],
            "bad_cad_name": [_v("name.pattern", f"{self.drawing_folder}/S1LC001Z.DXF")],
            "bad_org_name": [_v("name.pattern", "MEET/ORG/MEETING1.PDF")],
            "utf8_xml": [_v("encoding", self.utf8_xml), _v("char.platform", self.utf8_xml)],
            "fullwidth": [_v("char.fullwidth", photo_xml)],
            "truncated_jpeg": [
                _v("jpeg", "PHOTO/PIC/P0000008.JPG"),
                _i("broken", "PHOTO/PIC/P0000008.JPG"),
            ],
            "drawing_no_location": [
                _v("drawing.location", f"{self.drawing_folder}/{self.drawing_folder}.XML")
            ],
            "blackboard_nohash": [_v("blackboard", "PHOTO/PIC/P0000003.JPG")],
            "virus": [{**_v("virus", "OTHRS/ORG001/SCAN0001.TXT"), "requires": "scanner"}],
        }
        for name in self.o.defects:
            if not applies(name, self.o.kind):
                skipped = {"description": DEFECTS[name], "expected": [], "skipped": self.o.kind}
                self.manifest.defects[name] = skipped
                continue
            self.manifest.defects[name] = {"description": DEFECTS[name], "expected": table[name]}

    def _construction(self) -> None:
        fixed = 16  # INDEX+DTD, 6 x (XML+DTD), PRE-PIC, POST-PIC
        if "no_register" in self.defects:
            fixed -= 4  # and the files go to the photos
        counts = self._budget(fixed)
        self.put_all("INDE_C08.DTD", X.placeholder_dtd("INDE_C08.DTD"), "dtd")
        self._photos(counts["photos"], counts["dra"])
        self._drawings("DRAWINGF", X.DRAWINGF, "C", counts["drawings"])
        self._meetings(counts["docs"])
        self._plans(counts["plan"])
        if "no_register" not in self.defects:
            self._register()
        self._others(counts["other"])
        state = self.rng.getstate()
        for volume in range(1, self.o.volumes + 1):  # the same INDEX but メディア番号
            self.rng.setstate(state)
            self.volume = volume
            self.put(self.index_name, X.sjis(self._index_c()), "index", volume)

    def _service(self) -> None:
        fixed = 16  # INDEX+DTD, 5 x (XML+DTD), SURV_KTN.XML+DTD, SURV_OYO.XML+DTD
        counts = self._budget(fixed)
        self.put_all("INDE_D05.DTD", X.placeholder_dtd("INDE_D05.DTD"), "dtd")
        self._reports(counts["docs"])
        self._drawings("DRAWING", X.DRAWING, "D", counts["drawings"])
        self._photos(counts["photos"], counts["dra"])
        self._survey(counts["survey"])
        self._others(counts["other"])
        state = self.rng.getstate()
        for volume in range(1, self.o.volumes + 1):  # the same INDEX but メディア番号
            self.rng.setstate(state)
            self.volume = volume
            self.put(self.index_name, X.sjis(self._index_d()), "index", volume)

    # -- photos --------------------------------------------------------------------------------
    def _photo_plan(self, count: int, dra: int) -> Iterator[_Photo]:
        rng = self.rng
        span = (self.end - self.start).days
        every = max(1, count // dra) if dra else 0
        for i in range(count):
            serial = i + 1
            day = self.start + timedelta(days=min(span, i * span // max(1, count - 1)))
            kouju = vocab.pick(rng, tuple(self.works))
            kinds = vocab.WORK_TREE[kouju]
            shubetsu = vocab.pick(rng, tuple(kinds))
            saibetsu = vocab.pick(rng, kinds[shubetsu])
            kubun = (
                "着手前及び完成写真"
                if i in (0, count - 1)
                else vocab.weighted(rng, vocab.KUBUN_WEIGHTS)
            )
            if kubun == "着手前及び完成写真":
                title = "着手前 全景" if i < count // 2 else "完成 全景"
            else:
                title = f"{saibetsu} {vocab.pick(rng, vocab.SITUATIONS)}"
            photo = _Photo(
                serial,
                f"P{serial:07d}.JPG",
                day,
                f"{8 + rng.randrange(9):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
                kubun,
                kouju,
                shubetsu,
                saibetsu,
                title,
                f"No.{rng.randrange(40)}+{rng.randrange(20)}.0",
            )
            if every and i % every == 0 and i // every < dra:
                photo.dra = f"D{i // every + 1:07d}.JPG"
            if kubun == "出来形管理写真":
                design = 100 * (2 + rng.randrange(8))
                photo.value = f"設計 {design}mm / 実測 {design + rng.randrange(-5, 12)}mm"
            yield photo

    def _photos(self, count: int, dra: int) -> None:
        o = self.o
        size = (8, 8) if o.tiny else o.photo_size
        duplicates = min(o.duplicates, count // 2)
        first: list[_Photo] = []
        chunks: list[str] = []
        period_end = self.end
        for photo in self._photo_plan(count, dra):
            if "photo_outside_period" in self.defects and photo.serial == 5:
                photo.day = period_end + timedelta(days=20)
            copy_of = max(0, photo.serial - (count - duplicates)) if duplicates else 0
            if copy_of > 0:
                original = first[copy_of - 1]
                photo.day, photo.time = original.day, original.time
            elif len(first) < duplicates:
                first.append(photo)
            taken = f"{photo.day:%Y:%m:%d} {photo.time}"
            seed_rng = random.Random(o.seed * 1_000_003 + (copy_of or photo.serial))
            nohash = "blackboard_nohash" in self.defects and photo.serial == 3
            xmp = None
            if o.blackboard or nohash:
                board = {
                    "ConstructionName": self.title,
                    "Title": photo.title,
                    "ConstructionType": photo.kouju,
                    "MiddleClassification": photo.shubetsu,
                    "SmallClassification": photo.saibetsu,
                    "ShootingSpot": photo.spot,
                }
                xmp = fidelity.blackboard_xmp(board, with_hash=not nohash)
            data = photos.jpeg(seed_rng, taken, size, xmp=xmp, detail=o.photo_detail)
            if "truncated_jpeg" in self.defects and photo.serial == 8:
                data = data[: len(data) // 2]
            path = f"PHOTO/PIC/{photo.name}"
            photo.volume = self.volume_of(photo.serial, count)
            if copy_of > 0:
                self.manifest.duplicates.append((path, f"PHOTO/PIC/{first[copy_of - 1].name}"))
            missing = "missing_file" in self.defects and photo.serial == count
            if not missing:
                self.put(path, data, "photo", photo.volume)
            chunks.append(self._photo_xml(photo))
            self.manifest.photos.append(
                {
                    "path": path if o.volumes == 1 else f"VOL{photo.volume}/{path}",
                    "serial": photo.serial,
                    "date": photo.day.isoformat(),
                    "exif": taken,
                    "category": "工事" if o.kind == "construction" else "設計",
                    "kubun": photo.kubun,
                    "tree": [photo.kouju, photo.shubetsu, photo.saibetsu],
                    "title": photo.title,
                }
            )
            if photo.serial == 1 and "pic_subfolder" in self.defects:
                self.put("PHOTO/PIC/OLD/P0000001.JPG", data, "photo")
        for i in range(dra):
            name = f"D{i + 1:07d}.JPG"
            self.put(
                f"PHOTO/DRA/{name}", photos.jpeg(random.Random(-(i + 1)), None, size), "reference"
            )
        if "thumbs_db" in self.defects:
            self.put(
                "PHOTO/PIC/Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "junk"
            )
        system = (
            "http://www.cals-ed.go.jp/calsec/PHOTO05.DTD" if "network_dtd" in self.defects else None
        )
        base: list[X.Node] = [("写真フォルダ名", "PHOTO/PIC")]
        if dra:
            base.append(("参考図フォルダ名", "PHOTO/DRA"))
        base.append(("適用要領基準", STANDARD[o.profile]))
        text = (
            X.head(X.PHOTO, system=system)
            + X.render("基礎情報", base, 1)
            + "".join(chunks)
            + X.render("ソフトメーカ用TAG", "kura tests.datagen", 1)
            + X.tail(X.PHOTO)
        )
        self.put_all("PHOTO/PHOTO.XML", X.sjis(text), "xml")
        self.put_all("PHOTO/PHOTO05.DTD", X.sjis(X.PHOTO05_DTD), "dtd")

    def _photo_xml(self, p: _Photo) -> str:
        d = self.defects
        serial = p.serial - 1 if "dup_serial" in d and p.serial == 7 else p.serial
        title = p.title
        if "hankaku" in d and p.serial == 2:
            title = "ｸﾚｰﾝ作業状況"
        if "missing_field" in d and p.serial == 3:
            title = ""
        day = p.day.isoformat()
        if "bad_date" in d and p.serial == 4:
            day = f"{p.day.year}-02-30"
        kubun: list[X.Node] = [("写真-大分類", "工事" if self.o.kind == "construction" else "設計")]
        kubun += [
            ("写真区分", p.kubun),
            ("工種", p.kouju),
            ("種別", p.shubetsu),
            ("細別", p.saibetsu),
        ]
        kubun.append(("写真タイトル", title))
        media = str(p.volume)
        children: list[X.Node] = [
            (
                "写真ファイル情報",
                [
                    ("シリアル番号", str(serial)),
                    ("写真ファイル名", p.name),
                    ("メディア番号", media),
                ],
            ),
            ("撮影工種区分", kubun),
        ]
        if p.dra:
            children.append(
                (
                    "付加情報",
                    [("参考図ファイル名", p.dra), ("参考図タイトル", f"{p.saibetsu} 位置図")],
                )
            )
        spot = "Ｎｏ．８" if "fullwidth" in d and p.serial == 8 else p.spot
        children.append(("撮影情報", [("撮影箇所", spot), ("撮影年月日", day)]))
        children.append(("代表写真", "1" if p.serial % 20 == 1 else "0"))
        if not ("missing_element" in d and p.serial == 6):
            children.append(("提出頻度写真", "1" if p.kubun == "出来形管理写真" else "0"))
        if p.value:
            children.append(("施工管理値", p.value))
        return X.render("写真情報", children, 1)

    # -- documents ----------------------------------------------------------------------------
    def _pdf(self, path: str, title: str, role: str, heading: list[str]) -> _Doc:
        o, rng = self.o, self.rng
        lo, hi = (1, 1) if o.tiny else o.pdf_pages
        count = lo + rng.randrange(hi - lo + 1)
        pages: list[list[str]] = []
        phrases: list[tuple[str, int]] = []
        for page in range(1, count + 1):
            self.phrase_no += 1
            if o.tiny:
                phrase = f"KURA{self.phrase_no:07d}"
                lines = [f"{phrase} inspection record page {page}"]
            else:
                a, b = vocab.pick(rng, vocab.PHRASE_A), vocab.pick(rng, vocab.PHRASE_B)
                phrase = f"{a}の{b}に関する確認事項第{self.phrase_no}号"
                lines = [*(heading if page == 1 else [f"{title}（{page}／{count}）"])]
                lines += [
                    phrase,
                    f"本書は{self.title}における{b}の結果を記録したものである。",
                    f"受注者 {self.contractor}",
                ]
            pages.append(lines)
            phrases.append((phrase, page))
        doc = _Doc(path, title, count)
        index = len(self.docs) if role in ("meeting", "report") else -1
        data = pdfs.tiny(pages) if o.tiny else pdfs.japanese(pages)
        keep = True
        defect = None
        if 0 <= index < DOCUMENTS_NEEDED:
            defect = ("exe_as_pdf", "encrypted_pdf", "broken_pdf", "zero_byte")[index]
            if defect not in self.defects:
                defect = None
        if defect == "exe_as_pdf":
            data, keep = pdfs.EXE, False
        elif defect == "encrypted_pdf":
            data, keep = pdfs.japanese(pages, password=pdfs.USER_PASSWORD), False
        elif defect == "broken_pdf":
            data, keep = pdfs.broken(data), False
        elif defect == "zero_byte":
            data, keep = b"", False
        if keep:
            for phrase, page in phrases:
                self.manifest.phrases[phrase] = (path, page)
        self.put(path, data, role)
        if index >= 0:
            self.docs.append(doc)
        return doc

    def _dated(self, i: int, count: int) -> date:
        span = (self.end - self.start).days
        return self.start + timedelta(days=(i + 1) * span // (count + 2))

    def _meetings(self, files: int) -> None:
        rng = self.rng
        groups: list[X.Node] = []
        serial = 0
        left = files
        while left > 0:
            serial += 1
            n = min(left, 1 + rng.randrange(3), 9)
            if serial == 999:
                n = min(left, 9)
            kind = vocab.pick(rng, vocab.MEETING_KINDS)
            subject = vocab.pick(rng, vocab.MEETING_SUBJECTS)
            issued = self._dated(serial, max(1, files // 2))
            if issued > self.end:
                issued = self.end
            node: list[X.Node] = [
                ("シリアル番号", str(serial)),
                ("打合せ簿種類", kind),
                ("打合せ簿名称", subject),
                ("発行日付", issued.isoformat()),
            ]
            for m in range(1, n + 1):
                name = f"MEET{serial:03d}{m}.PDF"
                heading = [f"工事打合せ簿（{kind}）", subject, f"発行日 {issued:%Y年%m月%d日}"]
                self._pdf(f"MEET/ORG/{name}", subject, "meeting", heading)
                node.append(("打合せ簿オリジナルファイル名", name))
            if "bad_org_name" in self.defects and serial == 1:
                name = "MEETING1.PDF"  # rule 8: MEET/ORG takes MEETnnnm.XXX
                self.put(f"MEET/ORG/{name}", pdfs.tiny([["memo"]]), "meeting")
                node.append(("打合せ簿オリジナルファイル名", name))
            groups.append(("打合せ簿情報", node))
            left -= n
        text = X.document(X.MEET, groups)
        self.put_all("MEET/MEET.XML", X.sjis(text), "xml")
        self.put_all(f"MEET/{X.MEET.dtd}", X.placeholder_dtd(X.MEET.dtd), "dtd")

    def _plans(self, files: int) -> None:
        groups: list[X.Node] = []
        for i in range(files):
            serial = i + 1
            title = vocab.PLAN_TITLES[i % len(vocab.PLAN_TITLES)]
            name = f"PLAN{serial:03d}1.PDF"
            self._pdf(f"PLAN/ORG/{name}", title, "plan", [title, self.title])
            groups.append(
                (
                    "施工計画書情報",
                    [
                        ("シリアル番号", str(serial)),
                        ("施工計画書名称", title),
                        ("施工計画書オリジナルファイル名", name),
                    ],
                )
            )
        self.put_all("PLAN/PLAN.XML", self._encoded(X.document(X.PLAN, groups)), "xml")
        self.put_all(f"PLAN/{X.PLAN.dtd}", X.placeholder_dtd(X.PLAN.dtd), "dtd")

    def _encoded(self, text: str) -> bytes:
        """Shift_JIS, or UTF-8 with a 機種依存文字 for the utf8_xml defect (rule 11)."""
        if "utf8_xml" not in self.defects:
            return X.sjis(text)
        marker = "</施工計画書名称>" if "</施工計画書名称>" in text else "</報告書名>"
        return fidelity.utf8(text.replace(marker, "（㈱確認）" + marker, 1))

    def _others(self, files: int) -> None:
        folders = min(len(vocab.OTHER_FOLDERS), max(1, files // 3))
        groups: list[X.Node] = []
        serial = 0
        for f in range(folders):
            share = files // folders + (1 if f < files % folders else 0)
            items: list[X.Node] = [("その他サブフォルダ日本語名", vocab.OTHER_FOLDERS[f])]
            for _ in range(share):
                serial += 1
                title = vocab.OTHER_TITLES[serial % len(vocab.OTHER_TITLES)]
                name = f"DOC{serial:05d}.PDF"
                self._pdf(f"OTHRS/ORG{f + 1:03d}/{name}", title, "other", [title, self.title])
                items.append(
                    (
                        "その他資料情報",
                        [
                            ("資料名", title),
                            (
                                "オリジナルファイル情報",
                                [("シリアル番号", str(serial)), ("オリジナルファイル名", name)],
                            ),
                        ],
                    )
                )
            if f == 0 and "virus" in self.defects:
                self.put("OTHRS/ORG001/SCAN0001.TXT", fidelity.eicar(), "other")
                items.append(
                    (
                        "その他資料情報",
                        [
                            ("資料名", "ウイルスチェック確認用"),
                            ("オリジナルファイル情報", [("オリジナルファイル名", "SCAN0001.TXT")]),
                        ],
                    )
                )
            groups.append(("サブフォルダ情報", items))
        if "unreferenced" in self.defects:
            self.put("OTHRS/ORG001/MEMO0001.PDF", pdfs.tiny([["memo"]]), "other")
        internal = ""
        body = X.document(X.OTHRS, groups)
        if "billion_laughs" in self.defects:
            internal = '<!ENTITY lol "lol">\n' + "".join(
                f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                for i in range(1, 10)
            )
            body = X.document(X.OTHRS, [*groups, ("予備", "&lol9;")], internal=internal)
            body = body.replace("&amp;lol9;", "&lol9;")
        if "bad_name" in self.defects:
            self.put("OTHRS/ORG001/打合せメモ.pdf", pdfs.tiny([["memo"]]), "other")
        self.put_all("OTHRS/OTHRS.XML", X.sjis(body), "xml")
        self.put_all(f"OTHRS/{X.OTHRS.dtd}", X.placeholder_dtd(X.OTHRS.dtd), "dtd")

    def _drawings(self, folder: str, doc: X.Doc, life: str, files: int) -> None:
        rng = self.rng
        groups: list[X.Node] = []
        for i in range(files):
            code, kind = vocab.DRAWING_KINDS[i % len(vocab.DRAWING_KINDS)]
            number = i // len(vocab.DRAWING_KINDS)
            name = f"{life}{number // 999}{code}{number % 999 + 1:03d}Z.P21"
            title = f"{self.route}線 {kind}（{number + 1}）"
            stamp = f"{self.end:%Y-%m-%d}T10:00:00"
            data = drawings.p21(rng, name, title, self.contractor, stamp, 4 if self.o.tiny else 24)
            self.put(f"{folder}/{name}", data, "drawing")
            entry: list[X.Node] = [
                ("図面名", title),
                ("図面ファイル名", name),
                ("作成者名", self.contractor),
                ("図面番号", f"{code}-{number + 1:03d}"),
                ("図面種類", kind),
                ("尺度", vocab.pick(rng, vocab.SCALES)),
            ]
            if kind in ("位置図", "平面図"):  # CH-120: 境界座標 and 基準点情報
                unlocated = "drawing_no_location" in self.defects and i == 1
                if not unlocated:
                    entry += fidelity.location(self._bounds(), f"KP{number + 1}")
            groups.append((X.DRAWING_GROUP, entry))
        if "bad_cad_name" in self.defects:
            name = "S1LC001Z.DXF"  # NILIM Q&A CH-119's example of a failing name
            self.put(f"{folder}/{name}", b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n", "drawing")
            entry = [("図面名", "測量図"), ("図面ファイル名", name), ("図面種類", "測量図")]
            groups.append((X.DRAWING_GROUP, entry))
        self.put_all(f"{folder}/{folder}.XML", X.sjis(X.document(doc, groups)), "xml")
        self.put_all(f"{folder}/{doc.dtd}", X.placeholder_dtd(doc.dtd), "dtd")

    def _register(self) -> None:
        size = (8, 8) if self.o.tiny else self.o.photo_size
        pre = photos.jpeg(random.Random(-1_000_001), f"{self.start:%Y:%m:%d} 09:00:00", size)
        post = photos.jpeg(random.Random(-1_000_002), f"{self.end:%Y:%m:%d} 15:00:00", size)
        self.put("REGISTER/PRE-PIC.JPG", pre, "register")
        self.put("REGISTER/POST-PIC.JPG", post, "register")
        children: list[X.Node] = [
            ("着手前写真ファイル名", "PRE-PIC.JPG"),
            ("完成写真ファイル名", "POST-PIC.JPG"),
        ]
        self.put_all("REGISTER/REGISTER.XML", X.sjis(X.document(X.REGISTER, children)), "xml")
        self.put_all(f"REGISTER/{X.REGISTER.dtd}", X.placeholder_dtd(X.REGISTER.dtd), "dtd")

    def _reports(self, files: int) -> None:
        groups: list[X.Node] = []
        for i in range(files):
            title = vocab.REPORT_TITLES[i % len(vocab.REPORT_TITLES)]
            name = f"REPORT{i + 1:02d}.PDF"
            sub = f"第{i + 1}編"
            self._pdf(f"REPORT/{name}", title, "report", [self.title, f"{title} {sub}"])
            groups.append(
                (
                    "報告書ファイル情報",
                    [
                        ("報告書名", title),
                        ("報告書副題", sub),
                        ("報告書ファイル名", name),
                        ("報告書ファイル日本語名", f"{title}.PDF"),
                    ],
                )
            )
        self.put_all("REPORT/REPORT.XML", self._encoded(X.document(X.REPORT, groups)), "xml")
        self.put_all(f"REPORT/{X.REPORT.dtd}", X.placeholder_dtd(X.REPORT.dtd), "dtd")

    def _survey(self, files: int) -> None:
        """SURVEY/ (§1.3): SURVEY.XML, KITEN/SURV_KTN.XML and OTHERSOYO/SURV_OYO.XML with SIMA
        coordinate files (CP932). ``OTHERSOYO`` is longer than 8 characters: the 測量成果 tree
        keeps its own folder names, which rule 7 does not bind (issue 8 item 4)."""
        rng = self.rng
        trees = (("KITEN", "KTN", "基準点測量成果"), ("OTHERSOYO", "OYO", "応用測量成果"))
        split = max(1, files - 1)
        survey: list[X.Node] = [("場所情報", [("区域情報", [("平面直角座標系", "3")])])]
        for t, (folder, stem, label) in enumerate(trees):
            results: list[X.Node] = [
                (
                    "測量成果情報",
                    [
                        ("測量成果区分フォルダ名", folder),
                        ("測量細区分フォルダ名", folder),
                        ("測量成果名称", label),
                    ],
                )
            ]
            span = range(split) if t == 0 else range(split, files)
            for i in span:
                name = f"{stem}{i + 1:05d}.SIM"
                rows = [f"G00,01,{self.title},", "Z00,座標データ,", "A00,"]
                for p in range(1, 6 + rng.randrange(10)):
                    x, y = rng.uniform(-90000, 90000), rng.uniform(-90000, 90000)
                    z = rng.uniform(2, 80)
                    rows.append(f"A01,{p},KP{i + 1}-{p},{x:.3f},{y:.3f},{z:.3f},")
                rows.append("A99,")
                data = X.sjis("\r\n".join(rows) + "\r\n")
                self.put(f"SURVEY/{folder}/{name}", data, "survey")
                subtitle = f"{label[:-2]} {i + 1}"
                results.append(
                    (
                        "成果ファイル情報",
                        [("測量成果ファイル名", name), ("測量成果ファイル名副題", subtitle)],
                    )
                )
            xml = f"SURVEY/{folder}/SURV_{stem}.XML"
            self.put_all(xml, X.sjis(X.document(X.SURVEY, results)), "xml")
            self.put_all(f"SURVEY/{folder}/{X.SURVEY.dtd}", X.placeholder_dtd(X.SURVEY.dtd), "dtd")
            kind = "4級基準点測量" if t == 0 else "用地測量"
            survey.append(
                (
                    "測量情報",
                    [
                        ("測量区分", label[:-2]),
                        ("測量細区分", kind),
                        ("測量記録フォルダパス名", f"SURVEY/{folder}"),
                    ],
                )
            )
        self.put_all("SURVEY/SURVEY.XML", X.sjis(X.document(X.SURVEY, survey)), "xml")
        self.put_all(f"SURVEY/{X.SURVEY.dtd}", X.placeholder_dtd(X.SURVEY.dtd), "dtd")

    # -- management files ------------------------------------------------------------------------
    def _bounds(self) -> list[X.Node]:
        p, rng = self.place, self.rng
        dx, dy = 60 + rng.randrange(300), 40 + rng.randrange(200)
        return [
            ("西側境界座標経度", vocab.dms(p.lon, 0, 7)),
            ("東側境界座標経度", vocab.dms(p.lon, dx, 7)),
            ("北側境界座標緯度", vocab.dms(p.lat, dy, 6)),
            ("南側境界座標緯度", vocab.dms(p.lat, 0, 6)),
        ]

    def _orderer(self, section: bool) -> list[X.Node]:
        p = self.place
        out: list[X.Node] = [
            ("発注者-大分類", p.pref),
            ("発注者-中分類", p.bureau),
            ("発注者-小分類", p.office),
            ("発注者コード", self.orderer_code),
        ]
        if section:
            out.append(("工事担当課", p.section))
        return out

    def _contractor(self) -> list[X.Node]:
        name = self.contractor
        if "kishu" in self.defects:
            name = "㈱" + name.replace("株式会社", "").replace("有限会社", "")
            self.manifest.work["contractor"] = name
        return [("受注者名", name), ("受注者コード", f"{self.rng.randrange(10**5):05d}")]

    def _content(self, text: str) -> str:
        return f"①{text} ②付帯工 一式" if "kishu" in self.defects else text

    def _index_c(self) -> str:
        rng, o = self.rng, self.o
        fy = vocab.fiscal_year(self.start)
        base: list[X.Node] = [
            ("メディア番号", str(self.volume)),
            ("メディア総枚数", str(o.volumes)),
            ("適用要領基準", STANDARD[o.profile]),
            ("施工計画書フォルダ名", "PLAN"),
            ("施工計画書オリジナルファイルフォルダ名", "PLAN/ORG"),
            ("打合せ簿フォルダ名", "MEET"),
            ("打合せ簿オリジナルファイルフォルダ名", "MEET/ORG"),
            ("写真フォルダ名", "PHOTO"),
            ("完成図フォルダ名", "DRAWINGF"),
            ("台帳フォルダ名", "REGISTER"),
            ("その他フォルダ名", "OTHRS"),
        ]
        if "no_register" in self.defects:
            base.remove(("台帳フォルダ名", "REGISTER"))
        kinds: list[X.Node] = [
            ("工種-工法型式", [("工種", w), ("工法型式", vocab.pick(rng, vocab.METHODS))])
            for w in self.works
        ]
        length = 50 * (1 + rng.randrange(20))
        content = self._content(f"{'、'.join(self.works)} 施工延長 L={length}m")
        self.manifest.work["content"] = content
        work: list[X.Node] = [
            ("発注年度", str(fy)),
            ("工事番号", f"{fy}-{rng.randrange(1, 999):03d}"),
            ("工事名称", self.title),
            ("工事実績システム登録番号", f"{rng.randrange(10**10):010d}"),
            (
                "工事分野",
                vocab.FIELDS[3] if o.profile == "maff" else vocab.pick(rng, vocab.FIELDS[:3]),
            ),
            ("工事業種", vocab.pick(rng, vocab.INDUSTRIES)),
            *kinds,
            ("住所情報", [("住所コード", self.place.address_code), ("住所", self.address)]),
            ("工期開始日", self.start.isoformat()),
            ("工期終了日", self.end.isoformat()),
            ("工事内容", content),
        ]
        stations: list[X.Node] = [
            ("起点側測点-n", "0"),
            ("起点側測点-m", "0"),
            ("終点側測点-n", str(length // 20)),
            ("終点側測点-m", "0"),
        ]
        place: list[X.Node] = [
            ("測地系", "02"),
            ("水系-路線情報", [("対象水系路線名", f"{self.route}線"), ("測点情報", stations)]),
            ("境界座標情報", self._bounds()),
        ]
        children: list[X.Node] = [
            ("基礎情報", base),
            ("工事件名等", work),
            ("場所情報", place),
            ("施設情報", [("施設名称", f"{self.route}線")]),
            ("発注者情報", self._orderer(True)),
            ("受注者情報", self._contractor()),
            ("予備", ""),
            ("ソフトメーカ用TAG", "kura tests.datagen"),
        ]
        return X.document(X.INDEX_C, children)

    def _index_d(self) -> str:
        rng, o = self.rng, self.o
        fy = vocab.fiscal_year(self.start)
        base: list[X.Node] = [  # the folder-name elements of INDEX_D are [M]
            ("メディア番号", str(self.volume)),
            ("メディア総枚数", str(self.o.volumes)),
            ("適用要領基準", STANDARD[o.profile]),
            ("報告書フォルダ名", "REPORT"),
            ("図面フォルダ名", "DRAWING"),
            ("写真フォルダ名", "PHOTO"),
            ("測量データフォルダ名", "SURVEY"),
            ("その他フォルダ名", "OTHRS"),
        ]
        content = self._content(
            f"{self.route}線の{'、'.join(self.works[:2])}に係る詳細設計を行う。"
        )
        self.manifest.work["content"] = content
        work: list[X.Node] = [
            ("発注年度", str(fy)),
            ("業務名称", self.title),
            ("業務実績システム登録番号", f"{rng.randrange(10**10):010d}"),
            ("住所情報", [("住所コード", self.place.address_code), ("住所", self.address)]),
            ("履行期間-着手", self.start.isoformat()),
            ("履行期間-完了", self.end.isoformat()),
        ]
        keywords: list[X.Node] = [("業務キーワード", k) for k in rng.sample(vocab.KEYWORDS, 3)]
        children: list[X.Node] = [
            ("基礎情報", base),
            ("業務件名等", work),
            ("場所情報", [("測地系", "02"), ("境界座標情報", self._bounds())]),
            ("施設情報", [("施設名称", f"{self.route}線")]),
            ("発注者情報", self._orderer(False)),
            ("受注者情報", self._contractor()),
            ("業務情報", [("業務概要", content), *keywords]),
            ("予備", ""),
            ("ソフトメーカ用TAG", "kura tests.datagen"),
        ]
        return X.document(X.INDEX_D, children)
