"""tus upload benchmark: a file through a real uvicorn server into the blob port, vs a copy.

    python -m bench.bench_tus [--sizes 100,1024,2048] [--patch-mib 64] [--rounds 1]
                              [--sealing sealed,plain] [--dir D]

For each size (MiB) a fresh server (``tests.uploads.server``, jobs not eager so ingest does not
run inside the API process) receives the file in ``--patch-mib`` PATCHes over loopback; the time
runs from the creation POST to the last PATCH's answer, which includes ``append_finish`` and the
file node's unit of work. The PATCHes go out of a plain socket with ``sendfile`` (the kernel
sends the file): a Python HTTP client reading the file in chunks took about a core of the
2-core machine the figures come from, and a user's browser does not run on the server. Beside
each time the server process's CPU seconds (user + system) for that upload. The baseline is
``shutil.copyfile`` of the same file on the same disk, in the page cache ("copy s") and
followed by its fsync ("+fsync s": the upload fsyncs every PATCH before answering it); the
verdict of the upload target (>= 0.8 x raw copy, issue 3) is against the latter. The
server's peak RSS is its ``VmHWM``. "loop CPU s" is the CPU seconds of the server's event-loop
thread (receiving the bytes, the requests' Python): the part of an upload that more cores
would not spread.
The S3 adapter runs too when ``KURA_TEST_S3_ENDPOINT`` is set (a bucket made for the run).

Each case runs with encryption on (the default: every part of an upload is sealed with its
work's data key, issue 12) and off (``KURA_KEYS__ENCRYPTION=false``), each in a server of its
own, both running; ``--rounds`` rounds of one upload into each, in turns, the best kept; the
verdict is issue 12's "encryption costs < 10 %" for the upload a user makes (sealed / plain
time <= 1.10, best against best). Beside it the ratio of the rounds' median times (on a
shared 2-core VM one run's best-of-four ratio moved between x1.03 and x1.28 for the same code)
and the CPU ratio: what sealing costs a server that is busy with many uploads at once (then
its CPU, not one upload's pipeline, bounds the throughput).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import shutil
import socket
import statistics
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import NamedTuple

import httpx

from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from bench.common import Outcome, copy_seconds
from tests.uploads.support import Server

MiB = 1 << 20
OPERATOR = Subject(new_id(), "bench", new_id(), OrgKind.OPERATOR)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(64 * MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


async def insert_work(data_dir: Path, env: dict[str, str]) -> str:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = Settings(data_dir=data_dir, log_json=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    container = Container(settings)
    await container.open()
    try:
        work = {"id": new_id(), "title": "ベンチマーク工事", "status": "in_progress", "acl": []}
        await container.records.insert("works", work)
        return str(work["id"])
    finally:
        await container.close()


def upload(base: str, work_id: str, path: Path, patch_bytes: int) -> float:
    size = path.stat().st_size
    name = base64.b64encode(path.name.encode()).decode()
    started = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        resp = client.post(
            f"{base}/api/v1/works/{work_id}/uploads",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(size),
                "Upload-Metadata": f"filename {name}",
            },
        )
        resp.raise_for_status()
        url = resp.headers["Location"]
    send_patches(base, url, path, size, patch_bytes)
    return time.perf_counter() - started


def send_patches(base: str, url: str, path: Path, size: int, patch_bytes: int) -> None:
    """The file in PATCHes of ``patch_bytes`` over one keep-alive connection, each body sent
    by the kernel (``socket.sendfile``), each answer checked (204 and the new offset)."""
    server = urllib.parse.urlsplit(base)
    target = urllib.parse.urlsplit(url).path
    with socket.create_connection((server.hostname, server.port), timeout=600) as sock:
        answers = sock.makefile("rb")
        with open(path, "rb") as f:
            offset = 0
            while offset < size:
                n = min(patch_bytes, size - offset)
                sock.sendall(
                    f"PATCH {target} HTTP/1.1\r\nHost: {server.netloc}\r\n"
                    "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
                    f"Upload-Offset: {offset}\r\nContent-Length: {n}\r\n\r\n".encode()
                )
                sock.sendfile(f, offset, n)
                status = answers.readline().decode("latin-1")
                headers = {}
                while (line := answers.readline()) not in (b"\r\n", b""):
                    key, _, value = line.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                text = answers.read(int(headers.get("content-length", "0")))
                if status.split()[1:2] != ["204"]:
                    raise RuntimeError(f"PATCH answered {status.strip()}: {text[:300]!r}")
                offset = int(headers["upload-offset"])


def renew(path: Path) -> None:
    """Make the file's content new (its first 32 bytes): every round uploads a file the
    server does not hold yet. The same content again would be a duplicate, whose new copy is
    deleted (measured: 0.2-0.3 s of unlinking 2 GiB; after the answer, but on the same CPU and
    disk as the next round) instead of kept, so later rounds would measure something else
    than the first."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, os.urandom(32), 0)
    finally:
        os.close(fd)


