"""``kura validate PATH``: offline check of a ZIP or folder; exit 0 / 1 (E findings) / 2."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from api.cli import validate
from tests.datagen.fidelity import eicar
from tests.deliverables.packages import package, write_folder, write_zip
from tests.support.clamd import fake_clamd


def cli() -> click.Group:
    group = click.Group()
    validate.register(group)
    return group


def test_clean_folder_exits_zero(tmp_path: Path) -> None:
    folder = write_folder(package(), tmp_path / "pkg")
    result = CliRunner().invoke(cli(), ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "適用要領基準: 土木202203-01" in result.output
    # the one notice: no virus scanner configured (rule 29, never silently passed)
    assert "エラー 0件 / 警告 0件 / 通知 1件" in result.output
    assert "N [規則29]" in result.output
    assert "判定した要領: 工事完成図書の電子納品等要領（土木） R4.3" in result.output


def test_zip_with_errors_exits_one_and_json(tmp_path: Path) -> None:
    files = package()
    files["PHOTO/PIC/Thumbs.db"] = b"x"
    text = files["INDEX_C.XML"].decode("cp932").replace("市道", "①市道")
    files["INDEX_C.XML"] = text.encode("cp932")
    path = write_zip(files, tmp_path / "pkg.zip")
    result = CliRunner().invoke(
        cli(), ["validate", str(path), "--format", "json", "--profile", "maff"]
    )
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["profile"] == "maff"
    assert body["counts"]["E"] == 2
    assert {(f["rule"], f["path"], f["line"]) for f in body["findings"]} >= {
        (5, "PHOTO/PIC/Thumbs.db", None),
        (11, "INDEX_C.XML", 17),
    }
    text_out = CliRunner().invoke(cli(), ["validate", str(path)])
    assert text_out.exit_code == 1
    assert "E [規則11] INDEX_C.XML:17:" in text_out.output


def test_warnings_only_exit_zero(tmp_path: Path) -> None:
    files = package()
    text = files["INDEX_C.XML"].decode("cp932").replace("<住所コード>34101", "<住所コード>341")
    files["INDEX_C.XML"] = text.encode("cp932")
    result = CliRunner().invoke(cli(), ["validate", str(write_folder(files, tmp_path / "p"))])
    assert result.exit_code == 0
    assert "W [規則17]" in result.output


def test_virus_scan_with_clamd(tmp_path: Path) -> None:
    """Rule 29 through ``--clamd`` (a clamd protocol peer: real ClamAV needs signatures from
    the internet)."""
    files = package()
    files["OTHRS/ORG001/DOC001.PDF"] = eicar()
    folder = write_folder(files, tmp_path / "pkg")
    with fake_clamd() as (url, server):
        result = CliRunner().invoke(cli(), ["validate", str(folder), "--clamd", url])
    assert result.exit_code == 1, result.output
    assert "E [規則29] OTHRS/ORG001/DOC001.PDF: ウイルスが検出されました" in result.output
    assert server.scanned == len(files)
    bad = CliRunner().invoke(cli(), ["validate", str(folder), "--clamd", "http://x"])
    assert bad.exit_code == 2
    assert "clamd" in bad.output


def test_unusable_input_exits_two(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli(), ["validate", str(tmp_path / "nothing")]).exit_code == 2
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"PK\x03\x04 broken")
    assert runner.invoke(cli(), ["validate", str(not_zip)]).exit_code == 2
    text = tmp_path / "a.txt"
    text.write_text("hello")
    result = runner.invoke(cli(), ["validate", str(text)])
    assert result.exit_code == 2
    assert "読み込めません" in result.output


def test_empty_folder_is_an_e_finding(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli(), ["validate", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "INDEX_C.XMLまたはINDEX_D.XML" in result.output
