"""The test-data generator builds well-formed, deterministic 電子納品 packages whose defects
are really there (issue 3 item 10)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET  # type: ignore[import-untyped]
import pytest
from defusedxml import EntitiesForbidden
from pypdf import PdfReader

from api.archive.nodes import NodeService
from api.config import Settings
from tests.datagen import DEFECTS, Manifest, Options, generate
from tests.datagen.__main__ import main
from tests.datagen.photos import exif_taken
from tests.support.clamd import fake_clamd
from tests.support.perms import API, World, perm_world

# element naming a file -> folder it lives in (relative to the package root)
REFS = {
    "写真ファイル名": "PHOTO/PIC",
    "参考図ファイル名": "PHOTO/DRA",
    "打合せ簿オリジナルファイル名": "MEET/ORG",
    "施工計画書オリジナルファイル名": "PLAN/ORG",
    "図面ファイル名": None,  # beside the XML
    "報告書ファイル名": "REPORT",
    "着手前写真ファイル名": "REGISTER",
    "完成写真ファイル名": "REGISTER",
    "測量成果ファイル名": None,
}
DOCTYPE = re.compile(r'<!DOCTYPE (\S+) SYSTEM "([^"]+)"')


def parse(data: bytes) -> tuple[Element, str, str]:
    """Root, DOCTYPE name and SYSTEM id of a CP932 management XML."""
    text = data.decode("cp932")
    assert text.startswith('<?xml version="1.0" encoding="Shift_JIS"?>')
    match = DOCTYPE.search(text)
    assert match, "DOCTYPE missing"
    body = text.split("?>", 1)[1]
    return DET.fromstring(body), match.group(1), match.group(2)


def xml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.XML"))


def check_package(manifest: Manifest) -> None:
    root = Path(manifest.root)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    listed = manifest.by_path()
    assert on_disk == set(listed)
    for path, entry in listed.items():
        data = (root / path).read_bytes()
        assert len(data) == entry.size
        assert hashlib.sha256(data).hexdigest() == entry.sha256
    assert (root / manifest.index_file).is_file()
    for xml_path in xml_files(root):
        tree, doctype, system = parse(xml_path.read_bytes())
        assert tree.tag == doctype
        assert (xml_path.parent / system).is_file(), f"{xml_path}: no {system}"
        for elem in tree.iter():
            if elem.tag in REFS and elem.text:
                folder = REFS[elem.tag]
                base = root / folder if folder else xml_path.parent
                assert (base / elem.text).is_file(), f"{xml_path.name} names {elem.text}"
    start = date.fromisoformat(manifest.work["period_start"])
    end = date.fromisoformat(manifest.work["period_end"])
    photo_xml, _, _ = parse((root / "PHOTO/PHOTO.XML").read_bytes())
    serials = [e.text for e in photo_xml.iter("シリアル番号")]
    assert len(serials) == len(set(serials)) == len(manifest.photos)
    for info, photo in zip(photo_xml.iter("写真情報"), manifest.photos, strict=True):
        taken = info.findtext("撮影情報/撮影年月日") or ""
        assert taken == photo["date"]
        assert start <= date.fromisoformat(taken) <= end
        exif = exif_taken((root / photo["path"]).read_bytes())
        assert exif is not None
        assert exif[:10].replace(":", "-") == taken


def pdf_page_text(path: Path, page: int) -> str:
    return PdfReader(path).pages[page - 1].extract_text()


@pytest.mark.parametrize(
    ("kind", "profile"), [("construction", "mlit"), ("service", "mlit"), ("construction", "maff")]
)
def test_clean_package_is_well_formed(tmp_path: Path, kind: str, profile: str) -> None:
    manifest = generate(tmp_path, Options(kind=kind, profile=profile, files=80, seed=3))  # type: ignore[arg-type]
    assert len(manifest.files) == 80
    check_package(manifest)
    index = "INDEX_C.XML" if kind == "construction" else "INDEX_D.XML"
    tree, _, system = parse((tmp_path / "package" / index).read_bytes())
    assert system == ("INDE_C08.DTD" if kind == "construction" else "INDE_D05.DTD")
    text = " ".join(e.text or "" for e in tree.iter())
    assert manifest.work["title"] in text
    assert re.search(r"<発注者コード>\d{8}</発注者コード>", _xml(tmp_path, index))
    assert re.search(r"<住所コード>\d{5}</住所コード>", _xml(tmp_path, index))
    for value in text:
        assert not unicodedata.name(value, "").startswith("HALFWIDTH KATAKANA")
    (tmp_path / "package" / index).read_bytes().decode("shift_jis")  # strict: no CP932 extras
    roles = {f.role for f in manifest.files}
    assert {"photo", "drawing", "xml", "dtd", "index"} <= roles
    assert any(f.path.endswith(".PDF") for f in manifest.files)


def _xml(tmp_path: Path, rel: str) -> str:
    return (tmp_path / "package" / rel).read_bytes().decode("cp932")


def test_pdf_phrases_round_trip_with_page_numbers(tmp_path: Path) -> None:
    manifest = generate(tmp_path, Options(files=60, seed=5, pdf_pages=(3, 3)))
    assert manifest.phrases
    root = Path(manifest.root)
    sample = list(manifest.phrases.items())[:: max(1, len(manifest.phrases) // 8)]
    for phrase, (path, page) in sample:
        assert phrase in pdf_page_text(root / path, page)
        other = 1 if page != 1 else 2
        assert phrase not in pdf_page_text(root / path, other)
    assert all(p > 0 for _, p in manifest.phrases.values())
    assert len({p for p, _ in manifest.phrases.values()}) >= 5


def test_drawings_are_part21(tmp_path: Path) -> None:
    manifest = generate(tmp_path, Options(files=60, seed=2))
    drawing = next(f for f in manifest.files if f.role == "drawing")
    text = (Path(manifest.root) / drawing.path).read_text("ascii")
    assert text.startswith("ISO-10303-21;\nHEADER;")
    assert "FILE_SCHEMA(('ASSOCIATIVE_DRAUGHTING'));" in text
    assert text.rstrip().endswith("END-ISO-10303-21;")
    assert re.fullmatch(r"C\d[A-Z]{2}\d{3}Z\.P21", drawing.path.split("/")[-1])


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", Options(files=50, seed=9, zip=True))
    b = generate(tmp_path / "b", Options(files=50, seed=9, zip=True))
    c = generate(tmp_path / "c", Options(files=50, seed=10, zip=True))
    assert [(f.path, f.sha256) for f in a.files] == [(f.path, f.sha256) for f in b.files]
    assert (tmp_path / "a/package.zip").read_bytes() == (tmp_path / "b/package.zip").read_bytes()
    assert {f.sha256 for f in a.files} != {f.sha256 for f in c.files}
    assert a.phrases == b.phrases


def test_photos_differ_unless_duplicates_asked(tmp_path: Path) -> None:
    manifest = generate(tmp_path, Options(files=60, seed=4, duplicates=3))
    shas = manifest.by_path()
    photos = [shas[p["path"]].sha256 for p in manifest.photos]
    assert len(manifest.duplicates) == 3
    for copy, original in manifest.duplicates:
        assert shas[copy].sha256 == shas[original].sha256
    assert len(set(photos)) == len(photos) - 3


def test_zip_has_cp932_names_without_utf8_flag(tmp_path: Path) -> None:
    manifest = generate(tmp_path, Options(files=40, seed=1, zip=True, defects=("bad_name",)))
    with zipfile.ZipFile(manifest.root) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        odd = [i for i in infos.values() if i.flag_bits & 0x800 == 0 and not i.filename.isascii()]
        assert len(odd) == 1
        assert odd[0].filename.encode("cp437").decode("cp932") == "OTHRS/ORG001/打合せメモ.pdf"
        assert zf.testzip() is None
        assert len([n for n in infos if not n.endswith("/")]) == len(manifest.files)
    utf8 = generate(
        tmp_path / "u", Options(files=40, zip=True, cp932_names=False, defects=("bad_name",))
    )
    with zipfile.ZipFile(utf8.root) as zf:
        assert "OTHRS/ORG001/打合せメモ.pdf" in zf.namelist()


def test_tiny_mode_is_small_and_searchable(tmp_path: Path) -> None:
    manifest = generate(tmp_path, Options(files=300, seed=1, tiny=True))
    assert len(manifest.files) == 300
    assert max(f.size for f in manifest.files if f.role == "photo") < 2_000
    root = Path(manifest.root)
    phrase, (path, page) = next(iter(manifest.phrases.items()))
    assert phrase in pdf_page_text(root / path, page)


def test_unknown_defect_and_too_small_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown"):
        generate(tmp_path, Options(defects=("nope",)))
    with pytest.raises(ValueError, match=">="):
        generate(tmp_path, Options(files=5))


# -- defects -----------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["construction", "service"])
def broken(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    out = tmp_path_factory.mktemp(f"defects-{request.param}")
    return generate(out, Options(kind=request.param, files=60, seed=11, defects=tuple(DEFECTS)))


def _photo_infos(root: Path) -> list[Element]:
    text = (root / "PHOTO/PHOTO.XML").read_bytes().decode("cp932")
    body = text.split("?>", 1)[1]
    body = re.sub(r"<!DOCTYPE[^>]*>", "", body)
    return list(DET.fromstring(body).iter("写真情報"))


def test_every_defect_is_documented_and_expected(broken: Manifest) -> None:
    assert set(broken.defects) == set(DEFECTS)
    for name, spec in broken.defects.items():
        assert spec["description"] == DEFECTS[name]
        if spec.get("skipped"):  # a defect of the other kind of package (e.g. REGISTER)
            assert spec["skipped"] == broken.kind
            assert spec["expected"] == []
            continue
        assert spec["expected"], name
        for item in spec["expected"]:
            assert item["source"] in ("validate", "ingest")
            assert item["path"]


def test_defects_are_really_there(broken: Manifest) -> None:
    root = Path(broken.root)
    files = broken.by_path()
    index = (root / broken.index_file).read_bytes()
    # kishu: CP932-only characters, so strict Shift_JIS fails
    assert "㈱" in index.decode("cp932")
    assert "①" in index.decode("cp932")
    with pytest.raises(UnicodeDecodeError):
        index.decode("shift_jis")
    infos = _photo_infos(root)
    titles = [i.findtext("撮影工種区分/写真タイトル") for i in infos]
    # hankaku, missing_field
    assert any(
        t and any("HALFWIDTH KATAKANA" in unicodedata.name(c, "") for c in t) for t in titles
    )
    assert "" in titles
    # bad_date, photo_outside_period
    dates = [i.findtext("撮影情報/撮影年月日") or "" for i in infos]
    bad = [d for d in dates if not _is_date(d)]
    assert bad == [dates[3]]
    end = broken.work["period_end"]
    late = [d for d in dates if _is_date(d) and d > end]
    assert late == [dates[4]]
    assert exif_taken((root / "PHOTO/PIC/P0000005.JPG").read_bytes()).startswith(  # type: ignore[union-attr]
        late[0].replace("-", ":")
    )
    # missing_file, dup_serial
    names = [i.findtext("写真ファイル情報/写真ファイル名") for i in infos]
    assert [n for n in names if f"PHOTO/PIC/{n}" not in files] == [names[-1]]
    serials = [i.findtext("写真ファイル情報/シリアル番号") for i in infos]
    assert len(serials) - len(set(serials)) == 1
    # bad_name, thumbs_db, pic_subfolder
    assert "OTHRS/ORG001/打合せメモ.pdf" in files
    assert "PHOTO/PIC/Thumbs.db" in files
    assert "PHOTO/PIC/OLD/P0000001.JPG" in files
    # network_dtd, billion_laughs
    assert 'SYSTEM "http://' in (root / "PHOTO/PHOTO.XML").read_bytes().decode("cp932")
    othrs = (root / "OTHRS/OTHRS.XML").read_bytes().decode("cp932").split("?>", 1)[1]
    assert "<!ENTITY lol9" in othrs
    with pytest.raises(EntitiesForbidden):
        DET.fromstring(othrs)
    # the PDF defects
    expected = {k: v["expected"][-1]["path"] for k, v in broken.defects.items() if v["expected"]}
    assert (root / expected["exe_as_pdf"]).read_bytes().startswith(b"MZ")
    assert PdfReader(root / expected["encrypted_pdf"]).is_encrypted
    assert files[expected["zero_byte"]].size == 0
    raw = (root / expected["broken_pdf"]).read_bytes()
    assert raw.startswith(b"%PDF")
    assert b"%%EOF" not in raw
    for path in (expected[k] for k in ("exe_as_pdf", "encrypted_pdf", "broken_pdf", "zero_byte")):
        assert all(p != path for p, _ in broken.phrases.values())


def test_fidelity_defects_are_really_there(broken: Manifest) -> None:
    """The issue 8 defects, read back without the validator."""
    from PIL import Image

    root = Path(broken.root)
    files = broken.by_path()
    construction = broken.kind == "construction"
    # missing_element: the 6th 写真情報 has no 提出頻度写真
    infos = _photo_infos(root)
    assert infos[5].find("提出頻度写真") is None
    assert all(i.find("提出頻度写真") is not None for n, i in enumerate(infos) if n != 5)
    # no_register (工事 only): neither the folder nor 台帳フォルダ名
    index = (root / broken.index_file).read_bytes().decode("cp932")
    assert "<台帳フォルダ名>" not in index
    assert not any(p.startswith("REGISTER/") for p in files)
    # unreferenced: a file OTHRS.XML does not name
    assert "OTHRS/ORG001/MEMO0001.PDF" in files
    assert "MEMO0001.PDF" not in (root / "OTHRS/OTHRS.XML").read_bytes().decode("cp932")
    # bad_cad_name, bad_org_name
    folder = "DRAWINGF" if construction else "DRAWING"
    assert f"{folder}/S1LC001Z.DXF" in files
    assert ("MEET/ORG/MEETING1.PDF" in files) == construction
    # utf8_xml: UTF-8 (not Shift_JIS) with a 機種依存文字
    utf8 = root / ("PLAN/PLAN.XML" if construction else "REPORT/REPORT.XML")
    text = utf8.read_bytes().decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "㈱" in text
    # fullwidth: 撮影箇所 of the 8th photo
    assert infos[7].findtext("撮影情報/撮影箇所") == "Ｎｏ．８"
    # truncated_jpeg: the 8th photo does not decode
    with (
        pytest.raises(OSError, match="truncated"),
        Image.open(root / "PHOTO/PIC/P0000008.JPG") as im,
    ):
        im.load()
    # drawing_no_location: the first 平面図 has neither 境界座標 nor 基準点情報
    drawings = DET.fromstring(
        re.sub(
            r"<!DOCTYPE[^>]*>",
            "",
            (root / folder / f"{folder}.XML").read_bytes().decode("cp932").split("?>", 1)[1],
        )
    )
    plans = [g for g in drawings.iter("図面情報") if g.findtext("図面種類") == "平面図"]
    assert plans[0].find("境界座標情報") is None
    assert plans[0].find("基準点情報") is None
    assert all(g.find("境界座標情報") is not None for g in plans[1:])
    # blackboard_nohash: XMP with 小黒板情報 but no hashCode
    photo3 = (root / "PHOTO/PIC/P0000003.JPG").read_bytes()
    assert b"http://dcpadv.org/schema/3.0/photoinfo" in photo3
    assert b"hashCode" not in photo3
    # virus: the EICAR test file, named in OTHRS.XML
    assert (root / "OTHRS/ORG001/SCAN0001.TXT").read_bytes().startswith(b"X5O!P%@AP[4\\PZX54")


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def test_validator_finds_each_defect_and_nothing_on_clean(broken: Manifest, tmp_path: Path) -> None:
    """Cross-check with the §2.2 validator (indexer.extract.deliverable): every expectation of
    the manifest is found, with the virus scan through a clamd peer; a clean package of the
    same seed has no finding but the notice that no scanner ran."""
    from indexer.extract.deliverable import validate_tree
    from indexer.extract.deliverable.clamd import ClamdScanner

    kind = broken.kind
    clean = generate(tmp_path, Options(kind=kind, files=60, seed=11))
    for profile in ("mlit", "maff"):
        found = validate_tree(Path(clean.root), profile).findings
        assert [f.check for f in found] == ["virus.not_run"]
    with fake_clamd() as (url, server):
        report = validate_tree(Path(broken.root), "mlit", scanner=ClamdScanner(url))
        assert server.scanned == len([f for f in broken.files if "Thumbs" not in f.path])
    assert report.scan == "infected"
    for name, spec in broken.defects.items():
        for item in spec["expected"]:
            if item["source"] != "validate":
                continue
            hits = [f for f in report.findings if f.check == item["check"]]
            assert any(f.path == item["path"] for f in hits), (name, item, hits)
    without = validate_tree(Path(broken.root), "mlit")
    assert not [f for f in without.findings if f.check == "virus"]
    assert [f.check for f in without.findings if f.rule == 29] == ["virus.not_run"]


def test_cli_writes_zip_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            str(tmp_path),
            "--kind",
            "service",
            "--files",
            "40",
            "--zip",
            "--seed",
            "2",
            "--defects",
            "thumbs_db,zero_byte",
            "--profile",
            "maff",
        ]
    )
    assert code == 0
    assert (tmp_path / "package.zip").is_file()
    data = (tmp_path / "manifest.json").read_text("utf-8")
    for word in ('"thumbs_db"', '"zero_byte"', '"maff"'):
        assert word in data
    assert "files" in capsys.readouterr().err
    with zipfile.ZipFile(tmp_path / "package.zip") as zf:
        assert "INDEX_D.XML" in zf.namelist()
        assert zf.read("PHOTO/PIC/Thumbs.db")[:4] == b"\xd0\xcf\x11\xe0"


# -- through the real import, ingest and check -----------------------------------------------
# ``kura import`` (api.cli.imports.run_import) into a work made through the API, with the
# Celery tasks it enqueues run eagerly (ingest per file, the file re-index after the check);
# then every expectation comes from the generator's manifest and is read back through the API
# as the work's viewer member.
IMPORT_TO = "/納品"


async def _imported(
    world: World, settings: Settings, manifest: Manifest
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The work id and its file nodes by package path (as the API shows them)."""
    from api.cli.imports import run_import

    work = await world.work()
    result, _ = await run_import(
        settings, Path(manifest.root), work["id"], IMPORT_TO, "rename", "builder"
    )
    assert result.created == len(manifest.files)
    viewer = world.client("viewer")
    files: dict[str, dict[str, Any]] = {}
    nodes = NodeService(world.container)
    for entry in manifest.files:
        node = await nodes.by_path(work["id"], f"{IMPORT_TO}/{entry.path}")
        assert node is not None, entry.path
        r = await viewer.get(f"{API}/files/{node['id']}")
        assert r.status_code == 200, r.text
        files[entry.path] = r.json()
    # and no file the manifest does not list
    r = await viewer.get(f"{API}/works/{work['id']}/ingest")
    assert sum(r.json()["counts"].values()) == len(manifest.files)
    return str(work["id"]), files


