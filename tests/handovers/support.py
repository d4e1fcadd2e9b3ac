"""A work ready for the hand-over: the orderer's 発注者コード, a location, documents in the
mapped folders, a decided proposal with an Excel attachment."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl

from tests.folders.support import PDF, decided, folders, jpeg, upload
from tests.proposals.harness import API, BUILDER, ORDERER, SUP, Harness

ORDERER_CODE = "34207001"
LOCATION = {
    "address": "広島県福山市春日町2丁目2番56号先",
    "municipality_code": "342076",
    "lat": 34.4925,
    "lon": 133.3625,
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(*rows: list[Any]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def set_orderer_code(h: Harness, code: str | None = ORDERER_CODE) -> None:
    org = await h.container.records.get("organizations", ORDERER)
    assert org is not None
    await h.container.records.update("organizations", ORDERER, {"code": code}, org["version"])


async def ready_work(h: Harness, **over: Any) -> dict[str, Any]:
    """A running 工事 with documents in PLAN, PHOTO and OTHRS folders and a decided 打合せ簿."""
    await set_orderer_code(h)
    work = await h.work(location=LOCATION, category="道路", business_type="17", **over)
    wid = work["id"]
    await folders(h, wid)
    if work["kind"] == "construction":
        await upload(h, wid, "/02_施工計画書", "施工計画書（第1回）.pdf", PDF, "application/pdf")
        await upload(
            h,
            wid,
            "/10_工事写真/着手前及び完成写真",
            "着手前.jpg",
            jpeg("2026:06:08 09:00:00"),
            "image/jpeg",
        )
        await upload(
            h,
            wid,
            "/10_工事写真/施工状況写真/区画線工",
            "施工状況.jpg",
            jpeg("2026:06:09 10:00:00"),
            "image/jpeg",
        )
        await upload(h, wid, "/10_工事写真", "完成.jpg", jpeg("2026:06:12 15:00:00"), "image/jpeg")
        await upload(h, wid, "/07_品質管理", "品質証明書.pdf", PDF, "application/pdf")
    else:
        await upload(h, wid, "/04_報告書", "報告書.pdf", PDF, "application/pdf")
        await upload(h, wid, "/04_報告書", "数量計算.xlsx", xlsx(["数量", 1]), XLSX)
        await upload(h, wid, "/06_写真", "現地.jpg", jpeg("2026:06:09 10:00:00"), "image/jpeg")
    # an Excel file attached to the decided proposal goes with it as an original (MEET/ORG)
    sheet = await h.upload(
        BUILDER, wid, "施工時期比較表.xlsx", xlsx(["案", "時間帯"], ["A", "夜間"]), XLSX
    )
    await decided(h, wid, attachments=[{"id": sheet}])
    return await h.ok(SUP, "GET", f"/works/{wid}")  # type: ignore[no-any-return]


async def generate(h: Harness, work_id: str, who: Any = BUILDER) -> dict[str, Any]:
    queued = await h.ok(who, "POST", f"/works/{work_id}/handover/packages", 202)
    package: dict[str, Any] = await h.ok(who, "GET", f"/handover-packages/{queued['id']}")
    return package


async def download(h: Harness, package_id: str) -> zipfile.ZipFile:
    r = await h.call(SUP, "GET", f"{API}/handover-packages/{package_id}/content")
    assert r.status_code == 200, r.text
    return zipfile.ZipFile(io.BytesIO(r.content))


async def complete(h: Harness, work_id: str) -> dict[str, Any]:
    current = await h.ok(SUP, "GET", f"/works/{work_id}")
    done: dict[str, Any] = await h.ok(
        SUP,
        "POST",
        f"/works/{work_id}/transition",
        json={"to": "completed", "version": current["version"]},
    )
    return done
