"""The 電子納品 package generated from a work (seed 001 §4) and checked by the same validator as
``kura validate`` (deliverables-and-bonds.md §2.2), MLIT and 農水 profiles as the work's 要領
says, 工事 (INDEX_C) and 業務 (INDEX_D)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli import validate
from indexer.extract.deliverable import ZipTree, validate_tree
from indexer.extract.deliverable.xmlread import parse
from tests.handovers.support import ORDERER_CODE, download, generate, ready_work, set_orderer_code
from tests.proposals.harness import API, BUILDER, INSP, SUP, VIEWER, Harness

pytestmark = pytest.mark.anyio


def kura_validate(path: Path, profile: str | None = None) -> tuple[int, int]:
    """``kura validate PATH [--profile P] --format json``: its exit code and E count."""
    group = click.Group()
    validate.register(group)
    args = ["validate", str(path), "--format", "json", *(["--profile", profile] if profile else [])]
    result = CliRunner().invoke(group, args)
    body = json.loads(result.output)
    return result.exit_code, int(body["counts"]["E"])


def text(zf: zipfile.ZipFile, name: str) -> str:
    return zf.read(name).decode("shift_jis")


def leaf(zf: zipfile.ZipFile, name: str, element: str) -> list[str]:
    doc = parse(zf.read(name))
    return ["".join(e.itertext()).strip() for e in doc.root.iter(element)]


async def test_a_construction_package_from_the_work_has_no_errors(
    h: Harness, tmp_path: Path
) -> None:
    """§4: 情報共有システムで扱った書類 … 仕様（フォルダ構成、ファイル名等）に従い電子成果品を作成:
    INDEX_C from the work's basic information (§1.4), MEET with MEET.XML and ORG from the
    decided proposals (their printed PDFs with the stamps, then the attached files), PLAN,
    PHOTO and OTHRS from the mapped folders, REGISTER (土木202003-01 and later, §1.1);
    zero E under the MLIT profile."""
    work = await ready_work(h)
    package = await generate(h, work["id"])
    assert package["state"] == "done", package
    assert package["profile"] == "mlit"
    assert package["standard"] == "土木202203-01"
    assert package["counts"]["E"] == 0, package["findings"]
    assert package["blocking"] == 0, package["notes"]
    zf = await download(h, package["id"])
    names = set(zf.namelist())
    for expected in (
        "INDEX_C.XML",
        "INDE_C08.DTD",
        "MEET/MEET.XML",
        "MEET/MEET05.DTD",
        "MEET/ORG/MEET0011.PDF",
        "MEET/ORG/MEET0012.XLSX",
        "PLAN/PLAN.XML",
        "PLAN/ORG/PLAN0011.PDF",
        "PHOTO/PHOTO.XML",
        "PHOTO/PIC/P0000001.JPG",
        "PHOTO/PIC/P0000003.JPG",
        "REGISTER/REGISTER.XML",
        "REGISTER/PRE-PIC.JPG",
        "REGISTER/POST-PIC.JPG",
        "OTHRS/OTHRS.XML",
        "OTHRS/ORG001/DOC00001.PDF",
    ):
        assert expected in names, (expected, sorted(names))
    # INDEX_C: the work's basic information (§1.4)
    index = "INDEX_C.XML"
    assert text(zf, index).startswith('<?xml version="1.0" encoding="Shift_JIS"?>')
    assert leaf(zf, index, "工事名称") == [work["title"]]
    assert leaf(zf, index, "工事番号") == [work["number"]]
    assert leaf(zf, index, "発注年度") == ["2026"]
    assert leaf(zf, index, "工期開始日") == ["2026-06-01"]
    assert leaf(zf, index, "住所コード") == ["34207"]
    assert leaf(zf, index, "発注者コード") == [ORDERER_CODE]
    assert leaf(zf, index, "発注者-大分類") == ["福山市"]
    assert leaf(zf, index, "受注者名") == ["春日建設株式会社"]
    assert leaf(zf, index, "工事業種")
    assert leaf(zf, index, "工事分野") == ["道路"]
    assert leaf(zf, index, "台帳フォルダ名") == ["REGISTER"]
    assert leaf(zf, index, "西側境界座標経度") == [
        "1332138"
    ]  # 133.3625 - 0.002 = 133.3605° = 133°21'37.8"
    # MEET: the decided proposal, its kind, dates and files
    assert leaf(zf, "MEET/MEET.XML", "打合せ簿名称") == ["区画線の施工時期について"]
    assert leaf(zf, "MEET/MEET.XML", "打合せ簿種類") == ["協議"]
    assert leaf(zf, "MEET/MEET.XML", "発行日付") == ["2026-06-08"]
    assert (
        leaf(zf, "MEET/MEET.XML", "打合せ簿オリジナルファイル日本語名")[1] == "施工時期比較表.xlsx"
    )
    assert zf.read("MEET/ORG/MEET0011.PDF").startswith(b"%PDF")
    # PHOTO: 写真区分 and 工種 from the sub-folders, 撮影年月日 from EXIF
    assert sorted(leaf(zf, "PHOTO/PHOTO.XML", "写真区分")) == [
        "施工状況写真",
        "施工状況写真",
        "着手前及び完成写真",
    ]
    assert "区画線工" in leaf(zf, "PHOTO/PHOTO.XML", "工種")
    assert sorted(leaf(zf, "PHOTO/PHOTO.XML", "撮影年月日")) == [
        "2026-06-08",
        "2026-06-09",
        "2026-06-12",
    ]
    # The same validator, run again here on the downloaded ZIP, agrees.
    path = tmp_path / "pkg.zip"
    r = await h.call(SUP, "GET", f"{API}/handover-packages/{package['id']}/content")
    path.write_bytes(r.content)
    with zipfile.ZipFile(path) as again:
        report = validate_tree(ZipTree(again))
    assert report.counts["E"] == 0
    assert report.index_kind == "C"
    # ... and so does `kura validate` itself, as an orderer would run it on the delivered ZIP
    assert kura_validate(path) == (0, 0)
    assert len(await h.audit("handovers.package_generated")) == 1


async def test_the_maff_profile_when_the_work_follows_the_maff_rules(
    h: Harness, tmp_path: Path
) -> None:
    """§1.10 / profiles: a work under the 農林水産省 要領 is checked strictly (unreferenced files
    are errors there) and has no REGISTER; still zero E."""
    work = await ready_work(h)
    await h.ok(
        BUILDER,
        "PUT",
        f"/works/{work['id']}/handover/config",
        json={"standard": "農業土木202303-01"},
    )
    package = await generate(h, work["id"])
    assert package["profile"] == "maff"
    assert package["counts"]["E"] == 0, package["findings"]
    zf = await download(h, package["id"])
    assert not any(n.startswith("REGISTER") for n in zf.namelist())
    r = await h.call(SUP, "GET", f"{API}/handover-packages/{package['id']}/content")
    path = tmp_path / "maff.zip"
    path.write_bytes(r.content)
    assert kura_validate(path, "maff") == (0, 0)


async def test_a_service_package_uses_index_d(h: Harness) -> None:
    """§1.3 / §1.5: a 業務 gets INDEX_D with REPORT (REPORTnn.PDF, originals in REPORT/ORG),
    PHOTO, and its decided 業務打合せ簿 under OTHRS."""
    work = await ready_work(h, kind="service")
    package = await generate(h, work["id"])
    assert package["counts"]["E"] == 0, package["findings"]
    zf = await download(h, package["id"])
    names = set(zf.namelist())
    assert {
        "INDEX_D.XML",
        "REPORT/REPORT.XML",
        "REPORT/REPORT01.PDF",
        "REPORT/ORG/REP00001.XLSX",
    } <= names
    assert leaf(zf, "INDEX_D.XML", "業務名称") == [work["title"]]
    assert "打合せ簿" in leaf(zf, "OTHRS/OTHRS.XML", "その他サブフォルダ日本語名")


async def test_what_the_work_lacks_blocks_the_package(h: Harness) -> None:
    """Bad input: no 発注者コード on the orderer, no location (境界座標): the package is made but
    carries blocking notes in the user's terms, and cannot be handed over."""
    work = await ready_work(h)
    await set_orderer_code(h, None)
    await h.ok(SUP, "PUT", f"/works/{work['id']}/handover/config", json={"bounds": None})
    package = await generate(h, work["id"], who=SUP)
    messages = [n["message"] for n in package["notes"] if n["level"] == "E"]
    assert any("発注者コード" in m for m in messages)
    assert package["blocking"] >= 1


