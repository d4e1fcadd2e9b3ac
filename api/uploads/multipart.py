"""Plain multipart upload for small files: ``POST /works/{work_id}/files``.

Fields: ``file`` parts (any field name with a file name; several per request), ``folder``
(target folder path) and ``on_conflict`` (rename | replace | error). Each file part streams
through a push parser straight into the blob port (never a whole part in memory); all the
files are placed in one unit of work after the body ended, so a bad part stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from fastapi import APIRouter, Request
from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from api.archive.cas import upload_key
from api.archive.models import clean_name
from api.archive.nodes import NodeService
from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.errors import KuraError, ValidationFailed
from api.uploads.limits import FileTooLarge, QuotaExceeded, limits_of
from api.uploads.schemas import FileRead, folder_of, parse_on_conflict
from api.uploads.service import UploadService
from storage.ports import BlobInfo

router = APIRouter(tags=["uploads"])

MAX_FIELD_BYTES = 4096
MAX_PART_HEADERS = 16
QUEUE_CHUNKS = 4


class NotMultipart(KuraError):
    status = 415
    code = "unsupported_media_type"
    title = "multipart/form-data で送信してください。"


@dataclass
class _Part:
    headers: dict[bytes, bytes] = dc_field(default_factory=dict)
    field: str = ""
    filename: str | None = None
    content_type: str = ""
    size: int = 0
    value: bytearray = dc_field(default_factory=bytearray)
    queue: asyncio.Queue[bytes | None] | None = None
    task: asyncio.Task[BlobInfo] | None = None


@dataclass
class _Received:
    name: str
    content_type: str
    info: BlobInfo


class _Reader:
    """Feeds the push parser and turns its callbacks into streamed blob writes."""

    def __init__(
        self, container: Container, boundary: bytes, max_file: int, max_files: int, scope: str
    ):
        self.blobs = container.blobs
        self.scope = scope  # every file is written under it (sealed with its key)
        self.max_file = max_file
        self.max_files = max_files
        self.events: list[tuple[str, Any]] = []
        self.fields: dict[str, str] = {}
        self.files: list[_Received] = []
        self.part: _Part | None = None
        self._header_field = bytearray()
        self._header_value = bytearray()
        ev = self.events
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": lambda: ev.append(("begin", None)),
                "on_part_data": lambda d, s, e: ev.append(("data", bytes(d[s:e]))),
                "on_part_end": lambda: ev.append(("end", None)),
                "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": lambda: ev.append(("headers", None)),
            },
            max_header_count=MAX_PART_HEADERS,
        )

    def _header_end(self) -> None:
        self.events.append(("header", (bytes(self._header_field), bytes(self._header_value))))
        self._header_field.clear()
        self._header_value.clear()

    async def feed(self, chunks: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in chunks:
                self.parser.write(chunk)
                await self._drain()
            self.parser.finalize()
        except ParseError as exc:
            # A malformed body (too many part headers, a broken boundary) is the client's.
            raise ValidationFailed(
                f"multipart/form-data の形式が正しくありません（各部分のヘッダーは"
                f"{MAX_PART_HEADERS}個まで）。"
            ) from exc
        await self._drain()

    async def _drain(self) -> None:
        events, self.events[:] = list(self.events), []
        for kind, value in events:
            if kind == "begin":
                self.part = _Part()
            elif kind == "header" and self.part is not None:
                self.part.headers[value[0].lower()] = value[1]
            elif kind == "headers" and self.part is not None:
                self._start(self.part)
            elif kind == "data" and self.part is not None:
                await self._data(self.part, value)
            elif kind == "end" and self.part is not None:
                await self._end(self.part)
                self.part = None

    def _start(self, part: _Part) -> None:
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.field = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if len(self.files) >= self.max_files:
            raise ValidationFailed(f"一度に送れるファイルは {self.max_files} 個までです。")
        try:
            raw = options[b"filename"].decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("ファイル名の文字コードが正しくありません。") from None
        # Browsers send only the base name; older ones sent a full Windows path.
        part.filename = clean_name(raw)
        part.content_type = part.headers.get(b"content-type", b"").decode("latin-1").strip()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)
        part.queue = queue

        async def chunks() -> AsyncIterator[bytes]:
            while (item := await queue.get()) is not None:
                yield item

        part.task = asyncio.ensure_future(
            self.blobs.put(
                upload_key(self.scope),
                chunks(),
                content_type=part.content_type or "application/octet-stream",
            )
        )

    async def _data(self, part: _Part, data: bytes) -> None:
        part.size += len(data)
        if part.queue is None:
            if part.size > MAX_FIELD_BYTES:
                raise ValidationFailed(f"項目「{part.field[:40]}」の値が長すぎます。")
            part.value.extend(data)
            return
        if part.size > self.max_file:
            raise FileTooLarge(None, self.max_file)
        await self._put(part, data)

    async def _put(self, part: _Part, item: bytes | None) -> None:
        assert part.queue is not None
        assert part.task is not None
        put = asyncio.ensure_future(part.queue.put(item))
        done, _ = await asyncio.wait({put, part.task}, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:
            put.cancel()
            part.task.result()  # the writer failed: raise its error
            raise RuntimeError("blob writer ended early")

    async def _end(self, part: _Part) -> None:
        if part.queue is None:
            try:
                self.fields[part.field] = part.value.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed(
                    f"項目「{part.field[:40]}」が UTF-8 ではありません。"
                ) from None
            return
        assert part.task is not None
        assert part.filename is not None
        await self._put(part, None)
        info = await part.task
        self.files.append(_Received(part.filename, part.content_type, info))

    async def discard(self) -> None:
        """Remove everything written for this request (after a failure)."""
        if self.part is not None and self.part.task is not None:
            self.part.task.cancel()
            with contextlib.suppress(BaseException):
                await self.part.task
        for received in self.files:
            with contextlib.suppress(Exception):
                await self.blobs.delete(received.info.key)


@router.post("/works/{work_id}/files", status_code=201, response_model=list[FileRead])
async def upload_files(
    request: Request, container: ContainerDep, subject: SubjectDep, work_id: str
) -> list[FileRead]:
    """Small files in one ``multipart/form-data`` request; all placed or none."""
    nodes = NodeService(container)
    work = await nodes.work(subject, work_id, "files.write")
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise NotMultipart()
    limits = limits_of(container.settings)
    scope = await nodes.scope_for(work)
    reader = _Reader(container, boundary, limits.max_form_file_bytes, limits.max_form_files, scope)
    try:
        await reader.feed(request.stream())
        if not reader.files:
            raise ValidationFailed("ファイルがありません。")
        folder = folder_of(reader.fields.get("folder"))
        on_conflict = parse_on_conflict(reader.fields.get("on_conflict"))
        adding = sum(r.info.size for r in reader.files)
        service = UploadService(container)
        used = await service.used_bytes(work_id)
        if used + adding > limits.work_quota_bytes:
            raise QuotaExceeded(used, adding, limits.work_quota_bytes)
        placed = []
        async with container.uow() as uow:
            for received in reader.files:
                node = await nodes.add_file(
                    subject,
                    work,
                    folder,
                    received.name,
                    received.info,
                    uow=uow,
                    scope=scope,
                    on_conflict=on_conflict,
                    declared_type=received.content_type,
                )
                placed.append(node)
    except BaseException:
        await reader.discard()
        raise
    return [FileRead.model_validate(node) for node in placed]
