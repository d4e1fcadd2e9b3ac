"""Ingest benchmark: a generated 電子納品 package imported and ingested end to end.

    python -m bench.bench_ingest [--files 1000] [--kind construction|service] [--zip]
                                 [--workers 1] [--seed 1] [--realistic] [--defects all]

A package of ``--files`` files (PDF + JPEG + XML + SXF mix, ``tests.datagen``) is imported
into a fresh embedded Kura (SQLite records, local blobs, tantivy index on a temp data dir)
through ``api.deliverables.intake.ImportService`` (scan, hash, store, nodes), then every
``ingest.file`` job the import enqueued runs to completion (``api.archive.ingest``: sniff,
extract text per page, EXIF and thumbnail, index), then the 電子納品 check
(``api.deliverables.package.analyse``) and the file re-index it enqueues. Jobs are recorded
and run in this process (serially, or split over ``--workers`` processes sharing the data
dir, like Celery workers on the same host) so each stage is timed on its own.

Baselines in the same run: a plain copy of the package folder (``shutil.copytree``), pypdf
text extraction of the PDFs alone, and Pillow EXIF + thumbnail of the JPEGs alone.
Target (issue 3): a 1,000-file package end to end < 60 s on 2 cores. The verdict counts only
for a run of at least 1,000 files in which nothing failed: every file imported and ingested
(``done``) and no E finding (without ``--defects``; with them, every expected ingest flag
present), the sampled phrases all found in their files, and no job left unrun. Exit 1 after
any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from bench.common import Outcome
from storage.query import Eq
from tests.datagen import Manifest, Options, generate
from tests.datagen.defects import parse
from tests.datagen.photos import REALISTIC, SMALL
from tests.support.jobs import RecordingJobs  # the benchmark runs the jobs itself

ACTOR = "system:bench"
TARGET_SECONDS = 60.0
TARGET_FILES = 1000
IMPORT_TO = "/納品"


def settings_for(data: Path) -> Settings:
    return Settings(data_dir=data, log_json=False, jobs={"eager": False})


@contextmanager
def timed(stages: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - started


# -- baselines ----------------------------------------------------------------------------------
def baseline_copy(package: Path, scratch: Path) -> float:
    started = time.perf_counter()
    shutil.copytree(package, scratch / "copy")
    return time.perf_counter() - started


def baseline_pypdf(manifest: Manifest) -> tuple[float, int]:
    from pypdf import PdfReader

    root = Path(manifest.root)
    pages = 0
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for entry in manifest.files:
            if not entry.path.upper().endswith(".PDF"):
                continue
            try:
                reader = PdfReader(root / entry.path)
                for page in reader.pages:
                    page.extract_text()
                    pages += 1
            except Exception:  # bad PDFs count as work done
                continue
    return time.perf_counter() - started, pages


def baseline_pillow(manifest: Manifest) -> tuple[float, int]:
    from PIL import Image

    root = Path(manifest.root)
    count = 0
    started = time.perf_counter()
    for entry in manifest.files:
        if not entry.path.upper().endswith(".JPG"):
            continue
        with Image.open(root / entry.path) as image:
            image.getexif().get_ifd(0x8769)
            image.draft("RGB", (256, 256))
            image.thumbnail((256, 256))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
        count += 1
    return time.perf_counter() - started, count


# -- Kura ---------------------------------------------------------------------------------------
def _ingest_slice(data: str, node_ids: list[str]) -> dict[str, int]:
    """Worker process body: ingest ``node_ids`` with its own Container (like a Celery
    worker), then flush its pending index documents."""

    async def run() -> dict[str, int]:
        from api.archive.indexing import flush_pending
        from api.archive.ingest import IngestService

        container = Container(settings_for(Path(data)), jobs=RecordingJobs())
        await container.open()
        try:
            service = IngestService(container)
            states: dict[str, int] = {}
            for node_id in node_ids:
                state = await service.ingest(node_id)
                states[state] = states.get(state, 0) + 1
            await flush_pending(container)
            return states
        finally:
            await container.close()

    return asyncio.run(run())


async def kura_run(
    manifest: Manifest, data: Path, workers: int, stages: dict[str, float]
) -> dict[str, Any]:
    from api.archive.indexing import flush_pending, reindex_work_files
    from api.deliverables.intake import ImportService
    from api.deliverables.unpack import Limits, open_zip, scan_folder, scan_zip
    from api.deliverables.zipimport import analyse_package, package_root_id

    jobs = RecordingJobs()
    facts: dict[str, Any] = {}
    with timed(stages, "open"):
        container = Container(settings_for(data), jobs=jobs)
        await container.open()
    try:
        work = await container.records.insert(
            "works",
            {
                "id": new_id(),
                "title": manifest.work["title"],
                "kind": manifest.kind,
                "status": "in_progress",
                "acl": [],
            },
        )
        work_id = str(work["id"])
        source = Path(manifest.root)
        limits = Limits(max_files=max(Limits().max_files, len(manifest.files) * 2))
        with ExitStack() as stack:
            with timed(stages, "scan"):
                if source.suffix == ".zip":
                    fp = stack.enter_context(await asyncio.to_thread(source.open, "rb"))
                    zf: zipfile.ZipFile = stack.enter_context(open_zip(fp, limits))
                    plan = scan_zip(zf, limits)
                else:
                    plan = scan_folder(source, limits)
            with timed(stages, "import"):
                result = await ImportService(container).run(
                    ACTOR, work, IMPORT_TO, plan, source="bench"
                )
        facts["imported"] = result.created
        node_ids = [str(kw["node_id"]) for kw in jobs.take("ingest.file")]
        node_ids += [str(n) for kw in jobs.take("ingest.files") for n in kw["node_ids"]]
        facts["ingest_jobs"] = len(node_ids)
        with timed(stages, "ingest"):
            if workers <= 1:
                from api.archive.ingest import IngestService

                service = IngestService(container)
                states: dict[str, int] = {}
                for node_id in node_ids:
                    state = await service.ingest(node_id)
                    states[state] = states.get(state, 0) + 1
            else:
                slices = [node_ids[i::workers] for i in range(workers)]
                loop = asyncio.get_running_loop()
                with ProcessPoolExecutor(workers) as pool:
                    parts = await asyncio.gather(
                        *(loop.run_in_executor(pool, _ingest_slice, str(data), s) for s in slices)
                    )
                states = {}
                for part in parts:
                    for key, value in part.items():
                        states[key] = states.get(key, 0) + value
        facts["states"] = states
        with timed(stages, "index flush"):
            await flush_pending(container, work_id)
        with timed(stages, "analyse"):
            root_id = await package_root_id(container, work_id, IMPORT_TO, plan)
            outcome = (
                await analyse_package(container, work_id, root_id) if root_id is not None else None
            )
        if outcome is not None:
            counts = (outcome.get("report") or {}).get("counts")
            facts["findings"] = counts
        with timed(stages, "reindex"):
            for kw in jobs.take("index.work_files"):
                facts["reindexed"] = await reindex_work_files(container, str(kw["work_id"]))
        facts["search"] = await check_search(container, manifest)
        if any(i["source"] == "ingest" for d in manifest.defects.values() for i in d["expected"]):
            facts["defect_flags_missing"] = await check_flags(container, work_id, manifest)
        facts["nodes_done"] = await container.records.count(
            "nodes", (Eq("work_id", work_id), Eq("ingest.state", "done"))
        )
        facts["left_jobs"] = sorted({t for t, _ in jobs.sent})
    finally:
        await container.close()
    return facts


async def check_flags(container: Container, work_id: str, manifest: Manifest) -> list[str]:
    """The defects whose ingest flag the manifest expects but the node lacks."""
    from api.archive.nodes import NodeService

    nodes = NodeService(container)
    wanted = [
        (name, item)
        for name, spec in manifest.defects.items()
        for item in spec["expected"]
        if item["source"] == "ingest"
    ]
    missing = []
    for name, item in wanted:
        node = await nodes.by_path(work_id, f"{IMPORT_TO}/{item['path']}")
        if node is None or not flag_present(node, item["flag"]):
            missing.append(name)
    return missing


def flag_present(node: dict[str, Any], flag: str) -> bool:
    extract = node.get("extract") or {}
    if flag == "type_mismatch":
        return bool(node.get("type_mismatch"))
    if flag == "empty":
        return int(node.get("size") or 0) == 0 and bool((node.get("ingest") or {}).get("note"))
    return bool(extract.get(flag))


async def check_search(
    container: Container, manifest: Manifest, samples: int = 10
) -> tuple[int, int]:
    """Search a few generated phrases; each must hit its file. (found, searched)."""
    from indexer.query import SearchQuery

    phrases = list(manifest.phrases.items())
    picked = phrases[:: max(1, len(phrases) // samples)][:samples]
    found = 0
    for phrase, (path, _page) in picked:
        result = await container.index.search(SearchQuery(text=phrase, acl=None, limit=5))
        if any(str(h.doc.get("path", "")).endswith(path) for h in result.hits):
            found += 1
    return found, len(picked)


def judge(facts: dict[str, Any], files: int, defects: bool) -> Outcome:
    """The run's failures: anything imported, ingested, found or run short of the package."""
    outcome = Outcome()
    if not defects:  # defects add files the import rightly skips (Thumbs.db) or flags
        outcome.expect(facts["imported"] == files, f"imported {facts['imported']} of {files}")
        outcome.expect(
            facts["ingest_jobs"] == files, f"{facts['ingest_jobs']} ingest jobs for {files} files"
        )
        states = facts["states"]
        outcome.expect(set(states) <= {"done"}, f"ingest states {states}, not all done")
        outcome.expect(
            facts["nodes_done"] == files, f"{facts['nodes_done']} of {files} files ingested"
        )
        if outcome.expect("findings" in facts, "the 電子納品 check did not run"):
            errors = (facts["findings"] or {}).get("E")
            outcome.expect(errors == 0, f"the 電子納品 check found E findings: {errors}")
    missing = facts.get("defect_flags_missing") or []
    outcome.expect(not missing, f"expected ingest flags missing: {', '.join(missing)}")
    found, searched = facts["search"]
    outcome.expect(found == searched, f"only {found} of {searched} phrases found in their files")
    outcome.expect(not facts["left_jobs"], f"jobs left unrun: {facts['left_jobs']}")
    return outcome


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_ingest", description=__doc__)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--kind", choices=["construction", "service"], default="construction")
    ap.add_argument("--zip", action="store_true", help="import the package as a ZIP")
    ap.add_argument("--workers", type=int, default=1, help="ingest processes (like Celery)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--realistic", action="store_true", help="1280x960 photos")
    ap.add_argument("--defects", default="", help="inject tests.datagen defects ('all')")
    ap.add_argument("--keep", type=Path, default=None, help="keep the data here")
    args = ap.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="kura-bench-ingest-"))
    try:
        options = Options(
            kind=args.kind,
            files=args.files,
            seed=args.seed,
            zip=args.zip,
            defects=parse(args.defects),
            photo_size=REALISTIC if args.realistic else SMALL,
        )
        started = time.perf_counter()
        manifest = generate(scratch / "gen", options)
        gen_s = time.perf_counter() - started
        total_bytes = sum(f.size for f in manifest.files)
        kinds: dict[str, int] = {}
        for f in manifest.files:
            suffix = f.path.rsplit(".", 1)[-1].upper()
            kinds[suffix] = kinds.get(suffix, 0) + 1
        mix = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
        print(
            f"package: {len(manifest.files)} files, {total_bytes / 1e6:.1f} MB ({mix}); "
            f"generated in {gen_s:.2f} s; cores: {os.cpu_count()}"
        )
        if args.zip:
            unpacked = scratch / "unzipped"
            with zipfile.ZipFile(manifest.root) as zf:
                zf.extractall(unpacked)
            copy_root = unpacked
        else:
            copy_root = Path(manifest.root)
        copy_s = baseline_copy(copy_root, scratch)
        plain = Manifest(**{**manifest.__dict__, "root": str(copy_root)})
        pdf_s, pdf_pages = baseline_pypdf(plain)
        img_s, img_count = baseline_pillow(plain)
        data = args.keep or scratch / "data"
        stages: dict[str, float] = {}
        facts = asyncio.run(kura_run(manifest, data, args.workers, stages))
        total = sum(v for k, v in stages.items() if k != "open")
        print("baselines:")
        print(f"  copytree of the package        {copy_s:8.2f} s")
        print(f"  pypdf text of {pdf_pages:5d} PDF pages  {pdf_s:8.2f} s")
        print(f"  Pillow EXIF+thumb of {img_count:5d} JPEG {img_s:7.2f} s")
        print(f"  sum of the three               {copy_s + pdf_s + img_s:8.2f} s")
        print(f"kura (embedded, ingest workers={args.workers}):")
        for name, seconds in stages.items():
            print(f"  {name:<30} {seconds:8.2f} s")
        print(f"  {'TOTAL end to end':<30} {total:8.2f} s   (target < {TARGET_SECONDS:.0f} s)")
        print(
            f"  ratio to the baselines' sum    {total / max(1e-9, copy_s + pdf_s + img_s):8.1f} x"
        )
        print(f"  {len(manifest.files) / total:.0f} files/s, {total_bytes / 1e6 / total:.1f} MB/s")
        for key, value in facts.items():
            print(f"  {key}: {value}")
        outcome = judge(facts, len(manifest.files), defects=bool(args.defects))
        files = len(manifest.files)
        small = f"the target is for {TARGET_FILES:,} files, this run had {files:,}"
        target = f"{files} files end to end in {total:.1f} s (target < {TARGET_SECONDS:.0f} s)"
        print(
            outcome.verdict(target, total < TARGET_SECONDS, small if files < TARGET_FILES else None)
        )
        return outcome.exit_code()
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
