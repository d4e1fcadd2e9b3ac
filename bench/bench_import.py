"""Import benchmark: 100,000 tiny files in one ZIP through the bulk path vs the per-file path.

    python -m bench.bench_import [--files 100000] [--baseline-files 20000] [--batch 500]

A stored (uncompressed) ZIP of ``--files`` tiny files in folders of 1,000 is scanned and
imported into a fresh embedded Kura (SQLite records, local blobs) by
``api.deliverables.intake.ImportService``:

- kura: the bulk path (default): per batch of ``--batch`` files one ``put_many`` of the
  contents, a few record operations, one audit event and one ``ingest.files`` job;
- baseline: the per-file path (``bulk=False``, what every import did before: one ``put`` and
  about eleven record operations, one audit event and one job per file), on
  ``--baseline-files`` files of the same ZIP (a full 100,000-file per-file run takes minutes;
  pass ``--baseline-files 100000`` for it). Compared per file;
- floor: the same number of node records written with one raw ``insert_many`` per batch.

Each run counts its record-store calls and jobs. Target (issue 7 item 18): the bulk path at
least 10x faster per file than the per-file path. This replaces the suite's former
``test_hundred_thousand_tiny_files``, whose pass depended on machine speed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from api.config import Settings
from api.container import Container
from api.deliverables.intake import ImportService
from api.deliverables.unpack import Limits, open_zip, scan_zip
from api.kit.ids import new_id
from tests.support.jobs import RecordingJobs

TARGET_RATIO = 10.0
COUNTED = ("insert", "insert_many", "get", "get_many", "update", "find", "delete", "count")


def make_zip(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"D{i // 1000:03d}/f{i:06d}.txt", b"%d" % i)
    return buf.getvalue()


class Counter:
    """Counts record-store calls by wrapping the adapter's methods on the instance."""

    def __init__(self, records: Any) -> None:
        self.calls = 0
        for name in COUNTED:
            setattr(records, name, self._wrap(getattr(records, name)))

    def _wrap(self, fn: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await fn(*args, **kwargs)

        return call


async def fresh(data: Path) -> tuple[Container, dict[str, Any]]:
    container = Container(
        Settings(data_dir=data, log_json=False, log_level="WARNING"), jobs=RecordingJobs()
    )
    await container.open()
    work = await container.records.insert(
        "works", {"id": new_id(), "title": "大量取り込み", "status": "in_progress", "acl": []}
    )
    return container, work


async def run_import(data: Path, zdata: bytes, n: int, batch: int, bulk: bool) -> dict[str, Any]:
    container, work = await fresh(data)
    try:
        limits = Limits(max_files=max(n, Limits().max_files))
        started = time.perf_counter()
        with open_zip(io.BytesIO(zdata), limits) as zf:
            plan = scan_zip(zf, limits)
            plan.entries = [e for e in plan.entries if e.is_dir or int(e.parts[1][1:7]) < n]
            scanned = time.perf_counter() - started
            counter = Counter(container.records)
            started = time.perf_counter()
            result = await ImportService(container, batch_files=batch, bulk=bulk).run(
                "system:bench", work, "/many", plan
            )
            seconds = time.perf_counter() - started
        jobs = container.jobs
        assert isinstance(jobs, RecordingJobs)
        nodes = await container.records.count("nodes")
        assert result.created == n, (result.created, n)
        assert nodes == n + len({e.parts[0] for e in plan.entries}) + 1, nodes
        return {
            "files": n,
            "scan_s": scanned,
            "seconds": seconds,
            "ms_per_file": seconds / n * 1000,
            "ops_per_file": counter.calls / n,
            "jobs": len(jobs.sent),
        }
    finally:
        await container.close()


async def run_floor(data: Path, n: int, batch: int) -> dict[str, Any]:
    """Node-shaped records written with one raw ``insert_many`` per batch (no contents)."""
    container, work = await fresh(data)
    try:
        started = time.perf_counter()
        for start in range(0, n, batch):
            records = [
                {
                    "id": new_id(),
                    "work_id": work["id"],
                    "parent_id": work["id"],
                    "kind": "file",
                    "name": f"f{i:06d}.txt",
                    "sort_name": f"f{i:06d}.txt",
                    "path": f"/many/D{i // 1000:03d}/f{i:06d}.txt",
                    "depth": 3,
                    "size": len(b"%d" % i),
                    "sha256": f"{i:064x}",
                    "content_type": "",
                    "meta": {},
                }
                for i in range(start, min(n, start + batch))
            ]
            async with container.uow():
                await container.records.insert_many("nodes", records)
        seconds = time.perf_counter() - started
        return {"files": n, "seconds": seconds, "ms_per_file": seconds / n * 1000}
    finally:
        await container.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--baseline-files", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    base_n = min(args.baseline_files, args.files)
    scratch = Path(tempfile.mkdtemp(prefix="kura-bench-import-"))
    try:
        started = time.perf_counter()
        zdata = make_zip(args.files)
        print(
            f"ZIP of {args.files:,} tiny files ({len(zdata) / 1e6:.1f} MB, stored) made in "
            f"{time.perf_counter() - started:.1f} s; cores: {os.cpu_count()}"
        )
        bulk = asyncio.run(run_import(scratch / "bulk", zdata, args.files, args.batch, True))
        base = asyncio.run(run_import(scratch / "per-file", zdata, base_n, args.batch, False))
        floor = asyncio.run(run_floor(scratch / "floor", args.files, args.batch))
        print(
            f"{'path':<34} {'files':>8} {'import s':>9} {'ms/file':>8} {'ops/file':>9} {'jobs':>7}"
        )
        for name, row in (
            ("baseline: per-file path", base),
            ("kura: bulk path", bulk),
        ):
            print(
                f"{name:<34} {row['files']:8,d} {row['seconds']:9.1f} {row['ms_per_file']:8.3f} "
                f"{row['ops_per_file']:9.2f} {row['jobs']:7,d}"
            )
        print(
            f"{'floor: raw insert_many of nodes':<34} {floor['files']:8,d} "
            f"{floor['seconds']:9.1f} {floor['ms_per_file']:8.3f}"
        )
        print(f"scan of the ZIP: {bulk['scan_s']:.1f} s ({args.files:,} entries)")
        ratio = base["ms_per_file"] / bulk["ms_per_file"]
        print(f"per-file time, baseline / kura: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x)")
        print(f"kura / raw insert_many floor:   {bulk['ms_per_file'] / floor['ms_per_file']:.1f}x")
        verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
        print(f"{verdict}: {args.files:,} tiny files imported in {bulk['seconds']:.1f} s")
        return 0 if verdict == "PASS" else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