def _flag(file: dict[str, Any], flag: str) -> bool:
    """Whether the file as the API shows it carries the manifest's ingest flag."""
    if flag == "type_mismatch":
        return file["type_mismatch"] is not None
    if flag == "empty":
        return file["size"] == 0 and bool(file["ingest"]["note"])
    return bool((file["extract"] or {}).get(flag))


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings, users=("supervisor", "manager", "viewer", "builder")) as w:
        yield w


@pytest.mark.anyio
async def test_generated_zip_imports_ingests_and_is_found(
    tmp_path: Path, world: World, settings: Settings
) -> None:
    defects = ("exe_as_pdf", "encrypted_pdf", "broken_pdf", "zero_byte", "kishu", "bad_name")
    manifest = generate(tmp_path / "gen", Options(files=60, seed=3, zip=True, defects=defects))
    work_id, files = await _imported(world, settings, manifest)
    viewer = world.client("viewer")
    # every file went through ingest without a pipeline failure
    assert {p: f["ingest"]["state"] for p, f in files.items()} == {
        entry.path: "done" for entry in manifest.files
    }
    r = await viewer.get(f"{API}/works/{work_id}/ingest")
    assert r.json()["counts"]["done"] == len(manifest.files)
    # the ingest flags the manifest promises, on the files it names, and on no others
    wanted = {
        (item["flag"], item["path"])
        for spec in manifest.defects.values()
        for item in spec["expected"]
        if item["source"] == "ingest"
    }
    assert len(wanted) == 4
    found = {(flag, p) for p, f in files.items() for flag, _ in wanted if _flag(f, flag)}
    assert found == wanted
    # the 電子納品 check names every finding the manifest expects from the validator
    r = await viewer.get(f"{API}/works/{work_id}/deliverables")
    [summary] = r.json()
    report = (await viewer.get(f"{API}/deliverables/{summary['id']}")).json()["report"]
    reported = {(f["check"], f["path"]) for f in report["findings"]}
    for spec in manifest.defects.values():
        for item in spec["expected"]:
            if item["source"] == "validate":
                assert (item["check"], item["path"]) in reported, item
    # each generated phrase is found in its file, highlighted on its page
    for phrase, (path, page) in manifest.phrases.items():
        r = await viewer.get(f"{API}/search", params={"q": phrase, "type": "file"})
        assert r.status_code == 200, r.text
        [hit] = [h for h in r.json()["hits"] if h["path"] == f"{IMPORT_TO}/{path}"]
        assert page in [h["page"] for h in hit["highlights"]], (phrase, hit["highlights"])


@pytest.mark.anyio
async def test_bad_date_package_is_checked_and_indexed(
    tmp_path: Path, world: World, settings: Settings
) -> None:
    """An impossible photo date (2025-02-30) is a finding, and the re-index the check enqueues
    still writes every file's document."""
    manifest = generate(tmp_path / "gen", Options(files=40, seed=3, defects=("bad_date",)))
    work_id, _ = await _imported(world, settings, manifest)
    viewer = world.client("viewer")
    [summary] = (await viewer.get(f"{API}/works/{work_id}/deliverables")).json()
    report = (await viewer.get(f"{API}/deliverables/{summary['id']}")).json()["report"]
    reported = {(f["check"], f["path"]) for f in report["findings"]}
    [item] = manifest.defects["bad_date"]["expected"]
    assert (item["check"], item["path"]) in reported
    # Management files (XML, DTD) are left out of a search unless asked for (issue 8 §3).
    params = {"type": "file", "limit": 1, "management": "true"}
    r = await viewer.get(f"{API}/search", params=params)
    assert r.json()["total"] == len(manifest.files)
