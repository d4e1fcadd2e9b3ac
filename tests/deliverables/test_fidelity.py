"""電子納品 fidelity (issue 8 section 1), rule by rule over small packages.

Rule numbers are those of deliverables-and-bonds.md §2.2; the expected values below are read
from the reference (its sections are cited per test), not from the code under test.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from indexer.extract.deliverable import Report, WorkExpect, validate_tree
from indexer.extract.deliverable import dtd as D
from indexer.extract.deliverable.clamd import ClamdScanner
from indexer.extract.deliverable.content import Blackboard
from indexer.extract.deliverable.profiles import edition
from indexer.extract.deliverable.rules import RULES
from tests.datagen.fidelity import blackboard_xmp, eicar
from tests.deliverables.packages import jpeg, package, sjis, write_folder
from tests.support.clamd import fake_clamd


def run(tmp_path: Path, files: dict[str, bytes], **kw: object) -> Report:
    return validate_tree(write_folder(files, tmp_path / "pkg"), "mlit", **kw)  # type: ignore[arg-type]


def edit(files: dict[str, bytes], path: str, old: str, new: str) -> dict[str, bytes]:
    text = files[path].decode("cp932")
    assert old in text, old
    files[path] = text.replace(old, new).encode("cp932")
    return files


def found(report: Report, check: str) -> list[tuple[str | None, str, str]]:
    return [(f.path, f.severity, f.message) for f in report.findings if f.check == check]


# item 1: the DTD of the declared version (rule 10) --------------------------------------------
def test_every_bundled_dtd_parses_and_cites_its_source() -> None:
    names = D.bundled()
    for stem in ("INDE_C05", "INDE_C06", "INDE_C07", "INDE_C08", "INDE_D05", "PHOTO05"):
        assert f"{stem}.DTD" in names
    for stem in ("DRAW05", "MEET05", "OTHRS05", "PLAN05", "REP05", "REGIST06"):
        assert f"{stem}.DTD" in names
    for name in names:
        dtd = D.load(name)
        assert "deliverables-and-bonds.md §1" in dtd.source, name
        assert dtd.elements
    assert D.load("PHOTO05.DTD").complete  # the element list §1.6 gives in full
    assert not D.load("INDE_C08.DTD").complete


def test_missing_required_element_of_the_declared_version(tmp_path: Path) -> None:
    """R4.3 (INDE_C08) added 工事担当課 to 発注者情報 (§1.1 [V]): missing there is an E; the same
    INDEX declaring version 07 does not need it, and an 07 package carrying it is a notice."""
    files = edit(package(), "INDEX_C.XML", "<工事担当課>道路整備課</工事担当課>\n", "")
    c08 = found(run(tmp_path / "a", files), "xml.structure")
    assert c08 == [
        (
            "INDEX_C.XML",
            "E",
            "「発注者情報」に必須要素「工事担当課」がありません（INDE_C08.DTD）。",
        )
    ]
    files = edit(files, "INDEX_C.XML", 'DTD_version="08"', 'DTD_version="07"')
    files = edit(files, "INDEX_C.XML", "INDE_C08.DTD", "INDE_C07.DTD")
    files["INDE_C07.DTD"] = files.pop("INDE_C08.DTD")
    report = run(tmp_path / "b", files)
    assert found(report, "xml.structure") == []
    assert report.dtds["INDEX_C.XML"] == "INDE_C07.DTD"
    with_section = edit(dict(package()), "INDEX_C.XML", 'DTD_version="08"', 'DTD_version="07"')
    unknown = found(run(tmp_path / "c", with_section), "xml.unknown")
    assert [(p, s) for p, s, _ in unknown] == [("INDEX_C.XML", "N")]
    assert "工事担当課" in unknown[0][2]


def test_complete_dtd_refuses_order_and_undeclared_elements(tmp_path: Path) -> None:
    """PHOTO05.DTD (§1.6) fixes order and membership: 撮影情報 before 代表写真, no 独自タグ."""
    files = edit(
        package(),
        "PHOTO/PHOTO.XML",
        "<代表写真>0</代表写真><提出頻度写真>0</提出頻度写真>\n</写真情報>\n</photodata>",
        "<提出頻度写真>0</提出頻度写真><代表写真>0</代表写真><独自タグ>x</独自タグ>\n"
        "</写真情報>\n</photodata>",
    )
    report = run(tmp_path, files)
    messages = [m for _, s, m in found(report, "xml.structure") if s == "E"]
    assert any("独自タグ" in m and "PHOTO05.DTD" in m for m in messages)
    files = edit(files, "PHOTO/PHOTO.XML", "<独自タグ>x</独自タグ>", "")
    order = [m for _, _, m in found(run(tmp_path / "b", files), "xml.structure")]
    assert order == [
        "「写真情報」の子要素の順序または回数がPHOTO05.DTDと異なります（定義: "
        "(写真ファイル情報,撮影工種区分,付加情報*,撮影情報,代表写真,提出頻度写真,施工管理値?,"
        "(請負者説明文|受注者説明文)?)）。"
    ]


def test_unbundled_version_is_said_not_passed(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", 'DTD_version="08"', 'DTD_version="09"')
    files = edit(files, "MEET/MEET.XML", 'DTD_version="05"', 'DTD_version="04"')
    report = run(tmp_path, files)
    notes = {p: m for p, s, m in found(report, "xml.nodtd") if s == "N"}
    assert "INDE_C08.DTDで検査しました" in notes["INDEX_C.XML"]
    assert "構造（要素の構成）は検査していません" in notes["MEET/MEET.XML"]


# item 2: REGISTER from 土木202003-01 (§1.1, §2.1) --------------------------------------------
def _without_register(code: str) -> dict[str, bytes]:
    files = {k: v for k, v in package().items() if not k.startswith("REGISTER/")}
    files = edit(files, "INDEX_C.XML", "<台帳フォルダ名>REGISTER</台帳フォルダ名>\n", "")
    for name in ("INDEX_C.XML", "PHOTO/PHOTO.XML"):
        edit(files, name, "土木202203-01", code)
    return files


@pytest.mark.parametrize(
    ("code", "required"),
    [("土木202003-01", True), ("土木202303-01", True), ("土木201603-01", False)],
)
def test_register_mandatory_from_r2_3(tmp_path: Path, code: str, required: bool) -> None:
    report = validate_tree(write_folder(_without_register(code), tmp_path / "p"))
    errors = {(f.check, f.path) for f in report.findings if f.severity == "E"}
    want = {("required", "INDEX_C.XML"), ("register", "REGISTER")}
    assert (want <= errors) == required
    assert not errors - want
    if required:
        assert any("台帳フォルダ名" in m for _, _, m in found(report, "required"))


def test_empty_register_folder_passes(tmp_path: Path) -> None:
    """§2.1: "an empty REGISTER folder passes" with 台帳フォルダ名 declared."""
    files = {k: v for k, v in package().items() if not k.startswith("REGISTER/")}
    files["REGISTER/"] = b""
    report = run(tmp_path, files)
    assert [f.check for f in report.findings if f.severity != "N"] == []


# item 3: files no management XML names (rule 4) ----------------------------------------------
def test_unreferenced_files_are_listed_and_reported(tmp_path: Path) -> None:
    files = package()
    files["MEET/ORG/MEET0021.PDF"] = b"%PDF-1.4"
    files["ICON/POINTS.LAS"] = b"LASF"  # a standard folder whose XML is missing
    files["EXTRA/README.TXT"] = b"x"
    report = run(tmp_path, files)
    paths = {p for p, s, _ in found(report, "unreferenced") if s == "N"}
    assert paths == {"MEET/ORG/MEET0021.PDF", "ICON/POINTS.LAS", "EXTRA"}
    assert set(report.unreferenced) == {
        "MEET/ORG/MEET0021.PDF",
        "ICON/POINTS.LAS",
        "EXTRA/README.TXT",
    }
    assert "MEET/ORG/MEET0021.PDF" not in report.files


# item 4: 8.3 only where required; patterns per folder; declared ORG folders ----------------
def test_names_per_folder(tmp_path: Path) -> None:
    files = package()
    files = edit(
        files,
        "INDEX_C.XML",
        "<打合せ簿オリジナルファイルフォルダ名>MEET/ORG",
        "<打合せ簿オリジナルファイルフォルダ名>MEET/ORIG",
    )
    files["MEET/ORIG/MEET0011.PDF"] = files.pop("MEET/ORG/MEET0011.PDF")
    files = edit(files, "MEET/MEET.XML", "MEET0011.PDF", "MEET0011.PDF")
    files["MEET/ORIG/MEMO.PDF"] = b"%PDF-1.4"  # in the declared ORG folder: MEETnnnm.XXX
    files["SURVEY/OTHERSOYO/OYO00001.SIM"] = b"A00,"  # 測量成果: long folder names are legal
    files["DRAWINGF/S1LC001Z.DXF"] = b"0"  # CH-119: not an SXF name
    files["DRAWINGF/C0PL001Z.P21"] = b"ISO-10303-21;"
    files["OTHRS/DOCS/DOC002.PDF"] = b"%PDF-1.4"  # OTHRS sub-folders are ORGnnn
    files["OTHRS/ORG001/SHEET001.XLSX"] = b"PK"  # originals may have 4-letter extensions
    report = run(tmp_path, files)
    names = {p for p, _, _ in found(report, "name")}
    patterns = {p for p, _, _ in found(report, "name.pattern")}
    folders = {p for p, _, _ in found(report, "folder.pattern")}
    assert names == set()
    assert patterns == {"MEET/ORIG/MEMO.PDF", "DRAWINGF/S1LC001Z.DXF"}
    assert folders == {"OTHRS/DOCS"}
    assert found(report, "missing_file") == []  # MEET0011.PDF found in the declared folder


# item 5: 機種依存文字 whatever the encoding; Shift_JIS required --------------------------------
def test_utf8_management_xml_is_checked_and_reported(tmp_path: Path) -> None:
    files = package()
    text = files["MEET/MEET.XML"].decode("cp932").replace("Shift_JIS", "UTF-8")
    files["MEET/MEET.XML"] = text.replace("施工計画の協議", "施工計画の協議①𠮷").encode()
    report = run(tmp_path, files)
    assert found(report, "encoding") == [
        ("MEET/MEET.XML", "E", "管理ファイルの文字コードはShift_JISにしてください（宣言: UTF-8）。")
    ]
    assert [(p, s) for p, s, _ in found(report, "char.platform")] == [("MEET/MEET.XML", "E")]
    assert [(p, s) for p, s, _ in found(report, "char.outside")] == [("MEET/MEET.XML", "E")]


def test_wave_dash_in_utf8_is_not_platform_dependent(tmp_path: Path) -> None:
    files = package()
    text = files["MEET/MEET.XML"].decode("cp932").replace("施工計画の協議", "4月～5月の協議")
    files["MEET/MEET.XML"] = text.encode("cp932")
    assert found(run(tmp_path, files), "char.platform") == []


# item 6: severities as §2.2 gives them --------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "mlit", "maff"),
    [
        ("length", "E", "E"),  # rule 13 (E)
        ("enum.category", "E", "E"),  # rule 15 (E): 写真-大分類
        ("enum.datum", "E", "E"),  # rule 15 (E): 測地系 codes
        ("pdf_security", "E", "E"),  # rule 24 (E)
        ("char.fullwidth", "E", "E"),  # rule 11 (E)
        ("unreferenced", "N", "E"),  # rule 4 (N, or E in the 農水 profile)
        ("date.range", "W", "E"),  # rule 14 (E in 農水, W in MLIT)
        ("index.case", "W", "W"),  # rule 1 (W if not upper case)
        ("address_code", "W", "W"),  # rule 17 (W)
        ("jpeg.pixels", "W", "W"),  # rule 22 (W)
        ("exif_date", "W", "W"),  # rule 23 (W)
        ("blackboard", "W", "W"),  # rule 25 (W)
    ],
)
def test_severities_of_section_2_2(check: str, mlit: str, maff: str) -> None:
    rule = RULES[check]
    assert (rule.severity("mlit"), rule.severity("maff")) == (mlit, maff)


def test_datum_and_category_are_errors(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", "<測地系>02", "<測地系>03")
    files = edit(
        files,
        "PHOTO/PHOTO.XML",
        "<写真-大分類>工事</写真-大分類><写真区分>施工",
        "<写真-大分類>工作</写真-大分類><写真区分>施工",
    )
    report = run(tmp_path, files)
    assert [s for _, s, _ in found(report, "enum.datum")] == ["E"]
    assert [s for _, s, _ in found(report, "enum.category")] == ["E"]


# item 7: whole JPEGs, 小黒板情報, virus scan ----------------------------------------------------
def test_truncated_jpeg_is_an_error(tmp_path: Path) -> None:
    files = package()
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 20, 200)).save(image, "JPEG", quality=95)
    whole = image.getvalue()
    files["PHOTO/PIC/P0000002.JPG"] = whole[: len(whole) * 2 // 3]  # header intact
    report = run(tmp_path, files)
    assert found(report, "jpeg") == [
        (
            "PHOTO/PIC/P0000002.JPG",
            "E",
            "写真ファイルがJPEGとして読めません（途中で切れています）: PHOTO/PIC/P0000002.JPG",
        )
    ]


def _with_xmp(data: bytes, xmp: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        im.save(out, "JPEG", exif=im.getexif(), xmp=xmp)
    return out.getvalue()


class _Verifier:
    name = "test"

    def __init__(self, ok: bool) -> None:
        self.ok = ok
        self.seen: list[Blackboard] = []

    def verify(self, data: bytes, board: Blackboard) -> bool:
        self.seen.append(board)
        return self.ok


def test_blackboard_hash_where_claimed(tmp_path: Path) -> None:
    files = package()
    board = {"Title": "掘削状況", "ConstructionType": "道路土工"}
    files["PHOTO/PIC/P0000001.JPG"] = _with_xmp(
        files["PHOTO/PIC/P0000001.JPG"], blackboard_xmp(board, with_hash=True)
    )
    files["PHOTO/PIC/P0000002.JPG"] = _with_xmp(
        files["PHOTO/PIC/P0000002.JPG"], blackboard_xmp(board, with_hash=False)
    )
    report = run(tmp_path, files)
    assert [(p, s) for p, s, _ in found(report, "blackboard")] == [("PHOTO/PIC/P0000002.JPG", "W")]
    [(_, severity, message)] = found(report, "blackboard.unverified")
    assert severity == "N"
    assert "1枚" in message
    failing = _Verifier(ok=False)
    report = validate_tree(tmp_path / "pkg", "mlit", verifier=failing)
    assert failing.seen[0].fields["Title"] == "掘削状況"
    assert failing.seen[0].hash_code
    assert {p for p, _, _ in found(report, "blackboard")} == {
        "PHOTO/PIC/P0000001.JPG",
        "PHOTO/PIC/P0000002.JPG",
    }
    assert found(report, "blackboard.unverified") == []
    assert found(
        validate_tree(tmp_path / "pkg", "mlit", verifier=_Verifier(True)), "blackboard"
    ) == [
        (
            "PHOTO/PIC/P0000002.JPG",
            "W",
            "小黒板情報がありますが改ざん検知値（hashCode）がありません: PHOTO/PIC/P0000002.JPG",
        )
    ]


def test_virus_scan_through_clamd(tmp_path: Path) -> None:
    files = package()
    files["OTHRS/ORG001/DOC001.PDF"] = eicar()
    folder = write_folder(files, tmp_path / "pkg")
    with fake_clamd() as (url, server):
        scanner = ClamdScanner(url)
        assert scanner.ping()
        report = validate_tree(folder, "mlit", scanner=scanner)
        assert server.scanned == len(files)
    assert report.scan == "infected"
    assert found(report, "virus") == [
        (
            "OTHRS/ORG001/DOC001.PDF",
            "E",
            "ウイルスが検出されました（Win.Test.EICAR_HDB-1）: OTHRS/ORG001/DOC001.PDF",
        )
    ]
    # a scanner that cannot be reached is a warning per file, never a pass
    gone = ClamdScanner(url, timeout_s=2)
    report = validate_tree(folder, "mlit", scanner=gone)
    assert report.scan == "error"
    assert {s for _, s, _ in found(report, "virus.error")} == {"W"}
    with fake_clamd(limit=10) as (small, _):
        report = validate_tree(folder, "mlit", scanner=ClamdScanner(small))
    assert any("size limit" in m or "接続" in m for _, _, m in found(report, "virus.error"))


def test_clamd_address_is_checked() -> None:
    with pytest.raises(ValueError, match="tcp://"):
        ClamdScanner("http://127.0.0.1:3310")


# item 8: SURVEY / DRAWINGF read, CH-120 ---------------------------------------------------------
DRAWINGF = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE drawingfdata SYSTEM "DRAW05.DTD">
<drawingfdata DTD_version="05">
<図面情報><図面名>平面図</図面名><図面ファイル名>C0PL001Z.P21</図面ファイル名><図面種類>平面図</図面種類><尺度>1:500</尺度>{loc}</図面情報>
<図面情報><図面名>構造図</図面名><図面ファイル名>C0ST001Z.P21</図面ファイル名><図面種類>構造図</図面種類><尺度>1:100</尺度></図面情報>
</drawingfdata>
"""
LOCATION = (
    "<境界座標情報><西側境界座標経度>1322700</西側境界座標経度><東側境界座標経度>1322830"
    "</東側境界座標経度><北側境界座標緯度>342430</北側境界座標緯度><南側境界座標緯度>342330"
    "</南側境界座標緯度></境界座標情報><基準点情報><基準点名称>KP1</基準点名称></基準点情報>"
)