async def test_settings_of_the_package_and_their_bad_input(h: Harness) -> None:
    work = await ready_work(h)
    wid = work["id"]
    overview = await h.ok(VIEWER, "GET", f"/works/{wid}/handover")
    assert overview["config"]["standard"] == "土木202203-01"
    assert (
        overview["config"]["bounds"]["north"] == "342940"
    )  # 34.4925 + 0.002 = 34.4945° = 34°29'40.2"
    assert overview["can"] == {"generate": False, "transfer": False, "erasure": False}
    for body, status in (
        ({"standard": "土木199901-01"}, 400),
        (
            {
                "bounds": {
                    "west": "1332200",
                    "east": "1332100",
                    "north": "342940",
                    "south": "342900",
                }
            },
            400,
        ),
        ({"bounds": {"west": "133", "east": "1332100", "north": "342940", "south": "342900"}}, 422),
        ({"register_pre": "01ABSENT000000000000000000"}, 404),
        ({"unknown": 1}, 422),
    ):
        r = await h.call(BUILDER, "PUT", f"{API}/works/{wid}/handover/config", json=body)
        assert r.status_code == status, (body, r.text)
    r = await h.call(INSP, "PUT", f"{API}/works/{wid}/handover/config", json={"content": "x"})
    assert r.status_code == 403
    saved = await h.ok(
        BUILDER,
        "PUT",
        f"/works/{wid}/handover/config",
        json={"content": "区画線工 L=1.2km", "facilities": ["春日橋"]},
    )
    assert saved["content"] == "区画線工 L=1.2km"
    assert saved["chosen"] == ["content", "facilities"]
    package = await generate(h, wid)
    zf = await download(h, package["id"])
    assert leaf(zf, "INDEX_C.XML", "工事内容") == ["区画線工 L=1.2km"]
    assert leaf(zf, "INDEX_C.XML", "施設名称") == ["春日橋"]
    # 使用文字 (§1.8): full-width digits and 機種依存文字 in the work's data are made to fit
    await h.ok(
        BUILDER, "PUT", f"/works/{wid}/handover/config", json={"content": "延長１２０ｍ　①工区"}
    )
    package = await generate(h, wid)
    zf = await download(h, package["id"])
    assert leaf(zf, "INDEX_C.XML", "工事内容") == ["延長120m 1工区"]
    assert package["counts"]["E"] == 0
