"""Where backup generations are kept (issue 12 §3: "to a folder or an S3 bucket").

``BackupStore`` is what ``api.backup`` needs of a place: files by slash-separated name, written
whole (a reader never sees half a file), read whole or in ranges, listed by prefix, deleted.
Two adapters:

- ``FolderStore``: a folder (a local disk, a NAS mount); the names are the paths below it.
- ``BucketStore``: an S3 bucket through the blob port's S3 adapter without sealing
  (``storage.blobs.s3``, the only minio user), on the endpoint of ``KURA_BACKUP__S3_*`` (by
  default the blobs' own endpoint and credentials: point it at another site for a real
  off-site copy).

A generation is complete once its ``manifest.sha256`` exists: it is written last and deleted
first, so a listing never shows half a generation, on either adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from api.config import Settings
from api.kit.secretfile import sync_parent
from storage.errors import NotFound
from storage.ports import BlobStore

CHUNK = 1 << 20


class BackupStore(Protocol):
    """Files of backup generations by name."""

    def describe(self) -> str:
        """Where it is (a path or ``s3://bucket``), for messages."""
        ...

    async def open(self) -> None:
        """Connect (an S3 bucket is created when missing)."""
        ...

    async def close(self) -> None: ...

    async def names(self, prefix: str) -> list[str]:
        """Every file name under ``prefix``, sorted."""
        ...

    async def exists(self, name: str) -> bool: ...

    async def put_file(self, name: str, source: Path) -> None:
        """Store a local file under ``name``, whole or not at all."""
        ...

    async def put_bytes(self, name: str, data: bytes) -> None: ...

    async def read_bytes(self, name: str) -> bytes:
        """A small file whole; ``FileNotFoundError`` when absent."""
        ...

    def stream(self, name: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` of a file, in chunks; ``FileNotFoundError`` when absent."""
        ...

    async def delete(self, name: str) -> None:
        """Delete a file; absent is fine."""
        ...

    async def create_exclusive(self, name: str, data: bytes) -> bool | None:
        """Write a small file only if ``name`` does not exist: True when written, False when
        it exists; None when written without that guarantee (a store that cannot tell: the
        caller reads it back after a pause, ``api.backup.lock``)."""
        ...


class FolderStore:
    """Backup files in a folder: ``<root>/<name>``; written to a temp file and renamed."""

    def __init__(self, root: Path, mode: int | None = None) -> None:
        self.root = root
        self.mode = mode  # of the root folder (0700 for keys)

    def describe(self) -> str:
        return str(self.root)

    async def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.mode is not None:
            os.chmod(self.root, self.mode)

    async def close(self) -> None:
        return None

    def path(self, name: str) -> Path:
        return self.root / name

    async def names(self, prefix: str) -> list[str]:
        def walk() -> list[str]:
            base = self.root / prefix.rpartition("/")[0]
            if not base.is_dir():
                return []
            out = []
            for path in base.rglob("*"):
                if not path.is_file():
                    continue
                name = path.relative_to(self.root).as_posix()
                if name.startswith(prefix) and not any(
                    part.startswith(".") for part in name.split("/")
                ):
                    out.append(name)
            return sorted(out)

        return await asyncio.to_thread(walk)

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(self.path(name).is_file)

    def _place(self, name: str, write: object) -> None:
        dest = self.path(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.urandom(6).hex()}.part")
        try:
            if isinstance(write, Path):
                with open(write, "rb") as src, open(tmp, "wb") as out:
                    while block := src.read(CHUNK):
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
            else:
                assert isinstance(write, bytes)
                with open(tmp, "wb") as out:
                    out.write(write)
                    out.flush()
                    os.fsync(out.fileno())
            if self.mode is not None:
                os.chmod(tmp, 0o600)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        sync_parent(dest)

    async def put_file(self, name: str, source: Path) -> None:
        await asyncio.to_thread(self._place, name, source)

    async def put_bytes(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._place, name, data)

    async def read_bytes(self, name: str) -> bytes:
        return await asyncio.to_thread(self.path(name).read_bytes)

    async def stream(
        self, name: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        with open(self.path(name), "rb") as f:  # noqa: ASYNC230 (a command-line process)
            f.seek(start)
            left = (end if end is not None else os.fstat(f.fileno()).st_size) - start
            while left > 0:
                block = f.read(min(CHUNK, left))
                if not block:
                    break
                left -= len(block)
                yield block

    async def delete(self, name: str) -> None:
        def remove() -> None:
            path = self.path(name)
            path.unlink(missing_ok=True)
            # Drop emptied folders up to the root (a pruned generation leaves none behind).
            parent = path.parent
            while parent != self.root and parent.is_dir():
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

        await asyncio.to_thread(remove)

    async def create_exclusive(self, name: str, data: bytes) -> bool | None:
        def create() -> bool:
            path = self.path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            sync_parent(path)
            return True

        return await asyncio.to_thread(create)


class BucketStore:
    """Backup files as objects of an S3 bucket (an unsealed ``S3BlobStore``): the stored
    bytes go up as they are, so sealed objects stay ciphertext in the bucket."""

    def __init__(self, blobs: BlobStore, bucket: str) -> None:
        self.blobs = blobs
        self.bucket = bucket

    def describe(self) -> str:
        return f"s3://{self.bucket}"

    async def open(self) -> None:
        await self.blobs.open()

    async def close(self) -> None:
        await self.blobs.close()

    async def names(self, prefix: str) -> list[str]:
        return sorted([info.key async for info in self.blobs.list(prefix)])

    async def exists(self, name: str) -> bool:
        return await self.blobs.stat(name) is not None

    async def put_file(self, name: str, source: Path) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            with open(source, "rb") as f:  # noqa: ASYNC230 (a command-line process)
                while block := f.read(CHUNK):
                    yield block

        await self.blobs.put(name, chunks())

    async def put_bytes(self, name: str, data: bytes) -> None:
        async def one() -> AsyncIterator[bytes]:
            yield data

        await self.blobs.put(name, one())

    async def read_bytes(self, name: str) -> bytes:
        return b"".join([chunk async for chunk in self.stream(name)])

    async def stream(
        self, name: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.blobs.get(name, start, end):
                yield chunk
        except NotFound:
            raise FileNotFoundError(f"s3://{self.bucket}/{name}") from None

    async def delete(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            await self.blobs.delete(name)

    async def create_exclusive(self, name: str, data: bytes) -> bool | None:
        """A conditional PUT (``If-None-Match: *``) where the adapter has one. A second one
        tells whether the server honours the header: a server that does answers 412 (the
        file is ours), one that ignores it writes the same bytes again (harmless) and the
        answer is None: the caller verifies, as with a plain put."""
        put_if_absent = getattr(self.blobs, "put_if_absent", None)
        if put_if_absent is None:
            if await self.exists(name):
                return False
            await self.put_bytes(name, data)
            return None
        if not await put_if_absent(name, data):
            return False
        if await put_if_absent(name, data):
            return None
        return True


def bucket_store(settings: Settings, bucket: str) -> BucketStore:
    """An S3 bucket of backups on ``KURA_BACKUP__S3_*`` (each unset one: the blobs' own)."""
    b, blobs = settings.backup, settings.blobs
    cls = importlib.import_module("storage.blobs.s3").S3BlobStore
    store: BlobStore = cls(
        endpoint=b.s3_endpoint or blobs.s3_endpoint,
        access_key=(b.s3_access_key or blobs.s3_access_key).get_secret_value(),
        secret_key=(b.s3_secret_key or blobs.s3_secret_key).get_secret_value(),
        bucket=bucket,
        secure=blobs.s3_secure if b.s3_secure is None else b.s3_secure,
        region=b.s3_region or blobs.s3_region,
        part_size=max(blobs.part_size, 5 << 20),
        spool_dir=Path(tempfile.gettempdir()) / f"kura-backup-spool-{bucket}",
    )
    return BucketStore(store, bucket)