def _with_drawings(loc: str) -> dict[str, bytes]:
    files = package()
    files = edit(
        files,
        "INDEX_C.XML",
        "<台帳フォルダ名>",
        "<完成図フォルダ名>DRAWINGF</完成図フォルダ名>\n<台帳フォルダ名>",
    )
    files["DRAWINGF/DRAWINGF.XML"] = sjis(DRAWINGF.format(loc=loc))
    files["DRAWINGF/DRAW05.DTD"] = b"<!-- dtd -->"
    files["DRAWINGF/C0PL001Z.P21"] = b"ISO-10303-21;"
    files["DRAWINGF/C0ST001Z.P21"] = b"ISO-10303-21;"
    return files


def test_located_drawings_need_bounds_and_control_points(tmp_path: Path) -> None:
    """NILIM Q&A CH-120 [V] (§1.7): 位置図, 平面図, 一般図 carry 境界座標 and 基準点情報; the
    構造図 does not need them."""
    report = run(tmp_path / "a", _with_drawings(LOCATION))
    assert found(report, "drawing.location") == []
    ref = report.files["DRAWINGF/C0PL001Z.P21"]
    assert (ref.title, ref.meta["drawing_kind"], ref.meta["scale"]) == ("平面図", "平面図", "1:500")
    report = run(tmp_path / "b", _with_drawings(""))
    assert found(report, "drawing.location") == [
        (
            "DRAWINGF/DRAWINGF.XML",
            "E",
            "平面図の図面「C0PL001Z.P21」には境界座標と基準点情報が必要です（CH-120）。",
        )
    ]


