"""Content addressing within a scope, erasure per work, and ``kura migrate encrypt`` (issue 12
§1 "Content addressing stays, within a scope": identical content is stored once per scope, never
across scopes, so erasing one scope can never break another's files; "Migrate existing data:
``kura migrate encrypt`` rewrites every object, resumable, verified by ``kura scrub``").

On the embedded stack always, and on MongoDB + S3 when the real test servers are on (the
``deployment`` fixture of ``test_keys``). The old data folder is built the way the content
store wrote it before scopes: objects under ``objects/<xx>/<id>``, one ``blobs`` record per
SHA-256 for all works, derived files under ``derived/``, packages under ``handover/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from api.archive.cas import ContentStore
from api.archive.migrate import LEGACY_DERIVED, Migration, legacy_derived_key
from api.archive.models import BLOBS, NODES, blob_id, derived_key, sort_name
from api.attachments.service import ATTACHMENTS
from api.cli import cli
from api.config import Settings
from api.container import Container, build_blobs
from api.keys import scopes
from api.keys.erasure import erase
from api.kit.clock import to_iso
from api.kit.ids import new_id
from storage.query import Query
from tests.archive.harness_tree import ArchiveHarness, archive_harness, place_file
from tests.keys.test_keys import deployment  # noqa: F401  (the fixture)
from tests.works.harness import CLERK, MANAGER, OPERATOR

pytestmark = pytest.mark.anyio

MARK = b"KURA-SCOPED-PLAINTEXT-"
SAME = MARK * 9000 + b"same"  # ~200 KB, several segments, in both works
ONLY_A = b"%PDF-1.4 only in A " + MARK * 10
ONLY_B = b"only in B " + MARK * 10


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read(c: Container, key: str) -> bytes:
    return b"".join([chunk async for chunk in c.blobs.get(key)])


async def download(h: ArchiveHarness, node: dict[str, Any]) -> Any:
    return await h.as_(MANAGER, "GET", f"/files/{node['id']}/content")


async def test_erasing_one_works_archive_leaves_the_others_identical_file(
    deployment: Settings,  # noqa: F811
) -> None:
    async with archive_harness(deployment) as h:
        other = await h.create(CLERK)
        a = await h.add("A", "same.bin", SAME)
        b = await place_file(h.nodes, OPERATOR, other, "B", "same.bin", SAME)
        assert a["sha256"] == b["sha256"]
        scope_a, scope_b = scopes.archive(h.work["id"]), scopes.archive(other["id"])
        assert (a["scope"], b["scope"]) == (scope_a, scope_b)
        # Stored twice, once per scope: two records, two objects, each under its scope.
        blob_a = await h.container.records.get(BLOBS, blob_id(scope_a, a["sha256"]))
        blob_b = await h.container.records.get(BLOBS, blob_id(scope_b, b["sha256"]))
        assert blob_a is not None and blob_b is not None  # noqa: PT018
        assert blob_a["key"] != blob_b["key"]
        assert blob_a["key"].startswith(scopes.prefix(scope_a))
        assert blob_b["key"].startswith(scopes.prefix(scope_b))
        # Sealed: the stored bytes are not the content.
        raw = build_blobs(deployment)
        await raw.open()
        try:
            stored = b"".join([c async for c in raw.get(str(blob_a["key"]))])
        finally:
            await raw.close()
        assert stored.startswith(b"KSG1") and MARK not in stored  # noqa: PT018

        await erase(h.container, scope_a, "operator:test", "保存期間の満了")
        # The work is not archived: the archive part's file goes with its record (api.erasures
        # .records), so the download is not found; its content is unreadable and gone.
        gone = await download(h, a)
        assert gone.status_code == 404
        assert gone.headers["content-type"].startswith("application/problem+json")
        assert await h.container.records.get("nodes", str(a["id"])) is None
        assert [k async for k in h.container.blobs.list(scopes.prefix(scope_a))] == []
        kept = await download(h, b)
        assert kept.status_code == 200
        assert kept.content == SAME


# -- the old data folder --------------------------------------------------------------------


async def legacy_object(c: Container, data: bytes) -> str:
    """Content stored the way the content store wrote it before scopes; returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    existing = await c.records.get(BLOBS, sha)
    if existing is not None:
        await c.records.update(BLOBS, sha, {"refs": existing["refs"] + 1}, existing["version"])
        return sha
    oid = new_id()
    key = f"objects/{oid[-2:]}/{oid}"
    await c.blobs.put(key, one(data))
    now = to_iso(c.clock.now())
    await c.records.insert(
        BLOBS,
        {
            "id": sha,
            "key": key,
            "size": len(data),
            "refs": 1,
            "created_at": now,
            "verified_at": now,
        },
    )
    return sha


