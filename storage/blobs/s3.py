"""Blobs in an S3 bucket through the ``minio`` SDK (issue 2, item 2). The only minio import.

Writes. The SHA-256 must travel as user metadata (``x-amz-meta-sha256``), but S3 takes metadata
when an upload starts and the digest is known only at its end. So:

- An object that fits in one part (``part_size``, 16-64 MiB) is buffered (at most one part, as
  the SDK would anyway), hashed, and sent with one PUT carrying its digest: no extra cost.
- A larger object is streamed as a multipart upload to a temp key ``.tmp/<uuid>`` and then
  copied server-side to its key with the digest, content type and metadata, after which the temp
  key is removed. The copy costs the server one more pass over the bytes but no client traffic,
  and it makes the put atomic in the sense that matters: the object appears under its key
  complete and already carrying its digest, never without it (uploading straight to the key and
  copying it onto itself to add the digest would expose a digest-less object meanwhile). Objects
  over 5 GiB are copied part by part (``compose_object``), which the SDK picks by itself.

Streaming. The SDK is synchronous and reads a file-like object, so it runs in a worker thread
reading from ``_QueueReader``; the caller's task drives the async chunk iterator and feeds a
bounded ``asyncio.Queue`` that the thread drains with ``run_coroutine_threadsafe``. Memory stays
flat: a few queued chunks plus the part the SDK holds (parts are uploaded one at a time, so at most
about two parts are alive while one is being cut). If the chunks raise or the put is cancelled, the
reader raises inside the SDK, which aborts the multipart upload; the old object stays.

Reads stream ``get_object(offset, length)`` in chunks, one thread hop per chunk, and always close
and release the response.

Failures. ``NoSuchKey`` is ``NotFound``; connection errors, timeouts and 5xx answers are
``BackendUnavailable("s3", …)``. The HTTP client has short timeouts and one retry so an
unreachable endpoint fails in about a second instead of hanging the request.

User metadata values are percent-encoded on the wire (HTTP headers are ASCII; file names are
often Japanese) and decoded on ``stat``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import tempfile
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Part
from minio.error import InvalidResponseError, S3Error, ServerError

from storage.blobs.append import (
    HandleLock,
    Hashes,
    Pipeline,
    RequestCheck,
    SegmentWriter,
    Spool,
    SpoolState,
    batches,
    finish_later,
    sha256_of,
    validate_handle,
)
from storage.blobs.keys import (
    SHA256_META,
    check_range,
    validate_key,
    validate_metadata,
    validate_prefix,
)
from storage.errors import (
    BackendUnavailable,
    NotFound,
    OffsetMismatch,
    SizeExceeded,
    StorageFull,
    from_os_error,
)
from storage.ports import PUT_MANY_MAX, AppendState, BlobInfo, Checksum, Health

_T = TypeVar("_T")
_Names = list[str]
_Level = list[tuple[str, bool, int]]  # (name, is folder, size) of one listing level
_TMP_PREFIX = ".tmp/"
_META_PREFIX = "x-amz-meta-"
_QUEUE_DEPTH = 4  # chunks buffered between the event loop and the uploading thread
_MIN_PART = 5 << 20  # S3's smallest multipart part
_STALE_TMP_S = 24 * 3600
_EOF = b""
_APPEND_BATCH = 4 << 20  # bytes of an append written to the spool per thread hop
_PUT_MANY_CONCURRENCY = 8  # PUTs in flight for one put_many


class _Abort(Exception):
    """Raised inside the SDK thread when the feeding side failed or was cancelled."""


class _QueueReader(io.RawIOBase):
    """A read-only file-like object over a bounded ``asyncio.Queue`` filled on the loop.

    ``read(n)`` gathers queued chunks up to ``n`` bytes and joins them once, so the SDK cuts a
    part in one call with a single copy. Runs in the SDK's thread only.
    """

    def __init__(
        self, head: list[bytes], queue: asyncio.Queue[bytes | BaseException], loop: Any
    ) -> None:
        super().__init__()
        self._pending: deque[bytes] = deque(head)
        head.clear()
        self._queue = queue
        self._loop = loop
        self._eof = False

    def readable(self) -> bool:
        return True

    def _next(self) -> bytes:
        fut: Future[bytes | BaseException] = asyncio.run_coroutine_threadsafe(
            self._queue.get(), self._loop
        )
        item = fut.result()
        if isinstance(item, BaseException):
            raise _Abort("upload aborted by the caller") from item
        return item

    def read(self, size: int = -1) -> bytes:
        want = size if size is not None and size >= 0 else 1 << 62
        parts: list[bytes] = []
        got = 0
        while got < want:
            if self._pending:
                chunk = self._pending.popleft()
            elif self._eof:
                break
            else:
                chunk = self._next()
                if chunk == _EOF:
                    self._eof = True
                    continue
            if got + len(chunk) > want:
                cut = want - got
                self._pending.appendleft(chunk[cut:])
                chunk = chunk[:cut]
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)


def _encode_meta(metadata: dict[str, str]) -> dict[str, str]:
    return {_META_PREFIX + k: quote(v, safe="") for k, v in metadata.items()}


class S3BlobStore:
    """``storage.ports.BlobStore`` on an S3 bucket; see the module docstring for the design."""

    name = "s3"

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str = "us-east-1",
        part_size: int = 32 << 20,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        parallel_parts: int = 1,
        spool_dir: Path | None = None,
    ) -> None:
        if part_size < _MIN_PART:
            raise ValueError(f"part_size must be at least {_MIN_PART} bytes")
        # Parts uploaded at once. Each one more costs a part of memory; on SeaweedFS three
        # made a 256 MiB upload 1.5x faster. One keeps a put at about three parts of memory.
        self.parallel_parts = max(1, parallel_parts)
        self.bucket = bucket
        self.part_size = part_size
        # Resumable appends are spooled here (``data_dir/spool`` in the app); a temp folder
        # otherwise, which does not survive a reboot.
        self.spool_dir = spool_dir or Path(tempfile.gettempdir()) / f"kura-spool-{bucket}"
        self._spool = Spool(self.spool_dir, part_size)
        self._hashes = Hashes()  # running SHA-256 of the open append handles
        self._endpoint = endpoint
        self._http = http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=urllib3.Retry(
                total=1,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
            ),
            maxsize=10,
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,  # known region: no GetBucketLocation round trip
            http_client=http,
        )

    async def _call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run one SDK call in a worker thread, translating its errors."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except S3Error as exc:
            raise self._translate(exc) from exc
        except (urllib3.exceptions.HTTPError, ServerError, InvalidResponseError, OSError) as exc:
            raise BackendUnavailable(self.name, f"{self._endpoint}: {exc}") from exc

    def _translate(self, exc: S3Error) -> Exception:
        if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchVersion"):
            return NotFound(exc.resource or "")
        if exc.code == "NoSuchBucket":
            return BackendUnavailable(self.name, f"bucket {self.bucket} missing")
        if exc.code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return BackendUnavailable(self.name, f"credentials refused: {exc.code}")
        if exc.code in ("XMinioStorageFull", "StorageFull", "QuotaExceeded"):
            return StorageFull(self.name, f"{exc.code}: {exc.message}")
        return BackendUnavailable(self.name, f"{exc.code}: {exc.message}")

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Create the bucket if missing; drop day-old temp uploads of crashed or cancelled puts.
        Idempotent (a concurrent creator is fine)."""
        if await self._call(self._client.bucket_exists, self.bucket):
            await self._call(self._sweep_temp)
            return
        try:
            await self._call(self._client.make_bucket, self.bucket)
        except BackendUnavailable as exc:
            cause = exc.__cause__
            if not (
                isinstance(cause, S3Error)
                and cause.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
            ):
                raise

    def _sweep_temp(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(seconds=_STALE_TMP_S)
        for obj in self._client.list_objects(self.bucket, prefix=_TMP_PREFIX, recursive=True):
            if obj.last_modified is not None and obj.last_modified < cutoff:
                self._client.remove_object(self.bucket, obj.object_name)

    async def close(self) -> None:
        """Drop pooled connections."""
        self._http.clear()

    async def health(self) -> Health:
        """Whether the endpoint answers and the bucket exists; never raises."""
        try:
            exists = await self._call(self._client.bucket_exists, self.bucket)
        except Exception as exc:
            return Health(False, self.name, str(exc))
        if not exists:
            return Health(False, self.name, f"bucket {self.bucket} missing")
        return Health(True, self.name, f"{self._endpoint}/{self.bucket}")

    async def drop_bucket(self) -> None:
        """Remove every object (temp uploads included) and the bucket itself (tests only)."""

        def drop() -> None:
            for obj in self._client.list_objects(self.bucket, recursive=True):
                self._client.remove_object(self.bucket, obj.object_name)
            self._client.remove_bucket(self.bucket)

        await self._call(drop)

    async def temp_objects(self) -> _Names:
        """Keys of temp uploads left in the bucket (tests and ``kura check``)."""

        def names() -> _Names:
            return [
                str(o.object_name)
                for o in self._client.list_objects(self.bucket, prefix=_TMP_PREFIX, recursive=True)
            ]

        return await self._call(names)

    # -- put -----------------------------------------------------------------------------

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        """Stream ``chunks`` into ``key`` (replacing it atomically); returns size and SHA-256.

        Up to one part is buffered and sent with a single PUT; anything larger goes through a
        multipart upload to a temp key and a server-side copy (module docstring).
        """
        validate_key(key)
        meta = validate_metadata(metadata)
        digest = hashlib.sha256()
        head: list[bytes] = []
        buffered = 0
        it = chunks.__aiter__()
        more = True
        while buffered <= self.part_size:
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                more = False
                break
            if chunk:
                digest.update(chunk)
                head.append(bytes(chunk))
                buffered += len(chunk)
        if not more:
            sha = digest.hexdigest()
            headers = _encode_meta({**meta, SHA256_META: sha})
            body = b"".join(head)
            del head
            await self._call(
                self._client.put_object,
                self.bucket,
                key,
                io.BytesIO(body),
                buffered,
                content_type=content_type,
                metadata=headers,
                part_size=self.part_size,  # at most one part: a single PUT
            )
            return BlobInfo(key, buffered, sha, content_type, meta)

        tmp_key = f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        # Hand the only reference over, so each buffered chunk dies once the SDK has read it.
        holder = [head]
        del head
        size = await self._upload_stream(tmp_key, holder.pop(), it, digest, content_type)
        sha = digest.hexdigest()
        try:
            await self._call(
                self._client.copy_object,
                self.bucket,
                key,
                CopySource(self.bucket, tmp_key),
                metadata={"Content-Type": content_type, **_encode_meta({**meta, SHA256_META: sha})},
                metadata_directive=REPLACE,
            )
        finally:
            with contextlib.suppress(BackendUnavailable, NotFound):
                await self._call(self._client.remove_object, self.bucket, tmp_key)
        return BlobInfo(key, size, sha, content_type, meta)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> list[BlobInfo]:
        """One single-part PUT per object, up to ``_PUT_MANY_CONCURRENCY`` at a time (an S3
        PUT is durable when it answers)."""
        for key, data in items:
            validate_key(key)
            if len(data) > PUT_MANY_MAX:
                raise ValueError(f"put_many is for small objects (<= {PUT_MANY_MAX} bytes)")
        sem = asyncio.Semaphore(_PUT_MANY_CONCURRENCY)

        async def one(key: str, data: bytes) -> BlobInfo:
            async def chunks() -> AsyncIterator[bytes]:
                yield data

            async with sem:
                return await self.put(key, chunks())

        return list(await asyncio.gather(*(one(k, d) for k, d in items)))

    async def _upload_stream(
        self,
        tmp_key: str,
        head: list[bytes],
        it: AsyncIterator[bytes],
        digest: Any,
        content_type: str,
    ) -> int:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(_QUEUE_DEPTH)
        size = sum(len(c) for c in head)
        reader = _QueueReader(head, queue, loop)
        del head
        upload = asyncio.ensure_future(
            self._call(
                self._client.put_object,
                self.bucket,
                tmp_key,
                reader,
                -1,
                content_type=content_type,
                part_size=self.part_size,
                num_parallel_uploads=self.parallel_parts,
            )
        )
        # If a cancellation stops us from awaiting it, its error is still consumed here rather
        # than reported as "never retrieved" when the future is collected.
        upload.add_done_callback(lambda f: f.cancelled() or f.exception())

        async def feed(item: bytes) -> bool:
            """Queue one item; False if the upload has already ended (the SDK failed)."""
            if not queue.full():
                queue.put_nowait(item)
                return True
            put = asyncio.ensure_future(queue.put(item))
            await asyncio.wait({put, upload}, return_when=asyncio.FIRST_COMPLETED)
            if not put.done():
                put.cancel()
                return False
            return True

        try:
            async for chunk in it:
                if not chunk:
                    continue
                digest.update(chunk)
                size += len(chunk)
                if not await feed(chunk):
                    break  # its error is raised by the await below
            else:
                await feed(_EOF)
            await upload
        except BaseException as exc:
            # Unblock the thread with an error so the SDK aborts the multipart upload, then let
            # it finish (synchronously awaited pieces must not be cancelled again).
            if not upload.done():
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(exc)
                with contextlib.suppress(BaseException):
                    await asyncio.shield(upload)
            raise
        return size

    # -- get / stat ----------------------------------------------------------------------

    async def get(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Stream the bytes ``[start, end)`` of the object; ``NotFound`` if absent.

        ``end`` past the size is clamped; a ``start`` at or past the size yields nothing.
        """
        validate_key(key)
        check_range(start, end)
        if end == start:
            if await self.stat(key) is None:
                raise NotFound(key)
            return
        length = 0 if end is None else end - start
        try:
            resp = await self._call(
                self._client.get_object, self.bucket, key, offset=start, length=length
            )
        except BackendUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.code == "InvalidRange":
                if await self.stat(key) is None:
                    raise NotFound(key) from exc
                return
            raise
        try:
            while True:
                data = await self._call(resp.read, chunk_size)
                if not data:
                    break
                yield data
        finally:
            resp.close()
            resp.release_conn()

    async def stat(self, key: str) -> BlobInfo | None:
        """Size, type, metadata and SHA-256 from a HEAD request, or None if absent."""
        validate_key(key)
        try:
            obj = await self._call(self._client.stat_object, self.bucket, key)
        except NotFound:
            return None
        except BackendUnavailable as exc:
            # HEAD answers carry no error body; minio names a 404 from the status alone.
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.response.status == 404:
                return None
            raise
        meta: dict[str, str] = {}
        sha: str | None = None
        for name, value in (obj.metadata or {}).items():
            lname = str(name).lower()
            if not lname.startswith(_META_PREFIX):
                continue
            short = lname[len(_META_PREFIX) :]
            if short == SHA256_META:
                sha = str(value)
            else:
                meta[short] = unquote(str(value))
        return BlobInfo(key, int(obj.size or 0), sha, obj.content_type, meta)

    # -- delete / list -------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Remove the object; absent is not an error."""
        validate_key(key)
        try:
            await self._call(self._client.remove_object, self.bucket, key)
        except NotFound:
            return

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every object under a string prefix, in key order, with key and size only (``stat``
        gives digest and metadata). Temp uploads are never listed.

        S3 itself lists in byte order, but S3-compatible servers that store folders (SeaweedFS)
        list a folder ``a/`` before its sibling ``a-b``. So the walk goes one folder level at a
        time (delimiter ``/``) and sorts each level's entries, where a folder's name keeps its
        trailing ``/``: that is byte order on every server. Cost: one LIST per folder, and the
        direct children of the folders on the current path are held in memory.
        """
        validate_prefix(prefix)
        async for info in self._walk(prefix):
            yield info

    async def _walk(self, prefix: str) -> AsyncIterator[BlobInfo]:
        def level() -> _Level:
            out: _Level = []
            for obj in self._client.list_objects(self.bucket, prefix=prefix or None):
                name = str(obj.object_name)
                # Skip temp uploads, the folder itself (SeaweedFS echoes an emptied folder) and
                # folder markers: no key of ours ends with "/".
                if name.startswith(_TMP_PREFIX) or (name.endswith("/") and name == prefix):
                    continue
                if name.endswith("/") and not obj.is_dir:
                    continue
                out.append((name, bool(obj.is_dir), int(obj.size or 0)))
            out.sort()
            return out

        for name, is_dir, size in await self._call(level):
            if is_dir:
                async for info in self._walk(name):
                    yield info
            else:
                yield BlobInfo(name, size)

    # -- resumable appends ---------------------------------------------------------------
    #
    # Bytes go to the spool folder (``storage.blobs.append.Spool``: one segment file per future
    # part, state in <spool>/<handle>.json) and each full segment is uploaded as a part of a
    # multipart upload to the temp object .tmp/appends/<handle> while the request goes on (after
    # the request's digest matched when a checksum was sent). ``append_finish`` uploads the tail
    # as the last part, completes the upload and copies the object server-side to its key with
    # the digest (S3 takes metadata at the start of an upload, the key is known only at the end).
    # An append small enough never to fill a part is one PUT straight to the key instead.

    def _append_object(self, handle: str) -> str:
        return f"{_TMP_PREFIX}appends/{handle}"

    async def _lock_handle(self, handle: str, offset: int = -1) -> HandleLock:
        await self._call(self._spool.ensure)
        lock = HandleLock(self._spool.lock_path(handle))
        if not await lock.acquire():
            state = await self._call(self._spool.load, handle)
            raise OffsetMismatch(-1 if state is None else state.size, offset)
        return lock

    async def _load(self, handle: str, lock: HandleLock) -> SpoolState:
        def load() -> SpoolState:
            state = self._spool.load(handle)
            if state is None:
                lock.remove()
                raise NotFound(f"append:{handle}")
            return self._spool.recover(state)

        return await self._call(load)

    async def append_open(self, handle: str) -> AppendState:
        """Create the spool state of ``handle`` if missing; the durable size (see the port)."""
        validate_handle(handle)
        state = await self._call(self._spool.load, handle)
        if state is None:
            lock = await self._lock_handle(handle)
            try:
                state = await self._call(self._spool.create, handle)
            finally:
                lock.release()
        return AppendState(handle, state.size)

    def _put_part(self, obj: str, upload_id: str, path: Path, number: int) -> tuple[str, int]:
        data = path.read_bytes()
        etag = self._client._upload_part(self.bucket, obj, data, None, upload_id, number)
        return str(etag), len(data)

    async def _upload_segment(self, state: SpoolState, number: int) -> None:
        """Upload spooled segment ``number`` as part ``number`` and record it in the state."""
        obj = self._append_object(state.handle)
        if state.upload_id is None:
            state.upload_id = str(
                await self._call(self._client._create_multipart_upload, self.bucket, obj, {})
            )
            await self._call(self._spool.save, state)
        path = self._spool.seg_path(state.handle, number)
        etag, size = await self._call(self._put_part, obj, state.upload_id, path, number)
        if number != len(state.parts) + 1:
            raise RuntimeError(f"part {number} uploaded out of order")
        state.parts.append((number, etag, size))
        state.size = max(state.size, state.uploaded)
        await self._call(self._spool.save, state)

    async def _flush(self, state: SpoolState) -> None:
        """Upload every full segment still on the spool disk (a failed upload is retried here
        by the next request) and remove the segments of uploaded parts."""
        for number, size in self._spool.pending(state):
            if size < self.part_size:
                break
            await self._upload_segment(state, number)
        await self._call(self._spool.recover, state)

    async def append(
        self,
        handle: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        checksum: Checksum | None = None,
        limit: int | None = None,
    ) -> AppendState:
        """Spool the bytes and upload full parts as they fill (see the port for the rules).

        Without a checksum, a full part is uploaded in the background while the next one is
        spooled; with one, parts are uploaded only after the request's digest matched.
        """
        validate_handle(handle)
        lock = await self._lock_handle(handle, offset)
        try:
            state = await self._load(handle, lock)
            await self._flush(state)
            if state.size != offset:
                raise OffsetMismatch(state.size, offset)
        except BaseException:
            lock.release()
            raise
        writer = SegmentWriter(
            self._spool, handle, len(state.parts) + 1, state.size - state.uploaded
        )
        check = RequestCheck(state.size, self._hashes.get(handle, state.size), checksum, limit)
        pipeline = Pipeline(writer.write, check)
        try:
            result = await self._append_into(state, writer, check, pipeline, chunks)
        except Exception:
            writer.close()
            lock.release()
            raise
        except BaseException:
            # Cancelled: the state file on disk is consistent (bytes past its size are cut by
            # the next request) but a thread may still be writing a segment: close and unlock
            # once it is done. The running hash may be ahead: forget it.
            self._hashes.drop(handle)
            finish_later(self._after_cancel(writer, pipeline, lock))
            raise
        writer.close()
        lock.release()
        return result

    @staticmethod
    async def _after_cancel(writer: SegmentWriter, pipeline: Pipeline, lock: HandleLock) -> None:
        try:
            await pipeline.settle()
        finally:
            writer.close()
            lock.release()

    async def _append_into(
        self,
        state: SpoolState,
        writer: SegmentWriter,
        check: RequestCheck,
        pipeline: Pipeline,
        chunks: AsyncIterator[bytes],
    ) -> AppendState:
        handle = state.handle
        before = state.copy()
        streaming = check.checksum is None
        uploading: asyncio.Future[None] | None = None
        verified = streaming

        async def drain() -> None:
            nonlocal uploading
            if uploading is not None:
                task, uploading = uploading, None
                await task

        async def upload(full: list[int] | None) -> None:
            # One part in flight while the next is spooled (full parts only, no checksum).
            nonlocal uploading
            if not streaming or not full:
                return
            for number in full:
                await drain()
                uploading = asyncio.ensure_future(self._upload_segment(state, number))

        async def commit() -> AppendState:
            state.size = before.size + check.received
            await self._call(self._spool.save, state)
            self._hashes.set(handle, state.size, check.whole)
            await self._flush(state)
            return AppendState(handle, state.size)

        try:
            try:
                async for batch in batches(chunks, _APPEND_BATCH):
                    check.check(batch)
                    await upload(await pipeline.submit(batch))
                await upload(await pipeline.drain())
            except OSError as exc:
                raise from_os_error(f"{self.name} spool", exc) from exc
            await self._call(writer.sync)
            check.verify()
            verified = True
            await drain()
        except Exception as exc:
            await pipeline.settle()
            if uploading is not None:
                with contextlib.suppress(Exception):
                    await drain()
            if not verified or isinstance(exc, SizeExceeded):
                # Keep nothing of this request. Parts it uploaded are forgotten: the next
                # upload of the same number replaces them.
                await self._call(writer.rollback)
                state.size, state.parts = before.size, before.parts
                await self._call(self._spool.save, state)
                raise
            # A dropped connection (or a failed upload): the bytes that arrived are durable on
            # the spool disk, keep them.
            with contextlib.suppress(BackendUnavailable):
                await self._call(writer.sync)
                await commit()
            raise
        except BaseException:
            if uploading is not None:
                uploading.cancel()
            raise
        return await commit()

    def _put_file(
        self, key: str, path: Path, size: int, content_type: str, headers: dict[str, Any]
    ) -> None:
        if size == 0:
            self._client.put_object(
                self.bucket, key, io.BytesIO(b""), 0, content_type=content_type, metadata=headers
            )
            return
        with open(path, "rb") as f:
            self._client.put_object(
                self.bucket, key, f, size, content_type=content_type, metadata=headers,
                part_size=max(self.part_size, size),
            )  # fmt: skip

    def _hash_object(self, obj: str) -> str:
        digest = hashlib.sha256()
        resp = self._client.get_object(self.bucket, obj)
        try:
            for data in resp.stream(1 << 20):
                digest.update(data)
        finally:
            resp.close()
            resp.release_conn()
        return digest.hexdigest()

    async def append_finish(
        self,
        handle: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        """Complete the multipart upload and copy it to ``key`` with its digest (or one PUT
        when no part was uploaded); see the port. A finish interrupted after the completion
        resumes at the copy."""
        validate_handle(handle)
        validate_key(key)
        meta = validate_metadata(metadata)
        lock = await self._lock_handle(handle)
        try:
            state = await self._load(handle, lock)
            running = self._hashes.get(handle, state.size)
            obj = self._append_object(handle)
            if not state.parts and not state.completed:
                seg = self._spool.seg_path(handle, 1)
                if running is None:
                    whole, _ = await self._call(sha256_of, seg, state.size)
                    sha = str(whole.hexdigest())
                else:
                    sha = str(running.hexdigest())
                headers = _encode_meta({**meta, SHA256_META: sha})
                await self._call(self._put_file, key, seg, state.size, content_type, headers)
                if state.upload_id is not None:
                    with contextlib.suppress(BackendUnavailable, NotFound):
                        await self._call(
                            self._client._abort_multipart_upload, self.bucket, obj, state.upload_id
                        )
            else:
                if not state.completed:
                    await self._flush(state)
                    for number, _size in self._spool.pending(state):
                        await self._upload_segment(state, number)
                    parts = [Part(n, etag) for n, etag, _ in state.parts]
                    await self._call(
                        self._client._complete_multipart_upload,
                        self.bucket,
                        obj,
                        state.upload_id,
                        parts,
                    )
                    state.completed = True
                    await self._call(self._spool.save, state)
                sha = (
                    str(running.hexdigest())
                    if running is not None
                    else await self._call(self._hash_object, obj)
                )
                await self._call(
                    self._client.copy_object,
                    self.bucket,
                    key,
                    CopySource(self.bucket, obj),
                    metadata={
                        "Content-Type": content_type,
                        **_encode_meta({**meta, SHA256_META: sha}),
                    },
                    metadata_directive=REPLACE,
                )
                with contextlib.suppress(BackendUnavailable, NotFound):
                    await self._call(self._client.remove_object, self.bucket, obj)
            await self._call(self._spool.remove, handle)
            lock.remove()
            self._hashes.drop(handle)
            return BlobInfo(key, state.size, sha, content_type, meta)
        finally:
            lock.release()

    async def append_abort(self, handle: str) -> None:
        """Abort the multipart upload (or remove its completed temp object) and drop the
        spool; absent is not an error."""
        validate_handle(handle)
        lock = await self._lock_handle(handle)
        try:
            state = await self._call(self._spool.load, handle)
            if state is not None:
                obj = self._append_object(handle)
                try:
                    if state.completed:
                        await self._call(self._client.remove_object, self.bucket, obj)
                    elif state.upload_id is not None:
                        await self._call(
                            self._client._abort_multipart_upload, self.bucket, obj, state.upload_id
                        )
                except NotFound:
                    pass
                except BackendUnavailable as exc:
                    cause = exc.__cause__
                    if not (isinstance(cause, S3Error) and cause.code == "NoSuchUpload"):
                        raise
                await self._call(self._spool.remove, handle)
            lock.remove()
            self._hashes.drop(handle)
        finally:
            lock.release()

    async def append_handles(self) -> AsyncIterator[str]:
        """Every open append handle of this spool folder, in name order."""
        for name in await self._call(self._spool.handles):
            yield name
