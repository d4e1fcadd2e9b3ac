"""The local adapter's put pipeline (``storage.blobs.putpipe``): a put's own hasher and writer
threads. The port's rules (atomic replace, no temp file after a failure or a cancel, sealed
bytes) are in the contract suites; here what the threads add: the memory window, the file
descriptor let go after a cancel, a caller that reuses its buffer, errors of either thread."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest

from storage.blobs import putpipe
from storage.blobs.local import LocalBlobStore
from storage.blobs.sealing import HEADER, stored_size
from storage.errors import StorageFull
from tests.support.sealing import contract_sealing
from tests.support.waits import HANG_GUARD_S

pytestmark = pytest.mark.anyio

MiB = 1 << 20


@pytest.fixture(params=["plain", "sealed"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalBlobStore]:
    sealing = contract_sealing() if request.param == "sealed" else None
    local = LocalBlobStore(tmp_path / "blobs", sealing=sealing)
    await local.open()
    yield local
    await local.close()


def open_tmp_fds(store: LocalBlobStore) -> list[str]:
    """Descriptors of this process open on a file under the store's temp folder (Linux)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(store.root / ".tmp")) and ".part" in target:
            found.append(target)
    return found


async def polled(done: Callable[[], bool]) -> None:
    """Until ``done()``: a thread of the put lets go of its descriptor on its own time."""
    with anyio.fail_after(HANG_GUARD_S):
        while not done():  # noqa: ASYNC110 - nothing to wait on but the file table
            await anyio.sleep(0.01)


async def until_closed(store: LocalBlobStore) -> None:
    await polled(lambda: not open_tmp_fds(store))


class GatedDigest:
    """A SHA-256 whose ``update`` waits for ``gate``: a hasher thread that falls behind."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.inner = hashlib.sha256()

    def update(self, data: bytes) -> None:
        if not self.gate.wait(HANG_GUARD_S):
            raise TimeoutError("gate never opened")
        self.inner.update(data)


async def test_submit_waits_while_the_window_is_full(tmp_path: Path) -> None:
    """At most ``window`` bytes are queued or in work: a put whose hashing falls behind
    stops taking chunks (memory stays bounded) and goes on once the hasher catches up."""
    fd = os.open(tmp_path / "out.part", os.O_WRONLY | os.O_CREAT, 0o644)
    digest = GatedDigest()
    pipe = putpipe.PutPipe(fd, digest, None, window=2 * MiB)
    pipe.start()
    block = os.urandom(MiB)
    await pipe.submit([block], MiB)
    await pipe.submit([block], MiB)  # 2 MiB in flight: still within the window
    third = asyncio.ensure_future(pipe.submit([block], MiB))
    await asyncio.sleep(0.2)
    assert not third.done(), "a third MiB was taken while two were unhashed"
    digest.gate.set()
    with anyio.fail_after(HANG_GUARD_S):
        await third
        await pipe.finish()
    os.close(fd)
    assert digest.inner.hexdigest() == hashlib.sha256(block * 3).hexdigest()
    assert (tmp_path / "out.part").read_bytes() == block * 3


async def test_a_caller_reusing_its_buffer_stores_what_it_yielded(store: LocalBlobStore) -> None:
    """The threads work behind the caller: a chunk handed over must be the caller's bytes at
    that moment, not a buffer it refills (``bytes(chunk)``)."""
    buf = bytearray(256 * 1024)
    expected = hashlib.sha256()
    want = bytearray()

    async def refilled() -> AsyncIterator[bytes]:
        for i in range(24):  # 6 MiB: several batches through the pipe
            buf[:] = bytes([i]) * len(buf)
            expected.update(buf)
            want.extend(buf)
            yield buf  # type: ignore[misc]  # a bytearray, as some callers give

    info = await store.put("reused", refilled())
    assert info.sha256 == expected.hexdigest()
    got = b"".join([c async for c in store.get("reused")])
    assert got == bytes(want)


async def test_a_cancelled_put_lets_go_of_its_temp_file(store: LocalBlobStore) -> None:
    """The writer thread closes the descriptor after a cancel (nothing may await then); the
    unlinked temp file is gone with it."""
    stalled = anyio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        block = os.urandom(MiB)
        for _ in range(12):
            yield block
        await stalled.wait()
        yield b"never"

    with anyio.move_on_after(1.0) as scope:
        await store.put("c", stalls())
    assert scope.cancelled_caught
    assert await store.temp_objects() == []
    await until_closed(store)
    assert await store.stat("c") is None


async def test_a_write_error_mid_stream_stops_the_put(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk filling up after some MiB: ``StorageFull`` from the writer thread, no temp
    file, no descriptor left, the old object untouched."""
    await store.put("k", _chunks([b"old"]))
    writes = 0
    real = putpipe.write_all

    def fills_up(fd: int, parts: list[bytes]) -> int:
        nonlocal writes
        writes += 1
        if writes > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, parts)

    monkeypatch.setattr(putpipe, "write_all", fills_up)
    block = os.urandom(MiB)
    with pytest.raises(StorageFull):
        await store.put("k", _chunks([block] * 16))
    assert await store.temp_objects() == []
    await until_closed(store)
    assert b"".join([c async for c in store.get("k")]) == b"old"


