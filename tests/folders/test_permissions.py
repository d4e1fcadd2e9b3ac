"""Permission matrices of the folders, privacy, inspection and hand-over routers on the app as
``create_app`` builds it, with real sign-ins (``tests.support.perms``): anonymous 401, another
organization 404 (a work's existence is not revealed) or 403 (an organization's settings), a
user without the right 403 (404 where they may not even read the work), the one who may:
allowed. Refused calls store nothing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from api.config import Settings
from api.folders.router import router as folders_router
from api.folders.router_documents import router as documents_router
from api.handovers.router import router as handovers_router
from api.handovers.router_settings import router as settings_router
from api.inspections.router import router as inspections_router
from api.privacy.router import router as privacy_router
from tests.support.perms import API, ORDERER, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio

ROUTERS = (
    folders_router,
    documents_router,
    privacy_router,
    inspections_router,
    handovers_router,
    settings_router,
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
LOCATION = {
    "address": "広島県福山市春日町2丁目2番56号先",
    "municipality_code": "342076",
    "lat": 34.49,
    "lon": 133.36,
}
TEMPLATE = {"folders": [{"name": "施工計画", "doc_type": "施工計画書", "delivery": "PLAN"}]}
SETTINGS = {"uses_archive": True, "erasure_days": 30, "reminder_days": 7}


def v(key: str) -> Any:
    return lambda ids: {"version": int(ids[key])}


ROWS = [
    # folders (別表1-1 5)
    Row("GET", "/works/{work}/folders", allowed="viewer", refused=404),
    Row("POST", "/works/{work}/folders/seed", allowed="builder", denied="viewer", ok=201),
    Row(
        "POST",
        "/works/{work}/folders",
        allowed="builder",
        denied="viewer",
        ok=201,
        json={"name": "追加"},
    ),
    Row(
        "PATCH",
        "/folders/{ffolder}",
        allowed="builder",
        denied="viewer",
        fresh=True,
        json=lambda ids: {"version": int(ids["ffolder_v"]), "name": "改名"},
    ),
    Row(
        "DELETE",
        "/folders/{ffolder}?version={ffolder_v}&recursive=true",
        allowed="builder",
        denied="viewer",
        fresh=True,
    ),
    Row(
        "PATCH",
        "/documents/{fdoc}",
        allowed="builder",
        denied="viewer",
        fresh=True,
        json=lambda ids: {"version": int(ids["fdoc_v"]), "name": "改名.pdf"},
    ),
    Row(
        "DELETE",
        "/documents/{fdoc}?version={fdoc_v}",
        allowed="builder",
        denied="viewer",
        ok=204,
        fresh=True,
    ),
    Row(
        "POST",
        "/works/{work}/documents/move",
        allowed="builder",
        denied="viewer",
        fresh=True,
        json=lambda ids: {"node_ids": [ids["fdoc"]], "target_id": None},
    ),
    Row("POST", "/works/{work}/folders/file-proposals", allowed="builder", denied="viewer", ok=202),
    Row("GET", "/works/{work}/documents", allowed="viewer", refused=404, hidden="doc"),
    Row("GET", "/works/{work}/documents.csv", allowed="viewer", refused=404),
    Row("GET", "/works/{work}/documents.xlsx", allowed="viewer", refused=404),
    Row(
        "GET",
        "/folder-templates/{kind}?org_id={orderer}",
        allowed="plain",
        denied="builder",
        other_status=403,
    ),
    Row(
        "PUT",
        "/folder-templates/{kind}",
        allowed="keeper",
        denied="supervisor",
        other_status=403,
        json=lambda ids: {"org_id": ids[ORDERER], **TEMPLATE},
    ),
    Row(
        "DELETE",
        "/folder-templates/{kind}?org_id={orderer}",
        allowed="keeper",
        denied="supervisor",
        other_status=403,
    ),
    # personal data (§3-2)
    Row(
        "POST",
        "/privacy/checks",
        allowed="viewer",
        refused=404,
        json=lambda ids: {"kind": "file", "id": ids["doc"]},
    ),
    Row(
        "POST",
        "/privacy/checks/{check}/decision",
        allowed="builder",
        denied="viewer",
        json={"action": "kept", "reason": "見本のため"},
    ),
    Row("GET", "/works/{work}/privacy-checks", allowed="viewer", refused=404),
    # inspection (§5)
    Row("GET", "/works/{work}/inspection", allowed="viewer", refused=404),
    Row("POST", "/works/{work}/inspection/offline", allowed="viewer", refused=404),
    # hand-over (§4, §3-6, seed 000)
    Row("GET", "/works/{work}/handover", allowed="viewer", refused=404),
    Row(
        "PUT",
        "/works/{work}/handover/config",
        allowed="builder",
        denied="viewer",
        json={"content": "区画線工"},
    ),
    Row("POST", "/works/{work}/handover/packages", allowed="builder", denied="viewer", ok=202),
    Row("GET", "/handover-packages/{package}", allowed="viewer", refused=404),
    Row("GET", "/handover-packages/{package}/content", allowed="viewer", refused=404),
    Row(
        "POST",
        "/works/{erasing}/handover/erasure",
        allowed="manager",
        denied="builder",
        json={},
    ),
    Row(
        "POST",
        "/works/{done}/handover/transfer",
        allowed="supervisor",
        denied="builder",
        ok=202,
        json=lambda ids: {"package_id": ids["done_package"], "version": int(ids["done_v"])},
    ),
    Row(
        "GET",
        "/handover-settings?org_id={orderer}",
        allowed="supervisor",
        denied="builder",
        other_status=403,
    ),
    Row(
        "PUT",
        "/handover-settings",
        allowed="keeper",
        denied="supervisor",
        other_status=403,
        json=lambda ids: {"org_id": ids[ORDERER], **SETTINGS},
    ),
]


async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, (r.request.url, r.text)
    return r.json()


async def completed(world: World) -> dict[str, str]:
    """A completed work with a package without errors."""
    work = await world.work(location=LOCATION)
    builder, supervisor = world.client("builder"), world.client("supervisor")
    await ok(await builder.get(f"{API}/works/{work['id']}/folders"), 200)
    await ok(
        await builder.post(
            f"{API}/works/{work['id']}/files",
            files=[("file", ("計画.pdf", PDF, "application/pdf"))],
            data={"folder": "/02_施工計画書"},
        ),
        201,
    )
    package = await ok(await builder.post(f"{API}/works/{work['id']}/handover/packages"), 202)
    current = await ok(await supervisor.get(f"{API}/works/{work['id']}"))
    for step in ("in_progress", "completed"):
        current = await ok(
            await supervisor.post(
                f"{API}/works/{work['id']}/transition",
                json={"to": step, "version": current["version"]},
            )
        )
    done = current
    found = await ok(await supervisor.get(f"{API}/handover-packages/{package['id']}"))
    assert found["blocking"] == 0, found
    return {"id": work["id"], "package": package["id"], "version": str(done["version"])}


async def test_permission_matrix(settings: Settings) -> None:
    async with perm_world(settings) as world:
        assert uncovered(ROUTERS, ROWS) == []
        work = await world.work()
        wid = work["id"]
        builder = world.client("builder")
        listing = await ok(await builder.get(f"{API}/works/{wid}/folders"))
        assert listing["folders"], listing
        placed = await ok(
            await builder.post(
                f"{API}/works/{wid}/files",
                files=[
                    ("file", ("計画.pdf", PDF, "application/pdf")),
                    ("file", ("名簿.txt", "個人番号 1234 5678 9018".encode(), "text/plain")),
                ],
                data={"folder": "/02_施工計画書"},
            ),
            201,
        )
        doc, roster = placed[0]["id"], placed[1]["id"]
        check = await ok(
            await builder.post(f"{API}/privacy/checks", json={"kind": "file", "id": roster})
        )
        assert check["state"] == "warning", check
        package = await ok(await builder.post(f"{API}/works/{wid}/handover/packages"), 202)
        done = await completed(world)
        erasing = await completed(world)
        counter = itertools.count()

        async def fresh() -> dict[str, str]:
            n = next(counter)
            folder = await ok(
                await builder.post(f"{API}/works/{wid}/folders", json={"name": f"作業{n}"}), 201
            )
            [file] = await ok(
                await builder.post(
                    f"{API}/works/{wid}/files",
                    files=[("file", (f"書類{n}.pdf", PDF, "application/pdf"))],
                    data={"folder": folder["path"]},
                ),
                201,
            )
            current = await ok(await builder.get(f"{API}/files/{file['id']}"))  # after ingest
            return {
                "ffolder": folder["id"],
                "ffolder_v": str(folder["version"]),
                "fdoc": file["id"],
                "fdoc_v": str(current["version"]),
            }

        ids = {
            **world.base_ids(),
            "work": wid,
            "doc": doc,
            "check": check["id"],
            "package": package["id"],
            "done": done["id"],
            "done_package": done["package"],
            "done_v": done["version"],
            "erasing": erasing["id"],
            "kind": "construction",
        }
        await check_matrix(world, ROWS, ids, fresh)
