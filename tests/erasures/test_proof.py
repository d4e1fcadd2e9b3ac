"""The proof (issue 12 §2 last bullet: "after erasure nothing of the scope can be decrypted from
the blob store, the records, the index, or any backup generation once the key backups have
rotated"; seed 001 別表3 12(2): 削除したデータは再現できない; seed 003 遵守事項 3(3)).

A work with collaboration data (board, proposals, documents, attachments, all carrying a
marker word), archive data (the package handed over into the archive) and an object in each
of its scopes written through the scoped paths; ``kura backup``; the operator erases both
scopes by hand; then:

- the blob store (read raw, without sealing): no object under either scope's prefix; the
  ciphertext a backup generation keeps cannot be opened (the key is destroyed);
- the records: nothing of the scope in any collection, nor in the SQLite file or its WAL;
  the audit events stay and carry none of it;
- the index: the marker and the work's documents are found nowhere;
- the backup generation made before the erasure: no file of it (records snapshot, manifest,
  summary) holds the marker any more (``api.backup.erased``: the erasure removed the scopes'
  records from the generation's records file too);
- a backup generation made before the erasure, restored after the key generations rotated:
  the scopes' objects are not restored and cannot be decrypted from its pool, their records
  are erased again on restore, and the rebuilt index finds nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.backup.generations import Target, backup, generations, pool_name, read_manifest
from api.backup.restore import finish, prepare
from api.config import Settings
from api.container import Container, build_blobs
from api.keys import scopes
from storage.blobs.sealing import HEADER, Header
from storage.errors import KeyDestroyed
from tests.erasures.support import (
    MARK_BYTES,
    audit_mentions,
    collaboration,
    database_holds,
    found,
    world,
)
from tests.handovers.support import complete, generate, ready_work
from tests.proposals.harness import API, OPERATOR, SUP

pytestmark = pytest.mark.anyio

WORK_COLLECTIONS = (
    "nodes",
    "posts",
    "post_replies",
    "post_revisions",
    "post_unread",
    "proposals",
    "proposal_revisions",
    "proposal_texts",
    "workflow_events",
    "premeetings",
    "attachments",
    "handover_packages",
    "deliverables",
    "imports",
    "notifications",
    "mails",
    "uploads",
)


async def left_of(c: Container, work_id: str) -> dict[str, int]:
    counts = {}
    for name in WORK_COLLECTIONS:
        n = len([r async for r in c.records.scan(name, ()) if r.get("work_id") == work_id])
        if name in ("notifications", "mails"):  # the erasure's own notices stay
            n = len(
                [
                    r
                    async for r in c.records.scan(name, ())
                    if r.get("work_id") == work_id
                    and not str(r.get("kind") or "").startswith(("handover.", "erasure."))
                ]
            )
        counts[name] = n
    return {k: v for k, v in counts.items() if v}


async def sealed_key_ids(target: Target, generation: str, prefix: str) -> list[bytes]:
    """The key ids in the headers of the generation's pooled objects under ``prefix``."""
    manifest = await read_manifest(target.data, generation)
    ids = []
    for entry in manifest["objects"]:
        if str(entry["key"]).startswith(prefix):
            stored = await target.data.read_bytes(pool_name(str(entry["sha256"])))
            assert MARK_BYTES not in stored  # ciphertext in the backup
            ids.append(Header.parse(stored[:HEADER]).key_id)
    return ids


async def test_nothing_of_an_erased_work_can_be_read_anywhere(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "backup": settings.backup.model_copy(
                update={"target": tmp_path / "backups", "keep_keys": 1}
            )
        }
    )
    target = Target.of(settings)
    async with world(settings) as h:
        c = h.container
        work = await ready_work(h)
        wid = str(work["id"])
        await collaboration(h, wid)
        package = await generate(h, wid)
        assert package["blocking"] == 0, package["notes"]
        done = await complete(h, wid)
        await h.ok(
            SUP,
            "POST",
            f"/works/{wid}/handover/transfer",
            202,
            json={"package_id": package["id"], "version": done["version"]},
        )
        archived = [
            n
            async for n in c.records.scan("nodes", ())
            if n["work_id"] == wid and str(n["path"]).startswith("/電子成果品/")
        ]
        assert archived
        the_scopes = (scopes.collab(wid), scopes.archive(wid))
        assert await found(c) > 0
        assert await left_of(c, wid)
        gen1 = (await backup(c, target)).generation
        h.clock.advance(hours=1)

        for scope in the_scopes:
            r = await h.call(
                OPERATOR,
                "POST",
                f"{API}/erasures/{scope}",
                json={"confirm": scope, "reason": "証明試験"},
            )
            assert r.status_code == 202, r.text
            assert r.json()["key_destroyed_at"]
            assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["state"] == "done"

        # the blob store, read raw: no object of either scope
        raw = build_blobs(settings)
        await raw.open()
        try:
            for scope in the_scopes:
                assert [k async for k in raw.list(scopes.prefix(scope))] == []
        finally:
            await raw.close()
        # the backup generation's records file holds none of it either (plain file reads)
        backups = settings.backup.target
        assert backups is not None
        stored = [p for p in (backups / "generations").rglob("*") if p.is_file()]
        assert stored
        assert [p.name for p in stored if MARK_BYTES in p.read_bytes()] == []
        # the backup's ciphertext of the scopes cannot be opened: the keys are destroyed
        for scope in the_scopes:
            key_ids = await sealed_key_ids(target, gen1, scopes.prefix(scope))
            assert key_ids, scope
            for key_id in key_ids:
                with pytest.raises(KeyDestroyed):
                    await c.keys.by_id(key_id)
        # the records: nothing of the work's data; the SQLite file holds none of it
        assert await left_of(c, wid) == {}
        assert database_holds(settings.sqlite_path) == []
        assert await audit_mentions(c) == []
        # the index: the marker is nowhere, and of the work only its own document is left
        assert await found(c) == 0
        assert await found(c, text="", work_id=wid) == 1
        # keys rotate: the next backup keeps only its own key generation
        h.clock.advance(hours=1)
        gen2 = (await backup(c, target)).generation
        assert await generations(target.keys) == [gen2]
        assert gen1 in await generations(target.data)

    # restore the generation made before the erasure into an empty data folder
    fresh = settings.model_copy(update={"data_dir": tmp_path / "restored"})
    plan = await prepare(fresh, target, gen1)
    assert plan.key_generation == gen2
    restored = Container(fresh)
    await restored.open()
    try:
        result = await finish(restored, target, plan)
        assert set(the_scopes) <= set(result.erased_scopes)
        assert result.skipped_erased >= 2
        for scope in the_scopes:
            assert [k async for k in restored.blobs.list(scopes.prefix(scope))] == []
            for key_id in await sealed_key_ids(target, gen1, scopes.prefix(scope)):
                with pytest.raises(KeyDestroyed):
                    await restored.keys.by_id(key_id)
        assert await restored.records.get("works", wid) is not None
        assert await left_of(restored, wid) == {}
        assert await found(restored) == 0
        assert await found(restored, text="", work_id=wid) == 1
        assert database_holds(fresh.sqlite_path) == []
    finally:
        await restored.close()
