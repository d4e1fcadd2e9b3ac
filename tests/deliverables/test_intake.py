"""Importing packages into a work's tree: structure kept, resumable, all-or-nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.archive.cas import upload_key
from api.archive.models import BLOBS, NODES, blob_id
from api.audit.service import COLLECTION, AuditLog, digest
from api.config import Settings
from api.container import Container
from api.deliverables.intake import IMPORTS, ImportFailed, ImportService
from api.deliverables.unpack import Plan, UnpackError, open_zip, scan_folder, scan_zip
from api.deliverables.zipimport import import_zip_node, zip_target
from api.keys import scopes
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
    return [i.key async for i in c.blobs.list("s/") if "/objects/" in i.key]


async def blob_of(c: Container, work: Record, sha: object) -> Record | None:
    """The content record of ``sha`` in the work's archive scope."""
    return await c.records.get(BLOBS, blob_id(scopes.archive(str(work["id"])), str(sha)))


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
    blob = await blob_of(container, work, copy_sha)
    assert blob is not None
    assert blob["refs"] == 2
    assert len(await objects(container)) == 4
    jobs = container.jobs
    assert isinstance(jobs, RecordingJobs)
    # One ingest job per batch of the bulk path (batches of 2: 2 + 2 + 1 files).
    assert [t for t, _ in jobs.sent] == ["ingest.files"] * 3
    file_ids = {str(n["id"]) for n in nodes.values() if n["kind"] == "file"}
    sent_ids = [i for _, kw in jobs.sent for i in kw["node_ids"]]
    assert sorted(sent_ids) == sorted(file_ids)
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
    assert await blob_of(container, work, old_sha) is None  # hold released at the end


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
    blob = await blob_of(container, work, before["/r.txt"]["sha256"])
    assert blob is not None
    assert blob["refs"] == 1
    record = await container.records.get(IMPORTS, info.value.import_id)
    assert record is not None
    # Refused input found while streaming: "rejected" (everything it added was undone).
    assert record["state"] == "rejected"
    assert "壊れています" in record["reason"]
    assert record["findings"][-1]["severity"] == "E"
    assert record["finished_at"]


class Stop(BaseException):
    """Stands for Ctrl-C / a cancelled task (a BaseException, not an Exception)."""


async def test_interrupted_import_keeps_its_batches_and_says_so(container: Container) -> None:
    work = await make_work(container)
    plan = zip_plan(make_zip([(f"x/{i}.txt", b"%d" % i) for i in range(5)]))
    seen = 0

    def progress(n: int) -> None:
        nonlocal seen
        seen += 1
        if seen == 3:  # inside the second batch
            raise Stop()

    with pytest.raises(Stop):
        await ImportService(container, batch_files=2).run(ACTOR, work, "/", plan, progress=progress)
    [record] = (await container.records.find(IMPORTS, Query(limit=5))).items
    assert record["state"] == "interrupted"
    assert "続きから" in record["reason"]
    assert record["created"] == 2  # the first batch stays
    assert len([p for p in await paths(container, work) if p.endswith(".txt")]) == 2
    again = await ImportService(container, batch_files=2).run(ACTOR, work, "/", plan)
    assert (again.created, again.skipped) == (3, 2)


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
        scope = scopes.archive(str(work["id"]))
        info = await c.blobs.put(upload_key(scope), chunks())
        return await svc.nodes.add_file(ACTOR, work, folder, name, info, uow=uow, scope=scope)


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
    # the ZIPs are their imports' sources, not documents beside the folders (issue 8 §2)
    assert "/受領/other.zip" not in nodes
    assert "/受領/dl.zip" not in nodes
    # the task delivered twice: the finished import stands, nothing is added
    again = await import_zip_node(container, str(node["id"]), import_id=report["import_id"])
    assert (again["state"], again["repeated"]) == ("done", True)
    assert await paths(container, work) == nodes

    bad = await upload_zip(container, work, "/受領/bad.zip", make_zip([("../x", b"x")]))
    refused = await import_zip_node(container, str(bad["id"]))
    assert refused["state"] == "rejected"
    assert refused["findings"][0]["code"] == "unsafe_path"
    assert await container.records.get(NODES, str(bad["id"])) is None  # kept by its import
    kept = await container.records.get("imports", refused["import_id"])
    assert kept is not None
    assert kept["source_file"]["name"] == "bad.zip"


