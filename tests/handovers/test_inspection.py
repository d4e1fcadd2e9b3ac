"""The electronic inspection (seed 001 §5): the proposals with their approval stamps beside the
document tree (§5(4)), and the offline package that opens without a server (§5(2))."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from tests.folders.support import PDF, decided, folders, upload
from tests.proposals.harness import API, BUILDER, INSP, STRANGER, Harness

pytestmark = pytest.mark.anyio


async def test_the_inspection_view_lists_proposals_with_their_stamps(h: Harness) -> None:
    work = await h.work()
    wid = work["id"]
    await folders(h, wid)
    await decided(h, wid)
    view = await h.ok(INSP, "GET", f"/works/{wid}/inspection")
    assert view["can_prepare"] is False  # the inspector reads; the contractor prepares (§5(3))
    [p] = view["proposals"]
    assert p["number"] == 1
    assert p["node_id"] is None
    assert [(s["name"], s["date"]) for s in p["stamps"]] == [
        ("監督 一郎", "2026/06/08"),
        ("総括 二郎", "2026/06/09"),
    ]
    assert (await h.ok(BUILDER, "GET", f"/works/{wid}/inspection"))["can_prepare"] is True
    await h.ok(BUILDER, "POST", f"/works/{wid}/folders/file-proposals", 202)
    view = await h.ok(INSP, "GET", f"/works/{wid}/inspection")
    assert view["proposals"][0]["node_id"]
    assert view["proposals"][0]["filed_current"] is True
    r = await h.call(STRANGER, "GET", f"{API}/works/{wid}/inspection")
    assert r.status_code == 404


async def test_the_offline_package_opens_without_a_server(h: Harness) -> None:
    """§5(2): the documents with folders and names kept (別表1-1 6(1)), the decided proposals,
    and an index.html whose data is inside the page (no request to any server)."""
    work = await h.work()
    wid = work["id"]
    await folders(h, wid)
    await upload(h, wid, "/02_施工計画書", "施工計画書.pdf", PDF, "application/pdf")
    await decided(h, wid, title="夜間施工の協議</script><b>")
    r = await h.call(INSP, "POST", f"{API}/works/{wid}/inspection/offline")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = zf.namelist()
    assert "index.html" in names
    assert "書類/02_施工計画書/施工計画書.pdf" in names
    assert "書類/10_工事写真/" in names  # empty folders are kept
    pdfs = [n for n in names if n.startswith("発議書類/")]
    assert pdfs == ["発議書類/", "発議書類/0001_夜間施工の協議__script__b_.pdf"]
    html = zf.read("index.html").decode()
    assert not re.search(r"(src|href)=\"https?://", html)
    payload = html.split('id="data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(payload.replace("<\\/", "</"))
    assert data["files"][0]["href"] == "書類/02_施工計画書/施工計画書.pdf"
    assert data["proposals"][0]["title"] == "夜間施工の協議</script><b>"
    assert "監督 一郎" in data["proposals"][0]["approvals"]
    assert len(await h.audit("inspections.offline_exported")) == 1
