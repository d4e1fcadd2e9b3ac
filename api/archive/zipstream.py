"""A minimal streaming ZIP writer: forward-only output, flat memory, zip64 when needed.

Each entry is a local header with a data descriptor (flag bit 3: CRC-32 and sizes follow the
data, computed while streaming) and the UTF-8 flag (bit 11: names stored exactly as given,
Japanese included). Entries are STORED or DEFLATEd (raw deflate). The central directory is
written at the end; zip64 extra fields, the zip64 end record and its locator appear as soon
as a size, an offset or the entry count passes the 32/16-bit limits (APPNOTE 6.3.x §4.3.9,
§4.4.3, §4.5.3). Memory held per entry is its central-directory record (~80 bytes + name).

``base_offset`` pretends the archive starts that far into a stream; tests use it to prove
the zip64 offsets are right without writing 4 GiB.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import anyio

STORED = 0
DEFLATED = 8
_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF
_FLAGS = 0x0008 | 0x0800  # data descriptor, UTF-8 names
_MADE_BY = (3 << 8) | 45  # Unix, spec 4.5
_FILE_ATTR = (0o100644 << 16) & 0xFFFFFFFF
_DIR_ATTR = ((0o40755 << 16) | 0x10) & 0xFFFFFFFF
# Already-compressed types gain nothing from DEFLATE (measured in bench/bench_export.py).
_PACKED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/zip",
    "application/x-7z-compressed",
    "application/gzip",
    "application/x-rar",
    "application/pdf",
    "video/",
    "audio/",
    "application/vnd.openxmlformats",
)
JST = timezone(timedelta(hours=9))


def already_compressed(media_type: str) -> bool:
    return media_type.lower().startswith(_PACKED_TYPES)


def dos_time(when: datetime | None) -> tuple[int, int]:
    """MS-DOS (time, date) in Japan time (ZIP stores local time without a zone)."""
    local = (when or datetime(1980, 1, 1, tzinfo=UTC)).astimezone(JST)
    if local.year < 1980:
        local = datetime(1980, 1, 1, tzinfo=JST)
    if local.year > 2107:
        local = datetime(2107, 12, 31, 23, 59, 58, tzinfo=JST)
    time = (local.hour << 11) | (local.minute << 5) | (local.second // 2)
    date = ((local.year - 1980) << 9) | (local.month << 5) | local.day
    return time, date


class ZipWriter:
    """Yields the bytes of one archive: ``directory``/``file`` per entry, then ``finish``."""

    def __init__(self, base_offset: int = 0) -> None:
        self.offset = base_offset
        self.count = 0
        self._central: list[bytes] = []
        self._names: set[str] = set()
        self.last_crc32 = 0

    def _local(self, name: bytes, method: int, time: int, date: int, zip64: bool) -> bytes:
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if zip64 else b""
        size = _LIMIT32 if zip64 else 0
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45 if zip64 else 20,
            _FLAGS,
            method,
            time,
            date,
            0,
            size,
            size,
            len(name),
            len(extra),
        )
        return header + name + extra

    def _central_record(
        self,
        name: bytes,
        method: int,
        time: int,
        date: int,
        crc: int,
        csize: int,
        usize: int,
        offset: int,
        attr: int,
    ) -> bytes:
        extra_fields: list[int] = []
        if usize >= _LIMIT32:
            extra_fields.append(usize)
        if csize >= _LIMIT32:
            extra_fields.append(csize)
        if offset >= _LIMIT32:
            extra_fields.append(offset)
        extra = b""
        if extra_fields:
            extra = struct.pack(f"<HH{len(extra_fields)}Q", 1, 8 * len(extra_fields), *extra_fields)
        return (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                _MADE_BY,
                45 if extra else 20,
                _FLAGS,
                method,
                time,
                date,
                crc,
                min(csize, _LIMIT32),
                min(usize, _LIMIT32),
                len(name),
                len(extra),
                0,
                0,
                0,
                attr,
                min(offset, _LIMIT32),
            )
            + name
            + extra
        )

    def _name(self, name: str) -> bytes:
        if name in self._names:
            raise ValueError(f"duplicate entry {name!r}")
        self._names.add(name)
        return name.encode("utf-8")

    def directory(self, name: str, modified: datetime | None = None) -> bytes:
        """A folder entry (``name`` ends with ``/``), so empty folders survive."""
        if not name.endswith("/"):
            name += "/"
        raw = self._name(name)
        time, date = dos_time(modified)
        start = self.offset
        out = self._local(raw, STORED, time, date, False)
        out += struct.pack("<IIII", 0x08074B50, 0, 0, 0)
        self._central.append(
            self._central_record(raw, STORED, time, date, 0, 0, 0, start, _DIR_ATTR)
        )
        self.offset += len(out)
        self.count += 1
        return out

    async def file(
        self,
        name: str,
        chunks: AsyncIterator[bytes],
        size_hint: int,
        modified: datetime | None = None,
        compress: bool = False,
        level: int = 1,
        crc32: int | None = None,
    ) -> AsyncIterator[bytes]:
        """One file entry, streamed. ``size_hint`` (the expected size) decides zip64 up front;
        the sizes written are the bytes actually seen. ``crc32``, when known from an earlier
        pass over the same content, saves computing it (a ZIP reader still checks it);
        ``last_crc32`` holds the value written."""
        raw = self._name(name)
        method = DEFLATED if compress else STORED
        time, date = dos_time(modified)
        # DEFLATE can grow incompressible data by a few bytes per 16 KiB block.
        zip64 = size_hint + (size_hint >> 10) + 1024 >= _LIMIT32
        start = self.offset
        header = self._local(raw, method, time, date, zip64)
        self.offset += len(header)
        yield header
        crc = usize = csize = 0
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15) if compress else None
        async for chunk in chunks:
            if not chunk:
                continue
            if crc32 is None:
                crc = zlib.crc32(chunk, crc)
            usize += len(chunk)
            # DEFLATE runs at tens of MiB/s: off the event loop (zlib releases the GIL).
            out = await anyio.to_thread.run_sync(deflater.compress, chunk) if deflater else chunk
            if out:
                csize += len(out)
                self.offset += len(out)
                yield out
        if deflater is not None:
            tail = deflater.flush()
            if tail:
                csize += len(tail)
                self.offset += len(tail)
                yield tail
        if crc32 is not None:
            crc = crc32
        self.last_crc32 = crc
        if not zip64 and (usize >= _LIMIT32 or csize >= _LIMIT32):
            raise ValueError(f"{name!r} grew past 4 GiB beyond its declared size")
        if zip64:
            desc = struct.pack("<IIQQ", 0x08074B50, crc, csize, usize)
        else:
            desc = struct.pack("<IIII", 0x08074B50, crc, csize, usize)
        self.offset += len(desc)
        yield desc
        self._central.append(
            self._central_record(raw, method, time, date, crc, csize, usize, start, _FILE_ATTR)
        )
        self.count += 1

    def finish(self) -> bytes:
        """The central directory and the end records (zip64 ones when needed)."""
        cd_start = self.offset
        cd = b"".join(self._central)
        self._central.clear()
        cd_size = len(cd)
        out = cd
        end64_at = cd_start + cd_size
        if self.count >= _LIMIT16 or cd_start >= _LIMIT32 or cd_size >= _LIMIT32:
            out += struct.pack(
                "<IQHHIIQQQQ",
                0x06064B50,
                44,
                _MADE_BY,
                45,
                0,
                0,
                self.count,
                self.count,
                cd_size,
                cd_start,
            )
            out += struct.pack("<IIQI", 0x07064B50, 0, end64_at, 1)
        out += struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            min(self.count, _LIMIT16),
            min(self.count, _LIMIT16),
            min(cd_size, _LIMIT32),
            min(cd_start, _LIMIT32),
            0,
        )
        self.offset += len(out)
        return out
