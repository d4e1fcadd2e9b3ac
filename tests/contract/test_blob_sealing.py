"""Sealed objects in both blob adapters (issue 12 §1): what is stored is ciphertext (objects,
append part files, the S3 spool), and a reordered, truncated, altered or spliced object, or
one whose key was destroyed, fails loudly instead of returning wrong bytes.

Each test reads and writes the stored bytes through a second adapter on the same root or
bucket without sealing (what someone with the disk or the bucket sees).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage.blobs.local import LocalBlobStore
from storage.blobs.sealing import HEADER, SEGMENT, STORED_SEGMENT, TAG, stored_size
from storage.errors import KeyDestroyed, Tampered
from tests.conftest import server_env
from tests.support.sealing import MemoryKeyRing, contract_sealing

pytestmark = pytest.mark.anyio

MiB = 1 << 20
MARK = b"KURA-PLAINTEXT-MARKER-"


@pytest.fixture(params=["local", "s3"])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """(sealed store, raw store on the same place, key ring, spool folder)."""
    ring = MemoryKeyRing()
    if request.param == "local":
        sealed = LocalBlobStore(tmp_path / "blobs", sealing=contract_sealing(ring))
        raw = LocalBlobStore(tmp_path / "blobs")
        await sealed.open()
        yield sealed, raw, ring, tmp_path / "blobs" / ".tmp" / "appends"
        return
    endpoint = server_env("KURA_TEST_S3_ENDPOINT")
    from storage.blobs.s3 import S3BlobStore

    bucket = f"kura-test-{uuid.uuid4().hex[:12]}"

    def make(sealing: Any) -> Any:
        return S3BlobStore(
            endpoint=endpoint,
            access_key=os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
            secret_key=os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
            bucket=bucket,
            part_size=5 * MiB,
            spool_dir=tmp_path / "spool",
            sealing=sealing,
        )

    sealed, raw = make(contract_sealing(ring)), make(None)
    await sealed.open()
    try:
        yield sealed, raw, ring, tmp_path / "spool"
    finally:
        await sealed.drop_bucket()
        await sealed.close()
        await raw.close()


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def content(size: int) -> bytes:
    block = (MARK * (SEGMENT // len(MARK) + 1))[:SEGMENT]
    return b"".join(i.to_bytes(4, "big") + block[4:] for i in range(size // SEGMENT + 1))[:size]


async def read(store: Any, key: str, **kw: Any) -> bytes:
    return b"".join([c async for c in store.get(key, **kw)])


async def replace_raw(raw: Any, key: str, data: bytes) -> None:
    await raw.put(key, one(data))


async def test_stored_bytes_are_ciphertext_of_the_right_size(pair: Any) -> None:
    """Nothing of the content is visible in the stored object; sizes convert exactly."""
    sealed, raw, _ring, _ = pair
    data = content(3 * SEGMENT + 123)
    info = await sealed.put("w/a.bin", one(data))
    assert info.size == len(data)
    stored = await read(raw, "w/a.bin")
    assert len(stored) == stored_size(len(data)) == HEADER + len(data) + 4 * TAG
    assert MARK not in stored
    assert (await sealed.stat("w/a.bin")).size == len(data)
    assert [i.size async for i in sealed.list("w/")] == [len(data)]
    assert await read(sealed, "w/a.bin") == data
    # A multiple of the segment size ends with an empty final segment.
    await sealed.put("w/b.bin", one(content(2 * SEGMENT)))
    assert len(await read(raw, "w/b.bin")) == HEADER + 2 * SEGMENT + 3 * TAG
    assert await read(sealed, "w/b.bin") == content(2 * SEGMENT)


async def test_altered_segment_fails_and_other_ranges_still_read(pair: Any) -> None:
    sealed, raw, _ring, _ = pair
    data = content(4 * SEGMENT + 10)
    await sealed.put("k", one(data))
    stored = bytearray(await read(raw, "k"))
    stored[HEADER + 2 * STORED_SEGMENT + 100] ^= 0x01  # one bit in segment 2
    await replace_raw(raw, "k", bytes(stored))
    with pytest.raises(Tampered, match="segment 2"):
        await read(sealed, "k")
    # Ranges that do not touch segment 2 decrypt only their own segments.
    assert await read(sealed, "k", start=0, end=2 * SEGMENT) == data[: 2 * SEGMENT]
    assert await read(sealed, "k", start=3 * SEGMENT) == data[3 * SEGMENT :]
    with pytest.raises(Tampered):
        await read(sealed, "k", start=2 * SEGMENT + 5, end=2 * SEGMENT + 6)


async def test_reordered_segments_fail(pair: Any) -> None:
    sealed, raw, _ring, _ = pair
    await sealed.put("k", one(content(3 * SEGMENT + 1)))
    stored = await read(raw, "k")
    seg = [
        stored[HEADER + i * STORED_SEGMENT : HEADER + (i + 1) * STORED_SEGMENT] for i in range(3)
    ]
    swapped = stored[:HEADER] + seg[1] + seg[0] + seg[2] + stored[HEADER + 3 * STORED_SEGMENT :]
    await replace_raw(raw, "k", swapped)
    with pytest.raises(Tampered, match="segment 0"):
        await read(sealed, "k")


@pytest.mark.parametrize("cut", ["final segment", "inside a segment", "header"])
async def test_truncated_objects_fail(pair: Any, cut: str) -> None:
    """Dropping the final segment leaves a valid-looking size whose new last segment was
    sealed as non-final: its tag fails. Other cuts give impossible sizes."""
    sealed, raw, _ring, _ = pair
    data = content(3 * SEGMENT + 7)
    await sealed.put("k", one(data))
    stored = await read(raw, "k")
    keep = {
        "final segment": HEADER + 3 * STORED_SEGMENT,
        "inside a segment": HEADER + 2 * STORED_SEGMENT + 500,
        "header": 20,
    }[cut]
    await replace_raw(raw, "k", stored[:keep])
    with pytest.raises(Tampered):
        await read(sealed, "k")


async def test_segment_spliced_from_another_object_fails(pair: Any) -> None:
    """Objects of one scope share the data key but not their segment keys (object id)."""
    sealed, raw, _ring, _ = pair
    await sealed.put("a", one(content(2 * SEGMENT + 1)))
    await sealed.put("b", one(content(2 * SEGMENT + 1)))
    a, b = await read(raw, "a"), await read(raw, "b")
    spliced = b[:HEADER] + a[HEADER : HEADER + STORED_SEGMENT] + b[HEADER + STORED_SEGMENT :]
    await replace_raw(raw, "b", spliced)
    with pytest.raises(Tampered, match="segment 0"):
        await read(sealed, "b")
    # A header from another object (other object id) fails every segment.
    await replace_raw(raw, "b", a[:HEADER] + b[HEADER:])
    with pytest.raises(Tampered):
        await read(sealed, "b")


async def test_destroyed_key_makes_content_unreadable(pair: Any) -> None:
    sealed, _raw, ring, _ = pair
    await sealed.put("k", one(content(SEGMENT + 5)))
    ring.destroy("t")
    with pytest.raises(KeyDestroyed):
        await read(sealed, "k")
    # Nothing new can be stored in an erased scope either.
    with pytest.raises(KeyDestroyed):
        await sealed.put("k2", one(b"x"))
    assert (await sealed.stat("k")).size == SEGMENT + 5  # the object itself is still there


async def test_unsealed_keys_are_stored_as_they_are(pair: Any) -> None:
    sealed, raw, _ring, _ = pair
    await sealed.put("plain/x", one(b"as is"))
    assert await read(raw, "plain/x") == b"as is"
    assert await read(sealed, "plain/x") == b"as is"


async def test_append_files_hold_no_plaintext(pair: Any) -> None:
    """The part file (local) or spool (S3) of an unfinished upload is sealed too: full
    segments and the partial tail alike, across requests and a restart."""
    sealed, raw, _ring, folder = pair
    data = content(3 * SEGMENT + 999)
    await sealed.append_open("up")
    state = await sealed.append("up", one(data[: SEGMENT + 100]), offset=0)  # a segment and a bit
    assert state.size == SEGMENT + 100
    state = await sealed.append("up", one(data[SEGMENT + 100 :]), offset=SEGMENT + 100)
    assert state.size == len(data)
    on_disk = b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())
    assert on_disk
    assert MARK not in on_disk
    assert (await sealed.append_open("up")).size == len(data)
    info = await sealed.append_finish("up", "done/x")
    assert info.size == len(data)
    assert MARK not in await read(raw, "done/x")
    assert await read(sealed, "done/x") == data
    # Nothing of the upload is left on disk.
    assert not [p for p in folder.iterdir() if p.suffix in (".part", ".seal", ".seg")]


async def test_ranges_in_any_chunk_size_read_the_right_bytes(pair: Any) -> None:
    """Sealed reads decrypt blocks ahead of the consumer (``read_ahead``) and hand them out
    in pieces of exactly ``chunk_size`` (the last one shorter), for ranges that start and end
    inside segments, across several blocks, and at the final, shorter segment."""
    sealed, _raw, _ring, _ = pair
    data = content(9 * SEGMENT + 777)
    await sealed.put("w/r.bin", one(data))
    rnd = random.Random(5)
    cases = [(0, None), (1, None), (SEGMENT - 1, SEGMENT + 1), (8 * SEGMENT + 5, None)]
    cases += [(a, a + rnd.randrange(1, 4 * SEGMENT)) for a in rnd.sample(range(len(data)), 6)]
    for chunk in (1000, SEGMENT, 3 * SEGMENT + 5, MiB):
        for start, end in cases:
            pieces = [
                c async for c in sealed.get("w/r.bin", start=start, end=end, chunk_size=chunk)
            ]
            want = data[start:end]
            assert b"".join(pieces) == want, (chunk, start, end)
            assert all(len(p) == chunk for p in pieces[:-1]), (chunk, start, end)
            assert 0 < len(pieces[-1]) <= chunk


async def test_a_download_stopped_early_lets_go_of_its_file(tmp_path: Path) -> None:
    """A consumer that stops after the first piece (a client gone) leaves no open file: the
    block read ahead is waited for, then the file is closed."""
    store = LocalBlobStore(tmp_path / "blobs", sealing=contract_sealing(MemoryKeyRing()))
    await store.open()
    await store.put("w/big.bin", one(content(40 * SEGMENT)))
    path = store._path("w/big.bin")

    def open_files() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if _target(fd) == str(path))

    for _ in range(5):
        pieces = store.get("w/big.bin", chunk_size=SEGMENT)
        assert isinstance(pieces, AsyncGenerator)
        first = await pieces.__anext__()
        assert first == content(40 * SEGMENT)[:SEGMENT]
        assert open_files() == 1
        await pieces.aclose()
        assert open_files() == 0


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:
        return ""


def test_span_reader_opens_pieces_cut_anywhere() -> None:
    """The stored bytes of a range arrive in pieces of any size (an S3 answer read in blocks
    that do not fall on segment boundaries): the plaintext is the same."""
    import asyncio

    from storage.blobs.sealing import Header, ObjectSeal, SpanReader, seal_whole, span
    from tests.support.sealing import MemoryKeyRing as Ring

    key = asyncio.run(Ring().current("t"))
    seal = ObjectSeal(key, Header.new(key.key_id))
    data = content(5 * SEGMENT + 99)
    stored = seal_whole(seal, data)
    rnd = random.Random(3)
    for start, end in [(0, None), (SEGMENT + 3, 4 * SEGMENT + 1), (5 * SEGMENT, None)]:
        plan = span(start, end, len(data))
        assert plan is not None
        body = stored[plan.stored_from : plan.stored_to]
        for _ in range(20):
            reader = SpanReader(seal, plan)
            out, pos = [], 0
            while pos < len(body):
                step = rnd.choice([1, 17, SEGMENT - 1, SEGMENT + TAG, 3 * SEGMENT + 1])
                out.append(reader.feed(body[pos : pos + step]))
                pos += step
            reader.finish()
            assert b"".join(out) == data[start:end]
        short = SpanReader(seal, plan)
        short.feed(body[:-1])
        with pytest.raises(Tampered):
            short.finish()


def test_sealing_in_pieces_equals_sealing_at_once() -> None:
    """``Encoder.feed_pieces`` (the put's writer thread and sealed appends) gives the bytes
    ``feed_all`` gives, whatever the batches and chunks, in pieces of at most
    ``PIECE_SEGMENTS`` segments from one buffer per thread: a batch far larger than that
    buffer (a tus request gathers 2 MiB and more) reuses it rather than getting a fresh one
    per call (issue 12 "encryption costs < 10 %")."""
    import asyncio

    from storage.blobs.sealing import PIECE_SEGMENTS, Encoder, Header, ObjectSeal, scratch
    from tests.support.sealing import MemoryKeyRing as Ring

    scratch("seal", PIECE_SEGMENTS * STORED_SEGMENT)  # grown once to its largest size

    key = asyncio.run(Ring().current("t"))
    header = Header.new(key.key_id)
    data = content(7 * MiB + 12_345)
    rnd = random.Random(11)
    whole = Encoder(ObjectSeal(key, header))
    expected = b"".join([*whole.feed_all([data]), whole.finish()])
    for _ in range(6):
        enc = Encoder(ObjectSeal(key, header))
        got: list[bytes] = []
        buffers: set[int] = set()
        pos = 0
        while pos < len(data):
            batch = []
            for _ in range(rnd.randint(1, 8)):
                step = rnd.choice([1, 1000, SEGMENT - 1, SEGMENT, 300_001, 3 * MiB])
                batch.append(data[pos : pos + step])
                pos += step
            for piece in enc.feed_pieces(batch):
                assert len(piece) <= PIECE_SEGMENTS * STORED_SEGMENT
                assert len(piece) % STORED_SEGMENT == 0
                buffers.add(id(piece.obj))
                got.append(bytes(piece))
        got.append(enc.finish())
        assert b"".join(got) == expected
        assert len(buffers) == 1, "a fresh buffer was made for a large batch"