async def test_backend_outage_requeues_then_fails_on_the_last_attempt(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An acknowledged upload is never lost: a blob store outage during the unpacking undoes
    the attempt, puts the import back to ``queued`` with the reason and raises for the task
    to retry; the last attempt records ``failed``."""
    from api.deliverables.imports import queue_zip
    from api.deliverables.zipimport import RETRY_REASON
    from storage.errors import BackendUnavailable

    work = await make_work(container)
    node = await upload_zip(container, work, "/受領/dl.zip", make_zip(PACKAGE))
    queued = await queue_zip(container, str(work["id"]), node, ACTOR)

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise BackendUnavailable("local", "disk gone")

    monkeypatch.setattr(container.blobs, "put_many", down)
    with pytest.raises(BackendUnavailable):
        await import_zip_node(
            container, str(node["id"]), import_id=str(queued["id"]), last_attempt=False
        )
    record = await container.records.get(IMPORTS, str(queued["id"]))
    assert record is not None
    assert (record["state"], record["reason"]) == ("queued", RETRY_REASON)
    assert set(await paths(container, work)) == {"/受領", "/受領/dl.zip"}
    report = await import_zip_node(container, str(node["id"]), import_id=str(queued["id"]))
    assert report["state"] == "failed"
    record = await container.records.get(IMPORTS, str(queued["id"]))
    assert record is not None
    assert record["state"] == "failed"
    assert "disk gone" in record["reason"]
    monkeypatch.undo()
    done = await import_zip_node(container, str(node["id"]), import_id=str(queued["id"]))
    assert (done["state"], done["created"]) == ("done", 5)  # a later run still works


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


class CountingRecords:
    """Counts the record store calls of an import (wraps the container's adapter)."""

    NAMES = ("insert", "insert_many", "get", "get_many", "update", "find", "delete", "count")

    def __init__(self, monkeypatch: pytest.MonkeyPatch, records: Any) -> None:
        self.calls: dict[str, int] = {}
        for name in self.NAMES:
            monkeypatch.setattr(records, name, self._wrap(name, getattr(records, name)))

    def _wrap(self, name: str, fn: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return await fn(*args, **kwargs)

        return call

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()


def tiny_files(n: int) -> list[tuple[str, bytes]]:
    """``n`` tiny files in folders of 100; every 7th carries one of 50 repeated contents
    (repeats inside a batch and across batches), file 0 the content of ``KNOWN`` (stored
    before the import)."""
    out = [("D000/f000000.txt", KNOWN)]
    for i in range(1, n):
        data = b"dup %d" % (i // 7 % 50) if i % 7 == 0 else b"%d" % i
        out.append((f"D{i // 100:03d}/f{i:06d}.txt", data))
    return out


KNOWN = b"already stored content"


async def test_bulk_path_places_batches_with_few_record_operations(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 7 item 18: a batch of new files costs a handful of record operations, one audit
    event whose digest covers every node record of the batch, and one ingest job; the tree,
    contents and reference counts are those of the per-file path."""
    n, per_batch = 600, 250
    files = tiny_files(n)
    data = make_zip(files, zipfile_stored())
    work = await make_work(container)
    other = await make_work(container)
    await upload_zip(container, other, "/known.bin", KNOWN)
    counter = CountingRecords(monkeypatch, container.records)
    jobs = container.jobs
    assert isinstance(jobs, RecordingJobs)
    jobs.sent.clear()
    before = await container.records.count(COLLECTION)
    bulk = await ImportService(container, batch_files=per_batch).run(
        ACTOR, work, "/p", zip_plan(data)
    )
    bulk_ops = counter.total()
    sent = list(jobs.sent)
    events_added = await container.records.count(COLLECTION) - before
    counter.reset()
    per_file = await ImportService(container, bulk=False).run(ACTOR, other, "/p", zip_plan(data))
    per_file_ops = counter.total()

    assert (bulk.state, bulk.created, per_file.created) == ("done", n, n)
    assert per_file_ops > 5 * n  # about eleven per file
    # A handful per batch of 500, plus one update per content a batch repeats from before.
    assert bulk_ops * 10 < per_file_ops, counter.calls
    assert bulk_ops < n / 3, counter.calls
    mine = {p: nd for p, nd in (await paths_of(container, work)).items()}
    theirs = await paths_of(container, other)
    assert {p: (nd["kind"], nd.get("sha256"), nd["size"]) for p, nd in mine.items()} == {
        p: (nd["kind"], nd.get("sha256"), nd["size"])
        for p, nd in theirs.items()
        if p.startswith("/p")
    }
    # Content is counted per scope (issue 12 §1): each work holds its own copy.
    contents = {hashlib.sha256(d).hexdigest(): 0 for _, d in files}
    for _, d in files:
        contents[hashlib.sha256(d).hexdigest()] += 1  # each import references it once
    known = hashlib.sha256(KNOWN).hexdigest()
    for holder in (work, other):
        for sha, refs in contents.items():
            blob = await blob_of(container, holder, sha)
            assert blob is not None
            # in ``other`` the upload before the import holds one more
            assert blob["refs"] == refs + (holder is other and sha == known), sha
    assert len(await objects(container)) == 2 * len(contents)  # duplicate copies deleted

    # One event per batch; its after_digest is the digest of that batch's node records.
    events = (
        await container.records.find(
            COLLECTION, Query(where=(Eq("action", "files.imported"),), limit=100)
        )
    ).items
    assert len(events) == 3
    assert events_added == 3 + 1 + 7  # batches, the end, the folders /p and /p/D000..D005
    ordered = sorted(
        (nd for nd in mine.values() if nd["kind"] == "file"), key=lambda nd: nd["path"]
    )
    for i, event in enumerate(sorted(events, key=lambda e: e["seq"])):
        batch = [
            {k: v for k, v in nd.items() if k != "version"}
            for nd in ordered[i * per_batch :][:per_batch]
        ]
        assert event["target"] == f"imports/{bulk.import_id}"
        assert event["after_digest"] == digest(batch)
        assert event["detail"]["files"] == len(batch)
        assert (
            event["detail"]["paths_sha256"]
            == hashlib.sha256("\n".join(nd["path"] for nd in batch).encode()).hexdigest()
        )
    assert not await AuditLog(container.records, container.clock).verify()
    # One ingest job per batch, every new node exactly once.
    assert [(t, len(kw["node_ids"])) for t, kw in sent] == [("ingest.files", 250)] * 2 + [
        ("ingest.files", 100)
    ]
    assert sorted(i for _, kw in sent for i in kw["node_ids"]) == sorted(
        str(nd["id"]) for nd in ordered
    )
    again = await ImportService(container, batch_files=per_batch).run(
        ACTOR, work, "/p", zip_plan(data)
    )
    assert (again.created, again.skipped) == (0, n)  # resumable on the bulk path too


async def test_bulk_path_falls_back_when_a_path_was_taken(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file placed at one of the import's paths after its preflight: that batch is placed
    file by file instead (renamed beside it), nothing lost, nothing doubled."""
    from api.deliverables import intake

    work = await make_work(container)
    place = intake._Run.place
    raced = False

    async def racing_place(self: Any, written: Any) -> None:
        nonlocal raced
        if not raced:
            raced = True
            await upload_zip(container, work, "/a/1.txt", b"someone else")
        await place(self, written)

    monkeypatch.setattr(intake._Run, "place", racing_place)
    plan = zip_plan(make_zip([(f"a/{i}.txt", b"%d" % i) for i in range(5)]))
    result = await ImportService(container, batch_files=3).run(ACTOR, work, "/", plan)
    assert (result.state, result.created) == ("done", 5)
    nodes = await paths_of(container, work)
    assert sorted(p for p, nd in nodes.items() if nd["kind"] == "file") == [
        "/a/0.txt",
        "/a/1 (2).txt",
        "/a/1.txt",
        "/a/2.txt",
        "/a/3.txt",
        "/a/4.txt",
    ]
    assert nodes["/a/1 (2).txt"]["sha256"] == hashlib.sha256(b"1").hexdigest()
    jobs = container.jobs
    assert isinstance(jobs, RecordingJobs)
    # The raced batch went file by file (ingest.file each), the next one in bulk.
    assert sorted(t for t, _ in jobs.sent) == ["ingest.file"] * 4 + ["ingest.files"]


async def paths_of(c: Container, work: Record) -> dict[str, Record]:
    return {n["path"]: n async for n in c.records.scan(NODES, (Eq("work_id", work["id"]),))}


def zipfile_stored() -> int:
    import zipfile

    return zipfile.ZIP_STORED


async def test_unpack_error_is_raised_before_any_record(container: Container) -> None:
    with pytest.raises(UnpackError):
        zip_plan(make_zip([("/abs", b"x")]))
    assert await container.records.count(IMPORTS) == 0
