"""The sealed paths of ``LocalBlobStore`` (``storage.blobs.sealing``): objects and resumable
appends whose key or handle the ``Sealing`` policy puts in a scope.

Appends (tus uploads) keep, under ``.tmp/appends/``::

    <handle>.part   the header and the full segments sealed so far
    <handle>.seal   the commit point, written atomically after each request:
                    {"segments": n, "size": plaintext bytes, "tail": sealed partial segment}
    <handle>.lock   as for plain appends

A request seals and writes segments as they fill (the plaintext is hashed in parallel, as
before), fsyncs the part file and then replaces ``.seal``. Bytes of the part file past the
``n`` segments ``.seal`` names were never acknowledged (a crash, a refused request): the
next request cuts them. A dropped connection without a checksum keeps what arrived (the
partial segment becomes the sealed tail); with one, or past the limit, nothing of the request
is kept. ``append_finish`` seals the tail as the final segment and renames the part file
into place as the object: no copy, so a 10 GB upload is not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator
from io import BufferedReader
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from storage.blobs.append import (
    HandleLock,
    Pipeline,
    RequestCheck,
    batches,
    finish_later,
    read_json,
    read_range,
    write_json_atomic,
)
from storage.blobs.local import _io
from storage.blobs.putpipe import append_batch
from storage.blobs.sealing import (
    HEADER,
    SEGMENT,
    STORED_SEGMENT,
    Encoder,
    ObjectSeal,
    Sealing,
    SpanReader,
    plain_digest,
    plain_size,
    read_ahead,
    rechunk,
    scratch,
    span,
)
from storage.errors import (
    BackendUnavailable,
    ChecksumMismatch,
    NotFound,
    OffsetMismatch,
    SizeExceeded,
    Tampered,
    from_os_error,
)
from storage.ports import AppendState, BlobInfo, Checksum

if TYPE_CHECKING:
    from storage.blobs.local import LocalBlobStore

_State = dict[str, Any]


# A range whose stored bytes are at most this long is read with the header in one thread
# call and opened on the event loop (a few segments: tens of microseconds of AES), instead of
# a second thread call: ranged reads (a viewer's pages, a resumed download) cost one hop.
_SMALL_SPAN = 4 * STORED_SEGMENT


def _open_with_header(
    path: Path, start: int, end: int | None
) -> tuple[BufferedReader, int, bytes, bytes | None]:
    """The open file, its stored size, its header and, for a small range, the stored bytes
    of the range (read here, so the file is already closed)."""
    f = open(path, "rb")  # noqa: SIM115 - closed by get()
    try:
        raw = f.read(HEADER)
        if len(raw) < HEADER:
            raise Tampered("sealed object header is missing")
        stored = os.fstat(f.fileno()).st_size
        plan = span(start, end, plain_size(stored))
        if plan is None or plan.stored_to - plan.stored_from > _SMALL_SPAN:
            return f, stored, raw, None
        f.seek(plan.stored_from)
        body = f.read(plan.stored_to - plan.stored_from)
        f.close()
        return f, stored, raw, body
    except BaseException:
        f.close()
        raise


class LocalSealed:
    """Sealed object and append operations of one ``LocalBlobStore``."""

    def __init__(self, store: LocalBlobStore, sealing: Sealing) -> None:
        self.store = store
        self.sealing = sealing

    # -- objects ----------------------------------------------------------------------

    async def get(
        self, key: str, start: int, end: int | None, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        path = self.store._path(key)
        try:
            f, stored, raw, small = await asyncio.to_thread(_open_with_header, path, start, end)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(key) from exc
        except OSError as exc:
            raise from_os_error(self.store.name, exc) from exc
        try:
            seal = await self.sealing.open_seal(raw)
            plan = span(start, end, plain_size(stored))
        except BaseException:
            f.close()
            raise
        if plan is None:
            f.close()
            return
        if small is not None:
            reader = SpanReader(seal, plan)
            plain = reader.feed(small)
            reader.finish()  # Tampered when the file ended inside the range
            for at in range(0, len(plain), chunk_size):
                yield plain[at : at + chunk_size] if len(plain) > chunk_size else plain
            return
        # Whole segments, about ``chunk_size`` of plaintext per call, read and decrypted in
        # one worker-thread call, the next call already running while this block is sent
        # (``read_ahead``); the first and last blocks are cut to the range.
        reader = SpanReader(seal, plan)
        per_call = max(1, chunk_size // SEGMENT) * STORED_SEGMENT
        pos = plan.stored_from
        name = self.store.name

        def step() -> tuple[bytes, bool]:
            nonlocal pos
            stop = min(plan.stored_to, pos + per_call)
            # The stored bytes go into the thread's buffer (only the plaintext leaves it).
            want = scratch("read", stop - pos)[: stop - pos]
            try:
                f.seek(pos)
                got = 0
                while got < len(want):
                    n = f.readinto(want[got:])
                    if not n:
                        raise Tampered("sealed object is shorter than its size says")
                    got += n
            except OSError as exc:
                raise from_os_error(name, exc) from exc
            pos = stop
            return reader.feed(want), stop < plan.stored_to and not reader.done

        async with contextlib.aclosing(rechunk(read_ahead(step, f.close), chunk_size)) as pieces:
            async for piece in pieces:
                yield piece

    async def digest(self, key: str) -> tuple[str, int]:
        """SHA-256 and size of a sealed object's plaintext (a small object without sidecar)."""
        path = self.store._path(key)
        stored, raw = await asyncio.to_thread(_stat_and_header, path)
        seal = await self.sealing.open_seal(raw)

        def stored_range(a: int, b: int) -> AsyncIterator[bytes]:
            return read_range(path, a, b, 1 << 20)

        return await plain_digest(seal, plain_size(stored), stored_range)

    # -- appends ----------------------------------------------------------------------

    def _paths(self, handle: str) -> tuple[Path, Path]:
        return self.store._append_path(handle, ".part"), self.store._append_path(handle, ".seal")

    def durable_size(self, handle: str) -> int:
        state = read_json(self._paths(handle)[1])
        if state is None:
            raise NotFound(f"append:{handle}")
        return int(state["size"])

    async def append_open(self, handle: str, scope: str) -> AppendState:
        part, state_path = self._paths(handle)
        state = await asyncio.to_thread(read_json, state_path)
        if state is None:
            lock = await self.store._lock_handle(handle)
            try:
                state = await asyncio.to_thread(read_json, state_path)
                if state is None:
                    seal = await self.sealing.new_seal(scope)
                    state = await asyncio.to_thread(self._create, part, state_path, seal)
            finally:
                lock.release()
        return AppendState(handle, int(state["size"]))

    @staticmethod
    def _create(part: Path, state_path: Path, seal: ObjectSeal) -> _State:
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as f:
            f.write(seal.header.raw)
            f.flush()
            os.fsync(f.fileno())
        state: _State = {"segments": 0, "size": 0, "tail": ""}
        write_json_atomic(state_path, state)
        return state

    def _recover(self, handle: str, lock: HandleLock) -> tuple[_State, bytes]:
        """Under the lock: the committed state and the header; bytes past the committed
        segments (a crash, a refused request) are cut."""
        part, state_path = self._paths(handle)
        state = read_json(state_path)
        if state is None or not part.exists():
            lock.remove()
            raise NotFound(f"append:{handle}")
        keep = HEADER + int(state["segments"]) * STORED_SEGMENT
        with open(part, "r+b") as f:
            raw = f.read(HEADER)
            if os.fstat(f.fileno()).st_size > keep:
                f.truncate(keep)
                os.fsync(f.fileno())
            elif os.fstat(f.fileno()).st_size < keep:
                raise Tampered(f"append {handle}: part file shorter than its committed segments")
        return state, raw

    async def _begin(self, handle: str, lock: HandleLock) -> tuple[_State, Encoder]:
        state, raw = await _io(self._recover, handle, lock)
        seal = await self.sealing.open_seal(raw)
        segments = int(state["segments"])
        pending = seal.open_tail(segments, str(state.get("tail") or ""))
        return state, Encoder(seal, segments, pending)

    async def append(
        self,
        handle: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        checksum: Checksum | None,
        limit: int | None,
    ) -> AppendState:
        store = self.store
        lock = await store._lock_handle(handle, offset)
        part, _ = self._paths(handle)
        f: IO[bytes] | None = None
        try:
            state, enc = await self._begin(handle, lock)
            size = int(state["size"])
            if size != offset:
                raise OffsetMismatch(size, offset)
            f = await _io(_open_at, part, HEADER + enc.index * STORED_SEGMENT)
        except BaseException:
            if f is not None:
                f.close()
            lock.release()
            raise
        check = RequestCheck(size, store._hashes.get(handle, size), checksum, limit)

        def write(batch: list[bytes]) -> None:
            # Sealed into this thread's buffer a piece at a time (no object per 64 KiB
            # segment: those cost about as much as the AES), each piece written before the
            # next is sealed (``append_batch``: calls of at most 256 KiB, then the disk is
            # asked to start on them; f is unbuffered).
            append_batch(f.fileno(), ([piece] for piece in enc.feed_pieces(batch)))

        pipeline = Pipeline(write, check, window=store._append_window)
        try:
            result = await self._append_into(handle, f, enc, state, check, pipeline, chunks)
        except Exception:
            f.close()
            lock.release()
            raise
        except BaseException:
            # Cancelled: nothing was committed; the next request cuts what was written.
            store._hashes.drop(handle)
            finish_later(_after_cancel(f, pipeline, lock))
            raise
        f.close()
        lock.release()
        return result

    async def _append_into(
        self,
        handle: str,
        f: IO[bytes],
        enc: Encoder,
        state: _State,
        check: RequestCheck,
        pipeline: Pipeline,
        chunks: AsyncIterator[bytes],
    ) -> AppendState:
        store = self.store
        before = int(state["segments"])
        size = int(state["size"])
        try:
            try:
                async for batch in batches(chunks, store._append_batch_bytes):
                    check.check(batch)
                    await pipeline.submit(batch)
                await pipeline.drain()
            except OSError as exc:
                raise from_os_error(store.name, exc) from exc
            check.verify()
        except (SizeExceeded, ChecksumMismatch):
            await pipeline.settle()
            await _io(_cut, f, HEADER + before * STORED_SEGMENT)
            raise
        except Exception:
            # A dropped connection keeps what arrived unless a checksum cannot be verified;
            # a failed write keeps nothing of this request (the file may hold part of a
            # segment).
            await pipeline.settle()
            consistent = await _io(_size_of, f) == HEADER + enc.index * STORED_SEGMENT
            if check.checksum is None and consistent and enc.size == size + check.received:
                await self._commit(handle, f, enc)
                store._hashes.set(handle, enc.size, check.whole)
            else:
                await _io(_cut, f, HEADER + before * STORED_SEGMENT)
                store._hashes.drop(handle)
            raise
        await self._commit(handle, f, enc)
        store._hashes.set(handle, enc.size, check.whole)
        return AppendState(handle, enc.size)

    async def _commit(self, handle: str, f: IO[bytes], enc: Encoder) -> None:
        state = {"segments": enc.index, "size": enc.size, "tail": enc.tail()}
        _, state_path = self._paths(handle)

        def commit() -> None:
            os.fsync(f.fileno())
            write_json_atomic(state_path, state)

        await _io(commit)

    async def append_finish(
        self, handle: str, key: str, content_type: str, meta: dict[str, str]
    ) -> BlobInfo:
        store = self.store
        lock = await store._lock_handle(handle)
        part, state_path = self._paths(handle)
        try:
            state, enc = await self._begin(handle, lock)
            size = int(state["size"])
            final = enc.finish()

            def append_final() -> None:
                with open(part, "r+b", buffering=0) as f:
                    f.seek(HEADER + int(state["segments"]) * STORED_SEGMENT)
                    f.write(final)
                    f.truncate()
                    os.fsync(f.fileno())

            await _io(append_final)
            running = store._hashes.get(handle, size)
            if running is None:

                def stored_range(a: int, b: int) -> AsyncIterator[bytes]:
                    return read_range(part, a, b, 1 << 20)

                sha, got = await plain_digest(enc.seal, size, stored_range)
                if got != size:
                    raise BackendUnavailable(store.name, f"{part} changed while finishing")
            else:
                sha = str(running.hexdigest())
            info = BlobInfo(key, size, sha, content_type, meta)
            await _io(store._finish_sync, part, info)
            await _io(state_path.unlink, True)
            store._hashes.drop(handle)
            lock.remove()
            return info
        finally:
            lock.release()

    def abort_paths(self, handle: str) -> list[Path]:
        return list(self._paths(handle))


def _stat_and_header(path: Path) -> tuple[int, bytes]:
    with open(path, "rb") as f:
        return os.fstat(f.fileno()).st_size, f.read(HEADER)


def _open_at(path: Path, position: int) -> IO[bytes]:
    f = open(path, "r+b", buffering=0)  # noqa: SIM115 - closed by the caller
    f.seek(position)
    return f


def _cut(f: IO[bytes], size: int) -> None:
    f.truncate(size)
    f.seek(size)
    os.fsync(f.fileno())


def _size_of(f: IO[bytes]) -> int:
    return os.fstat(f.fileno()).st_size


async def _after_cancel(f: IO[bytes], pipeline: Pipeline, lock: HandleLock) -> None:
    try:
        await pipeline.settle()
    finally:
        with contextlib.suppress(OSError):
            f.close()
        lock.release()


__all__ = ["LocalSealed", "read_range"]
