"""Backups to an S3 bucket (issue 12 §3: "to a folder or an S3 bucket"), on the real SeaweedFS
test server: the restore drill with the generations, the pool and the key generations in
buckets (keys in a bucket of their own), incremental runs, pruning, an interrupted backup
(resumable, never a half generation listed) and a damaged object refused before any write.

What the buckets hold is read with a plain S3 client of the blob port (no Kura backup code),
so the expectations come from the bucket itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.backup import stores
from api.cli._run import with_container
from api.config import Settings
from api.container import Container
from storage.blobs.s3 import S3BlobStore
from storage.errors import KeyDestroyed
from tests.backup.support import BIG, DATA1, DATA2, MARK, kura, one, read
from tests.conftest import server_env


class Bucket:
    """A bucket read with the plain S3 adapter (no sealing, no backup code)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.store = S3BlobStore(
            server_env("KURA_TEST_S3_ENDPOINT"),
            os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
            os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
            name,
        )

    def run(self, fn: Any) -> Any:
        import asyncio

        async def go() -> Any:
            await self.store.open()
            try:
                return await fn(self.store)
            finally:
                await self.store.close()

        return asyncio.run(go())

    def names(self, prefix: str = "") -> list[str]:
        async def names(s: S3BlobStore) -> list[str]:
            return [i.key async for i in s.list(prefix)]

        result: list[str] = self.run(names)
        return result

    def read(self, key: str) -> bytes:
        async def get(s: S3BlobStore) -> bytes:
            return b"".join([c async for c in s.get(key)])

        result: bytes = self.run(get)
        return result

    def write(self, key: str, data: bytes) -> None:
        async def put(s: S3BlobStore) -> None:
            await s.put(key, one(data))

        self.run(put)

    def generations(self) -> list[str]:
        return sorted(
            k.split("/")[1] for k in self.names("generations/") if k.endswith("/manifest.sha256")
        )

    def drop(self) -> None:
        async def drop(s: S3BlobStore) -> None:
            await s.drop_bucket()

        self.run(drop)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A deployment on the embedded stack whose backups go to two fresh buckets."""
    tag = uuid.uuid4().hex[:8]
    data, keys = Bucket(f"kura-test-bk-{tag}"), Bucket(f"kura-test-bk-{tag}-keys")
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KURA_BACKUP__S3_BUCKET", data.name)
    monkeypatch.setenv("KURA_BACKUP__S3_ENDPOINT", server_env("KURA_TEST_S3_ENDPOINT"))
    monkeypatch.setenv("KURA_BACKUP__S3_ACCESS_KEY", os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""))
    monkeypatch.setenv("KURA_BACKUP__S3_SECRET_KEY", os.environ.get("KURA_TEST_S3_SECRET_KEY", ""))
    yield {"data": data, "keys": keys, "root": tmp_path}
    for bucket in (data, keys):
        bucket.drop()


def build_data() -> None:
    async def run(c: Container) -> None:
        await c.blobs.put("s/wc-W1/a", one(DATA1), content_type="text/plain")
        await c.blobs.put("s/wc-W2/b", one(DATA2))
        await c.blobs.put("s/wa-W1/big", one(BIG), metadata={"name": "big.bin"})
        await c.blobs.put("plain/x", one(b"outside every scope"))
        await c.records.insert("drill_notes", {"id": "W1", "name": "工事1"})

    with_container(run)


def test_restore_drill_from_s3(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    data: Bucket = env["data"]
    keys: Bucket = env["keys"]
    build_data()
    first = kura("backup")
    assert first.exit_code == 0, first.output
    [gen1] = data.generations()
    # Keys in their own bucket, never in the data bucket; the pool holds ciphertext only.
    assert keys.generations() == [gen1]
    assert not [k for k in data.names() if k.endswith(("/keyring", "/keys.sqlite3"))]
    assert {k.rsplit("/", 1)[-1] for k in keys.names(f"generations/{gen1}/")} >= {
        "keyring",
        "keys.sqlite3",
        "manifest.json",
    }
    pool = data.names("pool/")
    assert len(pool) == 4
    for name in pool:
        stored = data.read(name)
        assert hashlib.sha256(stored).hexdigest() == name.rsplit("/", 1)[-1]
        assert MARK not in stored or name.endswith(
            hashlib.sha256(b"outside every scope").hexdigest()
        )
    manifest = json.loads(data.read(f"generations/{gen1}/manifest.json"))
    recorded = data.read(f"generations/{gen1}/manifest.sha256").split()[0].decode()
    assert hashlib.sha256(data.read(f"generations/{gen1}/manifest.json")).hexdigest() == recorded
    assert {e["key"] for e in manifest["objects"]} == {
        "s/wc-W1/a",
        "s/wc-W2/b",
        "s/wa-W1/big",
        "plain/x",
    }

    # Change and erase some, back up again: incremental (only the new object is copied).
    async def change(c: Container) -> None:
        await c.blobs.put("s/wc-W1/c", one(b"after the backup"))
        work = await c.records.get("drill_notes", "W1")
        assert work is not None
        await c.records.update("drill_notes", "W1", {"name": "変更後"}, work["version"])

    with_container(change)
    erased = kura("keys", "erase", "wc-W2", "--by", "運用者", "--yes")
    assert erased.exit_code == 0, erased.output
    assert b"wc-W2" in data.read("erasures.jsonl")  # the ledger, written at erasure time
    second = kura("backup")
    assert second.exit_code == 0, second.output
    assert "1 copied" in second.output
    assert len(data.names("pool/")) == 5
    listed = kura("backup", "--list")
    assert listed.output.count("data\t") == 2

    monkeypatch.setenv("KURA_DATA_DIR", str(env["root"] / "restored"))
    restored = kura("restore", gen1)
    assert restored.exit_code == 0, restored.output
    assert "wc-W2" in restored.output
    assert read("s/wc-W1/a") == DATA1
    assert read("s/wa-W1/big") == BIG
    assert read("plain/x") == b"outside every scope"
    assert read("s/wc-W1/c") is None  # after the generation
    assert read("s/wc-W2/b") is None  # erased stays erased

    async def check(c: Container) -> None:
        info = await c.blobs.stat("s/wc-W1/a")
        assert info is not None
        assert info.sha256 == hashlib.sha256(DATA1).hexdigest()
        assert info.content_type == "text/plain"
        big = await c.blobs.stat("s/wa-W1/big")
        assert big is not None
        assert big.metadata == {"name": "big.bin"}
        note = await c.records.get("drill_notes", "W1")
        assert note is not None
        assert note["name"] == "工事1"
        with pytest.raises(KeyDestroyed):
            await c.keys.current("wc-W2")

    with_container(check)


def test_an_interrupted_backup_lists_no_generation_and_resumes(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data: Bucket = env["data"]
    build_data()
    real_put = stores.BucketStore.put_file
    uploads: list[str] = []

    async def dies_at_records(self: stores.BucketStore, name: str, source: Path) -> None:
        if name.endswith("records.sqlite3"):
            raise OSError("connection reset (the backup was killed here)")
        uploads.append(name)
        await real_put(self, name, source)

    monkeypatch.setattr(stores.BucketStore, "put_file", dies_at_records)
    failed = kura("backup")
    assert failed.exit_code == 2
    assert "connection reset" in failed.output
    assert len([u for u in uploads if u.startswith("pool/")]) == 4  # copied before it died
    assert data.generations() == []
    assert kura("backup", "--list").output.count("data\t") == 0

    uploads.clear()

    async def counts(self: stores.BucketStore, name: str, source: Path) -> None:
        uploads.append(name)
        await real_put(self, name, source)

    monkeypatch.setattr(stores.BucketStore, "put_file", counts)
    again = kura("backup")
    assert again.exit_code == 0, again.output
    assert [u for u in uploads if u.startswith("pool/")] == []  # resumed: the pool was there
    assert len(data.generations()) == 1


def test_generations_are_pruned_by_the_policy_and_the_pool_collected(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data: Bucket = env["data"]
    keys: Bucket = env["keys"]
    build_data()
    assert kura("backup").exit_code == 0
    [gen1] = data.generations()

    async def replace(c: Container) -> None:
        await c.blobs.put("plain/x", one(b"a new version"))

    with_container(replace)
    old_sha = hashlib.sha256(b"outside every scope").hexdigest()
    assert f"pool/{old_sha[:2]}/{old_sha}" in data.names("pool/")
    for name, value in (("KEEP_LAST", 1), ("KEEP_DAILY", 1), ("KEEP_WEEKLY", 0)):
        monkeypatch.setenv(f"KURA_BACKUP__{name}", str(value))
    monkeypatch.setenv("KURA_BACKUP__KEEP_MONTHLY", "0")
    monkeypatch.setenv("KURA_BACKUP__KEEP_KEYS", "1")
    second = kura("backup")
    assert second.exit_code == 0, second.output
    [gen2] = data.generations()
    assert gen2 != gen1
    assert data.names(f"generations/{gen1}/") == []
    assert keys.generations() == [gen2]
    assert f"pool/{old_sha[:2]}/{old_sha}" not in data.names("pool/")


def test_a_damaged_object_in_the_bucket_is_refused_before_anything_is_written(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data: Bucket = env["data"]
    build_data()
    assert kura("backup").exit_code == 0
    victim = data.names("pool/")[0]
    stored = bytearray(data.read(victim))
    stored[-1] ^= 1
    data.write(victim, bytes(stored))
    monkeypatch.setenv("KURA_DATA_DIR", str(env["root"] / "restored"))
    failed = kura("restore")
    assert failed.exit_code == 2
    assert "damaged" in failed.output
    assert not (env["root"] / "restored").exists()
    assert not Settings().keyring_path.exists()


def test_keys_and_data_must_be_in_different_buckets(env: dict[str, Any]) -> None:
    same = kura("backup", "--to", "s3://kura-x", "--keys-to", "s3://kura-x")
    assert same.exit_code == 2
    assert "apart" in same.output


def test_metrics_report_the_newest_generation_in_the_bucket(env: dict[str, Any]) -> None:
    """Issue 12 §4: backup age is watched on a bucket target too."""
    from datetime import UTC, datetime

    import httpx

    from api.app import create_app

    data: Bucket = env["data"]
    build_data()
    assert kura("backup").exit_code == 0
    [gen] = data.generations()

    async def scrape(c: Container) -> str:
        app = create_app(c.settings, container=c)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/metrics")).text

    text = with_container(scrape)
    when = datetime.strptime(gen[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    lines = dict(
        line.split(" ", 1) for line in text.splitlines() if line.startswith("kura_backup_")
    )
    assert float(lines["kura_backup_last_success_timestamp_seconds"]) == when
    assert float(lines["kura_backup_generations"]) == 1


def test_the_real_stack_records_on_mongodb_objects_through_kura_backup(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records and wrapped keys on MongoDB, objects on S3 (docs/operations.md "The real
    stack"): ``kura backup`` copies the objects and the key files and says in its manifests
    that the databases go through mongodump; ``kura restore`` after the databases were
    restored (here: the same databases, as ``mongorestore`` would give them back) writes the
    objects into an empty bucket, and the erasure made after the backup stays applied."""
    data: Bucket = env["data"]
    keys: Bucket = env["keys"]
    tag = uuid.uuid4().hex[:8]
    blobs = [Bucket(f"kura-test-blobs-{tag}"), Bucket(f"kura-test-blobs-{tag}-r")]
    monkeypatch.setenv("KURA_RECORDS__BACKEND", "mongodb")
    monkeypatch.setenv("KURA_RECORDS__MONGO_URI", server_env("KURA_TEST_MONGO_URI"))
    monkeypatch.setenv("KURA_RECORDS__MONGO_DB", f"kura_test_{tag}")
    monkeypatch.setenv("KURA_BLOBS__BACKEND", "s3")
    monkeypatch.setenv("KURA_BLOBS__S3_ENDPOINT", server_env("KURA_TEST_S3_ENDPOINT"))
    monkeypatch.setenv("KURA_BLOBS__S3_ACCESS_KEY", os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""))
    monkeypatch.setenv("KURA_BLOBS__S3_SECRET_KEY", os.environ.get("KURA_TEST_S3_SECRET_KEY", ""))
    monkeypatch.setenv("KURA_BLOBS__PART_SIZE", str(5 << 20))
    monkeypatch.setenv("KURA_BLOBS__S3_BUCKET", blobs[0].name)
    try:
        build_data()
        done = kura("backup")
        assert done.exit_code == 0, done.output
        [gen] = data.generations()
        manifest = json.loads(data.read(f"generations/{gen}/manifest.json"))
        assert manifest["records"] == {
            "file": None,
            "backend": "mongodb",
            "with": "mongodump --oplog",
        }
        assert not [n for n in data.names() if n.endswith("records.sqlite3")]
        key_manifest = json.loads(keys.read(f"generations/{gen}/manifest.json"))
        assert key_manifest["key_store"]["with"] == "mongodump --oplog"
        assert "keyring" in key_manifest["files"]
        assert kura("keys", "erase", "wc-W2", "--by", "運用者", "--yes").exit_code == 0

        # The disaster: the data folder (keyring) and the blob bucket are gone.
        monkeypatch.setenv("KURA_DATA_DIR", str(env["root"] / "restored"))
        monkeypatch.setenv("KURA_BLOBS__S3_BUCKET", blobs[1].name)
        monkeypatch.setenv("KURA_RECORDS__BACKEND", "sqlite")
        wrong = kura("restore")
        assert wrong.exit_code == 2
        assert "mongorestore" in wrong.output
        monkeypatch.setenv("KURA_RECORDS__BACKEND", "mongodb")
        restored = kura("restore")
        assert restored.exit_code == 0, restored.output
        assert read("s/wc-W1/a") == DATA1
        assert read("s/wa-W1/big") == BIG
        assert read("s/wc-W2/b") is None
    finally:
        for bucket in blobs:
            bucket.drop()

        async def drop(c: Container) -> None:
            for store in (c.records, c.keys.store):
                await store.drop_database()  # type: ignore[attr-defined]

        with_container(drop)
