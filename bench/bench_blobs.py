"""Blobs benchmark: put and get throughput of one file, local folder and S3, against ``cp``.

    python -m bench.bench_blobs [--size-mib 512] [--part-mib 32] [--chunk-kib 1024]
                                [--parallel 1] [--dir D]

The baselines are ``shutil.copyfile`` of the same file on the same disk (what ``cp`` does): the
ratio says what streaming through the port costs (hashing, thread hops, and for S3 the HTTP
server and its own disk). ``put`` reads the file in chunks through an async iterator, as an
upload handler would, and is durable when it returns (the local adapter fsyncs): its baseline
is ``cp`` followed by an fsync of the copy. ``get`` streams the object back into a file
without fsync (a download does not make the client's copy durable) and checks its SHA-256:
its baseline is ``cp`` without fsync.
Peak RSS is read per phase from ``VmHWM`` after resetting it (``/proc/self/clear_refs``), so a
flat-memory adapter shows a peak far below the file size. S3 runs when ``KURA_TEST_S3_ENDPOINT``
is set (``scripts/test-services env``), in a bucket made for the run and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.common import copy_seconds, peak_rss_mib, reset_peak_rss, rss_mib, s3_from_env
from storage.blobs.local import LocalBlobStore
from storage.ports import BlobStore

MiB = 1 << 20


def make_file(path: Path, size: int) -> str:
    block = os.urandom(8 * MiB)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        written = 0
        i = 0
        while written < size:
            part = (i.to_bytes(8, "big") + block[8:])[: size - written]
            f.write(part)
            digest.update(part)
            written += len(part)
            i += 1
        f.flush()
        os.fsync(f.fileno())
    return digest.hexdigest()


async def file_chunks(path: Path, chunk: int) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(path.open, "rb")
    try:
        while True:
            data = await asyncio.to_thread(f.read, chunk)
            if not data:
                return
            yield data
    finally:
        f.close()


async def get_to_file(store: BlobStore, key: str, dest: Path) -> str:
    digest = hashlib.sha256()
    f = await asyncio.to_thread(dest.open, "wb")
    try:
        async for data in store.get(key):
            digest.update(data)
            await asyncio.to_thread(f.write, data)
    finally:
        f.close()
    return digest.hexdigest()


def baselines(src: Path, work: Path, chunk: int) -> tuple[float, float, float]:
    """Seconds of ``cp`` plus an fsync of the copy (put's baseline: durable, as the local
    adapter's put is), of ``cp`` alone (get's baseline: the download is not fsynced), and of
    read + SHA-256."""
    cp_sync_s = copy_seconds(src, work / "copy.bin", durable=True)
    cp_s = copy_seconds(src, work / "copy.bin")
    t0 = time.perf_counter()
    with open(src, "rb") as f:
        while data := f.read(chunk):
            hashlib.sha256(data)
    return cp_sync_s, cp_s, time.perf_counter() - t0


async def measure(
    store: Any,
    src: Path,
    work: Path,
    size: int,
    sha: str,
    chunk: int,
    cp_sync_s: float,
    cp_s: float,
) -> None:
    key = f"bench/{uuid.uuid4().hex}.bin"
    reset_peak_rss()
    t0 = time.perf_counter()
    info = await store.put(key, file_chunks(src, chunk))
    put_s = time.perf_counter() - t0
    put_rss = peak_rss_mib()
    assert info.sha256 == sha, "put digest differs from the file's"

    reset_peak_rss()
    dest = work / f"get-{store.name}.bin"
    t0 = time.perf_counter()
    got = await get_to_file(store, key, dest)
    get_s = time.perf_counter() - t0
    get_rss = peak_rss_mib()
    assert got == sha, "got back other bytes"
    dest.unlink()
    await store.delete(key)
    mib = size / MiB
    print(
        f"{store.name:6} put {mib / put_s:8.1f} MiB/s ({put_s:6.2f} s,"
        f" x{put_s / cp_sync_s:5.2f} of cp+fsync)  peak RSS {put_rss:6.1f} MiB"
    )
    print(
        f"{store.name:6} get {mib / get_s:8.1f} MiB/s ({get_s:6.2f} s,"
        f" x{get_s / cp_s:5.2f} of cp)        peak RSS {get_rss:6.1f} MiB"
    )


async def main(args: argparse.Namespace) -> None:
    size = args.size_mib * MiB
    chunk = args.chunk_kib * 1024
    work = Path(tempfile.mkdtemp(prefix="kura-bench-blobs-", dir=args.dir))
    try:
        src = work / "source.bin"
        sha = await asyncio.to_thread(make_file, src, size)
        print(f"file {args.size_mib} MiB, chunks {args.chunk_kib} KiB, folder {work}")
        print(f"process RSS before the runs: {rss_mib():.1f} MiB (the floor of every peak)")

        cp_sync_s, cp_s, hash_s = await asyncio.to_thread(baselines, src, work, chunk)
        print(
            f"cp     {args.size_mib / cp_sync_s:8.1f} MiB/s ({cp_sync_s:6.2f} s, with fsync:"
            " put's baseline)"
        )
        print(f"cp     {args.size_mib / cp_s:8.1f} MiB/s ({cp_s:6.2f} s, no fsync: get's baseline)")
        print(f"sha256 {args.size_mib / hash_s:8.1f} MiB/s ({hash_s:6.2f} s, read + hash only)")

        local = LocalBlobStore(work / "blobs")
        await local.open()
        await measure(local, src, work, size, sha, chunk, cp_sync_s, cp_s)
        await local.close()

        s3 = s3_from_env(args.part_mib * MiB, parallel_parts=args.parallel)
        if s3 is None:
            return
        await s3.open()
        try:
            print(
                f"s3 part size {args.part_mib} MiB, {args.parallel} part(s) in flight"
                " (server on this machine, same disk)"
            )
            await measure(s3, src, work, size, sha, chunk, cp_sync_s, cp_s)
        finally:
            await s3.drop_bucket()
            await s3.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--part-mib", type=int, default=32)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--parallel", type=int, default=1, help="S3 parts uploaded at once")
    parser.add_argument("--dir", default=None, help="folder for the files (default: temp)")
    known, _ = parser.parse_known_args()  # bench/run_all passes the same args to every bench
    asyncio.run(main(known))
