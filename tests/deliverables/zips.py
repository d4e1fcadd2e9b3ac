"""Build hostile and ordinary ZIPs inside the tests (no fixture files)."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from collections.abc import Iterable

Item = tuple[str | bytes, bytes]


def make_zip(items: Iterable[Item], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of ``(name, data)``; a ``bytes`` name is written raw with flag bit 11 clear
    (zipfile itself would write UTF-8 with the flag), a name ending in ``/`` is a folder."""
    buf = io.BytesIO()
    raw_names: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buf, "w", method) as zf:
        for n, (name, data) in enumerate(items):
            if isinstance(name, bytes):
                # Same-length ASCII placeholder, patched to the raw bytes afterwards (the
                # name appears in the local header and the central directory, without CRC).
                holder = f"~{n:06d}~".encode().ljust(len(name), b"~")[: len(name)]
                assert len(holder) == len(name) >= 8, "raw names need >= 8 bytes"
                raw_names.append((holder, name))
                name = holder.decode()
            zf.writestr(zipfile.ZipInfo(name) if name.endswith("/") else name, data)
    out = buf.getvalue()
    for holder, raw in raw_names:
        assert out.count(holder) == 2
        out = out.replace(holder, raw)
    return out


def with_mode(name: str, mode: int, data: bytes = b"target") -> bytes:
    """A ZIP whose single entry carries a Unix file type (symlink, device...)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (mode | 0o777) << 16
        zf.writestr(info, data)
    return buf.getvalue()


def symlink_zip(name: str = "link") -> bytes:
    return with_mode(name, stat.S_IFLNK, b"/etc/passwd")


def lying_sizes(data: bytes, claimed: int) -> bytes:
    """One deflated entry whose headers claim ``claimed`` uncompressed bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", data)
    out = bytearray(buf.getvalue())
    local = out.find(b"PK\x03\x04")
    central = out.find(b"PK\x01\x02")
    struct.pack_into("<I", out, local + 22, claimed)
    struct.pack_into("<I", out, central + 24, claimed)
    return bytes(out)