async def legacy_node(c: Container, work: dict[str, Any], path: str, data: bytes) -> dict[str, Any]:
    sha = await legacy_object(c, data)
    now = to_iso(c.clock.now())
    name = path.rsplit("/", 1)[-1]
    node = {
        "id": new_id(),
        "work_id": work["id"],
        "parent_id": work["id"],
        "kind": "file",
        "name": name,
        "sort_name": sort_name(name),
        "path": path,
        "depth": 1,
        "size": len(data),
        "sha256": sha,
        "content_type": "application/octet-stream",
        "declared_type": "",
        "ingest": {"state": "done", "sha256": sha},
        "meta": {},
        "created_at": now,
        "updated_at": now,
    }
    return await c.records.insert(NODES, node)


async def build_old_folder(h: ArchiveHarness) -> dict[str, Any]:
    """Two works (one with collaboration folders), their files, an attachment sharing content
    with an archive file, derived text, an import's kept ZIP, a receipt, a package, a cache."""
    c = h.container
    a = h.work
    b = await h.create(CLERK)
    await c.records.insert("folder_states", {"id": b["id"], "work_id": b["id"]})
    out: dict[str, Any] = {"a": a, "b": b}
    out["a_same"] = await legacy_node(c, a, "/same.bin", SAME)
    out["a_only"] = await legacy_node(c, a, "/only.pdf", ONLY_A)
    out["b_same"] = await legacy_node(c, b, "/打合せ/same.bin", SAME)
    out["b_only"] = await legacy_node(c, b, "/打合せ/only.txt", ONLY_B)
    out["b_package"] = await legacy_node(c, b, "/電子成果品/INDEX_C.XML", b"<constdata/>")
    sha = await legacy_object(c, SAME)
    out["attachment"] = await c.records.insert(
        ATTACHMENTS,
        {
            "id": new_id(),
            "state": "linked",
            "parent": "posts/P1",
            "work_id": b["id"],
            "org_id": "ORG",
            "name": "same.bin",
            "size": len(SAME),
            "sha256": sha,
        },
    )
    org_sha = await legacy_object(c, ONLY_A)
    out["receipt"] = await c.records.insert(
        "qual_applications",
        {"id": new_id(), "org_id": "ORGA", "receipt": {"sha256": org_sha, "size": len(ONLY_A)}},
    )
    zip_sha = await legacy_object(c, b"PK zip source")
    out["import"] = await c.records.insert(
        "imports",
        {
            "id": new_id(),
            "work_id": a["id"],
            "source_file": {"sha256": zip_sha, "size": 13, "name": "a.zip", "path": "/a.zip"},
        },
    )
    text = b'{"v": 1, "pages": ["same"]}'
    await c.blobs.put(legacy_derived_key(str(out["a_same"]["sha256"]), "text.json"), one(text))
    package_id = new_id()
    old_package = f"handover/{b['id']}/{package_id}.zip"
    await c.blobs.put(old_package, one(b"PK package"))
    out["package"] = await c.records.insert(
        "handover_packages",
        {
            "id": package_id,
            "work_id": b["id"],
            "blob_key": old_package,
            "sha256": hashlib.sha256(b"PK package").hexdigest(),
        },
    )
    await c.blobs.put("billing/documents/D1.pdf", one(b"%PDF cached"))
    return out