def test_survey_xml_names_its_files(tmp_path: Path) -> None:
    """§1.3 [C]: SURVEY/<sub>/SURV_*.XML name the 測量成果ファイル of their folder (rule 18)."""
    files = {
        k.replace("INDEX_C", "INDEX_D").replace("INDE_C08", "INDE_D05"): v
        for k, v in package().items()
        if k.startswith(("PHOTO/", "INDE"))
    }
    index = files["INDEX_D.XML"].decode("cp932")
    index = re.sub(r"<打合せ簿.*?\n|<台帳.*?\n|<その他.*?\n", "", index)
    index = index.replace("constdata", "projectdata").replace("INDE_C08", "INDE_D05")
    index = index.replace("工事名称", "業務名称").replace("工期開始日", "履行期間-着手")
    index = index.replace("工期終了日", "履行期間-完了").replace("工事件名等", "業務件名等")
    index = index.replace('DTD_version="08"', 'DTD_version="05"').replace(
        "<工事担当課>道路整備課</工事担当課>\n", ""
    )
    index = index.replace(
        "</基礎情報>", "<測量データフォルダ名>SURVEY</測量データフォルダ名>\n</基礎情報>"
    )
    files["INDEX_D.XML"] = index.encode("cp932")
    survey = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n<!DOCTYPE surveydata SYSTEM "SURV05.DTD">\n'
        '<surveydata DTD_version="05"><測量情報><測量区分>基準点測量</測量区分>'
        "<測量記録フォルダパス名>SURVEY/KITEN</測量記録フォルダパス名></測量情報></surveydata>\n"
    )
    sub = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n<!DOCTYPE surveydata SYSTEM "SURV05.DTD">\n'
        '<surveydata DTD_version="05"><測量成果情報><測量成果名称>基準点測量成果</測量成果名称>'
        "</測量成果情報><成果ファイル情報><測量成果ファイル名>KTN00001.SIM</測量成果ファイル名>"
        "<測量成果ファイル名副題>基準点 1</測量成果ファイル名副題></成果ファイル情報>"
        "<成果ファイル情報><測量成果ファイル名>KTN00002.SIM</測量成果ファイル名></成果ファイル情報>"
        "</surveydata>\n"
    )
    files["SURVEY/SURVEY.XML"] = sjis(survey)
    files["SURVEY/SURV05.DTD"] = b"<!-- dtd -->"
    files["SURVEY/KITEN/SURV_KTN.XML"] = sjis(sub)
    files["SURVEY/KITEN/SURV05.DTD"] = b"<!-- dtd -->"
    files["SURVEY/KITEN/KTN00001.SIM"] = b"A00,"
    report = run(tmp_path, files)
    assert report.index_kind == "D"
    assert [(p, m) for p, _, m in found(report, "missing_file")] == [
        (
            "SURVEY/KITEN/SURV_KTN.XML",
            "SURVEY/KITEN/SURV_KTN.XMLに記載のファイルがありません: SURVEY/KITEN/KTN00002.SIM",
        )
    ]
    ref = report.files["SURVEY/KITEN/KTN00001.SIM"]
    assert ref.title == "基準点 1"
    assert "基準点測量成果" in ref.names


