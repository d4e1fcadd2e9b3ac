"""Shared machinery of the resumable appends (``BlobStore.append_*``) of both blob adapters.

The adapters differ in where the bytes go (local: one part file; S3: spooled segments uploaded
as multipart parts) but share the rules of one append request:

- ``HandleLock``: one request per handle at a time, across threads and processes (``flock`` on a
  ``<handle>.lock`` file, re-checked after locking so a lock file removed by ``finish`` or
  ``abort`` is never trusted);
- ``batches``: chunks gathered into batches for the request's threads (``Pipeline``); an
  error of the chunk
  iterator (a dropped connection) is raised only after the bytes received before it were
  yielded, so "an upload cut after N bytes keeps exactly N bytes";
- ``RequestCheck``: the ``limit`` check before any byte is written, the digest of the request
  (``checksum``: SHA-1 or SHA-256) and of the whole object, kept in memory by ``Hashes``
  between requests;
- ``write_json_atomic``: state files written next to their destination, fsynced and renamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.blobs.keys import InvalidKey
from storage.blobs.lanes import Lanes
from storage.blobs.putpipe import WRITE_PIECE, start_writeback
from storage.errors import ChecksumMismatch, SizeExceeded
from storage.ports import Checksum

_HANDLE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# How long a request waits for another one on the same handle (a client retrying while the
# server still reads the dropped connection of its previous PATCH) before answering 409.
LOCK_TIMEOUT_S = 10.0
_LOCK_POLL_S = 0.02


def validate_handle(handle: str) -> str:
    """Return ``handle`` if it matches ``[A-Za-z0-9_-]{1,64}``; ``InvalidKey`` otherwise."""
    if not isinstance(handle, str) or not _HANDLE.fullmatch(handle):
        raise InvalidKey(f"追記ハンドルが不正です（英数字・_・- の 1〜64 文字）: {handle!r}")
    return handle


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` so a crash leaves the old or the new file, never a torn one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps(data, separators=(",", ":")).encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else None


class HandleLock:
    """An exclusive ``flock`` on ``<folder>/<handle>.lock`` held for one request.

    After the lock is taken the path must still name the locked inode: ``finish`` and ``abort``
    remove the lock file while holding it, and a waiter that opened the old file must not
    believe it owns the handle. Polling with ``LOCK_NB`` keeps the event loop free and lets a
    request give up after ``timeout`` seconds; the adapters then raise ``OffsetMismatch`` (tus:
    409, the client asks for the offset again).
    """

    def __init__(self, path: Path, timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def _try(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        try:
            same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)  # removed by finish/abort meanwhile: try the new file
            return False
        self._fd = fd
        return True

    async def acquire(self) -> bool:
        """Take the lock; False if another request still held it after ``timeout``."""
        deadline = time.monotonic() + self.timeout
        while not await asyncio.to_thread(self._try):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(_LOCK_POLL_S)
        return True

    def remove(self) -> None:
        """Unlink the lock file while holding it (the handle is gone)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class Hashes:
    """The running SHA-256 of each open handle in this process, valid only at its size.

    A handle served by another process, or a process restarted, finds no entry (or one at
    another size) and the adapter recomputes the digest at ``finish`` by re-reading the bytes.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[int, Any]] = {}

    def get(self, handle: str, size: int) -> Any | None:
        """A copy of the running hash if it covers exactly ``size`` bytes, else None (a fresh
        hash at size 0: nothing to have missed)."""
        item = self._items.get(handle)
        if size == 0:
            return hashlib.sha256() if item is None or item[0] != 0 else item[1].copy()
        if item is None or item[0] != size:
            return None
        return item[1].copy()

    def set(self, handle: str, size: int, digest: Any | None) -> None:
        if digest is None:
            self._items.pop(handle, None)
        else:
            self._items[handle] = (size, digest)

    def drop(self, handle: str) -> None:
        self._items.pop(handle, None)


class RequestCheck:
    """Limit and digests of one append request.

    ``take(batch)`` raises ``SizeExceeded`` before a byte past ``limit`` is written and
    otherwise feeds the batch to the request digest (if a checksum was sent) and to the whole
    object's running hash (if this process has it).
    """

    def __init__(
        self, size_before: int, whole: Any | None, checksum: Checksum | None, limit: int | None
    ) -> None:
        self.size_before = size_before
        self.received = 0  # bytes hashed
        self.offered = 0  # bytes accepted by check() (ahead of received while a batch is written)
        self.whole = whole
        self.checksum = checksum
        self.limit = limit
        self._request = hashlib.new(checksum.algorithm) if checksum is not None else None

    def check(self, batch: list[bytes]) -> None:
        n = sum(len(c) for c in batch)
        if self.limit is not None and self.size_before + self.offered + n > self.limit:
            raise SizeExceeded(
                f"上限 {self.limit} バイトを超えます"
                f"（保存済み {self.size_before + self.offered} バイト + {n} バイト）"
            )
        self.offered += n

    def feed(self, batch: list[bytes]) -> None:
        """Hash a batch (called in the writing thread; hashlib releases the GIL)."""
        for chunk in batch:
            if self.whole is not None:
                self.whole.update(chunk)
            if self._request is not None:
                self._request.update(chunk)
            self.received += len(chunk)

    def verify(self) -> None:
        if (
            self.checksum is not None
            and self._request is not None
            and (self._request.digest() != self.checksum.digest)
        ):
            raise ChecksumMismatch("チェックサムが一致しません（この要求のデータは破棄されました）")


class Pipeline:
    """The batches of one append request written and hashed in two threads of its own (a
    writer and a hasher: ``storage.blobs.lanes``), each taking them in order, while the event
    loop receives the next ones; the hasher may run behind the writer and the other way round.

    ``submit`` queues a batch (starting the threads on the first) and waits while more than
    ``window`` bytes are queued or in work, then hands out what the writes of earlier batches
    returned (the S3 spool: the segments they completed); ``drain`` waits for every batch and
    hands out the rest. Either raises the first error (the writer's first: a failed write
    keeps nothing of the batches after it). Memory: the window plus the batch being gathered.
    A task cancelled meanwhile must ``settle`` before touching the file again
    (``finish_later``): the threads finish the batches queued (bytes that arrived are kept).
    """

    def __init__(
        self, write: Callable[[list[bytes]], Any], check: RequestCheck, *, window: int
    ) -> None:
        self._lanes = Lanes(
            [("kura-append-write", write), ("kura-append-hash", check.feed)], window=window
        )

    async def submit(self, batch: list[bytes]) -> list[Any]:
        if not self._lanes.started:
            self._lanes.start()
        await self._lanes.submit(batch, sum(len(c) for c in batch))
        return self._lanes.results()

    async def drain(self) -> list[Any]:
        await self._lanes.join()
        self._lanes.raise_error()
        return self._lanes.results()

    async def settle(self) -> None:
        """Wait for the batches queued, whatever their outcome."""
        await self._lanes.join()


_cleanups: set[asyncio.Future[None]] = set()


def finish_later(cleanup: Any) -> None:
    """Run the coroutine ``cleanup`` after a cancelled request (it may not await any more):
    wait for threads still writing, then sync or truncate and release the handle's lock."""
    task = asyncio.ensure_future(cleanup)
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)