async def keys_under(c: Container, prefix: str) -> list[str]:
    return [info.key async for info in c.blobs.list(prefix)]


async def test_migrate_encrypt_is_resumable_and_verified_by_scrub(
    deployment: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with archive_harness(deployment) as h:
        c = h.container
        old = await build_old_folder(h)
        cas = ContentStore(c.records, c.blobs, c.clock)
        assert [p.reason async for p in cas.scrub()].count("unscoped (run kura migrate encrypt)")
        # Until the migration, old content is still served where it is.
        before = await download(h, old["a_same"])
        assert (before.status_code, before.content) == (200, SAME)

        # A run in slices stops after its limit with everything consistent.
        first = await Migration(c, limit=2).run()
        assert first.references == 2
        assert first.remaining > 0

        # A run killed inside a unit of work (after the copy, before the commit) leaves
        # nothing half-applied: the copy is gone, the old reference and object are intact.
        scoped_before = await c.records.count(BLOBS, ())

        async def killed(self: Migration, sha: str, uow: Any) -> None:
            raise RuntimeError("killed")

        monkeypatch.setattr(Migration, "_release_legacy", killed)
        with pytest.raises(RuntimeError, match="killed"):
            await Migration(c).run()
        monkeypatch.undo()
        assert await c.records.count(BLOBS, ()) == scoped_before
        blobs = (await c.records.find(BLOBS, Query(limit=100))).items
        scoped = [b for b in blobs if b.get("scope")]
        objects = [k for k in await keys_under(c, "s/") if "/objects/" in k]
        assert sorted(objects) == sorted(str(b["key"]) for b in scoped)

        # The rest, then once more (idempotent).
        rest = await Migration(c).run()
        assert rest.problems == []
        assert rest.remaining == 0
        assert (
            first.references + rest.references == 9
        )  # 5 nodes, 1 attachment, zip, receipt, package
        again = await Migration(c).run()
        assert (again.references, again.copied, again.remaining) == (0, 0, 0)
        state = await c.records.get("migrations", "encrypt")
        assert state is not None and state["state"] == "done"  # noqa: PT018

        # Nothing is left outside the scopes; every content record names its scope.
        for prefix in ("objects/", LEGACY_DERIVED, "handover/", "billing/"):
            assert await keys_under(c, prefix) == [], prefix
        blobs = (await c.records.find(BLOBS, Query(limit=100))).items
        assert all(b.get("scope") and b["id"] == blob_id(b["scope"], b["sha256"]) for b in blobs)
        assert [p async for p in cas.scrub()] == []

        a, b = old["a"], old["b"]
        nodes = {k: await c.records.get(NODES, old[k]["id"]) for k in old if k[:2] in ("a_", "b_")}
        assert nodes["a_same"]["scope"] == scopes.archive(a["id"])
        assert nodes["b_same"]["scope"] == scopes.collab(b["id"])  # a collaboration document
        assert nodes["b_package"]["scope"] == scopes.archive(b["id"])  # the delivered package
        attachment = await c.records.get(ATTACHMENTS, old["attachment"]["id"])
        assert attachment is not None and attachment["scope"] == scopes.collab(b["id"])  # noqa: PT018
        # The same content in three places of two works: stored once per scope.
        same = [x for x in blobs if x["sha256"] == old["a_same"]["sha256"]]
        assert sorted(x["scope"] for x in same) == sorted(
            [scopes.archive(a["id"]), scopes.collab(b["id"])]
        )
        assert {x["scope"]: x["refs"] for x in same}[scopes.collab(b["id"])] == 2
        # Derived text moved with its content.
        sha = str(old["a_same"]["sha256"])
        assert await c.blobs.stat(derived_key(scopes.archive(a["id"]), sha, "text.json"))
        receipt = await c.records.get("qual_applications", old["receipt"]["id"])
        assert receipt is not None and receipt["receipt"]["scope"] == scopes.org("ORGA")  # noqa: PT018
        package = await c.records.get("handover_packages", old["package"]["id"])
        assert package is not None
        assert package["blob_key"].startswith(scopes.prefix(scopes.collab(b["id"])))
        assert await read(c, package["blob_key"]) == b"PK package"

        # Every file downloads byte for byte.
        for key, data in (
            ("a_same", SAME),
            ("a_only", ONLY_A),
            ("b_same", SAME),
            ("b_only", ONLY_B),
        ):
            r = await download(h, old[key])
            assert r.status_code == 200, key
            assert r.content == data, key
        held = await cas.get(scopes.collab(b["id"]), str(attachment["sha256"]))
        assert b"".join([x async for x in cas.open(held)]) == SAME

        # Erasing work A's archive leaves work B's identical files readable.
        await erase(c, scopes.archive(a["id"]), "operator:test")
        # work A is not archived: its archive files go with their records (404, not 410)
        assert (await download(h, old["a_same"])).status_code == 404
        assert (await download(h, old["b_same"])).content == SAME

        async def destroyed(scope: str) -> bool:
            return await c.keys.destroyed(scope) is not None

        # scrub: the erased scope's content records went with its files (work A is not
        # archived), so nothing is left to report, and nothing of work B is bad
        left = [(p.scope, p.reason) async for p in cas.scrub(destroyed)]
        assert left == []
        # an erasure stopped after its key step: scrub names that content erased, not bad
        await c.keys.destroy(scopes.collab(b["id"]), "operator:test")
        left = [(p.scope, p.reason) async for p in cas.scrub(destroyed)]
        assert left and set(left) == {(scopes.collab(b["id"]), "erased")}  # noqa: PT018


def test_kura_migrate_encrypt_then_scrub(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands an operator runs: counts printed, exit 1 while references remain."""
    import asyncio

    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")

    async def build() -> None:
        async with archive_harness(settings) as h:
            await build_old_folder(h)

    asyncio.run(build())
    runner = CliRunner()
    dirty = runner.invoke(cli, ["scrub", "--quiet"])
    assert dirty.exit_code == 1, dirty.output
    assert "unscoped" in dirty.output
    part = runner.invoke(cli, ["migrate", "encrypt", "--limit", "3"])
    assert part.exit_code == 1, part.output
    assert "references moved: 3" in part.output
    done = runner.invoke(cli, ["migrate", "encrypt"])
    assert done.exit_code == 0, done.output
    assert "remaining: 0, problems: 0" in done.output
    clean = runner.invoke(cli, ["scrub"])
    assert clean.exit_code == 0, clean.output
    assert "bad: 0" in clean.output


async def test_a_files_scope_follows_what_it_is(settings: Settings) -> None:
    """Deliverables of an archive-only work: ``wa-``; documents of a work with collaboration
    folders: ``wc-`` (erased after the hand-over), except its hand-over package folder."""
    async with archive_harness(settings) as h:
        work, wid = h.work, h.work["id"]
        assert await h.nodes.scope_for(work, "/PLAN") == scopes.archive(wid)
        await h.container.records.insert("folder_states", {"id": wid, "work_id": wid})
        assert await h.nodes.scope_for(work, "/打合せ簿") == scopes.collab(wid)
        assert await h.nodes.scope_for(work, "/電子成果品/PLAN") == scopes.archive(wid)
        # A multipart upload into the collaboration folders lands in the wc- scope, sealed.
        r = await h.as_(
            MANAGER,
            "POST",
            f"/works/{wid}/files",
            files={"file": ("memo.txt", b"collab memo " + MARK, "text/plain")},
            data={"folder": "/打合せ簿"},
        )
        assert r.status_code == 201, r.text
        [node] = r.json()
        stored = await h.container.records.get(NODES, node["id"])
        assert stored is not None and stored["scope"] == scopes.collab(wid)  # noqa: PT018
        blob = await h.container.records.get(BLOBS, blob_id(stored["scope"], stored["sha256"]))
        assert blob is not None and blob["key"].startswith(f"s/wc-{wid}/objects/")  # noqa: PT018