# item 9: INDEX fields and media ---------------------------------------------------------------
def test_index_fields_read(tmp_path: Path) -> None:
    files = edit(
        package(),
        "INDEX_C.XML",
        "<工事内容>道路改良 L=120m</工事内容>",
        "<工事内容>道路改良 L=120m</工事内容>\n<施工金額>125000000</施工金額>\n"
        "<契約番号>K-12</契約番号>",
    )
    files = edit(
        files,
        "INDEX_C.XML",
        "<測地系>02</測地系>",
        "<測地系>02</測地系>\n<水系-路線情報><対象水系路線名>市道中央線</対象水系路線名>"
        "<測点情報><起点側測点-n>0</起点側測点-n><終点側測点-n>6</終点側測点-n></測点情報>"
        "</水系-路線情報>",
    )
    report = run(tmp_path, files)
    fields = report.fields
    assert (fields["施工金額"], fields["契約番号"]) == ("125000000", "K-12")
    assert (fields["メディア番号"], fields["メディア総枚数"]) == (1, 1)
    assert fields["水系-路線情報"] == [
        {"対象水系路線名": "市道中央線", "起点側測点-n": "0", "終点側測点-n": "6"}
    ]
    assert "市道中央線" in report.text_names
    assert [f.check for f in report.findings if f.severity != "N"] == []


