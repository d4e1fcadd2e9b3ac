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
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import InvalidResponseError, S3Error, ServerError

from storage.blobs.keys import (
    SHA256_META,
    check_range,
    validate_key,
    validate_metadata,
    validate_prefix,
)
from storage.errors import BackendUnavailable, NotFound
from storage.ports import BlobInfo, Health

_T = TypeVar("_T")
_Names = list[str]
_Level = list[tuple[str, bool, int]]  # (name, is folder, size) of one listing level
_TMP_PREFIX = ".tmp/"
_META_PREFIX = "x-amz-meta-"
_QUEUE_DEPTH = 4  # chunks buffered between the event loop and the uploading thread
_MIN_PART = 5 << 20  # S3's smallest multipart part
_STALE_TMP_S = 24 * 3600
_EOF = b""


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
    ) -> None:
        if part_size < _MIN_PART:
            raise ValueError(f"part_size must be at least {_MIN_PART} bytes")
        # Parts uploaded at once. Each one more costs a part of memory; on SeaweedFS three
        # made a 256 MiB upload 1.5x faster. One keeps a put at about three parts of memory.
        self.parallel_parts = max(1, parallel_parts)
        self.bucket = bucket
        self.part_size = part_size
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
