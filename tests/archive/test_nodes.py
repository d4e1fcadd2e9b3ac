"""The archive core on the embedded backends: folders, files, content addressing, refcounts."""

from __future__ import annotations

import pytest

from api.archive.cas import OutsideScope, upload_key
from api.archive.models import BLOBS, NODES, blob_id
from api.archive.nodes import NameTaken, NodeService
from api.errors import ValidationFailed
from api.keys import scopes
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Query
from tests.archive.harness_tree import place_file
from tests.support.streams import chunks

pytestmark = pytest.mark.anyio

OPERATOR = Subject(
    "01OPERATOR0000000000000000", "admin", "01ORG00000000000000000000Z", OrgKind.OPERATOR
)


async def make_work(svc: NodeService) -> dict[str, object]:
    work = {"id": new_id(), "title": "道路改良工事", "status": "in_progress", "acl": []}
    return await svc.records.insert("works", work)


async def add(svc: NodeService, work: dict[str, object], folder: str, name: str, data: bytes):
    return await place_file(svc, OPERATOR, work, folder, name, data)


async def test_folders_files_dedupe_and_release(svc: NodeService) -> None:
    work = await make_work(svc)
    a = await add(svc, work, "PHOTO/PIC", "P0000001.JPG", b"same")
    b = await add(svc, work, "OTHRS", "copy.jpg", b"same")
    assert a["sha256"] == b["sha256"]
    scope = scopes.archive(str(work["id"]))
    assert a["scope"] == b["scope"] == scope
    blob = await svc.records.get(BLOBS, blob_id(scope, str(a["sha256"])))
    assert blob is not None
    assert blob["refs"] == 2
    assert blob["key"].startswith(f"s/{scope}/objects/")
    stored = [i async for i in svc.container.blobs.list(f"s/{scope}/objects/")]
    assert len(stored) == 1  # the second copy was dropped after commit

    page = await svc.children(str(work["id"]))
    assert [n["name"] for n in page.items] == ["OTHRS", "PHOTO"]
    pic = await svc.by_path(str(work["id"]), "PHOTO/PIC")
    assert pic is not None
    crumbs = await svc.breadcrumbs(a)
    assert [n["name"] for n in crumbs] == ["PHOTO", "PIC", "P0000001.JPG"]

    again = await add(svc, work, "PHOTO/PIC", "P0000001.JPG", b"other")
    assert again["name"] == "P0000001 (2).JPG"

    # The ingest job (eager) has updated the nodes since: delete their current versions.
    for node in (a, b):
        current = await svc.records.get(NODES, str(node["id"]))
        assert current is not None
        await svc.delete(OPERATOR, str(node["id"]), int(current["version"]))
    assert await svc.records.get(BLOBS, blob_id(scope, str(a["sha256"]))) is None
    assert await svc.records.count(NODES) == 4  # PHOTO, PIC, OTHRS, the renamed file


async def test_identical_content_is_stored_once_per_scope_never_across(svc: NodeService) -> None:
    """Issue 12 §1: content addressing stays, within a scope."""
    one, two = await make_work(svc), await make_work(svc)
    a = await add(svc, one, "A", "same.pdf", b"%PDF-1.4 same")
    b = await add(svc, two, "B", "same.pdf", b"%PDF-1.4 same")
    assert a["sha256"] == b["sha256"]
    blobs = (await svc.records.find(BLOBS, Query(limit=10))).items
    assert sorted(x["scope"] for x in blobs) == sorted(
        [scopes.archive(str(one["id"])), scopes.archive(str(two["id"]))]
    )
    assert all(x["refs"] == 1 and x["key"].startswith(f"s/{x['scope']}/") for x in blobs)
    assert len([i async for i in svc.container.blobs.list("s/")]) >= 2
    info = await svc.container.blobs.put(upload_key(str(a["scope"])), chunks(b"x"))
    async with svc.container.uow() as uow:
        with pytest.raises(OutsideScope):  # an object written outside the scope is refused
            await svc.add_file(OPERATOR, two, "B", "x.txt", info, uow=uow, scope=b["scope"])


async def test_rollback_deletes_the_new_object(svc: NodeService) -> None:
    work = await make_work(svc)

    async def failing() -> None:
        async with svc.container.uow() as uow:
            scope = scopes.archive(str(work["id"]))
            info = await svc.container.blobs.put(upload_key(scope), chunks(b"lost"))
            await svc.add_file(OPERATOR, work, "A", "a.txt", info, uow=uow, scope=scope)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing()
    assert [i async for i in svc.container.blobs.list("s/")] == []
    assert await svc.records.count(NODES) == 0
    assert await svc.records.count(BLOBS) == 0


@pytest.mark.parametrize(
    "name",
    # "請求書\u202efdp.exe" shows as "請求書exe.pdf" (issue 7 item 12)
    ["a/b", "nul\x00", "x" * 300, "..", "", "請求書\u202efdp.exe", "a\u200fb", "\u061cx"],
)
async def test_bad_names(svc: NodeService, name: str) -> None:
    work = await make_work(svc)
    with pytest.raises(ValidationFailed):
        await add(svc, work, "", name, b"x")
    assert await svc.records.count(BLOBS) == 0
    assert [i async for i in svc.container.blobs.list("objects/")] == []


async def test_file_in_place_of_folder(svc: NodeService) -> None:
    work = await make_work(svc)
    await add(svc, work, "", "A", b"x")
    with pytest.raises(NameTaken):
        await add(svc, work, "A", "b.txt", b"y")


async def test_legal_hold_blocks_deleting_a_file(svc: NodeService) -> None:
    from api.works.lifecycle import LegalHoldActive

    work = await make_work(svc)
    node = await add(svc, work, "A", "a.txt", b"kept")
    held = {"on": True, "reason": "訴訟対応", "by": OPERATOR.user_id}
    await svc.records.update("works", str(work["id"]), {"legal_hold": held}, int(work["version"]))
    node = await svc.records.get(NODES, str(node["id"]))
    assert node is not None
    with pytest.raises(LegalHoldActive):
        await svc.delete(OPERATOR, str(node["id"]), int(node["version"]))
    assert await svc.records.get(NODES, str(node["id"])) is not None