def evict(folder: Path) -> None:
    """Drop the files of ``folder`` from the page cache (``POSIX_FADV_DONTNEED``; they were
    fsynced, so the pages are clean): every upload starts from the same memory, instead of
    the later rounds paying for reclaiming the earlier ones' gigabytes (seen: a plain 2 GiB
    upload took 4.3-4.8 s at best over four rounds beside the sealed server, 3.2-3.4 s
    alone)."""
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size >= MiB:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def server_cpu_s(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` so far, or of its thread ``thread``
    (Linux ``/proc``)."""
    stat = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def adapters(part_mib: int | None) -> list[tuple[str, dict[str, str]]]:
    result: list[tuple[str, dict[str, str]]] = [("local", {})]
    endpoint = os.environ.get("KURA_TEST_S3_ENDPOINT")
    if endpoint:
        result.append(
            (
                "s3",
                {
                    "KURA_BLOBS__BACKEND": "s3",
                    "KURA_BLOBS__S3_ENDPOINT": endpoint.removeprefix("http://"),
                    "KURA_BLOBS__S3_ACCESS_KEY": os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
                    "KURA_BLOBS__S3_SECRET_KEY": os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
                    "KURA_BLOBS__S3_BUCKET": f"bench-tus-{uuid.uuid4().hex[:8]}",
                    **({"KURA_BLOBS__PART_SIZE": str(part_mib * MiB)} if part_mib else {}),
                },
            )
        )
    return result


# Encryption on (the default: every upload part and object of a work is sealed, issue 12) and
# off, so the upload's cost of sealing shows as a ratio in the same run.
SEALING = {"sealed": {}, "plain": {"KURA_KEYS__ENCRYPTION": "false"}}


class Measured(NamedTuple):
    """One sealing setting's uploads of one size: seconds (best and median of the rounds),
    the least server and event-loop CPU seconds, the server's peak RSS."""

    best: float
    median: float
    cpu: float
    loop: float
    rss_mib: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1024,2048", help="file sizes in MiB")
    parser.add_argument("--patch-mib", type=int, default=64)
    parser.add_argument(
        "--part-mib", type=int, default=None, help="S3 part size (default: settings)"
    )
    parser.add_argument("--dir", default=None, help="folder on the disk to measure")
    parser.add_argument(
        "--sealing",
        default="sealed,plain",
        help="sealed (encryption on, the default setting), plain (off), or both",
    )
    parser.add_argument("--rounds", type=int, default=1, help="uploads per case; the best")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    sealings = [s for s in args.sealing.split(",") if s]
    print(
        f"{'adapter':7} {'sealing':7} {'size':>9} {'tus s':>7} {'MiB/s':>7} {'copy s':>7} "
        f"{'MiB/s':>7} {'ratio':>6} {'+fsync s':>8} {'ratio':>6} {'server peak RSS':>16} "
        f"{'server CPU s':>12} {'loop CPU s':>10}"
    )
    out = Outcome()  # the verdicts' words (no check of this bench records a failure)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-tus-") as tmp:
        root = Path(tmp)
        for size_mib in sizes:
            path = root / f"upload-{size_mib}.bin"
            make_file(path, size_mib * MiB)
            for name, adapter_env in adapters(args.part_mib):
                measured = cases(root, name, size_mib, path, adapter_env, sealings, args)
                copy_s = copy_seconds(path, root / "copy.bin")
                synced_s = copy_seconds(path, root / "copy.bin", durable=True)
                for sealing, m in measured.items():
                    print(
                        f"{name:7} {sealing:7} {size_mib:>5} MiB {m.best:7.2f} "
                        f"{size_mib / m.best:7.0f} {copy_s:7.2f} {size_mib / copy_s:7.0f} "
                        f"{copy_s / m.best:6.2f} {synced_s:8.2f} {synced_s / m.best:6.2f} "
                        f"{m.rss_mib:12.0f} MiB {m.cpu:12.2f} {m.loop:10.2f}",
                        flush=True,
                    )
                for sealing, m in measured.items():
                    target = f"{name} {size_mib} MiB {sealing} upload >= 0.8 x raw copy"
                    print(
                        f"{out.verdict(target, synced_s / m.best >= 0.8)} "
                        f"(copyfile + fsync): x{synced_s / m.best:.2f}",
                        flush=True,
                    )
                if "sealed" in measured and "plain" in measured:
                    sealed, plain = measured["sealed"], measured["plain"]
                    ratio = sealed.best / plain.best
                    target = f"{name} {size_mib} MiB upload, encryption costs < 10 %"
                    print(
                        f"{out.verdict(target, ratio <= 1.10)}: sealed/plain time x{ratio:.2f} "
                        f"(median of the rounds x{sealed.median / plain.median:.2f}; "
                        f"server CPU x{sealed.cpu / plain.cpu:.2f})",
                        flush=True,
                    )
            path.unlink()


def cases(
    root: Path,
    name: str,
    size_mib: int,
    path: Path,
    adapter_env: dict[str, str],
    sealings: list[str],
    args: argparse.Namespace,
) -> dict[str, Measured]:
    """Per sealing setting a server of its own, all running; ``--rounds`` rounds of one
    upload into each (the order turned every round, so the machine's moods fall on both);
    per setting the best and the median time, the least server and event-loop CPU seconds
    and the server's peak RSS."""
    servers: dict[str, tuple[Server, str, Path]] = {}
    times: dict[str, list[float]] = {s: [] for s in sealings}
    cpu: dict[str, float] = {}  # the least server CPU seconds of one upload
    loop: dict[str, float] = {}  # the least CPU seconds of its event loop's thread
    try:
        for sealing in sealings:
            env = {**adapter_env, **SEALING[sealing]}
            data_dir = root / f"data-{name}-{sealing}-{size_mib}"
            work_id = asyncio.run(insert_work(data_dir, env))
            server = Server(data_dir, OPERATOR, {"KURA_JOBS__EAGER": "false", **env})
            servers[sealing] = (server, work_id, data_dir)
            server.start()
            warm = root / "warm-up.bin"  # first-request costs are not throughput
            warm.write_bytes(b"x")
            upload(server.base, work_id, warm, args.patch_mib * MiB)
        for r in range(max(1, args.rounds)):
            for sealing in sealings if r % 2 == 0 else sealings[::-1]:
                server, work_id, _ = servers[sealing]
                assert server.proc is not None
                pid = server.proc.pid
                renew(path)
                cpu_before, loop_before = server_cpu_s(pid), server_cpu_s(pid, pid)
                took = upload(server.base, work_id, path, args.patch_mib * MiB)
                cpu[sealing] = min(cpu.get(sealing, 1e9), server_cpu_s(pid) - cpu_before)
                loop[sealing] = min(loop.get(sealing, 1e9), server_cpu_s(pid, pid) - loop_before)
                times[sealing].append(took)
                evict(servers[sealing][2])
        return {
            s: Measured(
                min(times[s]),
                statistics.median(times[s]),
                cpu[s],
                loop[s],
                servers[s][0].peak_rss_kib() / 1024,
            )
            for s in sealings
        }
    finally:
        for server, _, data_dir in servers.values():
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
