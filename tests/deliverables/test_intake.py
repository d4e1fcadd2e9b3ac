"""Importing packages into a work's tree: structure kept, resumable, all-or-nothing."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.archive.models import BLOBS, NODES
from api.config import Settings
from api.container import Container
from api.deliverables.intake import (
    IMPORTS,
    ImportFailed,
    ImportService,
    import_zip_node,
    zip_target,
)
from api.deliverables.unpack import Plan, UnpackError, open_zip, scan_folder, scan_zip
from api.kit.ids import new_id
from storage.query import Eq, Query, Record
from tests.deliverables.zips import lying_sizes, make_zip
from tests.support.jobs import RecordingJobs  # no ingest runs in these tests

pytestmark = pytest.mark.anyio
ACTOR = "01ACTOR000000000000000000Z"


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    c = Container(settings, jobs=RecordingJobs())
    await c.open()
    try:
        yield c
    finally:
        await c.close()


async def make_work(c: Container) -> Record:
    return await c.records.insert(
        "works", {"id": new_id(), "title": "道路改良工事", "status": "in_progress", "acl": []}
    )


def zip_plan(data: bytes) -> Plan:
    return scan_zip(open_zip(io.BytesIO(data)))


async def paths(c: Container, work: Record) -> dict[str, Record]:
    page = await c.records.find(NODES, Query(where=(Eq("work_id", work["id"]),), limit=1000))
    return {str(n["path"]): n for n in page.items}


async def objects(c: Container) -> list[str]:
    return [i.key async for i in c.blobs.list("objects/")]


PACKAGE = [
    ("INDEX_C.XML", b"<constdata/>"),
    ("PHOTO/PIC/P0000001.JPG", b"jpeg-1"),
    ("PHOTO/PIC/P0000002.JPG", b"jpeg-2"),
    ("PHOTO/DRA/", b""),
    ("MEET/打合せ簿.pdf", b"%PDF-1"),
    ("OTHRS/copy.jpg", b"jpeg-1"),
]


async def test_import_keeps_structure_and_is_resumable(container: Container) -> None:
    work = await make_work(container)
    svc = ImportService(container, batch_files=2)
    seen: list[int] = []
    result = await svc.run(ACTOR, work, "/納品", zip_plan(make_zip(PACKAGE)), progress=seen.append)
    assert (result.state, result.created, result.skipped) == ("done", 5, 0)
    assert sum(seen) == sum(len(d) for _, d in PACKAGE)
    nodes = await paths(container, work)
    assert set(nodes) == {
        "/納品",
        "/納品/INDEX_C.XML",
        "/納品/MEET",
        "/納品/MEET/打合せ簿.pdf",
        "/納品/OTHRS",
        "/納品/OTHRS/copy.jpg",
        "/納品/PHOTO",
        "/納品/PHOTO/DRA",
        "/納品/PHOTO/PIC",
        "/納品/PHOTO/PIC/P0000001.JPG",
        "/納品/PHOTO/PIC/P0000002.JPG",
    }
    assert nodes["/納品/OTHRS/copy.jpg"]["meta"] == {"import_id": result.import_id}
    copy_sha = nodes["/納品/OTHRS/copy.jpg"]["sha256"]
    blob = await container.records.get(BLOBS, str(copy_sha))
    assert blob is not None
    assert blob["refs"] == 2
    assert len(await objects(container)) == 4
    jobs = container.jobs
    assert isinstance(jobs, RecordingJobs)
    assert [t for t, _ in jobs.sent] == ["ingest.file"] * 5
    record = await container.records.get(IMPORTS, result.import_id)
    assert record is not None
    assert record["state"] == "done"
    assert record["created"] == 5

    again = await svc.run(ACTOR, work, "/納品", zip_plan(make_zip(PACKAGE)))
    assert (again.created, again.skipped, again.folders) == (0, 5, 0)
    assert len(await paths(container, work)) == 11


async def test_conflicts_rename_replace_error(container: Container) -> None:
    work = await make_work(container)
    svc = ImportService(container)
    await svc.run(ACTOR, work, "/", zip_plan(make_zip([("a.txt", b"old"), ("b.txt", b"b")])))
    changed = make_zip([("a.txt", b"new!"), ("b.txt", b"b")])

    with pytest.raises(ImportFailed) as info:
        await svc.run(ACTOR, work, "/", zip_plan(changed), on_conflict="error")
    assert info.value.findings[0].path == "/a.txt"
    assert "すでにあります" in info.value.detail
    assert len(await paths(container, work)) == 2

    renamed = await svc.run(ACTOR, work, "/", zip_plan(changed), on_conflict="rename")
    assert (renamed.created, renamed.skipped) == (1, 1)
    assert "/a (2).txt" in await paths(container, work)

    old_sha = (await paths(container, work))["/a.txt"]["sha256"]
    replaced = await svc.run(ACTOR, work, "/", zip_plan(changed), on_conflict="replace")
    assert (replaced.replaced, replaced.skipped) == (1, 1)
    nodes = await paths(container, work)
    assert nodes["/a.txt"]["size"] == 4
    assert await container.records.get(BLOBS, str(old_sha)) is None  # hold released at the end


async def test_failure_midway_rolls_back_everything(container: Container) -> None:
    work = await make_work(container)
    svc = ImportService(container, batch_files=2)
    await svc.run(ACTOR, work, "/", zip_plan(make_zip([("keep/a.txt", b"a"), ("r.txt", b"v1")])))
    before = await paths(container, work)
    before_objects = await objects(container)
    bomb = lying_sizes(bytes(4 << 20), claimed=4096)
    good = make_zip([(f"new/{i}.txt", f"{i}".encode()) for i in range(5)] + [("r.txt", b"v2")])
    # One plan: five good files in three batches first, then the lying entry.
    plan = zip_plan(good)
    plan.entries.extend(
        e.__class__(("zzz", *e.parts), e.is_dir, e.size, e.source, e.opener)
        for e in zip_plan(bomb).entries
    )
    with pytest.raises(ImportFailed) as info:
        await svc.run(ACTOR, work, "/", plan, on_conflict="replace")
    assert "壊れています" in info.value.detail
    after = await paths(container, work)
    assert set(after) == set(before)
    assert after["/r.txt"]["sha256"] == before["/r.txt"]["sha256"]  # replacement undone
    assert sorted(await objects(container)) == sorted(before_objects)
    blob = await container.records.get(BLOBS, str(before["/r.txt"]["sha256"]))
    assert blob is not None
    assert blob["refs"] == 1
    record = await container.records.get(IMPORTS, info.value.import_id)
    assert record is not None
    assert record["state"] == "failed"
    assert record["findings"][-1]["severity"] == "E"


async def test_folder_in_the_way_refused_before_storing(container: Container) -> None:
    work = await make_work(container)
    svc = ImportService(container)
    await svc.run(ACTOR, work, "/", zip_plan(make_zip([("PHOTO", b"a file")])))
    with pytest.raises(ImportFailed, match="ファイルがあります"):
        await svc.run(ACTOR, work, "/", zip_plan(make_zip([("PHOTO/P1.JPG", b"j")])))
    assert len(await objects(container)) == 1


async def test_folder_import(container: Container, tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "PHOTO" / "PIC").mkdir(parents=True)
    (root / "PHOTO" / "PIC" / "P0000001.JPG").write_bytes(b"j" * (3 << 20))  # streamed
    (root / "INDEX_D.XML").write_bytes(b"<x/>")
    work = await make_work(container)
    result = await ImportService(container).run(ACTOR, work, "/pkg", scan_folder(root))
    assert result.created == 2
    node = (await paths(container, work))["/pkg/PHOTO/PIC/P0000001.JPG"]
    assert node["size"] == 3 << 20


async def upload_zip(c: Container, work: Record, path: str, data: bytes) -> Record:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    svc = ImportService(c)
    folder, _, name = path.rpartition("/")
    async with c.uow() as uow:
        info = await c.blobs.put(f"objects/t/{new_id()}", chunks())
        return await svc.nodes.add_file(ACTOR, work, folder, name, info, uow=uow)


async def test_zip_node_unpacks_next_to_it(container: Container) -> None:
    work = await make_work(container)
    node = await upload_zip(container, work, "/受領/dl.zip", make_zip(PACKAGE))
    report = await import_zip_node(container, str(node["id"]))
    assert report["state"] == "done"
    assert report["target"] == "/受領/dl"
    assert report["package_root_id"]
    nested = make_zip([(f"PKG/{n}", d) for n, d in PACKAGE])
    node2 = await upload_zip(container, work, "/受領/other.zip", nested)
    report2 = await import_zip_node(container, str(node2["id"]))
    assert report2["target"] == "/受領"
    nodes = await paths(container, work)
    assert "/受領/PKG/INDEX_C.XML" in nodes
    assert "/受領/other.zip" in nodes
    again = await import_zip_node(container, str(node["id"]))  # idempotent
    assert (again["created"], again["skipped"]) == (0, 5)

    bad = await upload_zip(container, work, "/受領/bad.zip", make_zip([("../x", b"x")]))
    refused = await import_zip_node(container, str(bad["id"]))
    assert refused["state"] == "rejected"
    assert refused["findings"][0]["code"] == "unsafe_path"
    assert await container.records.get(NODES, str(bad["id"])) is not None  # upload kept


def test_zip_target_rules() -> None:
    flat = zip_plan(make_zip([("INDEX_C.XML", b"x")]))
    named = zip_plan(make_zip([("dl/a.txt", b"x")]))
    other = zip_plan(make_zip([("X/a.txt", b"x")]))
    node = {"path": "/A/dl.ZIP"}
    assert zip_target(node, flat) == "/A/dl"
    assert zip_target(node, named) == "/A"
    assert zip_target(node, other) == "/A/dl"
    assert zip_target({"path": "/dl.zip"}, named) == "/"


async def test_task_through_eager_jobs(settings: Settings) -> None:
    """The task by name on the eager queue. Its worker-side container records the nested
    ``ingest.file`` sends instead of running them: in eager mode a task that enqueues a task
    would wait for the worker runtime it already holds."""
    from workers.celery_app import run_async, set_container

    async def open_worker_side() -> Container:
        worker = Container(settings, jobs=RecordingJobs())
        await worker.open()
        return worker

    worker = await asyncio.to_thread(run_async, open_worker_side())
    set_container(worker)
    c = Container(settings)
    await c.open()
    try:
        work = await make_work(c)
        node = await upload_zip(c, work, "/x.zip", make_zip([("a/b.txt", b"b")]))
        task_id = await c.jobs.enqueue("deliverables.import_zip", node_id=node["id"])
        result = await c.jobs.result(task_id)  # type: ignore[attr-defined]
        assert result["state"] == "done"
        assert result["created"] == 1
        assert "/x/a/b.txt" in await paths(c, work)
    finally:
        set_container(None)
        await asyncio.to_thread(run_async, worker.close())
        await c.close()


@pytest.mark.slow
async def test_hundred_thousand_tiny_files(container: Container) -> None:
    n = 100_000
    data = make_zip(
        ((f"D{i // 1000:03d}/f{i:06d}.txt", b"%d" % i) for i in range(n)), zipfile_stored()
    )
    work = await make_work(container)
    started = time.monotonic()
    plan = zip_plan(data)
    scanned = time.monotonic() - started
    result = await ImportService(container).run(ACTOR, work, "/many", plan)
    total = time.monotonic() - started
    print(f"\n100k tiny files: scan {scanned:.1f} s, import {total:.1f} s")
    assert result.created == n
    assert await container.records.count(NODES) == n + 101


def zipfile_stored() -> int:
    import zipfile

    return zipfile.ZIP_STORED


async def test_unpack_error_is_raised_before_any_record(container: Container) -> None:
    with pytest.raises(UnpackError):
        zip_plan(make_zip([("/abs", b"x")]))
    assert await container.records.count(IMPORTS) == 0
