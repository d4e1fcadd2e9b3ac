"""kill -9 of the data-protection commands and of an erasure job (issue 12 "Bad input and
faults": an interrupted migration, backup or restore is resumable and never half-applied).

Each test runs the real ``kura`` command (or a real Celery worker) as a subprocess, parks it
at a named step (``api.kit.faults``: ``KURA_TEST_PARK_AT=<point>:<n>``; the process reports
where it parked and sleeps) and kills it there with SIGKILL, so the kill lands at the same
place on every run, not where timing happens to put it. Then the next run, by itself:

- ``kura migrate encrypt`` killed after a copy and before its commit: the next run completes
  and ``kura scrub`` is clean;
- ``kura backup`` killed after some pool objects: no generation is listed, the next run takes
  over the dead run's lock, completes, and reuses the pool objects already copied;
- ``kura restore`` killed half-way: ``kura serve`` refuses the half-restored folder, the same
  ``kura restore`` resumes and completes (decision: resumable through the ``.restoring``
  marker, docs/operations.md), and a further one is refused as the target is not empty;
- the job ``erasures.finish`` killed in a worker after the key was destroyed and the records
  deleted, before that step was marked: the job sweeper sends it again and the next worker
  finishes the erasure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.backup.generations import Target, backup, list_generations
from api.backup.lock import LOCK
from api.cli.serve import worker_command
from api.config import Settings
from api.container import Container
from api.keys import scopes
from api.keys.erasure import ERASURES, destroy_key
from api.kit.faults import PARK_AT, PARK_FILE
from tests.cli.test_serve import kura_command

ROOT = Path(__file__).resolve().parents[2]
PARK_TIMEOUT_S = 60.0

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("KURA_")}
    return values | {
        "PYTHONPATH": str(ROOT),
        "KURA_DATA_DIR": str(data_dir),
        "KURA_LOG_JSON": "false",
        "KURA_LOG_LEVEL": "WARNING",
        "KURA_JOBS__EAGER": "true",
        "KURA_AUTH__ARGON2_TIME_COST": "1",
        "KURA_AUTH__ARGON2_MEMORY_KIB": "8192",
        **extra,
    }


def kura(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kura_command(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def start(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def parked_pid(park_file: Path, point: str, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + PARK_TIMEOUT_S
    while time.monotonic() < deadline:
        if park_file.exists():
            for line in park_file.read_text().splitlines():
                pid, _, where = line.partition(" ")
                if where == point:
                    return int(pid)
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the process ended ({proc.returncode}) before parking at {point}\n{out}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the process did not park at {point}")


def kill_at(cmd: list[str], env: dict[str, str], at: str, tmp: Path, cwd: Path = ROOT) -> None:
    """Run ``cmd`` until it parks at ``at`` (``point[:n]``), then SIGKILL its process group."""
    park_file = tmp / f"park-{time.monotonic_ns()}.txt"
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**env, PARK_AT: at, PARK_FILE: str(park_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        parked_pid(park_file, at.partition(":")[0], proc)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def settings_of(env: dict[str, str], **over: Any) -> Settings:
    return Settings(data_dir=Path(env["KURA_DATA_DIR"]), log_json=False, **over)


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Container]:
    c = Container(settings)
    await c.open()
    try:
        yield c
    finally:
        await c.close()


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


# -- kura migrate encrypt -------------------------------------------------------------------


async def test_migrate_encrypt_killed_mid_run_completes_on_the_next_run(tmp_path: Path) -> None:
    from tests.archive.harness_tree import archive_harness
    from tests.keys.test_scoped_content import build_old_folder

    env = base_env(tmp_path / "data")
    settings = settings_of(env, jobs={"eager": True})
    async with archive_harness(settings) as h:
        await build_old_folder(h)
    assert kura(env, "scrub", "--quiet").returncode == 1  # content outside every scope

    # killed after its second copy was written and verified, before that copy's commit
    kill_at([*kura_command(), "migrate", "encrypt"], env, "migrate.copied:2", tmp_path)
    async with opened(settings) as c:
        state = await c.records.get("migrations", "encrypt")
        assert state is not None
        assert state["state"] == "running"  # the killed run never wrote its end

    done = kura(env, "migrate", "encrypt")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "remaining: 0, problems: 0" in done.stdout
    scrub = kura(env, "scrub")
    assert scrub.returncode == 0, scrub.stdout + scrub.stderr
    assert "bad: 0" in scrub.stdout
    async with opened(settings) as c:
        state = await c.records.get("migrations", "encrypt")
        assert state is not None
        assert state["state"] == "done"
        assert [i.key async for i in c.blobs.list("objects/")] == []  # every old object moved


# -- kura backup ----------------------------------------------------------------------------


async def build_objects(settings: Settings, n: int) -> dict[str, bytes]:
    data = {f"s/wc-W{i % 3}/obj{i:02d}": f"object {i} ".encode() * (2000 + i) for i in range(n)}
    async with opened(settings) as c:
        for key, value in data.items():
            await c.blobs.put(key, one(value))
        await c.records.insert("drill_notes", {"id": "W1", "name": "工事1"})
    return data


async def test_backup_killed_mid_run_leaves_no_generation_and_the_next_run_reuses_the_pool(
    tmp_path: Path,
) -> None:
    target = tmp_path / "backups"
    env = base_env(tmp_path / "data", KURA_BACKUP__TARGET=str(target))
    await build_objects(settings_of(env), 12)

    kill_at([*kura_command(), "backup"], env, "backup.pool_put:5", tmp_path)
    assert list_generations(target / "generations") == []
    assert (target / LOCK).exists()  # left by the dead run
    pool = {p: p.stat().st_ino for p in (target / "pool").rglob("*") if p.is_file()}
    assert len(pool) == 5

    listing = kura(env, "backup", "--list")
    assert "data\t" not in listing.stdout
    done = kura(env, "backup")  # takes over the dead run's lock (its pid is gone)
    assert done.returncode == 0, done.stdout + done.stderr
    [gen] = list_generations(target / "generations")
    assert gen in done.stdout
    after = {p: p.stat().st_ino for p in (target / "pool").rglob("*") if p.is_file()}
    assert len(after) == 12
    assert {p: after[p] for p in pool} == pool  # the copied pool files were not written again
    assert not (target / LOCK).exists()
    assert not (tmp_path / "backups-keys" / LOCK).exists()


# -- kura restore ---------------------------------------------------------------------------


async def test_restore_killed_mid_run_is_refused_by_serve_and_resumed_by_restore(
    tmp_path: Path,
) -> None:
    target = tmp_path / "backups"
    env = base_env(tmp_path / "data", KURA_BACKUP__TARGET=str(target))
    settings = settings_of(env, backup={"target": target})
    data = await build_objects(settings, 20)
    async with opened(settings) as c:  # the backup itself runs in this process
        await backup(c, Target.of(settings))

    into = base_env(tmp_path / "restored", KURA_BACKUP__TARGET=str(target))
    kill_at([*kura_command(), "restore"], into, "restore.object:6", tmp_path)
    marker = tmp_path / "restored" / ".restoring"
    assert marker.exists()

    # never half-applied silently: the API does not start on the half-restored folder
    serve = kura(into, "serve", "--no-worker", "--port", "1")
    assert serve.returncode == 2, serve.stdout + serve.stderr
    assert "復元が途中で止まっています" in serve.stderr

    resumed = kura(into, "restore")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "20 objects" in resumed.stdout
    assert not marker.exists()
    async with opened(settings_of(into)) as c:
        for key, value in data.items():
            assert b"".join([x async for x in c.blobs.get(key)]) == value
        note = await c.records.get("drill_notes", "W1")
        assert note is not None
    again = kura(into, "restore")
    assert again.returncode == 2
    assert "not empty" in again.stderr


# -- the erasure job ------------------------------------------------------------------------


async def test_an_erasure_job_killed_after_the_key_went_is_finished_by_the_sweeper(
    tmp_path: Path,
) -> None:
    env = base_env(
        tmp_path / "data",
        KURA_JOBS__EAGER="false",
        KURA_JOBS__LEASE_S="3",
        KURA_JOBS__SWEEP_S="1",
    )
    settings = settings_of(env, jobs={"lease_s": 3, "sweep_s": 1})
    data_dir = Path(env["KURA_DATA_DIR"])
    scope = scopes.collab("W1")
    async with opened(settings) as c:
        await c.records.insert("works", {"id": "W1", "title": "県道改良工事", "acl": []})
        for i in range(3):
            await c.records.insert("posts", {"id": f"P{i}", "work_id": "W1", "title": "秘"})
            await c.blobs.put(f"{scopes.prefix(scope)}f{i}", one(b"secret " * 1000))
        # as ``POST /erasures/{scope}`` does: the key goes, the job is committed and sent
        record = await destroy_key(c, scope, "user:op", "試験", as_job=True)
        job_id = str(record["job_id"])
    worker = worker_command(settings)

    kill_at(worker, env, "erasure.records_erased", tmp_path, cwd=data_dir)
    async with opened(settings) as c:
        state = await c.records.get(ERASURES, scope)
        assert state is not None
        assert state["state"] == "key_destroyed"  # the records went, the mark did not
        assert await c.records.count("posts", ()) == 0
        assert [i.key async for i in c.blobs.list(scopes.prefix(scope))]  # objects still there
        job = await c.records.get("jobs", job_id)
        assert job is not None
        assert job["state"] == "running"

    proc = start(worker, env, data_dir)
    try:
        async with opened(settings) as c:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = await c.records.get(ERASURES, scope) or {}
                job = await c.records.get("jobs", job_id) or {}
                if state.get("state") == "done" and job.get("state") == "done":
                    break
                await asyncio.sleep(0.2)
            assert state.get("state") == "done", state
            assert job.get("state") == "done", job
            assert int(job.get("restarts") or 0) >= 1  # the sweeper sent it again
            assert [i.key async for i in c.blobs.list(scopes.prefix(scope))] == []
            events = [
                e
                async for e in c.records.scan("audit_events", ())
                if e["action"] == "keys.destroyed"
            ]
            assert len(events) == 1
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
