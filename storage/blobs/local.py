"""Blobs on the local filesystem: the embedded default (issue 2, item 2).

Layout under ``root``::

    <root>/<key>              the object's bytes
    <root>/.meta/<key>.json   sidecar: content type, metadata, size, SHA-256, inode of the bytes
    <root>/.tmp/              uploads in progress (same filesystem, so rename is atomic)

A put streams into ``.tmp/``, hashes while writing, fsyncs the file, renames it into place and
fsyncs the folder; the sidecar follows the same write-then-rename path. The two renames run under
one ``flock`` so concurrent writers (API and worker processes) cannot interleave them; the sidecar
records the inode of the bytes it describes, so a reader that catches the short window between the
renames (or a crash inside it) notices and never pairs new bytes with an old digest.

Sidecars were chosen over extended attributes: ``cp``, ``tar`` and most backups drop xattrs
silently, a JSON file next to the tree survives them. ``put_many`` (many tiny objects with the
default content type and no metadata, for bulk imports) writes no sidecar: for a small object
without a valid one, ``stat`` computes the SHA-256 from the bytes.

Every disk call runs in a worker thread (``asyncio.to_thread``) so the event loop never waits on
the disk; a put larger than one batch is hashed and written by two threads of its own
(``storage.blobs.putpipe``) while the loop receives the next chunks. Limitation: a key cannot
be both an object and a "folder" of other keys (``a`` and ``a/b``), which S3 allows; such a
put raises ``InvalidKey``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from storage.blobs import putpipe
from storage.blobs.append import (
    HandleLock,
    Hashes,
    Pipeline,
    RequestCheck,
    batches,
    finish_later,
    fsync_dir,
    sha256_of,
    validate_handle,
)
from storage.blobs.keys import (
    InvalidKey,
    check_range,
    validate_key,
    validate_metadata,
    validate_prefix,
)
from storage.blobs.sealing import (
    DataKey,
    Encoder,
    Header,
    ObjectSeal,
    Sealing,
    listed_size,
    seal_whole,
)
from storage.errors import (
    BackendUnavailable,
    ChecksumMismatch,
    NotFound,
    OffsetMismatch,
    SizeExceeded,
    from_os_error,
)
from storage.ports import PUT_MANY_MAX, AppendState, BlobInfo, Checksum, Health

if TYPE_CHECKING:
    from storage.blobs.local_sealed import LocalSealed

_TMP = ".tmp"
_META = ".meta"
_APPENDS = "appends"  # under .tmp/: resumable appends (tus uploads)
_STALE_TMP_S = 24 * 3600
_HASH_ON_STAT = PUT_MANY_MAX  # objects without a sidecar up to this size are hashed by stat
_OCTET = "application/octet-stream"
_T = TypeVar("_T")
# (sort key, name, is folder, size) of one folder entry
_Entries = list[tuple[str, str, bool, int]]
_Names = list[str]
_Batch = list[bytes]
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


async def read_file(path: Path, chunk: int) -> AsyncIterator[bytes]:
    """A whole file in ``chunk``-sized reads, each in a worker thread."""
    f = await asyncio.to_thread(open, path, "rb")
    try:
        while data := await asyncio.to_thread(f.read, chunk):
            yield data
    finally:
        f.close()


async def _gather(source: AsyncIterator[bytes], limit: int) -> tuple[_Batch, int, bool]:
    """The next chunks of ``source`` up to at least ``limit`` bytes (empty chunks dropped,
    others kept as ``bytes``: a caller may reuse its buffer), their size, and whether the
    source may have more."""
    batch: _Batch = []
    size = 0
    while size < limit:
        try:
            chunk = await anext(source)
        except StopAsyncIteration:
            return batch, size, False
        if chunk:
            batch.append(bytes(chunk))
            size += len(chunk)
    return batch, size, True


async def _io(fn: Callable[..., _T], *args: Any) -> _T:
    """Run a disk call in a worker thread; a disk failure (full, read-only, gone) is the
    backend being unavailable, not a bug."""
    try:
        return await asyncio.to_thread(fn, *args)
    except OSError as exc:
        raise from_os_error("local", exc) from exc


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux ``syncfs(2)`` through the C library, or None where it does not exist."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return cast(Callable[[int], int], fn)


def sync_filesystem(path: Path) -> None:
    """Make every write to the filesystem holding ``path`` durable: ``syncfs`` on Linux (one
    journal commit for many files), ``os.sync`` elsewhere."""
    fn = _syncfs()
    if fn is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if fn(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


class LocalBlobStore:
    """``storage.ports.BlobStore`` on a local folder; see the module docstring for the layout."""

    name = "local"

    def __init__(
        self,
        root: Path,
        *,
        batch_bytes: int = 1 << 20,
        append_batch_bytes: int = 2 << 20,
        sealing: Sealing | None = None,
    ) -> None:
        self.root = Path(root)
        self._tmp = self.root / _TMP
        self._meta = self.root / _META
        # A put hands its chunks to its hasher and writer threads in batches of at least this
        # many bytes, at most four batches ahead of the slower thread (``PutPipe``); an
        # object smaller than one batch is written in one thread call.
        self._batch_bytes = batch_bytes
        self._put_window = 4 * batch_bytes
        # Appends (tus PATCH bodies) keep their batches smaller: many may run at once. Their
        # writer and hasher threads may run up to two batches behind the request.
        self._append_batch_bytes = append_batch_bytes
        self._append_window = 2 * append_batch_bytes
        self._hashes = Hashes()  # running SHA-256 of the open append handles
        # Objects and appends the policy puts in a scope are sealed (storage.blobs.sealing).
        self.sealing = sealing
        self._sealed: LocalSealed | None = None
        if sealing is not None:
            from storage.blobs.local_sealed import LocalSealed

            self._sealed = LocalSealed(self, sealing)

    def _scope(self, key: str) -> str | None:
        return None if self.sealing is None else self.sealing.scope_of_key(key)

    def _handle_scope(self, handle: str) -> str | None:
        return None if self.sealing is None else self.sealing.scope_of_handle(handle)

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Create the root, temp and sidecar folders; drop day-old temp files of crashed puts."""
        await asyncio.to_thread(self._open_sync)

    def _open_sync(self) -> None:
        for path in (self.root, self._tmp, self._meta):
            path.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - _STALE_TMP_S
        for entry in os.scandir(self._tmp):
            if entry.name.endswith(".part"):
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)

    async def close(self) -> None:
        """Nothing to release; files are opened per call."""

    async def health(self) -> Health:
        """The root exists and a file can be created and removed in it."""
        try:
            await asyncio.to_thread(self._probe)
        except Exception as exc:
            return Health(False, self.name, f"{self.root}: {exc}")
        return Health(True, self.name, str(self.root))

    def _probe(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)
        probe = self._tmp / f"health-{uuid.uuid4().hex}.part"
        with open(probe, "wb") as f:
            f.write(b"ok")
        os.unlink(probe)

    async def temp_objects(self) -> _Names:
        """Names of temp files left in ``.tmp/`` (tests and ``kura check``)."""

        def names() -> _Names:
            return sorted(p.name for p in self._tmp.glob("*.part"))

        return await _io(names)

    # -- paths and locking ---------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root / key

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{key}.json"

    @contextlib.contextmanager
    def _lock(self, shared: bool = False) -> Iterator[None]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        with open(self._tmp / "commit.lock", "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

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

        If the chunks raise, or the put is cancelled, the temp file is removed and the previous
        object (if any) stays as it was.
        """
        validate_key(key)
        meta = validate_metadata(metadata)
        scope = self._scope(key)
        enc = None
        if scope is not None and self.sealing is not None:
            enc = Encoder(await self.sealing.new_seal(scope))
        digest = hashlib.sha256()
        source = aiter(chunks)
        # The first chunks, up to one batch: an object that ends within them is written,
        # hashed and committed in one worker-thread call.
        first, size, more = await _gather(source, self._batch_bytes)
        if not more:
            info = BlobInfo(key, size, "", content_type, meta)
            return await _io(self._put_small, first, digest, enc, info)
        try:
            fd, tmp_path = await asyncio.to_thread(self._open_tmp)
        except OSError as exc:
            raise from_os_error(self.name, exc) from exc
        pipe = putpipe.PutPipe(fd, digest, enc, name=self.name, window=self._put_window)
        committed = False
        owned = True  # the pipe (or, after it, this call) still holds fd
        try:
            pipe.start(b"" if enc is None else enc.seal.header.raw)
            await pipe.submit(first, size)
            first = []
            while more:
                batch, pending, more = await _gather(source, self._batch_bytes)
                if batch:
                    await pipe.submit(batch, pending)
                    size += pending
            await pipe.finish()
            owned = False  # from here the commit closes fd, even when this task is cancelled
            info = BlobInfo(key, size, digest.hexdigest(), content_type, meta)
            await _io(self._commit_fd, fd, tmp_path, info)
            committed = True
            return info
        finally:
            if not committed:
                # Synchronous on purpose: a cancelled task may not get to await again. The
                # threads stop on their own (the writer closes fd); an unlinked file still
                # open there is removed when it is closed.
                if owned:
                    pipe.abort()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)

    def _open_tmp(self) -> tuple[int, Path]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        path = self._tmp / f"{uuid.uuid4().hex}.part"
        return os.open(path, _CREATE, 0o644), path

    def _put_small(
        self, batch: _Batch, digest: Any, enc: Encoder | None, info: BlobInfo
    ) -> BlobInfo:
        """A whole (small) object in one thread call: temp file, hash, seal, commit."""
        for part in batch:
            digest.update(part)
        parts = batch if enc is None else [enc.seal.header.raw, *enc.feed_all(batch), enc.finish()]
        info = BlobInfo(info.key, info.size, digest.hexdigest(), info.content_type, info.metadata)
        fd, tmp_path = self._open_tmp()
        try:
            putpipe.write_all(fd, parts)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
            raise
        try:
            self._commit_fd(fd, tmp_path, info)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
            raise
        return info

    def _commit_fd(self, fd: int, tmp_path: Path, info: BlobInfo) -> None:
        """``_commit`` of a put's temp file, given as a descriptor (closed here)."""
        try:
            os.fsync(fd)
            inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        self._commit_synced(tmp_path, inode, info)

    def _commit(self, f: IO[bytes], tmp_path: Path, info: BlobInfo) -> None:
        f.flush()
        os.fsync(f.fileno())
        inode = os.fstat(f.fileno()).st_ino
        f.close()
        self._commit_synced(tmp_path, inode, info)

    def _commit_synced(self, tmp_path: Path, inode: int, info: BlobInfo) -> None:
        """Write the sidecar (fsynced), then rename both into place under the lock, each
        rename followed by an fsync of its folder."""
        sidecar = json.dumps(
            {
                "size": info.size,
                "sha256": info.sha256,
                "content_type": info.content_type,
                "metadata": info.metadata,
                "inode": inode,
            },
            ensure_ascii=False,
        ).encode()
        side_tmp = self._tmp / f"{uuid.uuid4().hex}.json.part"
        with open(side_tmp, "xb") as sf:
            sf.write(sidecar)
            sf.flush()
            os.fsync(sf.fileno())
        try:
            dest = self._path(info.key)
            meta_dest = self._meta_path(info.key)
            with self._lock():
                self._replace(tmp_path, dest, info.key)
                self._replace(side_tmp, meta_dest, info.key)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(side_tmp)

    def _replace(self, src: Path, dest: Path, key: str, *, sync: bool = True) -> None:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
            raise InvalidKey(
                f"キーが既存のオブジェクトまたはフォルダと衝突します: {key!r}"
            ) from exc
        if sync:
            fsync_dir(dest.parent)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> list[BlobInfo]:
        """Write the objects as temp files (one thread), make them durable with one
        ``syncfs`` of the folder's filesystem, rename them into place under one lock, and
        make the renames durable with a second ``syncfs``. No sidecars (``stat`` hashes small
        objects that have none): one file per object and two syncs per call, where a ``put``
        costs two files and four fsyncs."""
        for key, data in items:
            validate_key(key)
            if len(data) > _HASH_ON_STAT:
                raise ValueError(f"put_many is for small objects (<= {_HASH_ON_STAT} bytes)")
        if not items:
            return []
        # The data key once per scope here; each object's seal (its own key derivation) is
        # made in the writing thread, beside the encryption, not on the event loop.
        keys: dict[str, DataKey] = {}
        seals: list[DataKey | None] = []
        for key, _data in items:
            scope = self._scope(key)
            if scope is None or self.sealing is None:
                seals.append(None)
                continue
            if scope not in keys:
                keys[scope] = await self.sealing.keys.current(scope)
            seals.append(keys[scope])
        return await _io(self._put_many, items, seals)

    def _put_many(
        self, items: Sequence[tuple[str, bytes]], seals: Sequence[DataKey | None]
    ) -> list[BlobInfo]:
        # One thread, plain ``os`` calls: for objects of a few bytes a pool of threads and
        # buffered file objects cost more than the writes themselves (bench.bench_import).
        tmp_dir = str(self._tmp)
        root = str(self.root)
        meta = str(self._meta)
        os.makedirs(tmp_dir, exist_ok=True)
        staged: list[str] = []
        infos: list[BlobInfo] = []
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            stem = f"{tmp_dir}/{uuid.uuid4().hex}"
            for i, ((key, data), data_key) in enumerate(zip(items, seals, strict=True)):
                seal = (
                    None if data_key is None else ObjectSeal(data_key, Header.new(data_key.key_id))
                )
                tmp = f"{stem}-{i}.part"
                fd = os.open(tmp, flags, 0o644)
                staged.append(tmp)
                try:
                    body = memoryview(data if seal is None else seal_whole(seal, data))
                    while body:
                        body = body[os.write(fd, body) :]
                finally:
                    os.close(fd)
                infos.append(BlobInfo(key, len(data), hashlib.sha256(data).hexdigest(), _OCTET))
            sync_filesystem(self._tmp)
            with self._lock():
                for tmp, info in zip(staged, infos, strict=True):
                    dest = f"{root}/{info.key}"
                    try:
                        try:
                            os.replace(tmp, dest)
                        except FileNotFoundError:  # its folder is not there yet
                            os.makedirs(os.path.dirname(dest), exist_ok=True)
                            os.replace(tmp, dest)
                    except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
                        raise InvalidKey(
                            f"キーが既存のオブジェクトまたはフォルダと衝突します: {info.key!r}"
                        ) from exc
                    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                        os.unlink(f"{meta}/{info.key}.json")  # a replaced object's sidecar
            sync_filesystem(self.root)
        finally:
            for tmp in staged:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        return infos

    # -- get / stat ----------------------------------------------------------------------

    async def get(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Stream the bytes ``[start, end)`` of the object; ``NotFound`` if absent.

        ``end`` past the size is clamped; a ``start`` at or past the size yields nothing.
        """
        validate_key(key)
        check_range(start, end)
        if self._sealed is not None and self._scope(key) is not None:
            # Closed with this generator: a consumer that stops early lets go of the file.
            async with contextlib.aclosing(self._sealed.get(key, start, end, chunk_size)) as got:
                async for piece in got:
                    yield piece
            return
        f = await _io(self._open_read, key, start)
        try:
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                want = chunk_size if remaining is None else min(chunk_size, remaining)
                data = await _io(f.read, want)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
        finally:
            f.close()

    def _open_read(self, key: str, start: int) -> IO[bytes]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - closed by get()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(key) from exc
        if start:
            f.seek(start)
        return f

    async def stat(self, key: str) -> BlobInfo | None:
        """Size, type, metadata and SHA-256 from the sidecar, or None if absent."""
        validate_key(key)
        sealed = self._sealed is not None and self._scope(key) is not None
        info = await _io(self._stat_sync, key, sealed)
        if sealed and info is not None and info.sha256 is None and info.size <= _HASH_ON_STAT:
            # A small sealed object without sidecar (put_many): hash its plaintext.
            assert self._sealed is not None
            try:
                sha, size = await self._sealed.digest(key)
            except FileNotFoundError:
                return None
            info = BlobInfo(key, size, sha, _OCTET)
        return info

    def _stat_sync(self, key: str, sealed: bool = False) -> BlobInfo | None:
        info = self._read_info(key, sealed)
        if info is not None and info.sha256 is None:
            # Caught between the two renames of a put: wait for it, then read again.
            with self._lock(shared=True):
                info = self._read_info(key, sealed)
        if info is not None and info.sha256 is None and info.size <= _HASH_ON_STAT and not sealed:
            # No sidecar (put_many, or lost): a small object is hashed from its bytes.
            info = self._hashed_info(key)
        return info

    def _hashed_info(self, key: str) -> BlobInfo | None:
        try:
            with open(self._path(key), "rb") as f:
                data = f.read(_HASH_ON_STAT + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return BlobInfo(key, len(data), hashlib.sha256(data).hexdigest(), _OCTET)

    def _read_info(self, key: str, sealed: bool = False) -> BlobInfo | None:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        size = listed_size(st.st_size) if sealed else st.st_size
        try:
            side = json.loads(self._meta_path(key).read_bytes())
        except (OSError, ValueError):
            side = None
        if not isinstance(side, dict) or side.get("inode") != st.st_ino:
            # The sidecar describes other bytes (or is missing): report what is certain.
            return BlobInfo(key, size)
        return BlobInfo(
            key,
            size,
            side.get("sha256"),
            side.get("content_type"),
            dict(side.get("metadata") or {}),
        )

    # -- delete / list -------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Remove the object and its sidecar; absent is not an error."""
        validate_key(key)
        await _io(self._delete_sync, key)

    def _delete_sync(self, key: str) -> None:
        with self._lock():
            for path, top in ((self._path(key), self.root), (self._meta_path(key), self._meta)):
                try:
                    os.unlink(path)
                except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                    continue
                self._prune(path.parent, top)

    @staticmethod
    def _prune(folder: Path, top: Path) -> None:
        # Remove folders emptied by the delete, bottom up; stop at the first non-empty one.
        while folder != top and top in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every object under a string prefix, in key order, with key and size only
        (``stat`` gives digest and metadata). Temp files and sidecars are never listed.

        The walk is lazy and ordered: sorting a folder's entries with ``/`` appended to
        sub-folder names gives exactly the byte order of the full keys beneath them.
        """
        validate_prefix(prefix)
        base = prefix.rpartition("/")[0]
        async for info in self._walk(base, prefix):
            yield info

    async def _walk(self, rel: str, prefix: str) -> AsyncIterator[BlobInfo]:
        entries = await _io(self._scan, rel)
        for _order, name, is_dir, size in entries:
            key = f"{rel}/{name}" if rel else name
            if not rel and name in (_TMP, _META):
                continue
            if is_dir:
                folder = key + "/"
                if folder.startswith(prefix) or prefix.startswith(folder):
                    async for info in self._walk(key, prefix):
                        yield info
            elif key.startswith(prefix):
                yield BlobInfo(key, listed_size(size) if self._scope(key) is not None else size)

    def _scan(self, rel: str) -> _Entries:
        folder = self.root / rel if rel else self.root
        out: _Entries = []
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            out.append((entry.name + "/", entry.name, True, 0))
                        elif entry.is_file(follow_symlinks=False):
                            size = entry.stat(follow_symlinks=False).st_size
                            out.append((entry.name, entry.name, False, size))
                    except FileNotFoundError:
                        continue  # removed while we looked
        except (FileNotFoundError, NotADirectoryError):
            return []
        out.sort()
        return out

    # -- resumable appends ---------------------------------------------------------------
    #
    # <root>/.tmp/appends/<handle>.part     the bytes so far (fsynced before append returns)
    # <root>/.tmp/appends/<handle>.lock     flock of the request being served (append.HandleLock)
    # <root>/.tmp/appends/<handle>.pending  size before a checksummed request, present only while
    #                                       its bytes are unverified: a crash then truncates back

    def _append_path(self, handle: str, suffix: str) -> Path:
        return self._tmp / _APPENDS / f"{handle}{suffix}"

    def _durable_size(self, handle: str) -> int:
        if self._sealed is not None and self._handle_scope(handle) is not None:
            return self._sealed.durable_size(handle)
        pending = self._append_path(handle, ".pending")
        try:
            return int(pending.read_text())
        except (FileNotFoundError, ValueError):
            pass
        try:
            return os.stat(self._append_path(handle, ".part")).st_size
        except FileNotFoundError as exc:
            raise NotFound(f"append:{handle}") from exc

    async def _lock_handle(self, handle: str, offset: int = -1) -> HandleLock:
        lock = HandleLock(self._append_path(handle, ".lock"))
        await _io(self._append_path(handle, "").parent.mkdir, 0o777, True, True)
        if not await lock.acquire():
            size = await _io(self._durable_size, handle)
            raise OffsetMismatch(size, offset)
        return lock

    async def append_open(self, handle: str) -> AppendState:
        """Create ``.tmp/appends/<handle>.part`` if missing; its durable size (see the port)."""
        validate_handle(handle)
        scope = self._handle_scope(handle)
        if self._sealed is not None and scope is not None:
            return await self._sealed.append_open(handle, scope)
        return AppendState(handle, await _io(self._append_open_sync, handle))

    def _append_open_sync(self, handle: str) -> int:
        part = self._append_path(handle, ".part")
        part.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            fsync_dir(part.parent)
        return self._durable_size(handle)

    def _recover(self, handle: str, lock: HandleLock) -> int:
        """Under the lock: undo a checksummed request a crash left unverified; the size."""
        part = self._append_path(handle, ".part")
        pending = self._append_path(handle, ".pending")
        if not part.exists():
            lock.remove()
            pending.unlink(missing_ok=True)
            raise NotFound(f"append:{handle}")
        try:
            before = int(pending.read_text())
        except (FileNotFoundError, ValueError):
            return part.stat().st_size
        with open(part, "r+b") as f:
            f.truncate(before)
            os.fsync(f.fileno())
        pending.unlink()
        return before

    async def append(
        self,
        handle: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        checksum: Checksum | None = None,
        limit: int | None = None,
    ) -> AppendState:
        """Append to the part file at ``offset`` (see the port for the rules).

        Written in batches of ``batch_bytes`` per thread hop and fsynced once before returning.
        A rejected request (checksum, limit) truncates the file back to its size before.
        """
        validate_handle(handle)
        if self._sealed is not None and self._handle_scope(handle) is not None:
            return await self._sealed.append(
                handle, chunks, offset=offset, checksum=checksum, limit=limit
            )
        lock = await self._lock_handle(handle, offset)
        f: IO[bytes] | None = None
        try:
            size = await _io(self._recover, handle, lock)
            if size != offset:
                raise OffsetMismatch(size, offset)
            f = await _io(self._open_part, handle, checksum is not None, size)
        except BaseException:
            if f is not None:
                f.close()
            lock.release()
            raise
        check = RequestCheck(size, self._hashes.get(handle, size), checksum, limit)
        pipeline = Pipeline(
            functools.partial(self._write_append_batch, f), check, window=self._append_window
        )
        try:
            state = await self._append_into(handle, f, check, pipeline, chunks)
        except Exception:
            f.close()
            lock.release()
            raise
        except BaseException:
            # Cancelled: this task may not await any more, but a thread may still be writing.
            self._hashes.drop(handle)
            finish_later(self._after_cancel(handle, f, check, pipeline, lock))
            raise
        f.close()
        lock.release()
        return state

    def _open_part(self, handle: str, checksummed: bool, size: int) -> IO[bytes]:
        if checksummed:
            pending = self._append_path(handle, ".pending")
            with open(pending, "w") as p:
                p.write(str(size))
                p.flush()
                os.fsync(p.fileno())
            fsync_dir(pending.parent)
        # Unbuffered: a failed write leaves nothing in a buffer that a later close would write.
        f = open(self._append_path(handle, ".part"), "r+b", buffering=0)  # noqa: SIM115
        f.seek(size)
        return f

    async def _append_into(
        self,
        handle: str,
        f: IO[bytes],
        check: RequestCheck,
        pipeline: Pipeline,
        chunks: AsyncIterator[bytes],
    ) -> AppendState:
        size = check.size_before
        checksummed = check.checksum is not None
        try:
            try:
                async for batch in batches(chunks, self._append_batch_bytes):
                    check.check(batch)
                    await pipeline.submit(batch)
                await pipeline.drain()
            except OSError as exc:
                raise from_os_error(self.name, exc) from exc
            check.verify()
        except (SizeExceeded, ChecksumMismatch):
            await pipeline.settle()
            await _io(self._truncate_part, handle, f, size)
            raise
        except Exception:
            # A dropped connection (or a failed write): keep what arrived, unless it cannot be
            # verified against a checksum.
            await pipeline.settle()
            if checksummed:
                await _io(self._truncate_part, handle, f, size)
            else:
                kept = await _io(self._sync_part, handle, f, False)
                self._hashes.set(
                    handle, kept, check.whole if kept == size + check.received else None
                )
            raise
        total = await _io(self._sync_part, handle, f, checksummed)
        self._hashes.set(handle, total, check.whole)
        return AppendState(handle, total)

    async def _after_cancel(
        self, handle: str, f: IO[bytes], check: RequestCheck, pipeline: Pipeline, lock: HandleLock
    ) -> None:
        try:
            await pipeline.settle()
            if check.checksum is not None:
                await asyncio.to_thread(self._truncate_part, handle, f, check.size_before)
            else:
                await asyncio.to_thread(self._sync_part, handle, f, False)
        except OSError:
            pass  # the next request recovers (pending marker) or sees the size on disk
        finally:
            f.close()
            lock.release()

    @staticmethod
    def _write_append_batch(f: IO[bytes], batch: _Batch) -> None:
        putpipe.append_batch(f.fileno(), [batch])  # f is unbuffered: at its position, in order

    def _sync_part(self, handle: str, f: IO[bytes], checksummed: bool) -> int:
        os.fsync(f.fileno())
        if checksummed:
            self._append_path(handle, ".pending").unlink(missing_ok=True)
        return os.fstat(f.fileno()).st_size

    def _truncate_part(self, handle: str, f: IO[bytes], size: int) -> None:
        f.truncate(size)
        f.seek(size)
        os.fsync(f.fileno())
        self._append_path(handle, ".pending").unlink(missing_ok=True)

    async def append_finish(
        self,
        handle: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        """Rename the part file into place as ``key`` (same filesystem: no copy) with its
        sidecar, exactly as ``put`` commits; the SHA-256 is the running one of this process or
        recomputed by reading the part file."""
        validate_handle(handle)
        validate_key(key)
        meta = validate_metadata(metadata)
        if self._sealed is not None and self._handle_scope(handle) is not None:
            if self._scope(key) is None:
                raise InvalidKey(f"封印された追記は封印されるキーにだけ確定できます: {key!r}")
            return await self._sealed.append_finish(handle, key, content_type, meta)
        if self._scope(key) is not None:
            # An upload begun before sealing was turned on, finished into a sealed key: its
            # plaintext goes through a sealed put (a copy, once), then the handle is dropped.
            part = self._append_path(handle, ".part")
            if not await _io(part.exists):
                raise NotFound(f"append:{handle}")
            info = await self.put(
                key,
                read_file(part, self._batch_bytes),
                content_type=content_type,
                metadata=meta,
            )
            await self.append_abort(handle)
            return info
        lock = await self._lock_handle(handle)
        try:
            size = await _io(self._recover, handle, lock)
            running = self._hashes.get(handle, size)
            part = self._append_path(handle, ".part")
            if running is None:
                whole, read = await _io(sha256_of, part)
                if read != size:
                    raise BackendUnavailable(self.name, f"{part} changed while finishing")
                sha = str(whole.hexdigest())
            else:
                sha = str(running.hexdigest())
            info = BlobInfo(key, size, sha, content_type, meta)
            await _io(self._finish_sync, part, info)
            self._hashes.drop(handle)
            lock.remove()
            return info
        finally:
            lock.release()

    def _finish_sync(self, part: Path, info: BlobInfo) -> None:
        f = open(part, "rb")  # noqa: SIM115 - _commit closes it
        try:
            self._commit(f, part, info)
        finally:
            f.close()
        fsync_dir(part.parent)

    async def append_abort(self, handle: str) -> None:
        """Remove the part file (and its marker); absent is not an error."""
        validate_handle(handle)
        lock = await self._lock_handle(handle)
        try:

            def remove() -> None:
                for suffix in (".part", ".pending", ".seal"):
                    self._append_path(handle, suffix).unlink(missing_ok=True)
                lock.remove()

            await _io(remove)
            self._hashes.drop(handle)
        finally:
            lock.release()

    async def append_handles(self) -> AsyncIterator[str]:
        """Every open append handle, in name order."""

        def names() -> _Names:
            folder = self._tmp / _APPENDS
            if not folder.is_dir():
                return []
            return sorted(p.name[: -len(".part")] for p in folder.glob("*.part"))

        for name in await _io(names):
            yield name
