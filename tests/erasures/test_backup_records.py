"""An erased scope's records leave the records file of every backup generation (issue 12 §1 last
bullet: records that hold sensitive text are "erased with" the scope's key; §2: "nothing kept
that should be erased"; seed 001 §3-6: 契約終了後、情報共有システム上の全てのデータを消去;
別表3 12(2): 削除したデータは再現できない).

A work whose collaboration data carries a marker word (``MARK``) and another work whose post
carries another word; two ``kura backup`` generations; the operator erases the first work's
``wc-`` scope. Then, read from the target with plain file or S3 reads (no backup code):

- no file of any generation (records snapshot, manifests, summary) holds the marker;
- each manifest matches the SHA-256 ``manifest.sha256`` records, and the records file the
  manifest names matches the SHA-256 the manifest records; the other work's word is still in
  every records file; no file of the old records or manifest is left behind;
- ``kura restore`` of the older generation works: none of the erased scope's records, every
  record of the other work.

The rewrite runs in a job of its own (``erasures.backups``, committed with the erasure's
``done`` mark), never in the request nor in the erasure's own steps. When the erasure cannot
take the backup lock (a backup runs), the generations keep the records
until the next ``kura backup``, which applies every ledger entry not applied yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from api.backup.erased import apply_erasures, for_erasure
from api.backup.generations import Target, backup
from api.backup.lock import BackupLock
from api.backup.restore import finish, prepare
from api.backup.stores import FolderStore
from api.config import Settings
from api.container import Container
from api.erasures.service import finish_erasure
from api.keys import scopes
from storage.blobs.s3 import S3BlobStore
from tests.conftest import server_env
from tests.erasures.support import MARK, MARK_BYTES, collaboration, world
from tests.proposals.harness import API, BUILDER, CONTRACTOR, NAMES, OPERATOR, SUP, Harness
from tests.support.jobs import RecordingJobs

pytestmark = pytest.mark.anyio

OTHER = "残存確認語"
OTHER_BYTES = OTHER.encode()


class Files:
    """The data target read without backup code: a folder, or a bucket (plain S3 adapter)."""

    def __init__(self, folder: Path | None = None, bucket: S3BlobStore | None = None) -> None:
        self.folder = folder
        self.bucket = bucket

    async def names(self, prefix: str) -> list[str]:
        if self.folder is not None:
            root = self.folder
            return sorted(
                p.relative_to(root).as_posix()
                for p in (root / prefix).rglob("*")
                if p.is_file() and not p.name.startswith(".")
            )
        assert self.bucket is not None
        return sorted([i.key async for i in self.bucket.list(prefix)])

    async def read(self, name: str) -> bytes:
        if self.folder is not None:
            return (self.folder / name).read_bytes()
        assert self.bucket is not None
        return b"".join([c async for c in self.bucket.get(name)])

    async def generations(self) -> list[str]:
        return sorted(
            n.split("/")[1]
            for n in await self.names("generations/")
            if n.endswith("/manifest.sha256")
        )


def folder_target(settings: Settings, tmp_path: Path) -> tuple[Settings, Files]:
    """``settings`` backing up into the folder ``tmp_path/backups``, and its files."""
    folder = tmp_path / "backups"
    b = settings.backup.model_copy(update={"target": folder})
    return settings.model_copy(update={"backup": b}), Files(folder=folder)


@pytest.fixture(params=["folder", "s3"])
async def target_settings(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Settings, Files]]:
    if request.param == "folder":
        yield folder_target(settings, tmp_path)
        return
    endpoint = server_env("KURA_TEST_S3_ENDPOINT")
    access = os.environ.get("KURA_TEST_S3_ACCESS_KEY", "")
    secret = os.environ.get("KURA_TEST_S3_SECRET_KEY", "")
    name = f"kura-test-be-{uuid.uuid4().hex[:8]}"
    b = settings.backup.model_copy(
        update={
            "s3_bucket": name,
            "s3_endpoint": endpoint,
            "s3_access_key": SecretStr(access),
            "s3_secret_key": SecretStr(secret),
        }
    )
    buckets = [S3BlobStore(endpoint, access, secret, n) for n in (name, f"{name}-keys")]
    for bucket in buckets:
        await bucket.open()
    try:
        yield settings.model_copy(update={"backup": b}), Files(bucket=buckets[0])
    finally:
        for bucket in buckets:
            await bucket.drop_bucket()
            await bucket.close()


async def two_works(h: Harness) -> tuple[str, str]:
    """Work A with marked collaboration data; work B with a post carrying ``OTHER``."""
    a = str((await h.work())["id"])
    await collaboration(h, a)
    b = str((await h.work())["id"])
    await h.ok(
        BUILDER,
        "POST",
        f"/works/{b}/posts",
        201,
        json={"title": f"{OTHER}の件", "body": f"本文 {OTHER}"},
    )
    return a, b


async def erase(h: Harness, scope: str) -> None:
    r = await h.call(
        OPERATOR, "POST", f"{API}/erasures/{scope}", json={"confirm": scope, "reason": "試験"}
    )
    assert r.status_code == 202, r.text
    assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["state"] == "done"


async def holding(files: Files, needle: bytes) -> list[str]:
    """Files of the generations (not the pool of sealed objects) that contain ``needle``."""
    return [n for n in await files.names("generations/") if needle in await files.read(n)]


async def check_generation(
    files: Files, gen: str, scope: str, other: bytes = OTHER_BYTES
) -> dict[str, Any]:
    """The generation verifies (manifest and records file against their SHA-256), shows the
    erasure applied and keeps no file its manifest does not name."""
    line = (await files.read(f"generations/{gen}/manifest.sha256")).split()
    sha, name = line[0].decode(), line[1].decode()
    raw = await files.read(f"generations/{gen}/{name}")
    assert hashlib.sha256(raw).hexdigest() == sha
    manifest: dict[str, Any] = json.loads(raw)
    records = manifest["records"]
    stored = await files.read(f"generations/{gen}/{records['file']}")
    assert hashlib.sha256(stored).hexdigest() == records["sha256"]
    assert other in stored  # the records of others are all still there
    assert scope in manifest["erasures_applied"]
    left = {n.rsplit("/", 1)[-1] for n in await files.names(f"generations/{gen}/")}
    assert left == {"manifest.sha256", name, "summary.json", records["file"]}
    return manifest


async def records_of(c: Container, work_id: str, collection: str) -> list[dict[str, Any]]:
    return [r async for r in c.records.scan(collection, ()) if r.get("work_id") == work_id]


async def test_erasure_removes_the_scopes_records_from_every_generation(
    target_settings: tuple[Settings, Files], tmp_path: Path
) -> None:
    settings, files = target_settings
    target = Target.of(settings)
    async with world(settings) as h:
        c = h.container
        a, b = await two_works(h)
        posts_b = await records_of(c, b, "posts")
        assert len(posts_b) == 1
        gen1 = (await backup(c, target)).generation
        h.clock.advance(hours=1)
        gen2 = (await backup(c, target)).generation
        assert await files.generations() == [gen1, gen2]
        before = await holding(files, MARK_BYTES)
        assert f"generations/{gen1}/records.sqlite3" in before
        assert f"generations/{gen2}/records.sqlite3" in before

        scope = scopes.collab(a)
        await erase(h, scope)

        assert await holding(files, MARK_BYTES) == []
        for gen in (gen1, gen2):
            manifest = await check_generation(files, gen, scope)
            assert manifest["records"]["file"] != "records.sqlite3"
        # a later backup finds nothing left to apply; its own generation never held it
        h.clock.advance(hours=1)
        result = await backup(c, target)
        assert result.erased == {}
        assert await holding(files, MARK_BYTES) == []
        await check_generation(files, result.generation, scope)

    fresh = settings.model_copy(update={"data_dir": tmp_path / "restored"})
    plan = await prepare(fresh, target, gen1)
    restored = Container(fresh)
    await restored.open()
    try:
        done = await finish(restored, target, plan)
        assert scope in done.erased_scopes
        for collection in ("posts", "post_replies", "proposals", "proposal_revisions"):
            assert await records_of(restored, a, collection) == [], collection
        assert [p["id"] for p in await records_of(restored, b, "posts")] == [
            p["id"] for p in posts_b
        ]
        assert await restored.records.get("works", a) is not None
    finally:
        await restored.close()


async def test_a_locked_target_is_rewritten_by_the_next_backup(
    settings: Settings, tmp_path: Path
) -> None:
    settings, files = folder_target(settings, tmp_path)
    folder = files.folder
    assert folder is not None
    target = Target.of(settings)
    async with world(settings) as h:
        c = h.container
        a, _ = await two_works(h)
        gen1 = (await backup(c, target)).generation
        scope = scopes.collab(a)
        # a backup (another process) holds the target while the erasure finishes
        async with BackupLock(target.data, c.clock, 3600).held():
            await erase(h, scope)
        assert f"generations/{gen1}/records.sqlite3" in await holding(files, MARK_BYTES)
        ledger = (folder / "erasures.jsonl").read_text()
        assert scope in ledger
        h.clock.advance(hours=1)
        result = await backup(c, target)
        assert result.erased == {gen1: [scope]}
        assert await holding(files, MARK_BYTES) == []
        await check_generation(files, gen1, scope)
        await check_generation(files, result.generation, scope)
        assert MARK not in (folder / "erasures.jsonl").read_text()


async def test_the_rewrite_is_a_job_of_its_own_never_the_request(
    settings: Settings, tmp_path: Path
) -> None:
    settings, files = folder_target(settings, tmp_path)
    folder = files.folder
    assert folder is not None
    async with world(settings) as h:
        c = h.container
        a, _ = await two_works(h)
        gen1 = (await backup(c, Target.of(settings))).generation
        scope = scopes.collab(a)
        eager, held = c.jobs, RecordingJobs()
        c.jobs = held
        try:
            r = await h.call(
                OPERATOR,
                "POST",
                f"{API}/erasures/{scope}",
                json={"confirm": scope, "reason": "試験"},
            )
            assert r.status_code == 202, r.text
            [job] = held.take("erasures.finish")
            await finish_erasure(c, job["scope"])
        finally:
            c.jobs = eager
        assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["state"] == "done"
        # the request and the erasure's steps left the generations alone; their job is queued
        assert held.take("erasures.backups") == [{"scope": scope}]
        assert f"generations/{gen1}/records.sqlite3" in await holding(files, MARK_BYTES)
        applied = await for_erasure(c, scope)  # the job's body
        assert applied is not None
        assert applied.done == {gen1: [scope]}
        assert await holding(files, MARK_BYTES) == []
        await check_generation(files, gen1, scope)
        again = await for_erasure(c, scope)  # a second delivery: nothing left to do
        assert again is not None
        assert again.done == {}


async def test_an_organizations_erasure_leaves_no_user_name_in_a_generation(
    settings: Settings, tmp_path: Path
) -> None:
    """``o-`` (issue 12 §1: user names are erased with the organization's scope): the users of
    the organization are anonymised in the generation's records file too, others keep theirs."""
    settings, files = folder_target(settings, tmp_path)
    folder = files.folder
    assert folder is not None
    async with world(settings) as h:
        c = h.container
        gen1 = (await backup(c, Target.of(settings))).generation
        gone = (NAMES[BUILDER].encode(), f"{BUILDER.login_id}@example.jp".encode())
        for needle in gone:
            assert f"generations/{gen1}/records.sqlite3" in await holding(files, needle)
        scope = scopes.org(CONTRACTOR)
        await erase(h, scope)
        for needle in gone:
            assert await holding(files, needle) == []
        manifest = await check_generation(files, gen1, scope, other=NAMES[SUP].encode())
        assert manifest["erasures_applied"] == [scope]


async def test_a_generation_without_records_is_left_alone(
    settings: Settings, tmp_path: Path
) -> None:
    """Records on MongoDB are not in a generation (``mongodump``, outside Kura): the pass
    leaves such a generation as it is and reports no failure."""
    store = FolderStore(tmp_path / "backups")
    await store.open()
    gen = "20260601T000000Z"
    raw = json.dumps({"records": {"file": None, "backend": "mongodb"}, "objects": []}).encode()
    await store.put_bytes(f"generations/{gen}/manifest.json", raw)
    line = f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode()
    await store.put_bytes(f"generations/{gen}/manifest.sha256", line)
    await store.put_bytes("erasures.jsonl", json.dumps({"scope": "wc-W1"}).encode() + b"\n")
    async with world(settings) as h:
        applied = await apply_erasures(h.container, store)
    assert (applied.done, applied.failed) == ({}, {})
    assert (tmp_path / "backups" / "generations" / gen / "manifest.json").read_bytes() == raw
