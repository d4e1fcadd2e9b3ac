"""The 写真帳 of chosen photos (issue 8 §3 item 3): three photos to a page beside their
写真情報 as PHOTO.XML gives it (an impossible 撮影年月日 is printed as given and marked), page
numbers over the book, the photos embedded; bad choices refused with a reason."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from pypdf import PdfReader

from api.config import Settings
from api.deliverables.package import analyse
from tests.deliverables.packages import package
from tests.deliverables.test_package_api import api, node_at, upload
from tests.works.harness import CLERK, STRANGER, Harness

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with api(settings) as harness:
        yield harness


def images_on(page: object) -> int:
    resources = page["/Resources"]  # type: ignore[index]
    xobjects = resources.get("/XObject") or {}
    return sum(1 for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image")


async def test_photo_book_prints_photos_with_their_info(h: Harness) -> None:
    work = await h.create(CLERK)
    files = package()
    text = files["PHOTO/PHOTO.XML"].decode("cp932").replace("2026-05-10", "2026-02-30")
    files["PHOTO/PHOTO.XML"] = text.encode("cp932")
    await upload(h, work, files, "納品")
    root = await node_at(h, work["id"], "納品")
    await analyse(h.container, work["id"], root["id"])
    photos = [
        (await node_at(h, work["id"], f"納品/{p}"))["id"]
        for p in ("PHOTO/PIC/P0000001.JPG", "PHOTO/PIC/P0000002.JPG", "REGISTER/PRE-PIC.JPG",
                  "PHOTO/PIC/P0000001.JPG")
    ]  # fmt: skip
    r = await h.call(
        CLERK, "POST", f"/api/v1/works/{work['id']}/photo-book", json={"node_ids": photos}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E5%86%99%E7%9C%9F%E5%B8%B3_" in r.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 1  # three photos (the repeated one once) on one page
    text = "".join("".join(p.extract_text().split()) for p in reader.pages)
    assert "工事写真帳" in text
    assert "着手前全景" in text
    assert "掘削状況" in text
    assert "道路土工" in text
    assert "掘削工" in text
    assert "2026-04-06" in text
    assert "2026-02-30（日付として正しくありません）" in text
    assert "/納品/REGISTER/PRE-PIC.JPG" in text
    assert "1/1" in text  # the bundle's page numbers
    # the package's photos are one picture: stored once, drawn three times
    assert images_on(reader.pages[0]) == 1
    assert reader.pages[0].get_contents().get_data().count(b" Do") == 3


async def test_photo_book_refuses_what_is_not_a_photo_of_the_work(h: Harness) -> None:
    work = await h.create(CLERK)
    await upload(h, work, package(), "")
    xml = (await node_at(h, work["id"], "PHOTO/PHOTO.XML"))["id"]
    url = f"/api/v1/works/{work['id']}/photo-book"
    bad = await h.call(CLERK, "POST", url, json={"node_ids": [xml]})
    assert bad.status_code == 400
    assert "写真（画像）ではない" in bad.json()["detail"]
    none = await h.call(CLERK, "POST", url, json={"node_ids": []})
    assert none.status_code == 400
    other = await h.create(CLERK)
    foreign = await h.call(CLERK, "POST", f"/api/v1/works/{other['id']}/photo-book",
                           json={"node_ids": [xml]})  # fmt: skip
    assert foreign.status_code == 404
    stranger = await h.call(STRANGER, "POST", url, json={"node_ids": [xml]})
    assert stranger.status_code == 404
    many = await h.call(CLERK, "POST", url, json={"node_ids": [xml] * 301})
    assert many.status_code == 400


def test_info_rows_follow_photo_xml() -> None:
    """撮影箇所 and the levels as the reader stores them on the node (``meta``)."""
    from api.deliverables.photobook import info_rows

    node = {
        "path": "/PHOTO/PIC/P0000003.JPG",
        "meta": {
            "title": "床掘状況",
            "photo_path": ["工事", "施工状況写真", "道路土工", "掘削工"],
            "shooting_spot": "No.12+3.0",
            "photo_date": "2026-13-01",
        },
    }
    assert info_rows(node) == [
        ["写真タイトル", "床掘状況"],
        ["写真-大分類", "工事"],
        ["写真区分", "施工状況写真"],
        ["工種", "道路土工"],
        ["種別", "掘削工"],
        ["撮影箇所", "No.12+3.0"],
        ["撮影年月日", "2026-13-01（日付として正しくありません）"],
        ["ファイル", "/PHOTO/PIC/P0000003.JPG"],
    ]
