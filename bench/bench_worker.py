"""Worker memory benchmark: resident memory of a real Celery worker over thousands of tasks.

    python -m bench.bench_worker [--tasks 5000] [--files 200] [--wave 500] [--trace 0]

A generated 電子納品 package (``tests.datagen``: PDFs, JPEGs, XML, SXF) is imported into a
fresh embedded Kura; then the worker ``kura serve`` starts (``api.cli.serve.worker_command``:
``python -P -m celery … worker --pool=solo`` on the SQLite broker, supervised by
``WorkerProcess``) runs
``--tasks`` ``ingest.file`` tasks (``force=True``: every task re-extracts its file, cycling
over the package). After each wave of ``--wave`` tasks a ``system.process`` task reports the
executing child's pid and RSS, and the whole process group's RSS is read from /proc.

Two runs in one go, the same tasks each:
- baseline: recycling off (``KURA_JOBS__WORKER_MAX_TASKS_PER_CHILD=0``,
  ``…_MAX_MEMORY_PER_CHILD_MIB=0``): one process runs every task, as the worker of earlier
  ``kura serve`` versions did;
- kura: the default settings (the process is replaced after N tasks or past M MiB).

``--trace N`` also runs N ingests in this process under ``tracemalloc`` and prints the
allocation sites that grew between the first tenth and the end (where a leak would show);
``--realistic`` uses camera-sized photos; ``--runs kura`` runs one side only.
Target (issue 7 item 17): memory bounded over ~5,000 tasks (it grew 131 → 527 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from api.cli.serve import WorkerProcess, worker_command, worker_env
from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.kit.jobs import CeleryJobQueue
from tests.datagen import Options, generate
from tests.datagen.photos import REALISTIC, SMALL
from tests.support.jobs import RecordingJobs

RESULT_WAIT_S = 900.0


def settings_for(data: Path) -> Settings:
    return Settings(data_dir=data, log_json=False, log_level="WARNING", jobs={"eager": False})


async def prepare(data: Path, scratch: Path, files: int, realistic: bool = False) -> list[str]:
    """Import a generated package; the file node ids (no ingest has run yet)."""
    from api.deliverables.intake import ImportService
    from api.deliverables.unpack import scan_folder

    photos = REALISTIC if realistic else SMALL
    manifest = generate(scratch / "gen", Options(files=files, seed=3, photo_size=photos))
    container = Container(settings_for(data), jobs=RecordingJobs())
    await container.open()
    try:
        work = await container.records.insert(
            "works", {"id": new_id(), "title": "ワーカー計測", "status": "in_progress", "acl": []}
        )
        plan = scan_folder(Path(manifest.root))
        await ImportService(container).run("system:bench", work, "/納品", plan)
        jobs = container.jobs
        assert isinstance(jobs, RecordingJobs)
        ids = [str(kw["node_id"]) for kw in jobs.take("ingest.file")]
        for kw in jobs.take("ingest.files"):
            ids.extend(str(n) for n in kw["node_ids"])
        return ids
    finally:
        await container.close()


def group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in the worker's process group (parent, child,
    embedded beat), from /proc."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of /proc/<pid>/stat: pgrp
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


async def run_worker(
    data: Path, node_ids: list[str], tasks: int, wave: int, recycle: bool
) -> list[dict[str, Any]]:
    """``tasks`` ingest tasks through the worker ``kura serve`` runs, supervised the same
    way (``WorkerProcess.check`` restarts a worker that exits to be recycled)."""
    settings = settings_for(data)
    env = worker_env(os.environ, data)
    env.update(KURA_LOG_JSON="false", KURA_LOG_LEVEL="WARNING")
    for name in (
        "KURA_JOBS__WORKER_MAX_TASKS_PER_CHILD",
        "KURA_JOBS__WORKER_MAX_MEMORY_PER_CHILD_MIB",
    ):
        env.pop(name, None)
        if not recycle:
            env[name] = "0"
    cmd = [c for c in worker_command(settings) if not c.startswith(("--beat", "--schedule"))]
    worker = WorkerProcess(cmd, env, data)
    stop = asyncio.Event()

    async def supervise() -> None:
        while not stop.is_set():
            code = worker.check()
            if code is not None:
                raise RuntimeError(f"worker exited with {code}")
            await asyncio.sleep(0.5)

    supervisor = asyncio.create_task(supervise())
    queue = CeleryJobQueue(settings)
    rows: list[dict[str, Any]] = []
    try:
        first = await queue.result(await queue.enqueue("system.process"), RESULT_WAIT_S)
        rows.append({"tasks": 0, **first, "group_mib": group_rss_mib(worker.proc.pid)})
        print(f"  {'tasks':>6} {'pid':>8} {'RSS':>9} {'peak':>9} {'group':>9} {'restarts':>8}")
        print_row(rows[-1])
        sent = 0
        started = time.perf_counter()
        while sent < tasks:
            for _ in range(min(wave, tasks - sent)):
                node_id = node_ids[sent % len(node_ids)]
                await queue.enqueue("ingest.file", node_id=node_id, force=True)
                sent += 1
            # FIFO, prefetch 1, one process: this answers after the wave ran.
            info = await queue.result(await queue.enqueue("system.process"), RESULT_WAIT_S)
            rows.append(
                {
                    "tasks": sent,
                    **info,
                    "group_mib": group_rss_mib(worker.proc.pid),
                    "seconds": time.perf_counter() - started,
                    "restarts": worker.restarts,
                }
            )
            print_row(rows[-1])
    finally:
        stop.set()
        await asyncio.gather(supervisor, return_exceptions=True)
        queue.close()
        await asyncio.to_thread(worker.stop)
    return rows


async def trace_in_process(data: Path, node_ids: list[str], n: int) -> None:
    """Run ``n`` ingests on one container (what one worker child does) and print the
    allocation sites that grew after the first tenth."""
    import gc

    from api.archive.ingest import IngestService

    container = Container(settings_for(data), jobs=RecordingJobs())
    await container.open()
    try:
        service = IngestService(container)
        tracemalloc.start(12)
        warm = max(1, n // 10)
        first: tracemalloc.Snapshot | None = None
        for i in range(n):
            await service.ingest(node_ids[i % len(node_ids)], force=True)
            if i + 1 == warm:
                gc.collect()
                first = tracemalloc.take_snapshot()
        gc.collect()
        last = tracemalloc.take_snapshot()
        assert first is not None
        current, peak = tracemalloc.get_traced_memory()
        print(
            f"tracemalloc over {n} in-process ingests: traced now {current / 2**20:.1f} MiB, "
            f"peak {peak / 2**20:.1f} MiB; growth after the first {warm}:"
        )
        stats = last.compare_to(first, "traceback")
        for stat in stats[:8]:
            print(f"  {stat.size_diff / 1024:+9.0f} KiB  {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format()[-6:]:
                print(f"      {line}")
        tracemalloc.stop()
    finally:
        await container.close()


def print_row(row: dict[str, Any]) -> None:
    print(
        f"  {row['tasks']:6d} {row['pid']:8d} {row['rss_mib']:5.0f} MiB "
        f"{row['peak_mib']:5.0f} MiB {row['group_mib']:5.0f} MiB {row.get('restarts', 0):8d}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--wave", type=int, default=500)
    parser.add_argument("--realistic", action="store_true", help="camera-sized photos")
    parser.add_argument("--runs", default="baseline,kura", help="which runs, comma-separated")
    parser.add_argument("--trace", type=int, default=0, help="in-process tracemalloc ingests")
    args = parser.parse_args()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    scratch = Path(tempfile.mkdtemp(prefix="kura-bench-worker-"))
    try:
        data = scratch / "data"
        node_ids = asyncio.run(prepare(data, scratch, args.files, args.realistic))
        defaults = Settings().jobs
        print(
            f"package: {len(node_ids)} files; {args.tasks} ingest.file tasks per run; "
            f"cores: {os.cpu_count()}",
            flush=True,
        )
        if args.trace:
            asyncio.run(trace_in_process(data, node_ids, args.trace))
        titles = {
            "baseline": "baseline: one process runs every task (recycling off)",
            "kura": f"kura: recycling after {defaults.worker_max_tasks_per_child} tasks or "
            f"{defaults.worker_max_memory_per_child_mib} MiB",
        }
        results: dict[str, list[dict[str, Any]]] = {}
        for name in runs:
            print(titles[name], flush=True)
            results[name] = asyncio.run(
                run_worker(data, node_ids, args.tasks, args.wave, recycle=name == "kura")
            )
        for name, rows in results.items():
            growth = rows[-1]["rss_mib"] - rows[1]["rss_mib"]
            peak = max(r["rss_mib"] for r in rows)
            rate = rows[-1]["tasks"] / rows[-1]["seconds"]
            print(
                f"{name:9s}: RSS {rows[1]['rss_mib']:.0f} MiB after the first wave, "
                f"{rows[-1]['rss_mib']:.0f} MiB at the end ({growth:+.0f} MiB), "
                f"highest {peak:.0f} MiB; {rate:.1f} tasks/s"
            )
        if "kura" not in results:
            return 0
        bound = max(r["rss_mib"] for r in results["kura"])
        if "baseline" in results:
            ratio = bound / max(r["rss_mib"] for r in results["baseline"])
            print(f"highest RSS kura / baseline: {ratio:.2f}")
        limit = defaults.worker_max_memory_per_child_mib or float("inf")
        verdict = "PASS" if bound <= limit * 1.1 else "FAIL"
        print(f"{verdict}: the worker's RSS stays within {limit} MiB (+10% for one task)")
        return 0 if verdict == "PASS" else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
