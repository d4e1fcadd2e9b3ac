"""Data protection benchmark (issue 12 "Measured"): what sealing costs, how fast erasure makes
a scope unreadable, and what an incremental backup costs after one change.

    python -m bench.bench_protect [--size-mib 256] [--rounds 3] [--objects 2000] [--dir D]

1. Sealed vs plain, in the same store and the same run: the local adapter (and S3 when
   ``KURA_TEST_S3_ENDPOINT`` is set) with the deployment's key ring (``api.keys.ring``, keyring
   file and key store in the temp folder); ``s/wc-BENCH/...`` keys are sealed, ``plain/...``
   keys are not. ``put`` streams a file in 1 MiB chunks (durable when it returns), ``get``
   streams it back into a file, ``ranges`` reads 200 random 100 KiB ranges. The best of
   ``--rounds`` alternating rounds of each; baselines ``cp`` + fsync (put) and ``cp`` (get).
   Targets: sealing costs < 10 % (sealed / plain <= 1.10) and put >= 0.8 x ``cp`` + fsync
   (throughput). Also printed: read + SHA-256 of the file, which every put must do on one
   core (``cp`` copies inside the kernel and hashes nothing), and the load average: the
   machine's other work shows in every figure.
2. Erasure: seconds from ``destroy`` to the scope being unreadable (key destruction only;
   independent of the scope's size, shown for the object just written) and the deletion of
   its objects afterwards. Target: < 5 s to unreadable.
3. Backup: a first ``kura backup`` of ``--objects`` small objects and one ``--size-mib`` file,
   then one after a single change: seconds and bytes copied (the second should be a listing
   plus one object). Then the restore of that generation into an empty folder, beside a
   ``cp -r`` of the backup folder: the recovery time per GiB (docs/operations.md RTO).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from api.config import Settings
from api.container import Container
from bench.bench_blobs import file_chunks, get_to_file, make_file
from bench.common import Outcome, copy_seconds, s3_from_env
from storage.errors import KeyDestroyed

MiB = 1 << 20
SEALED = "s/wc-BENCH/"
PLAIN = "plain/"


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def cp_baselines(src: Path, work: Path) -> tuple[float, float, float]:
    """Seconds of ``cp`` + fsync, of ``cp``, and of reading the file with its SHA-256 (the
    floor of any put: it hashes every byte, on one core, where ``cp`` copies in the kernel)."""
    t0 = time.perf_counter()
    sha_of(src)
    hashed = time.perf_counter() - t0
    cp_sync = copy_seconds(src, work / "copy.bin", durable=True)
    cp = copy_seconds(src, work / "copy.bin")
    return cp_sync, cp, hashed


async def one_round(
    store: Any, prefix: str, src: Path, work: Path, sha: str, size: int, out: Outcome
) -> tuple[float, float, float]:
    key = f"{prefix}{os.urandom(6).hex()}.bin"
    t0 = time.perf_counter()
    info = await store.put(key, file_chunks(src, MiB))
    put_s = time.perf_counter() - t0
    out.expect(info.sha256 == sha, f"{store.name} {prefix}: put digest differs")
    dest = work / "get.bin"
    t0 = time.perf_counter()
    got = await get_to_file(store, key, dest)
    get_s = time.perf_counter() - t0
    out.expect(got == sha, f"{store.name} {prefix}: got other bytes back")
    dest.unlink()
    rnd = random.Random(7)
    starts = [rnd.randrange(0, size - 100_000) for _ in range(200)]
    t0 = time.perf_counter()
    parts = [b"".join([c async for c in store.get(key, st, st + 100_000)]) for st in starts]
    ranges_s = time.perf_counter() - t0
    with open(src, "rb") as f:  # noqa: ASYNC230 (after the timed part)
        for st, part in zip(starts, parts, strict=True):
            f.seek(st)
            if part != f.read(100_000):
                out.fail(f"{store.name} {prefix}: range {st} differs")
                break
    await store.delete(key)
    return put_s, get_s, ranges_s


async def compare(
    store: Any,
    src: Path,
    work: Path,
    sha: str,
    size: int,
    rounds: int,
    cp_sync: float,
    cp: float,
    out: Outcome,
) -> None:
    best: dict[str, list[float]] = {}
    for _ in range(rounds):
        for prefix in (PLAIN, SEALED):
            figures = await one_round(store, prefix, src, work, sha, size, out)
            old = best.get(prefix)
            best[prefix] = (
                list(figures)
                if old is None
                else [min(a, b) for a, b in zip(old, figures, strict=True)]
            )
    mib = size / MiB
    plain, sealed = best[PLAIN], best[SEALED]
    for i, what in enumerate(("put", "get", "ranges")):
        base = (
            f" x{sealed[i] / cp_sync:5.2f} of cp+fsync"
            if i == 0
            else (f" x{sealed[i] / cp:5.2f} of cp" if i == 1 else "")
        )
        rate = f"{mib / sealed[i]:7.1f} MiB/s" if i < 2 else f"{sealed[i]:6.3f} s/200"
        print(
            f"{store.name:6} {what:6} sealed {rate} plain "
            f"{(f'{mib / plain[i]:7.1f} MiB/s' if i < 2 else f'{plain[i]:6.3f} s/200')}"
            f"  sealed/plain x{sealed[i] / plain[i]:5.2f}{base}"
        )
    worst = max(sealed[i] / plain[i] for i in range(2))
    print(out.verdict(f"{store.name}: sealing costs < 10 % (put, get)", worst <= 1.10))
    if store.name == "local":
        print(out.verdict("local: sealed put >= 0.8 x cp+fsync", cp_sync / sealed[0] >= 0.8))


async def erasure(c: Container, out: Outcome, size_mib: int) -> None:
    data = os.urandom(MiB)
    key = f"{SEALED}erase/obj"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(size_mib):
            yield data

    await c.blobs.put(key, chunks())
    for i in range(200):
        await c.blobs.put(f"{SEALED}erase/small-{i}", one(b"x" * 1000))
    from api.keys.erasure import destroy_key, finish

    t0 = time.perf_counter()
    # What ``POST /erasures/{scope}`` does before it answers 202 (hold check, marks, keys)
    record = await destroy_key(c, "wc-BENCH", "bench")
    destroy_s = time.perf_counter() - t0
    try:
        await c.blobs.get(key).__anext__()
        out.fail("object still readable after key destruction")
    except KeyDestroyed:
        pass
    unreadable_s = time.perf_counter() - t0
    keys = [i.key async for i in c.blobs.list(SEALED)]
    t1 = time.perf_counter()
    done = await finish(c, "wc-BENCH", record)  # the job erasures.finish: records, objects
    delete_s = time.perf_counter() - t1
    print(
        f"erase  key destroyed (the API's answer) in {destroy_s * 1000:.1f} ms, unreadable "
        f"after {unreadable_s * 1000:.1f} ms ({size_mib} MiB + 200 objects); the job deleting "
        f"{done.objects} of {len(keys)} objects {delete_s:.2f} s (background part)"
    )
    print(out.verdict("erasure: unreadable < 5 s", unreadable_s < 5))


async def backups(settings: Settings, objects: int, out: Outcome, big: Path) -> None:
    from api.backup.generations import Target, backup

    c = Container(settings)
    await c.open()
    try:
        items = [(f"s/wa-B{i % 20}/o/{i}", os.urandom(2048)) for i in range(objects)]
        for key, data in items:
            await c.blobs.put(key, one(data))
        await c.blobs.put("s/wa-BIG/o/big", file_chunks(big, MiB))
        target = Target.of(settings, settings.data_dir.parent / "backups")
        t0 = time.perf_counter()
        first = await backup(c, target)
        first_s = time.perf_counter() - t0
        await c.blobs.put("s/wa-B0/o/changed", one(b"one change"))
        t0 = time.perf_counter()
        second = await backup(c, target)
        second_s = time.perf_counter() - t0
    finally:
        await c.close()
    out.expect(second.copied == 1, f"incremental backup copied {second.copied} objects, not 1")
    print(
        f"backup first {first.objects} objects {first_s:.2f} s ({first.copied_bytes} B copied); "
        f"after one change {second_s:.2f} s ({second.copied} copied, {second.copied_bytes} B), "
        f"x{second_s / first_s:.2f} of the first"
    )
    await restore_time(settings, target, big, second.objects, out)


def sha_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MiB):
            digest.update(block)
    return digest.hexdigest()


async def restore_time(
    settings: Settings, target: Any, big: Path, objects: int, out: Outcome
) -> None:
    """The recovery time a restore gives (docs/operations.md RTO): ``kura restore`` of the
    newest generation (verify every SHA-256, install keys and records, re-seal every object,
    rebuild the index) into an empty folder, beside a plain ``cp -r`` of the backup folder."""
    from api.backup.restore import finish, prepare

    place = settings.data_dir.parent
    t0 = time.perf_counter()
    await asyncio.to_thread(shutil.copytree, place / "backups", place / "copied")
    copy_s = time.perf_counter() - t0
    fresh = settings.model_copy(update={"data_dir": place / "restored"})
    t0 = time.perf_counter()
    plan = await prepare(fresh, target)
    c = Container(fresh)
    await c.open()
    try:
        done = await finish(c, target, plan)
        digest = hashlib.sha256()
        async for piece in c.blobs.get("s/wa-BIG/o/big"):
            digest.update(piece)
    finally:
        await c.close()
    restore_s = time.perf_counter() - t0
    out.expect(done.objects == objects, f"restore wrote {done.objects} of {objects} objects")
    want, size = await asyncio.to_thread(lambda: (sha_of(big), big.stat().st_size))
    out.expect(digest.hexdigest() == want, "the restored large object differs")
    total_mib = (size + objects * 2048) / MiB
    print(
        f"restore {done.objects} objects ({total_mib:.0f} MiB) {restore_s:.2f} s "
        f"({total_mib / restore_s:.1f} MiB/s); cp -r of the backup {copy_s:.2f} s: "
        f"x{restore_s / copy_s:.1f} of a plain copy; at this rate 100 GiB take "
        f"{100 * 1024 / (total_mib / restore_s) / 3600:.1f} h"
    )


async def main(args: argparse.Namespace) -> int:
    out = Outcome()
    size = args.size_mib * MiB
    work = Path(tempfile.mkdtemp(prefix="kura-bench-protect-", dir=args.dir))
    try:
        src = work / "source.bin"
        sha = await asyncio.to_thread(make_file, src, size)
        cp_sync, cp, hashed = await asyncio.to_thread(cp_baselines, src, work)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"file {args.size_mib} MiB; best of {args.rounds} rounds; load average {load}")
        print(
            f"cp     {args.size_mib / cp_sync:7.1f} MiB/s with fsync,"
            f" {args.size_mib / cp:7.1f} MiB/s without; read + SHA-256"
            f" {args.size_mib / hashed:7.1f} MiB/s (a put's floor, x{hashed / cp_sync:5.2f}"
            " of cp+fsync)"
        )
        settings = Settings(data_dir=work / "data", jobs={"eager": True}, log_json=False)
        c = Container(settings)
        await c.open()
        try:
            await compare(c.blobs, src, work, sha, size, args.rounds, cp_sync, cp, out)
            await erasure(c, out, min(args.size_mib, 256))
        finally:
            await c.close()
        if os.environ.get("KURA_TEST_S3_ENDPOINT"):
            from api.container import blob_sealing, build_keys

            s3_settings = Settings(data_dir=work / "s3data", jobs={"eager": True}, log_json=False)
            keys = build_keys(s3_settings)
            s3 = s3_from_env(32 * MiB, sealing=blob_sealing(s3_settings, keys))
            assert s3 is not None
            s3c = Container(s3_settings, blobs=s3, keys=keys)
            await s3c.open()
            try:
                await compare(s3, src, work, sha, size, args.rounds, cp_sync, cp, out)
            finally:
                await s3.drop_bucket()
                await s3c.close()
        await backups(
            Settings(data_dir=work / "bk" / "data", jobs={"eager": True}, log_json=False),
            args.objects,
            out,
            src,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out.exit_code()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--dir", default=None)
    known, _ = parser.parse_known_args()
    raise SystemExit(asyncio.run(main(known)))