async def test_a_hash_error_stops_the_put(tmp_path: Path) -> None:
    """An error of the hasher thread is raised by ``submit`` or ``finish`` (never lost)."""

    class Broken:
        def update(self, data: bytes) -> None:
            raise RuntimeError("hasher broke")

    fd = os.open(tmp_path / "out.part", os.O_WRONLY | os.O_CREAT, 0o644)
    pipe = putpipe.PutPipe(fd, Broken(), None, window=MiB)
    pipe.start()

    async def feed() -> None:
        for _ in range(8):
            await pipe.submit([b"x" * MiB], MiB)
        await pipe.finish()

    with pytest.raises(RuntimeError, match="hasher broke"):
        await feed()
    pipe.abort()
    await polled(lambda: not _is_open(fd))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize("chunk", [1, 65_537, 100_003, 3 * MiB + 5])
async def test_chunks_of_any_size_through_the_threads(store: LocalBlobStore, chunk: int) -> None:
    """Chunks that do not fall on segment (64 KiB) or batch (1 MiB) boundaries: a sealed
    segment is completed across chunks and batches in the writer thread; the bytes read
    back and the digest are the caller's."""
    data = os.urandom(5 * MiB + 12_345) if chunk > 1 else os.urandom(MiB + 7)
    info = await store.put(
        "odd", _chunks([data[i : i + chunk] for i in range(0, len(data), chunk)])
    )
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert b"".join([c async for c in store.get("odd")]) == data
    stored = (store.root / "odd").stat().st_size
    assert stored == (stored_size(len(data)) if store.sealing is not None else len(data))


async def test_a_writer_thread_that_cannot_start_leaves_nothing(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of threads: the put fails, the temp file and its descriptor go at once."""
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if thread.name == "kura-put-write":
            raise RuntimeError("can't start new thread")
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(RuntimeError, match="can't start"):
        await store.put("t", _chunks([os.urandom(MiB)] * 3))
    assert await store.temp_objects() == []
    await until_closed(store)


def test_writes_are_cut_into_pieces_of_bounded_size(tmp_path: Path) -> None:
    """``write_all`` writes any parts in order in calls of at most ``WRITE_PIECE`` bytes
    (small parts gathered into one ``writev``, large ones cut): page-cache writes of 2 MiB
    cost several times the CPU of 256 KiB ones on CI's machine (issue 12)."""
    import random

    from storage.blobs.putpipe import WRITE_PIECE, _pieces

    rnd = random.Random(5)
    sizes = [0, 1, 100, WRITE_PIECE - 1, WRITE_PIECE, WRITE_PIECE + 1, 3 * WRITE_PIECE + 7]
    for trial in range(300):
        parts = [os.urandom(rnd.choice(sizes)) for _ in range(rnd.randint(0, 6))]
        groups = list(_pieces(parts))
        assert b"".join(bytes(p) for g in groups for p in g) == b"".join(parts)
        assert all(0 < sum(len(p) for p in g) <= WRITE_PIECE for g in groups)
        path = tmp_path / f"w{trial}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            assert putpipe.write_all(fd, parts) == sum(len(p) for p in parts)
        finally:
            os.close(fd)
        assert path.read_bytes() == b"".join(parts)


async def test_append_batches_ask_the_disk_to_start_on_what_they_wrote(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch of an append request is handed to the disk as soon as it is written
    (``start_writeback`` of exactly its stored range), so the request's closing fsync finds
    little left (issue 3 and 12: a 1 GiB tus upload 10-15 % faster). Plain and sealed: the
    ranges tile the part file from where the request began to its end."""
    asked: list[tuple[int, int]] = []
    real = putpipe.start_writeback

    def record(fd: int, offset: int, length: int) -> None:
        asked.append((offset, length))
        real(fd, offset, length)

    monkeypatch.setattr(putpipe, "start_writeback", record)
    data = os.urandom(5 * MiB + 12_345)
    await store.append_open("wb")
    await store.append("wb", _chunks([data[: 3 * MiB + 5]]), offset=0)
    first = list(asked)
    await store.append("wb", _chunks([data[3 * MiB + 5 :]]), offset=3 * MiB + 5)
    assert first
    assert len(asked) > len(first)
    part = store._append_path("wb", ".part")
    begin = 0 if store.sealing is None else HEADER  # a sealed part starts with its header
    ends = [begin]
    for offset, length in asked:
        assert offset == ends[-1]  # in order, without gaps or overlaps
        assert length > 0
        ends.append(offset + length)
    assert ends[-1] == part.stat().st_size  # both requests, up to the part file's end
    info = await store.append_finish("wb", "k/wb")
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_spool_segments_ask_the_disk_to_start_on_what_they_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The S3 adapter's spool (``SegmentWriter``): writes of at most ``WRITE_PIECE`` bytes,
    and the open segment's new bytes handed to the disk after each batch (a completed
    segment is fsynced at once)."""
    from storage.blobs import append

    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(append, "start_writeback", lambda fd, off, n: asked.append((off, n)))
    sizes: list[int] = []
    real_write = os.write

    def write(fd: int, data: bytes | memoryview) -> int:
        sizes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(append.os, "write", write)
    spool = append.Spool(tmp_path, part_size=MiB)
    writer = append.SegmentWriter(spool, "h", 1, 0)
    data = os.urandom(2 * MiB + 300_000)
    assert writer.write([data[: MiB + 100]]) == [1]
    assert writer.write([data[MiB + 100 :]]) == [2]
    writer.close()
    assert asked == [(0, 100), (0, 300_000)]  # segment 2's first bytes, segment 3's
    assert max(sizes) <= putpipe.WRITE_PIECE
    stored = b"".join(spool.seg_path("h", n).read_bytes() for n in (1, 2, 3))
    assert stored == data
