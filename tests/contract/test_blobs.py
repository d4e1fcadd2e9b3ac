"""Contract suite of the ``BlobStore`` port, run against every adapter (fixture ``blobs``).

Local filesystem always; S3 (SeaweedFS through the minio SDK) whenever the real test servers are
on, each test in its own bucket, dropped afterwards. The unreachable-endpoint tests need no
server: they aim at 127.0.0.1:1, where nothing listens.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from storage.blobs.keys import InvalidKey, InvalidRange
from storage.blobs.local import LocalBlobStore
from storage.errors import BackendUnavailable, NotFound
from storage.ports import BlobStore
from tests.conftest import server_env
from tests.support.waits import HANG_GUARD_S

pytestmark = pytest.mark.anyio

MiB = 1 << 20
PART = 16 * MiB  # S3 part size in the tests (the smallest the settings recommend)


@pytest.fixture(params=["local", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An opened, empty blob store of each adapter."""
    if request.param == "local":
        local = LocalBlobStore(tmp_path / "blobs")
        await local.open()
        yield local
        await local.close()
        return

    endpoint = server_env("KURA_TEST_S3_ENDPOINT")
    from storage.blobs.s3 import S3BlobStore

    s3 = S3BlobStore(
        endpoint=endpoint,
        access_key=os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
        secret_key=os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
        bucket=f"kura-test-{uuid.uuid4().hex[:12]}",
        part_size=PART,
    )
    await s3.open()
    try:
        yield s3
    finally:
        await s3.drop_bucket()
        await s3.close()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def numbered_chunks(count: int, size: int = MiB) -> AsyncIterator[bytes]:
    """``count`` distinct chunks made on the fly (never the whole object in memory)."""
    block = os.urandom(size)
    for i in range(count):
        yield i.to_bytes(8, "big") + block[8:]


async def read_all(store: BlobStore, key: str, **kw: Any) -> bytes:
    return b"".join([c async for c in store.get(key, **kw)])


async def keys(store: BlobStore, prefix: str = "") -> list[str]:
    return [info.key async for info in store.list(prefix)]


async def test_is_a_blob_store(blobs: Any) -> None:
    assert isinstance(blobs, BlobStore)
    assert (await blobs.health()).ok


async def test_roundtrip_with_metadata(blobs: BlobStore) -> None:
    data = b"hello " * 1000
    meta = {"filename": "設計図 第1版.pdf", "work-id": "01HXYZ"}
    info = await blobs.put(
        "works/w1/a.pdf", chunks_of(data[:100], data[100:]), content_type="application/pdf",
        metadata=meta,
    )  # fmt: skip
    assert info.key == "works/w1/a.pdf"
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert await read_all(blobs, "works/w1/a.pdf") == data
    st = await blobs.stat("works/w1/a.pdf")
    assert st is not None
    assert (st.key, st.size, st.sha256) == (info.key, info.size, info.sha256)
    assert st.content_type == "application/pdf"
    assert st.metadata == meta


async def test_empty_object(blobs: BlobStore) -> None:
    info = await blobs.put("empty", chunks_of())
    assert info.size == 0
    assert info.sha256 == hashlib.sha256(b"").hexdigest()
    assert await read_all(blobs, "empty") == b""
    st = await blobs.stat("empty")
    assert st is not None
    assert st.size == 0
    assert st.sha256 == info.sha256
    assert await keys(blobs) == ["empty"]


async def test_large_object_streams_with_flat_memory(blobs: Any) -> None:
    """40 MiB in 1 MiB chunks: the multipart path on S3; peak traced memory stays small."""
    expected = hashlib.sha256()

    async def source() -> AsyncIterator[bytes]:
        async for chunk in numbered_chunks(40):
            expected.update(chunk)
            yield chunk

    tracemalloc.start()
    try:
        info = await blobs.put("big/object.bin", source())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == 40 * MiB
    assert info.sha256 == expected.hexdigest()
    assert peak < 4 * PART, f"peak traced memory {peak / MiB:.1f} MiB"

    got = hashlib.sha256()
    size = 0
    async for chunk in blobs.get("big/object.bin", chunk_size=4 * MiB):
        assert len(chunk) <= 4 * MiB
        got.update(chunk)
        size += len(chunk)
    assert size == 40 * MiB
    assert got.hexdigest() == expected.hexdigest()
    st = await blobs.stat("big/object.bin")
    assert st is not None
    assert st.sha256 == expected.hexdigest()
    assert await keys(blobs) == ["big/object.bin"]
    assert await blobs.temp_objects() == []


