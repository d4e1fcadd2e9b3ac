"""Permission matrix of the archive routers (tree, files, export) on the app as
``create_app`` builds it, with real sign-ins (``tests.support.perms``).

Reading a work's files needs ``files.read`` (any member, or an org grant); a user who may not
read the work gets 404, so its existence is not revealed (architecture.md, Permissions).
Re-ingest needs ``files.write``: a viewer member gets 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.archive.router_export import router as export_router
from api.archive.router_files import router as files_router
from api.archive.router_tree import router as tree_router
from api.config import Settings
from tests.support.perms import Ids, Row, World, check_matrix, jpeg, perm_world, uncovered

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def read(method: str, path: str, ok: int = 200, **kw: Any) -> Row:
    """A read: a viewer member may; the same organization's user who is no member and has no
    grant gets 404 like the other organization's."""
    return Row(method, path, allowed="viewer", denied="plain", refused=404, ok=ok, **kw)


ROWS = [
    # tree
    read("GET", "/works/{work}/tree"),
    read("GET", "/nodes/{folder}/children"),
    read("GET", "/nodes/{photo}"),
    read("GET", "/works/{work}/outline"),
    read("GET", "/works/{work}/tree-by?key=doc_class"),
    read("GET", "/works/{work}/tree-by/files?key=doc_class"),
    # export
    read("GET", "/files/{photo}/content"),
    read("HEAD", "/files/{photo}/content"),
    read("GET", "/files/{photo}/thumbnail"),
    read("HEAD", "/files/{photo}/thumbnail"),
    read("POST", "/works/{work}/export", json={}),
    read("GET", "/works/{work}/listing.csv"),
    read("GET", "/works/{work}/listing.xlsx"),
    # files
    read("GET", "/files/{pdf}"),
    read("GET", "/works/{work}/ingest"),
    Row("POST", "/files/{pdf}/reingest", allowed="builder", denied="viewer", ok=202),
    Row("POST", "/files/{pdf}/reingest", allowed="supervisor", denied="plain", refused=404, ok=202),
]


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def archive_ids(w: World) -> Ids:
    work = await w.work()
    placed = await w.upload(
        work["id"],
        {"写真.jpg": (jpeg(), "image/jpeg"), "報告書.pdf": (PDF, "application/pdf")},
        folder="PHOTO/PIC",
    )
    by_name = {p["name"]: p for p in placed}
    folder = await w.client("viewer").get(f"/api/v1/nodes/{by_name['写真.jpg']['id']}")
    parent = folder.json()["breadcrumbs"][-2]["id"]
    return {
        "work": work["id"],
        "folder": parent,
        "photo": by_name["写真.jpg"]["id"],
        "pdf": by_name["報告書.pdf"]["id"],
    }


async def test_archive_matrix(world: World) -> None:
    await check_matrix(world, ROWS, await archive_ids(world))


def test_every_archive_endpoint_has_a_row() -> None:
    assert uncovered([tree_router, export_router, files_router], ROWS) == []


async def test_archived_work_is_read_by_archive_readers_only(world: World) -> None:
    """After archiving, a viewer member no longer reads the work (404), the organization's
    ``archive.read_org`` holder does; the other organization's still gets 404."""
    ids = await archive_ids(world)
    manager = world.client("manager")
    for step in ("in_progress", "completed", "archived"):
        work = (await manager.get(f"/api/v1/works/{ids['work']}")).json()
        r = await manager.post(
            f"/api/v1/works/{ids['work']}/transition",
            json={"to": step, "version": work["version"]},
        )
        assert r.status_code == 200, r.text
    rows = [
        Row(row.method, row.path, allowed="archivist", denied="viewer", refused=404, json=row.json)
        for row in ROWS
        if row.method in ("GET", "HEAD") or row.path.endswith("/export")
    ]
    await check_matrix(world, rows, ids)