def _volumes(files: dict[str, bytes], both: bool = True) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    first = edit(dict(files), "INDEX_C.XML", "<メディア総枚数>1", "<メディア総枚数>2")
    second = edit(dict(first), "INDEX_C.XML", "<メディア番号>1", "<メディア番号>2")
    photo = first["PHOTO/PHOTO.XML"].decode("cp932")
    # the 2nd photo is on the 2nd medium
    photo = photo.replace(
        "P0000002.JPG</写真ファイル名><メディア番号>1",
        "P0000002.JPG</写真ファイル名><メディア番号>2",
    )
    for rel, data in first.items():
        if rel == "PHOTO/PIC/P0000002.JPG":
            continue
        out[f"VOL1/{rel}"] = photo.encode("cp932") if rel == "PHOTO/PHOTO.XML" else data
    if both:
        for rel in ("INDEX_C.XML", "INDE_C08.DTD", "PHOTO/PHOTO05.DTD"):
            out[f"VOL2/{rel}"] = second[rel]
        out["VOL2/PHOTO/PHOTO.XML"] = photo.encode("cp932")
        out["VOL2/PHOTO/PIC/P0000002.JPG"] = files["PHOTO/PIC/P0000002.JPG"]
    return out


def test_multi_volume_package_is_checked_as_one(tmp_path: Path) -> None:
    """§1.4 メディア番号 / メディア総枚数: the media of one package combine."""
    report = run(tmp_path / "a", _volumes(package()))
    assert report.volumes == {1: "VOL1", 2: "VOL2"}
    assert [f.check for f in report.findings if f.severity != "N"] == []
    assert "VOL2/PHOTO/PIC/P0000002.JPG" in report.files
    assert report.files["VOL2/PHOTO/PIC/P0000002.JPG"].media == 2
    # only the first medium here: the other one's files are not "missing" (a notice)
    report = run(tmp_path / "b", _volumes(package(), both=False))
    assert found(report, "missing_file") == []
    [(_, severity, message)] = found(report, "media.absent")
    assert severity == "N"
    assert "2枚目" in message
    assert "1件" in message