async def test_range_reads(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 40
    await blobs.put("r", chunks_of(data))
    assert await read_all(blobs, "r", start=100) == data[100:]
    assert await read_all(blobs, "r", start=100, end=200) == data[100:200]
    assert await read_all(blobs, "r", start=0, end=10**9) == data
    assert await read_all(blobs, "r", start=len(data) - 1) == data[-1:]
    assert await read_all(blobs, "r", start=len(data)) == b""
    assert await read_all(blobs, "r", start=len(data) + 50) == b""
    assert await read_all(blobs, "r", start=5, end=5) == b""
    small = [c async for c in blobs.get("r", start=10, end=2510, chunk_size=1000)]
    assert [len(c) for c in small] == [1000, 1000, 500]
    assert b"".join(small) == data[10:2510]
    with pytest.raises(InvalidRange):
        await read_all(blobs, "r", start=-1)
    with pytest.raises(InvalidRange):
        await read_all(blobs, "r", start=10, end=5)


async def test_overwrite_replaces_bytes_and_metadata(blobs: BlobStore) -> None:
    await blobs.put("k", chunks_of(b"one" * 100), content_type="text/plain", metadata={"v": "1"})
    info = await blobs.put("k", chunks_of(b"two"), metadata={"w": "2"})
    assert await read_all(blobs, "k") == b"two"
    st = await blobs.stat("k")
    assert st is not None
    assert st.size == 3
    assert st.sha256 == info.sha256 == hashlib.sha256(b"two").hexdigest()
    assert st.content_type == "application/octet-stream"
    assert st.metadata == {"w": "2"}


async def test_delete(blobs: BlobStore) -> None:
    await blobs.put("d/x", chunks_of(b"x"))
    await blobs.put("d/y", chunks_of(b"y"))
    await blobs.delete("d/x")
    assert await blobs.stat("d/x") is None
    with pytest.raises(NotFound):
        await read_all(blobs, "d/x")
    await blobs.delete("d/x")  # absent: no error
    await blobs.delete("never/was")
    assert await keys(blobs) == ["d/y"]
    await blobs.delete("d/y")
    assert await keys(blobs) == []


async def test_list_in_key_order_with_prefix(blobs: BlobStore) -> None:
    names = ["b/2", "a-b", "a/b", "a/a/c", "a.b", "b/10", "c", "b/1/z", "A", "a/b.txt"]
    for name in names:
        await blobs.put(name, chunks_of(name.encode()))
    listed = [info async for info in blobs.list()]
    assert [i.key for i in listed] == sorted(names)
    assert all(i.size == len(i.key) for i in listed)
    assert await keys(blobs, "a/") == ["a/a/c", "a/b", "a/b.txt"]
    assert await keys(blobs, "a") == ["a-b", "a.b", "a/a/c", "a/b", "a/b.txt"]
    assert await keys(blobs, "b/1") == ["b/1/z", "b/10"]
    assert await keys(blobs, "a/b") == ["a/b", "a/b.txt"]
    assert await keys(blobs, "zz") == []
    assert await keys(blobs, "nothing/here/") == []


BAD_KEYS = [
    "",
    "/abs",
    "a//b",
    "a/",
    "a/./b",
    "../x",
    "a/..",
    ".",
    "a b",
    "日本語.pdf",
    "a\\b",
    "a\x00b",
    "x" * 1025,
    "y" * 201,
    ".tmp/x",
    ".meta/x",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_rejected(blobs: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        await blobs.put(key, chunks_of(b"x"))
    with pytest.raises(InvalidKey):
        await read_all(blobs, key)
    with pytest.raises(InvalidKey):
        await blobs.stat(key)
    with pytest.raises(InvalidKey):
        await blobs.delete(key)
    assert await keys(blobs) == []


async def test_long_valid_key_and_bad_metadata(blobs: BlobStore) -> None:
    key = "/".join(["s" * 200] * 5)[:1024]
    assert len(key) == 1004
    await blobs.put(key, chunks_of(b"ok"))
    assert await read_all(blobs, key) == b"ok"
    assert isinstance(InvalidKey("x"), ValueError)
    for meta in ({"Bad Name": "x"}, {"sha256": "x"}, {"a": "x" * 3000}):
        with pytest.raises(InvalidKey):
            await blobs.put("m", chunks_of(b"x"), metadata=meta)
    assert await blobs.stat("m") is None


class Boom(Exception):
    pass


async def failing(count: int, size: int = MiB) -> AsyncIterator[bytes]:
    async for chunk in numbered_chunks(count, size):
        yield chunk
    raise Boom("client went away")


@pytest.mark.parametrize("mib", [0, 1, 20])
async def test_failed_put_keeps_old_object_and_leaves_no_garbage(blobs: Any, mib: int) -> None:
    """The chunk iterator raising (before, inside, past the first part) changes nothing."""
    await blobs.put("keep", chunks_of(b"old"), metadata={"v": "old"})
    with pytest.raises(Boom):
        await blobs.put("keep", failing(mib), metadata={"v": "new"})
    with pytest.raises(Boom):
        await blobs.put("fresh", failing(mib))
    assert await read_all(blobs, "keep") == b"old"
    st = await blobs.stat("keep")
    assert st is not None
    assert st.metadata == {"v": "old"}
    assert st.sha256 == hashlib.sha256(b"old").hexdigest()
    assert await blobs.stat("fresh") is None
    assert await keys(blobs) == ["keep"]
    assert await blobs.temp_objects() == []


@pytest.mark.parametrize("mib", [1, 20])
async def test_cancelled_put_keeps_old_object_and_leaves_no_garbage(blobs: Any, mib: int) -> None:
    """A put cancelled mid-stream (client disconnect, timeout) behaves like a failed one."""
    await blobs.put("keep", chunks_of(b"old"))
    stalled = anyio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        async for chunk in numbered_chunks(mib):
            yield chunk
        await stalled.wait()  # never set: the put hangs here until cancelled
        yield b"never"

    with anyio.move_on_after(1.0) as scope:
        await blobs.put("keep", stalls())
    assert scope.cancelled_caught
    await anyio.sleep(0.2)  # the SDK thread aborts its multipart upload on its own
    assert await read_all(blobs, "keep") == b"old"
    assert await keys(blobs) == ["keep"]
    assert await blobs.temp_objects() == []


async def test_put_many(blobs: Any) -> None:
    """Many small objects at once (bulk imports): each readable with its own size, SHA-256
    and the default content type, as a ``put`` would leave it; an existing key is replaced
    (its old metadata goes); no temp files; keys are checked before anything is written."""
    await blobs.put("many/003", chunks_of(b"old"), content_type="text/plain", metadata={"v": "1"})
    items = [(f"many/{i:03d}", f"内容 {i}".encode() * (i + 1)) for i in range(40)]
    items.append(("many/empty", b""))
    infos = await blobs.put_many(items)
    assert [i.key for i in infos] == [k for k, _ in items]
    for (key, data), info in zip(items, infos, strict=True):
        assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert await read_all(blobs, key) == data
        st = await blobs.stat(key)
        assert st is not None
        assert (st.size, st.sha256) == (len(data), info.sha256)
        assert st.content_type == "application/octet-stream"
        assert st.metadata == {}
    assert await keys(blobs, "many/") == sorted(k for k, _ in items)
    assert await blobs.put_many([]) == []
    with pytest.raises(InvalidKey):
        await blobs.put_many([("ok/key", b"x"), ("../bad", b"x")])
    assert await blobs.stat("ok/key") is None
    with pytest.raises(ValueError, match="small"):
        await blobs.put_many([("big", bytes((1 << 20) + 1))])
    assert await blobs.temp_objects() == []


async def test_missing_object(blobs: BlobStore) -> None:
    assert await blobs.stat("no/such") is None
    with pytest.raises(NotFound):
        await read_all(blobs, "no/such")
    with pytest.raises(NotFound):
        await read_all(blobs, "no/such", start=3, end=3)
    assert await keys(blobs, "no/") == []


async def test_local_key_conflict_is_invalid_key(tmp_path: Path) -> None:
    """A local limitation (S3 allows both): ``a`` and ``a/b`` cannot coexist on disk."""
    store = LocalBlobStore(tmp_path / "blobs")
    await store.open()
    await store.put("a", chunks_of(b"file"))
    with pytest.raises(InvalidKey):
        await store.put("a/b", chunks_of(b"x"))
    assert await read_all(store, "a") == b"file"
    assert await store.temp_objects() == []


async def test_local_health_false_when_root_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a folder")
    store = LocalBlobStore(blocker / "blobs")
    health = await store.health()
    assert not health.ok
    assert health.backend == "local"


async def test_unreachable_s3_fails_clearly() -> None:
    from storage.blobs.s3 import S3BlobStore

    store = S3BlobStore("127.0.0.1:1", "k", "s", "kura", part_size=5 * MiB)
    # how fast each call gives up is bench/bench_unreachable.py's measurement; the guard only
    # stops a hang
    with anyio.fail_after(HANG_GUARD_S):
        with pytest.raises(BackendUnavailable) as err:
            await store.open()
        assert err.value.backend == "s3"
        health = await store.health()
        assert not health.ok
        with pytest.raises(BackendUnavailable):
            await store.put("x", chunks_of(b"x"))
        with pytest.raises(BackendUnavailable):
            await store.put("big", numbered_chunks(8))
        with pytest.raises(BackendUnavailable):
            await read_all(store, "x")
        with pytest.raises(BackendUnavailable):
            await store.stat("x")
        with pytest.raises(BackendUnavailable):
            await keys(store)
    await store.close()
