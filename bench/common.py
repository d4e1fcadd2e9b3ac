"""Helpers the benchmarks share: percentiles, the process's resident memory, the S3 store
built from the test-server environment, a timed raw copy (the disk baseline), and
``Outcome`` (failures and verdicts). Benchmarks
may import ``tests.*``; tests never import ``bench``."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.blobs.s3 import S3BlobStore


class Outcome:
    """What a benchmark run found besides its figures: its failures (a wrong or missing
    result, a stage that did not run, a baseline that does not compute the same thing).

    A target's verdict counts only when the run had no failure and ran at the scale the
    target names; otherwise it prints ``NO VERDICT`` and why. ``exit_code`` is 1 after any
    failure, so ``bench/run_all`` lists the benchmark as failed; a missed target is a
    measurement (``MISSED``), not a failure of the run."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def fail(self, what: str) -> None:
        self.failures.append(what)
        print(f"FAILURE: {what}")

    def expect(self, ok: bool, what: str) -> bool:
        """Record ``what`` as a failure unless ``ok``; returns ``ok``."""
        if not ok:
            self.fail(what)
        return ok

    def verdict(self, target: str, met: bool, scale: str | None = None) -> str:
        """``PASS: target`` / ``MISSED: target``, or ``NO VERDICT`` when the run had failures
        or ``scale`` says why this run is not at the target's scale."""
        if self.failures:
            return f"NO VERDICT: {target} (the run had {len(self.failures)} failure(s))"
        if scale is not None:
            return f"NO VERDICT: {target} ({scale})"
        return f"{'PASS' if met else 'MISSED'}: {target}"

    def exit_code(self) -> int:
        return 1 if self.failures else 0


def pct(values: list[float], p: float) -> float:
    """The ``p`` quantile (0..1) as the nearest rank of ``round(p * (n - 1))``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def pct_upper(values: list[float], p: float) -> float:
    """The ``p`` quantile (0..1) as the rank ``int(p * n)``: never below :func:`pct`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM); False where /proc does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """The process's peak resident memory (VmHWM) in MiB; NaN off Linux."""
    return _status_mib("VmHWM:")


def rss_mib() -> float:
    """The process's resident memory now (VmRSS) in MiB; NaN off Linux."""
    return _status_mib("VmRSS:")


def s3_from_env(part_size: int, **options: Any) -> S3BlobStore | None:
    """An S3 store on a fresh bucket of the test server in ``KURA_TEST_S3_*``, or None (and a
    line saying so) when the endpoint is unset."""
    endpoint = os.environ.get("KURA_TEST_S3_ENDPOINT")
    if not endpoint:
        print("s3     skipped (KURA_TEST_S3_ENDPOINT unset)")
        return None
    from storage.blobs.s3 import S3BlobStore

    return S3BlobStore(
        endpoint=endpoint,
        access_key=os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
        secret_key=os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
        bucket=f"kura-bench-{uuid.uuid4().hex[:10]}",
        part_size=part_size,
        **options,
    )


# Vocabulary of the synthetic Japanese corpora (bench_search, bench_archive_search).
PLACES = ["広島県", "岡山県", "山口市", "福山市", "呉市", "尾道市", "三原市", "東広島市"]
WORKS = ["道路改良", "橋梁補修", "河川改修", "砂防堰堤", "舗装修繕", "トンネル補強", "法面対策"]
WORDS = [
    "施工計画書",
    "出来形管理",
    "品質管理",
    "写真帳",
    "打合せ簿",
    "完成図",
    "数量総括表",
    "コンクリート",
    "アスファルト",
    "鉄筋",
    "排水路",
    "ガードレール",
    "工程表",
    "安全管理",
]
CATEGORIES = [f"cat{i:02d}" for i in range(12)]


def copy_seconds(src: Path, dest: Path, *, durable: bool = False) -> float:
    """Seconds of ``shutil.copyfile`` (in-kernel ``copy_file_range``), and of one fsync of the
    copy when ``durable`` (``cp`` then ``sync``: the baseline of anything that is durable when
    it answers); the copy is removed afterwards."""
    started = time.perf_counter()
    shutil.copyfile(src, dest)
    if durable:
        fd = os.open(dest, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - started
    dest.unlink()
    return elapsed