# item 10: the package belongs to its work (rule 30) -------------------------------------------
def test_package_against_its_work(tmp_path: Path) -> None:
    folder = write_folder(package(), tmp_path / "pkg")
    same = WorkExpect("市道中央線道路改良工事", "R8-001", "広島県", "02107999")
    report = validate_tree(folder, "mlit", expect=same)
    assert [f.check for f in report.findings if f.rule == 30] == []
    other = WorkExpect("県道東部線舗装工事", None, "岡山県", "33000001")
    report = validate_tree(folder, "mlit", expect=other)
    got = {f.check: (f.severity, f.message) for f in report.findings if f.rule == 30}
    assert got["work.orderer"][0] == "W"
    assert "02107999" in got["work.orderer"][1]
    assert "岡山県" in got["work.orderer"][1]
    assert got["work.title"] == (
        "W",
        "工事名称「市道中央線道路改良工事」がこの工事・業務の名称「県道東部線舗装工事」と一致しません。",
    )
    by_name = WorkExpect("市道中央線道路改良工事", None, "岡山県", None)  # no code on record
    report = validate_tree(folder, "mlit", expect=by_name)
    assert [f.check for f in report.findings if f.rule == 30] == ["work.orderer"]
    by_name = WorkExpect("市道中央線 道路改良工事", None, "広島県 土木建築局", None)
    report = validate_tree(folder, "mlit", expect=by_name)
    assert [f.check for f in report.findings if f.rule == 30] == []


