"""The threads of one append request (``storage.blobs.append.Pipeline`` on
``storage.blobs.lanes``): a writer and a hasher, each taking the batches in order, up to a
window behind the request. The port's rules for appends (offsets, cuts, checksums, cancels)
are in tests/contract/test_blob_appends.py; here what the threads add."""

from __future__ import annotations

import hashlib
import os
import threading

import anyio
import pytest

from storage.blobs.append import Pipeline, RequestCheck
from tests.support.waits import HANG_GUARD_S

pytestmark = pytest.mark.anyio

KiB = 1 << 10


def lane_threads() -> set[str]:
    return {t.name for t in threading.enumerate()} & {"kura-append-write", "kura-append-hash"}


def batch(i: int) -> list[bytes]:
    return [bytes([i]) * 300, os.urandom(7 * KiB)]


async def test_batches_are_written_and_hashed_in_order() -> None:
    """Every batch reaches the writer and the hasher in the order submitted, whatever the
    threads' pace; what the writes return comes back in order too."""
    written: list[bytes] = []
    check = RequestCheck(0, hashlib.sha256(), None, None)

    def write(b: list[bytes]) -> int:
        written.append(b"".join(b))
        return len(written)

    pipeline = Pipeline(write, check, window=16 * KiB)
    batches = [batch(i) for i in range(50)]
    returned: list[int] = []
    for b in batches:
        returned += await pipeline.submit(b)
    returned += await pipeline.drain()
    whole = b"".join(b"".join(b) for b in batches)
    assert b"".join(written) == whole
    assert check.whole is not None
    assert check.whole.hexdigest() == hashlib.sha256(whole).hexdigest()
    assert check.received == len(whole)
    assert returned == list(range(1, 51))


async def test_submit_waits_while_the_window_is_full() -> None:
    """Memory stays bounded: with the writer held, ``submit`` returns while the queued
    bytes fit the window and then waits until the writer moves on."""
    gate = threading.Event()
    check = RequestCheck(0, None, None, None)
    pipeline = Pipeline(lambda b: gate.wait(HANG_GUARD_S), check, window=20 * KiB)
    one = batch(1)  # 7468 bytes
    await pipeline.submit(one)
    await pipeline.submit(one)  # 14.6 KiB queued: within the window
    with anyio.move_on_after(0.3) as scope:
        await pipeline.submit(one)  # 21.9 KiB: waits for the writer
    assert scope.cancelled_caught
    gate.set()
    await pipeline.settle()


async def test_a_failed_write_stops_the_batches_after_it() -> None:
    """A write error is raised by the next ``submit`` or by ``drain``; the batches queued
    after it are not written (the request keeps nothing past the failure)."""
    written: list[int] = []

    def write(b: list[bytes]) -> None:
        if b[0][0] == 3:
            raise OSError(28, "No space left on device")
        written.append(b[0][0])

    pipeline = Pipeline(write, RequestCheck(0, None, None, None), window=64 * KiB)

    async def run() -> None:
        for i in range(1, 9):
            await pipeline.submit(batch(i))
        await pipeline.drain()

    with pytest.raises(OSError, match="No space"):
        await run()
    await pipeline.settle()
    assert written == [1, 2]


async def test_settle_waits_for_every_batch_queued() -> None:
    """A dropped connection or a cancel: ``settle`` returns once the threads have done
    every batch that arrived (bytes received are kept), and ends them."""
    written: list[int] = []
    gate = threading.Event()

    def write(b: list[bytes]) -> None:
        gate.wait(HANG_GUARD_S)
        written.append(b[0][0])

    pipeline = Pipeline(write, RequestCheck(0, None, None, None), window=64 * KiB)
    for i in range(1, 5):
        await pipeline.submit(batch(i))
    assert written == []
    gate.set()
    with anyio.fail_after(HANG_GUARD_S):
        await pipeline.settle()
    assert written == [1, 2, 3, 4]
    with anyio.fail_after(HANG_GUARD_S):  # the threads exit right after their last batch
        while lane_threads():  # noqa: ASYNC110 - nothing to wait on but the thread table
            await anyio.sleep(0.01)


async def test_an_empty_request_starts_no_thread() -> None:
    before = threading.active_count()
    pipeline = Pipeline(lambda b: None, RequestCheck(0, None, None, None), window=KiB)
    assert await pipeline.drain() == []
    await pipeline.settle()
    assert threading.active_count() == before
