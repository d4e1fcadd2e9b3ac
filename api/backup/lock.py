"""One ``kura backup`` at a time per target (issue 12 "Bad input and faults").

Two backups into the same target at once would remove each other's unfinished generation
(``_partial``) and collect pool objects the other has just copied. So a backup first takes
``backup.lock`` in the data target: a small JSON file naming its owner (user), host, pid,
start and last renewal, created only if absent (a folder: ``O_CREAT | O_EXCL``; an S3
bucket: a conditional PUT ``If-None-Match: *``, or, on a server that ignores it, a written
lock read back after a pause, last writer wins). A second backup is refused at once with
words naming the holder. The holder renews the lock every fifth of
``KURA_BACKUP__LOCK_STALE_S`` and deletes it when done; a lock not renewed for that long, or
whose process is gone on this same host (a backup killed with -9), is taken over, with a
warning in the log naming the old holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from api.backup.stores import BackupStore
from api.kit.clock import Clock, to_iso

log = logging.getLogger("kura.backup")

LOCK = "backup.lock"
# A store that cannot create exclusively: how long to wait before reading the lock back.
SETTLE_S = 1.0


class BackupLocked(Exception):
    """Another backup holds the target."""


def _owner() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name (a container without passwd entry)
        return str(os.getuid())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


class BackupLock:
    """The lock of one backup run (``async with lock.held(): ...``)."""

    def __init__(self, store: BackupStore, clock: Clock, stale_s: float) -> None:
        self.store = store
        self.clock = clock
        self.stale_s = stale_s
        self.token = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.started_at = to_iso(clock.now())

    def _mine(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "owner": _owner(),
            "host": self.host,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "renewed_at": to_iso(self.clock.now()),
        }

    def _raw(self) -> bytes:
        return json.dumps(self._mine(), ensure_ascii=False, sort_keys=True).encode()

    async def holder(self) -> dict[str, Any] | None:
        """The lock's content (``{}`` when unreadable), None when there is no lock."""
        try:
            raw = await self.store.read_bytes(LOCK)
        except FileNotFoundError:
            return None
        try:
            found = json.loads(raw)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def stale(self, holder: dict[str, Any]) -> str | None:
        """Why ``holder`` may be taken over, or None while it holds."""
        try:
            renewed = datetime.fromisoformat(str(holder["renewed_at"]))
        except (KeyError, ValueError):
            return "the lock file is unreadable"
        age = (self.clock.now() - renewed).total_seconds()
        if age > self.stale_s:
            return f"not renewed for {age:.0f} s (KURA_BACKUP__LOCK_STALE_S={self.stale_s:g})"
        if holder.get("host") == self.host and not _alive(int(holder.get("pid") or 0)):
            return f"its process {holder.get('pid')} is gone"
        return None

    def _refusal(self, holder: dict[str, Any]) -> BackupLocked:
        return BackupLocked(
            f"another backup is writing to {self.store.describe()}: {holder.get('owner')} on "
            f"{holder.get('host')} (pid {holder.get('pid')}), started {holder.get('started_at')}, "
            f"last renewed {holder.get('renewed_at')}. Wait for it to finish; a lock left by "
            f"a backup that died is taken over after {self.stale_s:g} s "
            f"(KURA_BACKUP__LOCK_STALE_S), or at once on the same host. To remove it by hand "
            f"once sure no backup runs: delete {LOCK} in the target."
        )

    async def acquire(self) -> None:
        """Take the lock or raise ``BackupLocked`` (at once, no waiting)."""
        for _ in range(3):
            created = await self.store.create_exclusive(LOCK, self._raw())
            if created is None:
                # Written without a guarantee: the last writer wins, read it back.
                await asyncio.sleep(SETTLE_S)
                written = await self.holder() or {}
                if written.get("token") == self.token:
                    return
                raise self._refusal(written)
            if created:
                return
            found = await self.holder()
            if found is None:
                continue  # released meanwhile
            why = self.stale(found)
            if why is None:
                raise self._refusal(found)
            log.warning(
                "taking over the backup lock of %s: %s on %s (pid %s), started %s: %s",
                self.store.describe(),
                found.get("owner"),
                found.get("host"),
                found.get("pid"),
                found.get("started_at"),
                why,
            )
            await self.store.delete(LOCK)
        raise BackupLocked(f"the backup lock of {self.store.describe()} kept changing hands")

    async def renew(self) -> None:
        found = await self.holder()
        if found is not None and found.get("token") != self.token:
            raise BackupLocked(f"the backup lock of {self.store.describe()} was taken over")
        await self.store.put_bytes(LOCK, self._raw())

    async def release(self) -> None:
        found = await self.holder()
        if found is not None and found.get("token") == self.token:
            await self.store.delete(LOCK)

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(self.stale_s / 5)
            try:
                await self.renew()
            except Exception:
                log.exception("renewing the backup lock of %s failed", self.store.describe())

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.acquire()
        renewer = asyncio.create_task(self._renewing())
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self.release()
