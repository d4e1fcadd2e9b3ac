"""The 電子納品 check record on the work (issue 8 §2): history per check, rule names and file
links, the printed result, the orderer's 受領確認 (audited, notified to the contractor), and the
move to the archive warning or, where the orderer's organization says so, refusing on errors.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pypdf import PdfReader

from api.config import Settings
from api.deliverables.package import analyse
from tests.deliverables.packages import package
from tests.deliverables.test_package_api import api, node_at, upload
from tests.works.harness import BUILDER, CLERK, MANAGER, ORDERER, Harness

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with api(settings) as harness:
        yield harness


def broken() -> dict[str, bytes]:
    """The clean package with a Thumbs.db (rule 5) and a missing MEET original (rule 18)."""
    files = package()
    files["PHOTO/PIC/Thumbs.db"] = b"x"
    del files["MEET/ORG/MEET0011.PDF"]
    return files


async def add_member(h: Harness, work: dict[str, Any], user_id: str, role: str) -> None:
    r = await h.call(
        MANAGER, "POST", f"/api/v1/works/{work['id']}/members",
        json={"user_id": user_id, "role": role},
    )  # fmt: skip
    assert r.status_code == 201, r.text


async def test_history_names_rules_and_links_files(h: Harness) -> None:
    work = await h.create(CLERK)
    await add_member(h, work, BUILDER.user_id, "contractor_member")
    await upload(h, work, broken(), "納品")
    root = await node_at(h, work["id"], "納品")
    first = await analyse(h.container, work["id"], root["id"])
    second = await analyse(h.container, work["id"], root["id"], "maff")

    # the contractor sees the record of its work, newest first
    got = await h.call(BUILDER, "GET", f"/api/v1/works/{work['id']}/checks")
    assert got.status_code == 200, got.text
    body = got.json()
    assert [c["id"] for c in body["items"]] == [second["id"], first["id"]]
    assert body["latest"]["id"] == second["id"]
    assert body["latest"]["root_path"] == "/納品"
    assert body["latest"]["counts"]["E"] >= 2
    assert body["latest"]["receipt"] is None
    assert body["can_receive"] is False  # the contractor does not receive its own package
    mine = await h.call(CLERK, "GET", f"/api/v1/works/{work['id']}/checks")
    assert mine.json()["can_receive"] is True  # the supervisor does

    detail = (await h.call(BUILDER, "GET", f"/api/v1/deliverables/{first['id']}")).json()
    thumbs = await node_at(h, work["id"], "納品/PHOTO/PIC/Thumbs.db")
    junk = next(f for f in detail["report"]["findings"] if f["path"] == "PHOTO/PIC/Thumbs.db")
    assert junk["rule"] == 5
    assert junk["title"] == "不要ファイル"
    assert junk["node_id"] == thumbs["id"]
    missing = next(f for f in detail["report"]["findings"] if f["rule"] == 18)
    assert missing["title"] == "ファイルの存在"
    # the file it names is not there: the link goes to the XML naming it, at its line
    meet = await node_at(h, work["id"], f"納品/{missing['path']}")
    assert missing["path"].endswith(".XML")
    assert missing["line"]
    assert missing["node_id"] == meet["id"]


async def test_report_pdf_prints_rule_names_links_and_receipt(h: Harness) -> None:
    work = await h.create(CLERK)
    await upload(h, work, broken(), "納品")
    root = await node_at(h, work["id"], "納品")
    rec = await analyse(h.container, work["id"], root["id"])
    r = await h.call(
        CLERK, "POST", f"/api/v1/deliverables/{rec['id']}/receipt",
        json={"version": 1, "note": "指摘は協議済み"},
    )  # fmt: skip
    assert r.status_code == 200, r.text

    pdf = await h.call(CLERK, "GET", f"/api/v1/deliverables/{rec['id']}/report.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    # JST in the file name: the harness clock stands at 2026-... UTC, +9 h
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(page.extract_text() for page in reader.pages)
    squashed = "".join(text.split())
    assert "電子納品検査結果" in squashed
    assert "規則5不要ファイル" in squashed
    assert "規則18ファイルの存在" in squashed
    assert "PHOTO/PIC/Thumbs.db" in squashed
    assert "受領確認済み" in squashed
    assert "指摘は協議済み" in squashed
    thumbs = await node_at(h, work["id"], "納品/PHOTO/PIC/Thumbs.db")
    links = [
        str(a.get_object()["/A"]["/URI"])
        for page in reader.pages
        for a in page.get("/Annots") or []
        if "/A" in a.get_object()
    ]
    assert f"http://127.0.0.1:8000/#/browse/{work['id']}/{thumbs['id']}" in links


async def test_receipt_is_the_orderers_audited_and_notified(h: Harness) -> None:
    work = await h.create(CLERK)
    await add_member(h, work, BUILDER.user_id, "contractor_member")
    await upload(h, work, package(), "")
    rec = await analyse(h.container, work["id"], work["id"])
    url = f"/api/v1/deliverables/{rec['id']}/receipt"
    builder = await h.container.records.get("users", BUILDER.user_id)
    assert builder is not None  # the harness's users carry no state: make this one active
    await h.container.records.update(
        "users", BUILDER.user_id, {"status": "active"}, int(builder["version"])
    )

    refused = await h.call(BUILDER, "POST", url, json={"version": 1})
    assert refused.status_code == 403
    stale = await h.call(MANAGER, "POST", url, json={"version": 7})
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"

    ok = await h.call(MANAGER, "POST", url, json={"version": 1})
    assert ok.status_code == 200, ok.text
    receipt = ok.json()["receipt"]
    assert receipt["by"] == MANAGER.user_id
    assert receipt["at"]
    again = await h.call(CLERK, "POST", url, json={"version": 2})
    assert again.status_code == 409
    events = await h.events("deliverables.received")
    assert len(events) == 1
    assert events[0]["target"] == f"deliverables/{rec['id']}"
    assert ORDERER in events[0]["org_ids"]

    # the contractor sees it, and was told
    seen = (await h.call(BUILDER, "GET", f"/api/v1/works/{work['id']}/checks")).json()
    assert seen["latest"]["receipt"]["by"] == MANAGER.user_id
    notes = await h.call(BUILDER, "GET", "/api/v1/notifications")
    assert any(n["kind"] == "deliverables.received" for n in notes.json()["items"])

    gone = await h.call(MANAGER, "DELETE", f"{url}?version=2")
    assert gone.status_code == 200
    assert gone.json()["receipt"] is None
    assert len(await h.events("deliverables.receipt_withdrawn")) == 1


async def move_to_archive(h: Harness, work: dict[str, Any]) -> Any:
    current = (await h.call(MANAGER, "GET", f"/api/v1/works/{work['id']}")).json()
    for to in ("in_progress", "completed", "archived"):
        if current["status"] == to:
            continue
        r = await h.call(
            MANAGER, "POST", f"/api/v1/works/{work['id']}/transition",
            json={"to": to, "version": current["version"]},
        )  # fmt: skip
        if r.status_code != 200:
            return r
        current = r.json()
    return current


async def set_block(h: Harness, on: bool) -> None:
    records = h.container.records
    org = await records.get("organizations", ORDERER)
    assert org is not None
    await records.update(
        "organizations", ORDERER, {"block_archive_on_errors": on}, int(org["version"])
    )


async def test_archive_warns_by_default_and_blocks_where_the_orderer_says(h: Harness) -> None:
    # default: errors only warn, the move goes through
    work = await h.create(CLERK)
    await upload(h, work, broken(), "")
    await analyse(h.container, work["id"], work["id"])
    done = await move_to_archive(h, work)
    assert isinstance(done, dict)
    assert done["status"] == "archived"

    await set_block(h, True)
    blocked = await h.create(CLERK)
    await upload(h, blocked, broken(), "")
    rec = await analyse(h.container, blocked["id"], blocked["id"])
    refused = await move_to_archive(h, blocked)
    assert not isinstance(refused, dict)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "archive_blocked"
    assert problem["deliverable_id"] == rec["id"]
    assert problem["errors"] >= 2
    still = (await h.call(MANAGER, "GET", f"/api/v1/works/{blocked['id']}")).json()
    assert still["status"] == "completed"

    # a clean check as the latest one lets it go
    clean = await h.create(CLERK)
    await upload(h, clean, package(), "")
    await analyse(h.container, clean["id"], clean["id"])
    assert (await move_to_archive(h, clean))["status"] == "archived"


async def test_organization_setting_round_trip(h: Harness) -> None:
    from tests.works.harness import OPERATOR

    made = await h.call(
        OPERATOR, "POST", "/api/v1/organizations",
        json={"kind": "orderer", "name": "三原市", "code": "34204001"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    org = made.json()
    assert org["block_archive_on_errors"] is False
    r = await h.call(
        OPERATOR, "PATCH", f"/api/v1/organizations/{org['id']}",
        json={"version": org["version"], "block_archive_on_errors": True},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["block_archive_on_errors"] is True
    events = await h.events("organizations.updated")
    assert events
    assert events[-1]["target"] == f"organizations/{org['id']}"
