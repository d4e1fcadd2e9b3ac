"""The §2.2 rules over small packages, as a folder and as a ZIP, under both profiles."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from indexer.extract.deliverable import Report, ZipTree, validate_tree
from indexer.extract.deliverable.rules import Finding, Profile
from tests.deliverables.packages import INDEX_C, PHOTO, jpeg, package, sjis, write_folder, write_zip


class _Cp932Info(zipfile.ZipInfo):
    """Writes its name in CP932 without the UTF-8 flag, like Japanese Windows zippers."""

    __slots__ = ()

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp932"), self.flag_bits


def run(tmp_path: Path, files: dict[str, bytes], profile: Profile = "mlit") -> Report:
    return validate_tree(write_folder(files, tmp_path / "pkg"), profile)


def noted(report: Report) -> list[Finding]:
    """The findings besides the rule 29 notice that no virus scanner is configured (every
    run without a scanner carries it: a scan not run is never reported as passed)."""
    return [f for f in report.findings if f.check != "virus.not_run"]


def checks(report: Report) -> dict[str, str]:
    """check -> severity of its first finding."""
    out: dict[str, str] = {}
    for f in report.findings:
        out.setdefault(f.check, f.severity)
    return out


def edit(files: dict[str, bytes], path: str, old: str, new: str) -> dict[str, bytes]:
    text = files[path].decode("cp932")
    assert old in text, old
    files[path] = text.replace(old, new).encode("cp932")
    return files


@pytest.mark.parametrize("profile", ["mlit", "maff"])
def test_clean_package_passes(tmp_path: Path, profile: Profile) -> None:
    report = run(tmp_path, package(), profile)
    assert noted(report) == []
    assert [f.check for f in report.findings] == ["virus.not_run"]
    assert report.scan == "not_run"
    assert report.index_kind == "C"
    assert report.dtd_version == "08"
    assert report.fields["発注者コード"] == "02107999"


def test_zip_with_wrapping_folder_and_cp932_names(tmp_path: Path) -> None:
    files = package()
    path = write_zip(files, tmp_path / "p.zip", prefix="納品/")
    report = validate_tree(path, "mlit")
    assert report.root == "納品"
    assert noted(report) == []
    assert "納品/PHOTO/PIC/P0000001.JPG" in report.files
    # a CP932 name without the UTF-8 flag
    with zipfile.ZipFile(tmp_path / "q.zip", "w") as zf:
        zf.writestr(_Cp932Info("資料.TXT"), b"x")
    names = [e.path for e in ZipTree(tmp_path / "q.zip").entries()]
    assert names == ["資料.TXT"]


def test_unsafe_zip_entries_not_read(tmp_path: Path) -> None:
    files = package()
    path = write_zip(files, tmp_path / "p.zip")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../evil.txt", b"x")
        zf.writestr("/abs.txt", b"x")
    report = validate_tree(path, "mlit")
    bad = [f for f in report.findings if f.rule == 26]
    assert len(bad) == 2
    assert all(f.severity == "E" for f in bad)


def test_platform_chars_and_halfwidth_kana(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", "市道中央線", "市道①ｺｳｼﾞ")
    report = run(tmp_path, files)
    got = {(f.check, f.line, f.column) for f in report.findings}
    assert ("char.platform", 17, 9) in got
    assert ("char.halfkana", 17, 10) in got
    assert all(f.rule == 11 and f.severity == "E" for f in report.findings if f.line == 17)


def test_fullwidth_alnum_is_an_error_in_every_element(tmp_path: Path) -> None:
    """§2.2 rule 11 (E): 全角 fields take no full-width digits or Latin (§1.8 使用文字), in
    every element, under both profiles (issue 8 items 5 and 6)."""
    files = edit(package(), "PHOTO/PHOTO.XML", "掘削状況", "掘削状況Ｎｏ１")
    files = edit(files, "PHOTO/PHOTO.XML", "No.10+5.0</撮影箇所>", "Ｎｏ.10+5.0</撮影箇所>")
    files = edit(files, "INDEX_C.XML", "中央橋", "中央橋（Ａ橋）")
    report = run(tmp_path, files, "mlit")
    found = {(f.path, f.message[:6], f.severity) for f in report.findings if f.rule == 11}
    assert ("PHOTO/PHOTO.XML", "写真タイトル", "E") in found
    assert ("PHOTO/PHOTO.XML", "撮影箇所に全", "E") in found
    assert ("INDEX_C.XML", "施設名称に全", "E") in found
    assert checks(validate_tree(tmp_path / "pkg", "maff"))["char.fullwidth"] == "E"


def test_required_field_missing(tmp_path: Path) -> None:
    files = edit(
        package(),
        "INDEX_C.XML",
        "<工事名称>市道中央線道路改良工事</工事名称>",
        "<工事名称></工事名称>",
    )
    files = edit(files, "PHOTO/PHOTO.XML", "<写真タイトル>掘削状況</写真タイトル>", "")
    report = run(tmp_path, files)
    req = [(f.path, f.message) for f in report.findings if f.rule == 12]
    assert ("INDEX_C.XML", "必須項目「工事名称」が記入されていません。") in req
    # an element left out entirely is a DTD finding (rule 10), not reported twice
    dtd = [(f.path, f.message) for f in report.findings if f.rule == 10]
    assert dtd == [
        (
            "PHOTO/PHOTO.XML",
            "「撮影工種区分」に必須要素「写真タイトル」がありません（PHOTO05.DTD）。",
        )
    ]
    assert not [f for f in report.findings if f.rule == 12 and "写真タイトル" in f.message]


def test_network_doctype_and_entities_are_findings(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", '"INDE_C08.DTD"', '"http://127.0.0.1:9/INDE_C08.DTD"')
    files = edit(
        files,
        "PHOTO/PHOTO.XML",
        '"PHOTO05.DTD">',
        '"PHOTO05.DTD" [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>',
    )
    report = run(tmp_path, files)
    c = checks(report)
    assert c["dtd"] == "E"
    assert c["xml.entities"] == "E"
    assert any("取得しません" in f.message for f in report.findings if f.rule == 2)


def test_malformed_xml(tmp_path: Path) -> None:
    files = edit(package(), "MEET/MEET.XML", "</打合せ簿情報>", "</打合せ簿>")
    report = run(tmp_path, files)
    bad = [f for f in report.findings if f.rule == 9]
    assert bad
    assert bad[0].path == "MEET/MEET.XML"
    assert bad[0].line == 5


def test_impossible_date(tmp_path: Path) -> None:
    files = edit(package(), "PHOTO/PHOTO.XML", "2026-05-10", "2024-02-30")
    report = run(tmp_path, files)
    assert checks(report)["date.format"] == "E"


@pytest.mark.parametrize(("profile", "severity"), [("mlit", "W"), ("maff", "E")])
def test_photo_date_outside_period(tmp_path: Path, profile: Profile, severity: str) -> None:
    files = edit(package(), "PHOTO/PHOTO.XML", "2026-05-10", "2028-01-05")
    files["PHOTO/PIC/P0000002.JPG"] = jpeg("2028:01:05 09:00:00")
    report = run(tmp_path, files, profile)
    found = [f for f in report.findings if f.check == "date.range"]
    assert [f.severity for f in found] == [severity]
    assert found[0].rule == 14
    assert "2028-01-05" in found[0].message


def test_missing_referenced_file_and_case(tmp_path: Path) -> None:
    files = package()
    del files["MEET/ORG/MEET0011.PDF"]
    files["PHOTO/PIC/p0000002.jpg"] = files.pop("PHOTO/PIC/P0000002.JPG")
    report = run(tmp_path, files)
    missing = [f for f in report.findings if f.rule == 18]
    assert len(missing) == 2
    assert all(f.severity == "E" for f in missing)
    assert any("大文字・小文字" in f.message for f in missing)
    assert any(f.check == "name" for f in report.findings)  # lower case name breaks rule 7


def test_duplicate_serial(tmp_path: Path) -> None:
    files = edit(
        package(),
        "PHOTO/PHOTO.XML",
        "<シリアル番号>2</シリアル番号>",
        "<シリアル番号>1</シリアル番号>",
    )
    assert checks(run(tmp_path, files))["serial"] == "E"


def test_bad_names_subfolder_and_junk(tmp_path: Path) -> None:
    files = package()
    files["OTHRS/ORG001/品質証明書.PDF"] = b"%PDF-1.4"
    files["PHOTO/PIC/SUB/P0000009.JPG"] = jpeg()
    files["PHOTO/PIC/Thumbs.db"] = b"x"
    files["__MACOSX/._INDEX_C.XML"] = b"x"
    files["PHOTO/PIC/IMG_1234.JPG"] = jpeg()
    report = run(tmp_path, files)
    c = checks(report)
    assert c["name"] == "E"
    assert c["subfolder"] == "E"
    assert c["junk"] == "E"
    assert c["name.pattern"] == "E"
    junk = {f.path for f in report.findings if f.rule == 5}
    assert junk == {"PHOTO/PIC/Thumbs.db", "__MACOSX"}
    assert {f.path for f in report.findings if f.rule == 6} == {"PHOTO/PIC/SUB"}


def test_both_or_neither_index(tmp_path: Path) -> None:
    files = package()
    files["INDEX_D.XML"] = files["INDEX_C.XML"]
    report = run(tmp_path, files)
    assert [f.rule for f in report.findings if f.severity == "E"][:1] == [1]
    files = package()
    del files["INDEX_C.XML"]
    report = validate_tree(write_folder(files, tmp_path / "none"), "mlit")
    assert report.findings[0].rule == 1
    assert report.findings[0].severity == "E"


def test_lowercase_index_name_warns(tmp_path: Path) -> None:
    files = package()
    files["index_c.xml"] = files.pop("INDEX_C.XML")
    assert checks(run(tmp_path, files))["index.case"] == "W"


def test_orderer_code_and_address_code(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", "02107999", "2107999")
    files = edit(files, "INDEX_C.XML", "<住所コード>34101", "<住所コード>3410")
    c = checks(run(tmp_path, files))
    assert c["orderer_code"] == "E"
    assert c["address_code"] == "W"


def test_bounds_out_of_range(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", "1322830", "1602830")  # 160°E: not Japan
    files = edit(files, "INDEX_C.XML", "342330", "346330")  # 63 minutes
    report = run(tmp_path, files)
    bounds = [f for f in report.findings if f.rule == 16]
    assert len(bounds) == 1
    assert "日本の範囲外" in bounds[0].message
    assert "形式" in bounds[0].message


def test_unreferenced_notice_in_mlit_error_in_maff(tmp_path: Path) -> None:
    files = package()
    files["MEET/ORG/MEET0021.PDF"] = b"%PDF-1.4"
    files["EXTRA/README.TXT"] = b"x"
    assert checks(run(tmp_path, files, "mlit"))["unreferenced"] == "N"
    report = validate_tree(tmp_path / "pkg", "maff")
    assert {f.path for f in report.findings if f.rule == 4} == {"EXTRA", "MEET/ORG/MEET0021.PDF"}
    assert checks(report)["unreferenced"] == "E"


def test_content_checks(tmp_path: Path) -> None:
    files = package()
    files["PHOTO/PIC/P0000001.JPG"] = b"not a jpeg"
    files["PHOTO/PIC/P0000002.JPG"] = jpeg("2025:01:01 00:00:00")
    files["MEET/ORG/MEET0011.PDF"] = b"%PDF-1.4\ntrailer<</Encrypt 5 0 R>>\n%%EOF"
    files["PHOTO/DRA/D0000002.JPG"] = jpeg()
    report = run(tmp_path, files, "maff")
    c = checks(report)
    assert c["jpeg"] == "E"
    assert c["exif_date"] == "W"
    assert c["pdf_security"] == "E"
    assert c["dra_unused"] == "E"
    # §2.2 rule 24 is an E under both profiles (issue 8 item 6)
    assert checks(validate_tree(tmp_path / "pkg", "mlit"))["pdf_security"] == "E"


def test_photo_structure_and_enums(tmp_path: Path) -> None:
    files = edit(package(), "PHOTO/PHOTO.XML", "<代表写真>0</代表写真>", "<代表写真>2</代表写真>")
    files = edit(
        files,
        "PHOTO/PHOTO.XML",
        "<提出頻度写真>0</提出頻度写真>\n</写真情報>\n</photodata>",
        "\n</写真情報>\n</photodata>",
    )
    files = edit(files, "PHOTO/PHOTO.XML", "施工状況写真", "適当写真")
    report = run(tmp_path, files)
    c = checks(report)
    assert c["enum"] == "E"
    assert c["xml.structure"] == "E"
    assert any("提出頻度写真" in f.message for f in report.findings if f.rule == 10)


def test_profile_from_applied_standard_and_counts(tmp_path: Path) -> None:
    files = edit(package(), "INDEX_C.XML", "<工期終了日>2027-03-15", "<工期終了日>2026-04-30")
    report = validate_tree(write_folder(files, tmp_path / "p"))
    assert report.profile == "mlit"
    assert report.counts == {"E": 0, "W": 1, "N": 1}  # the photo date; no virus scanner
    for name in ("INDEX_C.XML", "PHOTO/PHOTO.XML"):
        edit(files, name, "<適用要領基準>土木202203-01", "<適用要領基準>農業土木202303-01")
    report = validate_tree(write_folder(files, tmp_path / "q"))
    assert report.profile == "maff"
    assert report.counts["E"] == 1
    assert report.to_dict()["counts"] == report.counts
    assert PHOTO
    assert INDEX_C
    assert sjis("") == b""


def test_xml_titles_are_stored_without_bidi_controls() -> None:
    """Issue 7 item 12: names read from a package's XML cannot be refused one by one, so bidi
    controls are dropped before they reach node meta (they would make titles display as
    something else)."""
    from api.deliverables.package import node_meta
    from indexer.extract.deliverable.refs import FileRef

    ref = FileRef(
        xml="INDEX_C.XML",
        name="A.PDF",
        folder="MEET",
        doc_class="meeting",
        line=1,
        column=1,
        title="打合せ簿\u202efdp.exe",
        names=("福山\u2066市\u2069",),
        photo_path=("工事\u200f写真",),
    )
    meta = node_meta(ref, "d1", "MEET/A.PDF")
    assert meta["title"] == "打合せ簿fdp.exe"
    assert meta["names"] == ["福山市"]
    assert meta["photo_path"] == ["工事写真"]
