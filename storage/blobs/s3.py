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
import base64
import contextlib
import hashlib
import io
import tempfile
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
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
    read_range,
    sha256_of,
    validate_handle,
)
from storage.blobs.keys import (
    SHA256_META,
    InvalidKey,
    check_range,
    validate_key,
    validate_metadata,
    validate_prefix,
)
from storage.blobs.sealing import (
    HEADER,
    SEGMENT,
    STORED_SEGMENT,
    Encoder,
    ObjectSeal,
    Sealing,
    SpanReader,
    listed_size,
    plain_digest,
    plain_size,
    read_ahead,
    rechunk,
    span,
)
from storage.errors import (
    BackendUnavailable,
    NotFound,
    OffsetMismatch,
    SizeExceeded,
    StorageError,
    StorageFull,
    from_os_error,
)
from storage.ports import PUT_MANY_MAX, AppendState, BlobInfo, Checksum, Health

_T = TypeVar("_T")


def _read_exactly(resp: Any, size: int) -> bytes:
    """The next ``size`` bytes of an SDK answer (fewer only at its end)."""
    data = resp.read(size)
    if len(data) >= size or not data:
        return bytes(data)
    parts = [data]
    got = len(data)
    while got < size:
        more = resp.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _release(resp: Any) -> None:
    resp.close()
    resp.release_conn()


class _Changed(StorageError):
    """The object is no longer the version a read started on (a GET's ``If-Match`` failed)."""


_Names = list[str]
_Level = list[tuple[str, bool, int]]  # (name, is folder, size) of one listing level
_TMP_PREFIX = ".tmp/"
_META_PREFIX = "x-amz-meta-"
_QUEUE_DEPTH = 4  # chunks buffered between the event loop and the uploading thread
_MIN_PART = 5 << 20  # S3's smallest multipart part
_STALE_TMP_S = 24 * 3600
_EOF = b""
_APPEND_BATCH = 4 << 20  # bytes of an append handed to the spool's threads at a time
_APPEND_WINDOW = 2 * _APPEND_BATCH  # how far the spool's writer and hasher may run behind
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


class _PlainDigest:
    """The plaintext's SHA-256 and size of a sealed put, fed by ``_sealed_stream``; the
    upload code asks it for the digest (never feeds it the stored bytes)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes) -> None:
        """Stored (sealed) bytes: not part of the content's digest."""

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


