"""Export benchmark: the streamed ZIP of a work against ``cat`` of the same files.

    python -m bench.bench_export [--size-mib 2048] [--files 64] [--compress] [--dir D]

Builds a work of ``--files`` incompressible files totalling ``--size-mib`` in the local blob
store (records and blobs written directly; no ingest), then
- baseline: ``cat`` of the same object files to /dev/null (subprocess), best of two runs,
  page cache warm for both sides;
- export: ``ExportService.stream`` (the exact generator the API endpoint streams) written to
  /dev/null in a child process, which reports its throughput and peak RSS (``VmHWM``);
  once for one folder holding 1/8 of the bytes and once for the whole work, so flat memory
  shows as the same peak for both; the first export computes each CRC-32 and keeps it on the
  blob record, a repeat export streams without it;
- the same with these files evicted from the page cache (``posix_fadvise DONTNEED``):
  with a warm cache ``cat`` runs at memory speed, which no CRC-checked stream can match.
Target (issue 3): export >= 0.8 x cat; RSS flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.common import peak_rss_mib

MiB = 1 << 20


def settings_for(data: Path) -> Any:
    from api.config import Settings

    return Settings(data_dir=data, log_json=False, jobs={"eager": True})


async def build(data: Path, size: int, files: int) -> tuple[str, list[Path]]:
    from api.archive.cas import ContentStore, upload_key
    from api.archive.models import NODES, sort_name
    from api.archive.nodes import ensure_indexes
    from api.container import Container
    from api.keys import scopes
    from api.kit.clock import to_iso
    from api.kit.ids import new_id

    c = Container(settings_for(data))
    await c.open()
    try:
        await ensure_indexes(c.records)
        cas = ContentStore(c.records, c.blobs, c.clock)
        work_id = new_id()
        await c.records.insert("works", {"id": work_id, "title": "ベンチ工事", "acl": []})
        block = os.urandom(8 * MiB)
        per = size // files
        paths: list[Path] = []
        part_files = max(1, files // 8)
        now = to_iso(c.clock.now())
        folders: dict[str, str] = {}
        for name in ("PART", "REST"):
            fid = new_id()
            folders[name] = fid
            await c.records.insert(
                NODES,
                {
                    "id": fid,
                    "work_id": work_id,
                    "parent_id": work_id,
                    "kind": "folder",
                    "name": name,
                    "sort_name": sort_name(name),
                    "path": f"/{name}",
                    "depth": 1,
                    "size": 0,
                    "content_type": "",
                    "created_at": now,
                    "updated_at": now,
                },
            )
        for i in range(files):

            async def chunks(i: int = i) -> AsyncIterator[bytes]:
                left = per
                first = True
                while left > 0:
                    piece = block[: min(left, len(block))]
                    if first:
                        piece = i.to_bytes(8, "big") + piece[8:]
                        first = False
                    left -= len(piece)
                    yield piece

            folder = "PART" if i < part_files else "REST"
            name = f"写真 {i:05d}.bin"
            async with c.uow() as uow:
                scope = scopes.archive(work_id)
                info = await c.blobs.put(upload_key(scope), chunks())
                blob = await cas.adopt(scope, info, uow)
                await c.records.insert(
                    NODES,
                    {
                        "id": new_id(),
                        "work_id": work_id,
                        "parent_id": folders[folder],
                        "kind": "file",
                        "name": name,
                        "sort_name": sort_name(name),
                        "path": f"/{folder}/{name}",
                        "depth": 2,
                        "size": info.size,
                        "sha256": blob["sha256"],
                        "scope": scope,
                        "content_type": "application/octet-stream",
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            paths.append(Path(c.settings.blobs_root) / info.key)
        return work_id, paths
    finally:
        await c.close()


async def child(data: Path, work_id: str, folder: str | None, compress: bool) -> dict[str, Any]:
    from api.archive.export import ExportService
    from api.archive.nodes import NodeService
    from api.container import Container

    c = Container(settings_for(data))
    await c.open()
    try:
        nodes = NodeService(c)
        folder_id = None
        if folder:
            node = await nodes.by_path(work_id, folder)
            assert node is not None
            folder_id = str(node["id"])
        service = ExportService(nodes)
        plan = await service.prepare("system:bench", work_id, None, folder_id, compress)
        start = time.perf_counter()
        written = 0
        with open(os.devnull, "wb") as sink:  # noqa: ASYNC230 - /dev/null never blocks
            async for chunk in service.stream(plan):
                sink.write(chunk)
                written += len(chunk)
        seconds = time.perf_counter() - start
        return {
            "bytes": plan.stats["bytes"],
            "zip_bytes": written,
            "seconds": seconds,
            "peak_rss_mib": peak_rss_mib(),
        }
    finally:
        await c.close()


def run_child(data: Path, work_id: str, folder: str | None, compress: bool) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bench_export", "--child", str(data), work_id]
    if folder:
        cmd += ["--folder", folder]
    if compress:
        cmd.append("--compress")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cat_seconds(paths: list[Path]) -> float:
    start = time.perf_counter()
    subprocess.run(["cat", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def cat_pipe_seconds(paths: list[Path]) -> float:
    """``cat`` into a pipe read by this process: every byte really read and moved (``cat`` to
    /dev/null may hand the copy to the kernel, which then skips reading)."""
    start = time.perf_counter()
    with subprocess.Popen(["cat", *map(str, paths)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while proc.stdout.read(1 << 20):
            pass
    return time.perf_counter() - start


def evict(paths: list[Path]) -> None:
    """Drop these files (only) from the page cache, for a cold-cache comparison."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--files", type=int, default=64)
    ap.add_argument("--compress", action="store_true", help="DEFLATE (level 1) instead of STORED")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--child", nargs=2, metavar=("DATA", "WORK"), help=argparse.SUPPRESS)
    ap.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        data, work = args.child
        print(json.dumps(asyncio.run(child(Path(data), work, args.folder, args.compress))))
        return

    base = Path(tempfile.mkdtemp(prefix="kura-bench-export-", dir=args.dir))
    try:
        size = args.size_mib * MiB
        t = time.perf_counter()
        work_id, paths = asyncio.run(build(base / "data", size, args.files))
        print(f"built {args.files} files, {args.size_mib} MiB in {time.perf_counter() - t:.1f} s")
        cat = min(cat_seconds(paths), cat_seconds(paths))
        pipe = min(cat_pipe_seconds(paths), cat_pipe_seconds(paths))
        part = run_child(base / "data", work_id, "PART", args.compress)
        first = run_child(base / "data", work_id, None, args.compress)
        again = run_child(base / "data", work_id, None, args.compress)
        cat = min(cat, cat_seconds(paths))
        evict(paths)
        cold_cat = cat_seconds(paths)
        evict(paths)
        cold_pipe = cat_pipe_seconds(paths)
        evict(paths)
        cold = run_child(base / "data", work_id, None, args.compress)
        mode = "DEFLATE-1" if args.compress else "STORED"
        print(f"mode {mode}; baselines: cat > /dev/null, and cat | pipe read by Python")
        for label, result, cat_s, pipe_s in (
            ("warm, first export (CRC computed)", first, cat, pipe),
            ("warm, repeat export (CRC on record)", again, cat, pipe),
            ("cold cache, repeat export", cold, cold_cat, cold_pipe),
        ):
            rate = result["bytes"] / MiB / result["seconds"]
            cat_rate = size / MiB / cat_s
            pipe_rate = size / MiB / pipe_s
            print(
                f"{label:36s}: export {rate:6.0f} MiB/s | cat>/dev/null {cat_rate:6.0f} "
                f"-> {rate / cat_rate:.2f} x | cat|pipe {pipe_rate:6.0f} -> "
                f"{rate / pipe_rate:.2f} x (target >= 0.80)"
            )
        print(
            f"peak RSS of the exporter: {part['bytes'] / MiB:.0f} MiB -> "
            f"{part['peak_rss_mib']:.0f} MiB; {first['bytes'] / MiB:.0f} MiB -> "
            f"{first['peak_rss_mib']:.0f} MiB (flat when equal); zip "
            f"{first['zip_bytes'] / MiB:.0f} MiB"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
