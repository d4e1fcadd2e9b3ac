"""One backup at a time per target (issue 12 "Bad input and faults": two ``kura backup`` runs
into the same target would remove each other's unfinished generation and pool objects).

The second run is refused at once, naming the holder; a lock whose process is gone (on this
host) or that was not renewed for ``KURA_BACKUP__LOCK_STALE_S`` is taken over, with a warning.
On a folder and, with the real test servers, on an S3 bucket (SeaweedFS). The lock of a real
``kura backup`` killed with -9 is in ``tests/integration/test_kill_9.py``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.backup.generations import list_generations
from api.backup.lock import LOCK, BackupLock, BackupLocked
from api.backup.stores import BackupStore, FolderStore, bucket_store
from api.config import BackupSettings, Settings
from api.kit.clock import FixedClock, to_iso
from tests.backup.support import kura, one
from tests.conftest import server_env

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
STALE_S = 900.0


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def lock_of(pid: int, host: str, renewed: datetime) -> bytes:
    return json.dumps(
        {
            "token": uuid.uuid4().hex,
            "owner": "someone",
            "host": host,
            "pid": pid,
            "started_at": to_iso(renewed),
            "renewed_at": to_iso(renewed),
        }
    ).encode()


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.servers)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BackupStore]:
    if request.param == "folder":
        folder = FolderStore(tmp_path / "target")
        await folder.open()
        yield folder
        return
    settings = Settings(
        data_dir=tmp_path / "data",
        backup=BackupSettings(
            s3_endpoint=server_env("KURA_TEST_S3_ENDPOINT"),
            s3_access_key=os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
            s3_secret_key=os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
        ),
    )
    bucket = bucket_store(settings, f"kura-test-lock-{uuid.uuid4().hex[:8]}")
    await bucket.open()
    try:
        yield bucket
    finally:
        await bucket.blobs.drop_bucket()  # type: ignore[attr-defined]
        await bucket.close()


async def holder(store: BackupStore) -> dict[str, object]:
    found: dict[str, object] = json.loads(await store.read_bytes(LOCK))
    return found


async def test_a_second_backup_is_refused_while_the_first_holds_the_target(
    store: BackupStore,
) -> None:
    clock = FixedClock(T0)
    first = BackupLock(store, clock, STALE_S)
    async with first.held():
        held = await holder(store)
        assert held["pid"] == os.getpid()
        assert held["host"] == socket.gethostname()
        assert held["owner"]
        assert held["started_at"] == to_iso(T0)
        second = BackupLock(store, clock, STALE_S)
        with pytest.raises(BackupLocked) as refused:
            await second.acquire()
        words = str(refused.value)
        assert "another backup is writing" in words
        assert f"pid {os.getpid()}" in words
        assert "KURA_BACKUP__LOCK_STALE_S" in words
        assert (await holder(store))["token"] == first.token  # untouched
    assert not await store.exists(LOCK)  # released
    async with BackupLock(store, clock, STALE_S).held():  # free again
        pass


async def test_a_lock_left_by_a_dead_or_silent_backup_is_taken_over(
    store: BackupStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock(T0)
    here = socket.gethostname()
    # killed on this host: its process is gone, taken over at once
    gone = dead_pid()
    await store.put_bytes(LOCK, lock_of(gone, here, T0))
    taker = BackupLock(store, clock, STALE_S)
    with caplog.at_level(logging.WARNING, logger="kura.backup"):
        await taker.acquire()
    assert f"its process {gone} is gone" in caplog.text
    assert (await holder(store))["token"] == taker.token
    await taker.release()
    # another host, renewed a minute ago: it holds
    await store.put_bytes(LOCK, lock_of(12345, "other-host", T0 - timedelta(minutes=1)))
    with pytest.raises(BackupLocked):
        await BackupLock(store, clock, STALE_S).acquire()
    # another host, silent for longer than the stale age: taken over
    await store.put_bytes(LOCK, lock_of(12345, "other-host", T0 - timedelta(seconds=STALE_S + 1)))
    caplog.clear()
    late = BackupLock(store, clock, STALE_S)
    with caplog.at_level(logging.WARNING, logger="kura.backup"):
        await late.acquire()
    assert "not renewed for" in caplog.text
    assert "other-host" in caplog.text
    # the holder renews: a renewed lock is not stale; a lock taken from it is noticed
    clock.advance(seconds=STALE_S - 1)
    await late.renew()
    assert (await holder(store))["renewed_at"] == to_iso(clock.now())
    with pytest.raises(BackupLocked):
        await BackupLock(store, clock, STALE_S).acquire()
    await store.put_bytes(LOCK, lock_of(12345, "other-host", clock.now()))
    with pytest.raises(BackupLocked, match="taken over"):
        await late.renew()


def test_kura_backup_is_refused_at_once_while_another_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command: exit 1 with the holder named, nothing written; the lock gone after a run."""
    import asyncio

    monkeypatch.setenv("KURA_LOG_JSON", "false")
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KURA_BACKUP__TARGET", str(tmp_path / "backups"))
    from api.cli._run import with_container
    from api.container import Container

    async def build(c: Container) -> None:
        await c.blobs.put("s/wc-W1/a", one(b"data"))

    with_container(build)
    target = FolderStore(tmp_path / "backups")

    async def hold() -> None:
        await target.open()
        await target.put_bytes(LOCK, lock_of(os.getpid(), socket.gethostname(), datetime.now(UTC)))

    asyncio.run(hold())
    refused = kura("backup")
    assert refused.exit_code == 1, refused.output
    assert "backup refused: another backup is writing to" in refused.output
    assert list_generations(tmp_path / "backups" / "generations") == []
    assert not (tmp_path / "backups" / "pool").exists()
    (tmp_path / "backups" / LOCK).unlink()
    done = kura("backup")
    assert done.exit_code == 0, done.output
    assert len(list_generations(tmp_path / "backups" / "generations")) == 1
    assert not (tmp_path / "backups" / LOCK).exists()
    assert not (tmp_path / "backups-keys" / LOCK).exists()


class HeaderIgnoringStore(FolderStore):
    """A store whose exclusive create is a plain write (an S3 server that ignores
    ``If-None-Match``): the lock is read back after a pause, the last writer wins."""

    async def create_exclusive(self, name: str, data: bytes) -> bool | None:
        await self.put_bytes(name, data)
        return None


async def test_without_exclusive_create_two_racing_backups_get_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import api.backup.lock as lock_module

    monkeypatch.setattr(lock_module, "SETTLE_S", 0.2)
    store = HeaderIgnoringStore(tmp_path / "target")
    await store.open()
    clock = FixedClock(T0)
    racers = [BackupLock(store, clock, STALE_S) for _ in range(2)]
    results = await asyncio.gather(*(r.acquire() for r in racers), return_exceptions=True)
    won = [r for r, result in zip(racers, results, strict=True) if result is None]
    lost = [result for result in results if isinstance(result, BackupLocked)]
    assert len(won) == 1, results
    assert len(lost) == 1, results
    assert (await holder(store))["token"] == won[0].token