async def batches(chunks: AsyncIterator[bytes], batch_bytes: int) -> AsyncIterator[list[bytes]]:
    """Gather ``chunks`` into lists of at least ``batch_bytes`` (the last may be shorter).

    If ``chunks`` raises an ``Exception``, the batch gathered so far is yielded first and the
    error is raised on the next step: every byte received before a dropped connection is
    handed to the writer.
    """
    batch: list[bytes] = []
    pending = 0
    error: Exception | None = None
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            batch.append(bytes(chunk))
            pending += len(chunk)
            if pending >= batch_bytes:
                yield batch
                batch, pending = [], 0
    except Exception as exc:
        error = exc
    if batch:
        yield batch
    if error is not None:
        raise error


async def read_range(path: Path, start: int, end: int, chunk: int) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of a file in ``chunk``-sized reads, each in a worker thread."""
    f = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(f.seek, start)
        left = end - start
        while left > 0:
            data = await asyncio.to_thread(f.read, min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data
    finally:
        f.close()


def sha256_of(path: Path, size: int | None = None, block: int = 4 << 20) -> tuple[Any, int]:
    """The running SHA-256 of the first ``size`` bytes of a file (all if None) and the count."""
    digest = hashlib.sha256()
    read = 0
    if size == 0:
        return digest, 0
    with open(path, "rb") as f:
        while size is None or read < size:
            want = block if size is None else min(block, size - read)
            data = f.read(want)
            if not data:
                break
            digest.update(data)
            read += len(data)
    return digest, read


# -- spool of the S3 adapter: segments waiting to become multipart parts ---------------------


@dataclass
class SpoolState:
    """What ``<spool>/<handle>.json`` records of one S3 append (written atomically).

    ``size`` bytes are durable: the ``parts`` already uploaded (number, etag, size; numbered
    1..k without gaps) followed by the segments ``<handle>.<k+1>.seg``, ``<handle>.<k+2>.seg``,
    … on the spool disk, each ``part_size`` long except the last. ``completed`` is set once the
    multipart upload was completed into the temp object, so a retried finish skips to the copy.
    """

    handle: str
    size: int = 0
    upload_id: str | None = None
    parts: list[tuple[int, str, int]] = field(default_factory=list)
    completed: bool = False
    # Sealed appends (storage.blobs.sealing): ``size`` counts stored bytes (header and
    # segments); ``plain`` the content's bytes, ``segments`` the full segments stored, ``tail``
    # the sealed partial segment, ``header`` (base64) the object's header, ``final`` set once
    # the final segment is on the spool (a retried finish must not seal it twice).
    sealed: dict[str, Any] | None = None

    @property
    def uploaded(self) -> int:
        return sum(p[2] for p in self.parts)

    @property
    def content_size(self) -> int:
        """The bytes a client has sent (the tus offset): ``size`` unless sealed."""
        return self.size if self.sealed is None else int(self.sealed["plain"])

    def copy(self) -> SpoolState:
        return SpoolState(
            self.handle,
            self.size,
            self.upload_id,
            list(self.parts),
            self.completed,
            None if self.sealed is None else dict(self.sealed),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "handle": self.handle,
            "size": self.size,
            "upload_id": self.upload_id,
            "parts": [list(p) for p in self.parts],
            "completed": self.completed,
        }
        if self.sealed is not None:
            data["sealed"] = self.sealed
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpoolState:
        return cls(
            str(data["handle"]),
            int(data["size"]),
            data.get("upload_id"),
            [(int(n), str(e), int(s)) for n, e, s in data.get("parts", [])],
            bool(data.get("completed", False)),
            data.get("sealed"),
        )


class Spool:
    """The spool folder of the S3 adapter (all methods are blocking: call them in a thread)."""

    def __init__(self, folder: Path, part_size: int) -> None:
        self.folder = folder
        self.part_size = part_size

    def state_path(self, handle: str) -> Path:
        return self.folder / f"{handle}.json"

    def lock_path(self, handle: str) -> Path:
        return self.folder / f"{handle}.lock"

    def seg_path(self, handle: str, number: int) -> Path:
        return self.folder / f"{handle}.{number}.seg"

    def ensure(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def load(self, handle: str) -> SpoolState | None:
        data = read_json(self.state_path(handle))
        return None if data is None else SpoolState.from_json(data)

    def save(self, state: SpoolState) -> None:
        write_json_atomic(self.state_path(state.handle), state.to_json())

    def create(self, handle: str) -> SpoolState:
        """The state of ``handle``, made empty if missing (call it under the handle's lock)."""
        self.ensure()
        state = self.load(handle)
        if state is not None:
            return state
        state = SpoolState(handle)
        self.save(state)
        return state

    def pending(self, state: SpoolState) -> list[tuple[int, int]]:
        """(number, size) of the segments holding the durable bytes not uploaded yet."""
        out = []
        rest = state.size - state.uploaded
        number = len(state.parts) + 1
        while rest > 0:
            size = min(rest, self.part_size)
            out.append((number, size))
            rest -= size
            number += 1
        return out

    def recover(self, state: SpoolState) -> SpoolState:
        """Make the segment files agree with ``state`` after a crash: drop the segments of
        uploaded parts, cut bytes past ``size`` (never acknowledged), remove the rest."""
        keep: dict[int, int] = {}
        durable = state.uploaded
        for number, size in self.pending(state):
            try:
                have = self.seg_path(state.handle, number).stat().st_size
            except FileNotFoundError:
                have = 0
            take = min(have, size)
            if take:
                keep[number] = take
            durable += take
            if take < size:  # cannot happen after an fsync; keep what is really there
                break
        if durable != state.size:
            state.size = durable
            self.save(state)
        for path in self.folder.glob(f"{state.handle}.*.seg"):
            number = int(path.name.split(".")[-2])
            if number not in keep:
                path.unlink(missing_ok=True)
            elif path.stat().st_size != keep[number]:
                with open(path, "r+b") as f:
                    f.truncate(keep[number])
                    os.fsync(f.fileno())
        return state

    def remove(self, handle: str) -> None:
        for path in self.folder.glob(f"{handle}.*.seg"):
            path.unlink(missing_ok=True)
        self.state_path(handle).unlink(missing_ok=True)

    def handles(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(".json")] for p in self.folder.glob("*.json"))


