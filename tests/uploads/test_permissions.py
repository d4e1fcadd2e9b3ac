"""Permission matrix of the upload endpoints (tus 1.0.0 and multipart) on the app as
``create_app`` builds it, with real sign-ins (``tests.support.perms``).

Starting an upload (tus creation, multipart) needs ``files.write`` on the work: a read-only
(viewer) member gets 403, a user who may not read the work 404. An upload URL belongs to the
user who created it: anyone else gets 404, as if it did not exist; its creator still needs
``files.write`` for every byte they send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from api.uploads.router import router as uploads_router
from tests.support.perms import API, Ids, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio

TUS = {"Tus-Resumable": "1.0.0"}
DATA = b"12345678"  # the length of every upload ``World.tus_upload`` opens
CREATE = {**TUS, "Upload-Length": "8", "Upload-Metadata": "filename dGVzdC50eHQ="}
PATCH = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
FILES = [("file", ("測点.txt", "測点 No.1".encode(), "text/plain"))]


def own(method: str, path: str, ok: int, **kw: Any) -> Row:
    """An upload URL: only its creator (``builder``) may use it; the viewer, a member of the
    same work who did not create it, gets 404 like the other organization's user."""
    return Row(method, path, allowed="builder", denied="viewer", refused=404, ok=ok, **kw)


ROWS = [
    Row("POST", "/works/{work}/uploads", allowed="builder", denied="viewer", ok=201,
        headers=CREATE),
    Row("POST", "/works/{work}/uploads", allowed="supervisor", refused=404, ok=201,
        headers=CREATE),
    Row("POST", "/works/{work}/uploads", allowed="builder", denied="viewer", ok=201,
        headers={**CREATE, "Content-Type": "application/offset+octet-stream"}, content=DATA),
    own("HEAD", "/uploads/{upload}", 200, headers=TUS),
    own("PATCH", "/uploads/{upload}", 204, headers=PATCH, content=DATA, fresh=True),
    own("DELETE", "/uploads/{upload}", 204, headers=TUS, fresh=True),
    own("POST", "/uploads/{upload}", 200, headers={**TUS, "X-HTTP-Method-Override": "HEAD"}),
    own("POST", "/uploads/{upload}", 204, fresh=True, content=DATA,
        headers={**PATCH, "X-HTTP-Method-Override": "PATCH"}),
    Row("POST", "/works/{work}/files", allowed="builder", denied="viewer", ok=201, files=FILES,
        data={"folder": "測量"}),
    Row("POST", "/works/{work}/files", allowed="supervisor", refused=404, ok=201, files=FILES,
        data={"folder": "測量", "on_conflict": "rename"}),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_uploads_matrix(world: World) -> None:
    work = await world.work()

    async def fresh() -> Ids:
        return {"upload": await world.tus_upload(work["id"])}

    await check_matrix(world, ROWS, {"work": work["id"], **(await fresh())}, fresh)


def test_every_upload_endpoint_has_a_row() -> None:
    assert uncovered([uploads_router], ROWS) == []


async def test_the_creator_needs_the_right_for_every_byte(world: World) -> None:
    """An upload started while its creator could write is refused once they cannot: made a
    viewer, 403 and nothing stored; removed from the work, 404."""
    work = await world.work()
    builder, supervisor = world.client("builder"), world.client("supervisor")
    first, second = await world.tus_upload(work["id"]), await world.tus_upload(work["id"])
    members = f"{API}/works/{work['id']}/members/{world.user_id('builder')}"
    r = await supervisor.patch(members, json={"role": "viewer", "version": 1})
    assert r.status_code == 200, r.text
    r = await builder.patch(f"{API}/uploads/{first}", headers=PATCH, content=DATA)
    assert r.status_code == 403, r.text
    head = await builder.head(f"{API}/uploads/{first}", headers=TUS)
    assert head.headers["upload-offset"] == "0"
    r = await supervisor.delete(members)
    assert r.status_code == 204, r.text
    r = await builder.patch(f"{API}/uploads/{second}", headers=PATCH, content=DATA)
    assert r.status_code == 404, r.text
    tree = await supervisor.get(f"{API}/works/{work['id']}/tree")
    assert tree.json()["items"] == []
