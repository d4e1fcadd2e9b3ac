"""Appends benchmark: a file appended in many requests (as tus PATCHes) into each blob adapter,
beside ``cp`` of the same file on the same disk.

    python -m bench.bench_appends [--size-mib 1024] [--request-mib 8] [--chunk-kib 1024]
                                  [--part-mib 32] [--dir D]

Each request is an async iterator reading ``--request-mib`` of the file in ``--chunk-kib``
chunks, appended at its offset (``BlobStore.append``: fsynced, or sent as an S3 part, before it
returns), then ``append_finish`` turns it into an object whose SHA-256 is checked against the
file's. The baseline is ``shutil.copyfile`` plus one fsync (what ``cp`` then ``sync`` does);
the ratio is the adapter's throughput over the baseline's (issue 3 asks >= 0.8 for the tus
upload into each adapter). Peak RSS is read per adapter from ``VmHWM`` after resetting it, so a
flat-memory adapter shows a peak far below the file size. S3 runs when
``KURA_TEST_S3_ENDPOINT`` is set (``scripts/test-services env``), in a bucket made for the run
and removed afterwards, with its spool folder on the same disk as the file.
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
from typing import IO, Any

from bench.bench_blobs import make_file
from bench.common import copy_seconds, peak_rss_mib, reset_peak_rss, rss_mib, s3_from_env
from storage.blobs.local import LocalBlobStore

MiB = 1 << 20


async def request_chunks(f: IO[bytes], size: int, chunk: int) -> AsyncIterator[bytes]:
    """``size`` bytes of ``f`` from where it stands, in ``chunk``-sized reads (one request)."""
    left = size
    while left > 0:
        data = await asyncio.to_thread(f.read, min(chunk, left))
        if not data:
            return
        left -= len(data)
        yield data


def copy_baseline(src: Path, work: Path, chunk: int) -> tuple[float, float]:
    """Seconds of ``shutil.copyfile`` (in-kernel ``copy_file_range``) and of a user-space copy
    in ``chunk`` reads and writes (``cat``, what a server receiving the bytes must at least do),
    each followed by one fsync; the better of two runs of each, so the baseline is not flattered
    by a noisy neighbour."""

    def cat() -> float:
        dest = work / "copy.bin"
        t0 = time.perf_counter()
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            while data := fin.read(chunk):
                fout.write(data)
            fout.flush()
            os.fsync(fout.fileno())
        elapsed = time.perf_counter() - t0
        dest.unlink()
        return elapsed

    copyfile = min(copy_seconds(src, work / "copy.bin", durable=True) for _ in range(2))
    return copyfile, min(cat() for _ in range(2))


def hash_only(src: Path, chunk: int) -> float:
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    with open(src, "rb") as f:
        while data := f.read(chunk):
            digest.update(data)
    return time.perf_counter() - t0


async def measure(
    store: Any, src: Path, size: int, sha: str, request: int, chunk: int, base: tuple[float, float]
) -> None:
    handle = uuid.uuid4().hex
    key = f"bench/{handle}.bin"
    reset_peak_rss()
    t0 = time.perf_counter()
    await store.append_open(handle)
    offset = 0
    requests = 0
    f = await asyncio.to_thread(open, src, "rb")
    try:
        while offset < size:
            state = await store.append(
                handle, request_chunks(f, min(request, size - offset), chunk), offset=offset
            )
            offset = state.size
            requests += 1
    finally:
        f.close()
    append_s = time.perf_counter() - t0
    info = await store.append_finish(handle, key)
    total_s = time.perf_counter() - t0
    peak = peak_rss_mib()
    assert info.sha256 == sha, "appended object's digest differs from the file's"
    assert info.size == size
    await store.delete(key)
    mib = size / MiB
    cp_s, cat_s = base
    print(
        f"{store.name:6} append {mib / total_s:8.1f} MiB/s ({total_s:6.2f} s, of which finish"
        f" {total_s - append_s:5.2f} s; {requests} requests)  ratio {cp_s / total_s:4.2f} of"
        f" copyfile, {cat_s / total_s:4.2f} of cat  peak RSS {peak:6.1f} MiB"
    )


async def main(args: argparse.Namespace) -> None:
    size = args.size_mib * MiB
    request = args.request_mib * MiB
    chunk = args.chunk_kib * 1024
    work = Path(tempfile.mkdtemp(prefix="kura-bench-appends-", dir=args.dir))
    try:
        src = work / "source.bin"
        sha = await asyncio.to_thread(make_file, src, size)
        print(
            f"file {args.size_mib} MiB in {args.request_mib} MiB requests of"
            f" {args.chunk_kib} KiB chunks, folder {work}"
        )
        print(f"process RSS before the runs: {rss_mib():.1f} MiB (the floor of every peak)")
        base = await asyncio.to_thread(copy_baseline, src, work, chunk)
        for name, seconds in zip(("copyfile", "cat"), base, strict=True):
            print(f"{name:8} {args.size_mib / seconds:8.1f} MiB/s ({seconds:6.2f} s, baseline)")
        hash_s = await asyncio.to_thread(hash_only, src, chunk)
        print(
            f"sha256   {args.size_mib / hash_s:8.1f} MiB/s ({hash_s:6.2f} s, read + hash only:"
            " the ceiling of any adapter that hashes on arrival)"
        )

        local = LocalBlobStore(work / "blobs")
        await local.open()
        await measure(local, src, size, sha, request, chunk, base)
        await local.close()

        s3 = s3_from_env(args.part_mib * MiB, spool_dir=work / "spool")
        if s3 is None:
            return
        await s3.open()
        try:
            print(f"s3 part size {args.part_mib} MiB (server on this machine, same disk)")
            await measure(s3, src, size, sha, request, chunk, base)
        finally:
            await s3.drop_bucket()
            await s3.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--request-mib", type=int, default=8)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=32)
    parser.add_argument("--dir", default=None, help="folder for the files (default: temp)")
    known, _ = parser.parse_known_args()  # bench/run_all passes the same args to every bench
    asyncio.run(main(known))