class SegmentWriter:
    """Writes one request's bytes into part-sized segment files (blocking; one thread at a time).

    ``write`` fills the current segment up to ``part_size``, fsyncs and closes each segment it
    completes and returns their numbers, so the caller can upload them while more bytes come.
    """

    def __init__(self, spool: Spool, handle: str, number: int, fill: int) -> None:
        self.spool = spool
        self.handle = handle
        self.first, self.first_fill = number, fill
        self.number, self.fill = number, fill
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            fd = os.open(self.spool.seg_path(self.handle, self.number), os.O_WRONLY | os.O_CREAT)
            os.ftruncate(fd, self.fill)
            os.lseek(fd, self.fill, os.SEEK_SET)
            self._fd = fd
        return self._fd

    def write(self, batch: list[bytes]) -> list[int]:
        """Write ``batch`` in calls of at most ``WRITE_PIECE`` bytes; the disk is asked to
        start on what the call left in the open segment (``start_writeback``), so the
        request's closing fsync finds little to do."""
        full: list[int] = []
        size = self.spool.part_size
        begun = self.fill  # where this call began writing in the open segment
        for chunk in batch:
            view = memoryview(chunk)
            while view:
                fd = self._open()
                written = os.write(fd, view[: min(size - self.fill, WRITE_PIECE)])
                self.fill += written
                view = view[written:]
                if self.fill == size:
                    os.fsync(fd)
                    os.close(fd)
                    self._fd = None
                    full.append(self.number)
                    self.number += 1
                    self.fill = begun = 0
        if self._fd is not None:
            start_writeback(self._fd, begun, self.fill - begun)
        return full

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def written(self) -> int:
        """Bytes this writer has written (all requests' segments count whole)."""
        return (self.number - self.first) * self.spool.part_size + self.fill - self.first_fill

    def rollback(self) -> None:
        """Forget every byte of this request: later segments removed, the first cut back."""
        self.close()
        for number in range(self.first + 1, self.number + 1):
            self.spool.seg_path(self.handle, number).unlink(missing_ok=True)
        first = self.spool.seg_path(self.handle, self.first)
        if self.first_fill == 0:
            first.unlink(missing_ok=True)
        elif first.exists():
            with open(first, "r+b") as f:
                f.truncate(self.first_fill)
                os.fsync(f.fileno())
        self.number, self.fill = self.first, self.first_fill