# item 11: trees ----------------------------------------------------------------------------------
def test_trees_from_the_xml(tmp_path: Path) -> None:
    files = edit(
        package(),
        "PHOTO/PHOTO.XML",
        "<代表写真>0</代表写真><提出頻度写真>0</提出頻度写真>\n</写真情報>\n</photodata>",
        "<代表写真>1</代表写真><提出頻度写真>0</提出頻度写真>\n</写真情報>\n</photodata>",
    )
    report = run(tmp_path, files)
    tree = report.photo_tree()
    levels = []
    node = tree[0]
    while True:
        levels.append(node["level"])
        if not node["children"]:
            break
        node = node["children"][0]
    assert levels == ["写真-大分類", "写真区分", "工種", "種別", "写真タイトル"]
    from indexer.extract.deliverable.photos import photo_tree

    only = photo_tree(report.files.values(), representative=True)
    assert only[0]["count"] == 1
    meet = report.meet_tree()
    assert (meet[0]["level"], meet[0]["label"]) == ("打合せ簿種類", "協議")
    assert (meet[0]["children"][0]["level"], meet[0]["children"][0]["label"]) == (
        "発行日付",
        "2026-04-10",
    )
    assert meet[0]["children"][0]["files"][0]["file"] == "MEET/ORG/MEET0011.PDF"
    othrs = report.othrs_tree()
    assert (othrs[0]["label"], othrs[0]["children"][0]["label"]) == ("品質証明", "品質証明書")


# item 12: the profile by (要領 family, 適用要領基準) ----------------------------------------
@pytest.mark.parametrize(
    ("kind", "code", "severity", "register", "known"),
    [
        ("C", "土木202203-01", "mlit", True, True),
        ("C", "土木202003-01", "mlit", True, True),
        ("C", "土木201603-01", "mlit", False, True),
        ("D", "土木202203-01", "mlit", False, True),
        ("C", "農業土木202303-01", "maff", False, True),
        ("C", "農道202303-01", "mlit", False, False),  # 農 in an unknown prefix is not 農水
        ("C", "土木2022-03", "mlit", False, False),
        ("C", None, "mlit", False, False),
    ],
)
def test_profile_by_family_and_edition(
    kind: str, code: str | None, severity: str, register: bool, known: bool
) -> None:
    got = edition(kind, code)
    assert (got.severity, got.register_required, got.known) == (severity, register, known)


def test_unknown_standard_is_reported(tmp_path: Path) -> None:
    files = package()
    for name in ("INDEX_C.XML", "PHOTO/PHOTO.XML"):
        edit(files, name, "土木202203-01", "農道202303-01")
    report = validate_tree(write_folder(files, tmp_path / "p"))
    assert report.profile == "mlit"
    [(_, severity, message)] = found(report, "enum.standard")
    assert severity == "N"
    assert "農道202303-01" in message


def test_jpeg_helper_still_valid() -> None:
    assert jpeg().startswith(b"\xff\xd8")