async def _sealed_stream(
    seal: ObjectSeal, chunks: AsyncIterator[bytes], plain: _PlainDigest
) -> AsyncIterator[bytes]:
    """The sealed form of ``chunks``: header, segments, final segment. The plaintext is hashed
    and encrypted in a worker thread per chunk (both release the GIL)."""
    enc = Encoder(seal)
    yield seal.header.raw

    def step(chunk: bytes) -> bytes:
        plain.digest.update(chunk)
        plain.size += len(chunk)
        return b"".join(enc.feed(chunk))

    async for chunk in chunks:
        if chunk:
            sealed = await asyncio.to_thread(step, bytes(chunk))
            if sealed:
                yield sealed
    yield enc.finish()


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
        sealing: Sealing | None = None,
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
        # Objects and appends the policy puts in a scope are sealed (storage.blobs.sealing).
        self.sealing = sealing
        # (stored size, header, ETag) of sealed objects read lately: a ranged read of one of
        # them is then one GET, conditional on the ETag (``_sealed_get``).
        self._headers: OrderedDict[str, tuple[int, bytes, str]] = OrderedDict()
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

    def _scope(self, key: str) -> str | None:
        return None if self.sealing is None else self.sealing.scope_of_key(key)

    def _handle_scope(self, handle: str) -> str | None:
        return None if self.sealing is None else self.sealing.scope_of_handle(handle)

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
        self._headers.pop(key, None)
        validate_key(key)
        meta = validate_metadata(metadata)
        scope = self._scope(key)
        if scope is not None and self.sealing is not None:
            seal = await self.sealing.new_seal(scope)
            plain = _PlainDigest()
            size, _ = await self._put_stream(
                key, _sealed_stream(seal, chunks, plain), content_type, meta, plain
            )
            return BlobInfo(key, plain.size, plain.hexdigest(), content_type, meta)
        digest = hashlib.sha256()
        size, sha = await self._put_stream(key, chunks, content_type, meta, digest)
        return BlobInfo(key, size, sha, content_type, meta)

    async def _put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        content_type: str,
        meta: dict[str, str],
        digest: Any,
    ) -> tuple[int, str]:
        """Store ``chunks`` under ``key`` with ``digest`` (fed the chunks, asked for the
        SHA-256 once they ended) in the metadata; the bytes stored and the digest."""
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
            return buffered, sha

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
        return size, sha

    async def put_if_absent(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> bool:
        """One PUT with ``If-None-Match: *`` (S3 conditional writes): True when written,
        False when ``key`` exists (412, or 409 for a conditional write racing another).
        For small unsealed objects (the backup lock). A server that does not know the
        header writes anyway and answers True: callers check (``api.backup.stores``)."""
        validate_key(key)
        if self._scope(key) is not None:
            raise ValueError("put_if_absent is for objects outside every scope")
        self._headers.pop(key, None)
        headers: dict[str, str | list[str] | tuple[str]] = {
            "If-None-Match": "*",
            "Content-Type": content_type,
            "Content-Length": str(len(data)),
        }

        def put() -> bool:
            try:
                # The SDK's public put_object sends unknown headers as user metadata; its
                # single-PUT call takes request headers as they are.
                self._client._put_object(self.bucket, key, data, headers=headers)
            except S3Error as exc:
                if exc.response is not None and exc.response.status in (409, 412):
                    return False
                raise
            return True

        return await self._call(put)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> list[BlobInfo]:
        """One single-part PUT per object, up to ``_PUT_MANY_CONCURRENCY`` at a time (an S3
        PUT is durable when it answers)."""
        for key, _ in items:
            self._headers.pop(key, None)
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
        if self._scope(key) is not None:
            # Closed with this generator: a consumer that stops early frees the connection.
            async with contextlib.aclosing(self._sealed_get(key, start, end, chunk_size)) as got:
                async for piece in got:
                    yield piece
            return
        async for piece in self._raw_get(key, start, end, chunk_size):
            yield piece

    async def _sealed_get(
        self, key: str, start: int, end: int | None, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        """Decrypt only the segments ``[start, end)`` touches. The first read of an object
        costs a HEAD (size, ETag) and one ranged GET from its start (header and segments
        together), or two (the header, then the segments) for a range further in; the size,
        header and ETag are then remembered, so further ranged reads are one GET. Every GET
        carries ``If-Match`` with the ETag: an object replaced meanwhile (412) is read afresh,
        so a remembered header never pairs with another object's segments."""
        for attempt in range(3):
            pieces = self._sealed_pieces(key, start, end, chunk_size, attempt == 0)
            async with contextlib.aclosing(pieces):
                try:
                    first = await pieces.__anext__()
                except StopAsyncIteration:
                    return
                except _Changed:
                    self._headers.pop(key, None)
                    continue
                yield first
                async for piece in pieces:
                    yield piece
                return
        raise BackendUnavailable(self.name, f"{key} kept changing while it was read")

    async def _sealed_pieces(
        self, key: str, start: int, end: int | None, chunk_size: int, use_cache: bool
    ) -> AsyncGenerator[bytes, None]:
        assert self.sealing is not None
        block = max(chunk_size, 1 << 16)
        cached = self._headers.get(key) if use_cache else None
        if cached is not None:
            self._headers.move_to_end(key)
            stored, raw, etag = cached
            plan = span(start, end, plain_size(stored))
            if plan is None:
                return
            seal = await self.sealing.open_seal(raw)
            resp = await self._open_get(key, plan.stored_from, plan.stored_to, etag)
        else:
            stored, etag = await self._stored_info(key)
            plan = span(start, end, plain_size(stored))
            if plan is None:
                return
            if plan.stored_from == HEADER:
                # One GET from the start: the header, then the segments of the range.
                resp = await self._open_get(key, 0, plan.stored_to, etag)
                if resp is None:
                    return
                try:
                    raw = await self._call(_read_exactly, resp, HEADER)
                    seal = await self.sealing.open_seal(raw)
                except BaseException:
                    _release(resp)
                    raise
            else:
                raw = b"".join([c async for c in self._raw_get(key, 0, HEADER, HEADER, etag)])
                seal = await self.sealing.open_seal(raw)
                resp = await self._open_get(key, plan.stored_from, plan.stored_to, etag)
            self._remember(key, stored, raw[:HEADER], etag)
        if resp is None:
            return
        # Each worker-thread call reads whole segments of the answer (about ``chunk_size`` of
        # plaintext) and decrypts them; the next call runs while the consumer handles this
        # block (read_ahead). Reads cut at segment boundaries give blocks of exactly
        # ``chunk_size`` that ``rechunk`` passes on without joining or slicing.
        reader = SpanReader(seal, plan)
        body = resp
        name, where = self.name, self._endpoint
        per_call = max(1, block // SEGMENT) * STORED_SEGMENT
        left = plan.stored_to - plan.stored_from

        def step() -> tuple[bytes, bool]:
            nonlocal left
            try:
                data = _read_exactly(body, min(per_call, left))
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise BackendUnavailable(name, f"{where}: {exc}") from exc
            left -= len(data)
            plain = reader.feed(data) if data else b""
            if not reader.done and (not data or left <= 0):
                reader.finish()  # Tampered: the answer ended early
            return plain, not reader.done

        blocks = read_ahead(step, lambda: _release(body))
        async with contextlib.aclosing(rechunk(blocks, chunk_size)) as pieces:
            async for piece in pieces:
                yield piece

    def _remember(self, key: str, stored: int, header: bytes, etag: str) -> None:
        if len(header) < HEADER or not etag:
            return
        self._headers[key] = (stored, bytes(header), etag)
        self._headers.move_to_end(key)
        while len(self._headers) > 4096:
            self._headers.popitem(last=False)

    async def _stored_info(self, key: str) -> tuple[int, str]:
        try:
            obj = await self._call(self._client.stat_object, self.bucket, key)
        except BackendUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.response.status == 404:
                raise NotFound(key) from exc
            raise
        return int(obj.size or 0), str(obj.etag or "")

    async def _raw_get(
        self, key: str, start: int, end: int | None, chunk_size: int, etag: str = ""
    ) -> AsyncIterator[bytes]:
        """The stored bytes ``[start, end)`` as they are; with ``etag``, only of that version
        of the object (``_Changed`` otherwise)."""
        if end == start:
            if await self.stat(key) is None:
                raise NotFound(key)
            return
        resp = await self._open_get(key, start, end, etag)
        if resp is None:
            return
        try:
            while True:
                data = await self._call(resp.read, chunk_size)
                if not data:
                    break
                yield data
        finally:
            _release(resp)

    async def _open_get(self, key: str, start: int, end: int | None, etag: str) -> Any:
        """The SDK's answer to a GET of the stored bytes ``[start, end)`` (``end`` None: to
        the end; with ``etag``, only of that version: ``_Changed`` otherwise); None when
        ``start`` is past the end of an object that exists."""
        length = 0 if end is None else end - start
        headers = {"If-Match": f'"{etag}"'} if etag else None
        try:
            return await self._call(
                self._client.get_object,
                self.bucket,
                key,
                offset=start,
                length=length,
                request_headers=headers,
            )
        except BackendUnavailable as exc:
            cause = exc.__cause__
            if etag and isinstance(cause, S3Error) and cause.response.status == 412:
                raise _Changed(key) from exc
            if isinstance(cause, S3Error) and cause.code == "InvalidRange":
                if await self.stat(key) is None:
                    raise NotFound(key) from exc
                return None
            raise

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
        size = int(obj.size or 0)
        if self._scope(key) is not None:
            size = listed_size(size)
        return BlobInfo(key, size, sha, obj.content_type, meta)

    # -- delete / list -------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Remove the object; absent is not an error."""
        self._headers.pop(key, None)
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
                yield BlobInfo(name, listed_size(size) if self._scope(name) is not None else size)

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
            raise OffsetMismatch(-1 if state is None else state.content_size, offset)
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
        scope = self._handle_scope(handle)
        if state is None or (scope is not None and state.sealed is None):
            lock = await self._lock_handle(handle)
            try:
                state = await self._call(self._spool.create, handle)
                if scope is not None and state.sealed is None and state.size == 0:
                    await self._seal_new(state, scope)
            finally:
                lock.release()
        return AppendState(handle, state.content_size)

    async def _seal_new(self, state: SpoolState, scope: str) -> None:
        """Start a sealed append: its header is the first bytes on the spool."""
        assert self.sealing is not None
        seal = await self.sealing.new_seal(scope)
        writer = SegmentWriter(self._spool, state.handle, 1, 0)

        def write() -> None:
            writer.write([seal.header.raw])
            writer.sync()
            writer.close()

        await self._call(write)
        state.size = HEADER
        state.sealed = {
            "header": base64.b64encode(seal.header.raw).decode(),
            "plain": 0,
            "segments": 0,
            "tail": "",
            "final": False,
        }
        await self._call(self._spool.save, state)

    async def _encoder(self, state: SpoolState) -> Encoder:
        assert self.sealing is not None
        assert state.sealed is not None
        seal = await self.sealing.open_seal(base64.b64decode(state.sealed["header"]))
        segments = int(state.sealed["segments"])
        return Encoder(seal, segments, seal.open_tail(segments, str(state.sealed["tail"])))

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
        enc: Encoder | None = None
        try:
            state = await self._load(handle, lock)
            await self._flush(state)
            if state.content_size != offset:
                raise OffsetMismatch(state.content_size, offset)
            if state.sealed is not None:
                if state.sealed.get("final"):
                    raise OffsetMismatch(state.content_size, offset)  # finishing already
                enc = await self._encoder(state)
        except BaseException:
            lock.release()
            raise
        writer = SegmentWriter(
            self._spool, handle, len(state.parts) + 1, state.size - state.uploaded
        )
        size = state.content_size
        check = RequestCheck(size, self._hashes.get(handle, size), checksum, limit)
        if enc is None:
            pipeline = Pipeline(writer.write, check, window=_APPEND_WINDOW)
        else:
            sealer = enc

            def write_sealed(batch: list[bytes]) -> list[int]:
                # Sealed into this thread's buffer a piece at a time, each written before
                # the next is sealed (``feed_pieces``: no object per 64 KiB segment).
                full: list[int] = []
                for piece in sealer.feed_pieces(batch):
                    full += writer.write([piece])  # type: ignore[list-item]
                return full

            pipeline = Pipeline(write_sealed, check, window=_APPEND_WINDOW)
        try:
            result = await self._append_into(state, writer, check, pipeline, chunks, enc)
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
        enc: Encoder | None = None,
    ) -> AppendState:
        handle = state.handle
        before = state.copy()
        before_segments = enc.index if enc is not None else 0
        # Parts are uploaded while the request goes on only when nothing of it can be taken
        # back: no checksum, and not sealed (a sealed request's segments count only once its
        # state is saved, and an uploaded part cannot be cut back to a segment boundary).
        streaming = check.checksum is None and enc is None
        uploading: asyncio.Future[None] | None = None
        verified = check.checksum is None

        async def drain() -> None:
            nonlocal uploading
            if uploading is not None:
                task, uploading = uploading, None
                await task

        async def upload(written: list[list[int]]) -> None:
            # One part in flight while the next is spooled (full parts only, no checksum).
            nonlocal uploading
            if not streaming:
                return
            for number in (n for full in written for n in full):
                await drain()
                uploading = asyncio.ensure_future(self._upload_segment(state, number))

        async def commit() -> AppendState:
            if enc is None:
                state.size = before.size + check.received
            else:
                if writer.written != (enc.index - before_segments) * STORED_SEGMENT:
                    raise BackendUnavailable(f"{self.name} spool", "a segment was cut short")
                state.size = before.size + writer.written
                state.sealed = {
                    **(state.sealed or {}),
                    "plain": enc.size,
                    "segments": enc.index,
                    "tail": enc.tail(),
                }
            await self._call(self._spool.save, state)
            self._hashes.set(handle, state.content_size, check.whole)
            await self._flush(state)
            return AppendState(handle, state.content_size)

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
                state.size, state.parts, state.sealed = before.size, before.parts, before.sealed
                await self._call(self._spool.save, state)
                raise
            # A dropped connection (or a failed upload): the bytes that arrived are durable on
            # the spool disk, keep them.
            try:
                await self._call(writer.sync)
                await commit()
            except BackendUnavailable:
                if enc is not None:
                    # A sealed segment cut short cannot be kept: nothing of this request is.
                    await self._call(writer.rollback)
                    state.size, state.parts, state.sealed = (
                        before.size,
                        before.parts,
                        before.sealed,
                    )
                    await self._call(self._spool.save, state)
                    self._hashes.drop(handle)
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
        self._headers.pop(key, None)
        validate_handle(handle)
        validate_key(key)
        meta = validate_metadata(metadata)
        if self._handle_scope(handle) is None and self._scope(key) is not None:
            # An upload begun before sealing was turned on: finish it as it is, then seal it
            # by a put from its own bytes (a copy, once).
            await self.append_finish(handle, key, content_type=content_type, metadata=meta)
            return await self.put(
                key, self._raw_get(key, 0, None, 1 << 20), content_type=content_type,
                metadata=meta,
            )  # fmt: skip
        lock = await self._lock_handle(handle)
        try:
            state = await self._load(handle, lock)
            if state.sealed is not None:
                if self._scope(key) is None:
                    raise InvalidKey(f"封印された追記は封印されるキーにだけ確定できます: {key!r}")
                seal = await self._seal_final(state)
            running = self._hashes.get(handle, state.content_size)
            obj = self._append_object(handle)
            if not state.parts and not state.completed:
                seg = self._spool.seg_path(handle, 1)
                if state.sealed is not None and running is None:
                    sha, _ = await plain_digest(
                        seal, state.content_size, lambda a, b: read_range(seg, a, b, 1 << 20)
                    )
                elif running is None:
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
                if running is not None:
                    sha = str(running.hexdigest())
                elif state.sealed is not None:
                    sha, _ = await plain_digest(
                        seal, state.content_size, lambda a, b: self._raw_get(obj, a, b, 1 << 20)
                    )
                else:
                    sha = await self._call(self._hash_object, obj)
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
            return BlobInfo(key, state.content_size, sha, content_type, meta)
        finally:
            lock.release()

    async def _seal_final(self, state: SpoolState) -> ObjectSeal:
        """Put the final segment (the sealed tail) on the spool, once, and upload every part
        that is full now; the seal of the object."""
        assert state.sealed is not None
        enc = await self._encoder(state)
        if state.sealed.get("final"):
            return enc.seal
        writer = SegmentWriter(
            self._spool, state.handle, len(state.parts) + 1, state.size - state.uploaded
        )
        final = enc.finish()

        def write() -> int:
            writer.write([final])
            writer.sync()
            writer.close()
            return writer.written

        state.size += await self._call(write)
        state.sealed = {**state.sealed, "final": True, "segments": enc.index, "tail": ""}
        await self._call(self._spool.save, state)
        if not state.completed:
            await self._flush(state)
        return enc.seal

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
