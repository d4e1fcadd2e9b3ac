"""Content checks: rules 22-25 and 29.

- Rule 22 (E): every photo (PHOTO, REGISTER) is decoded whole, so a truncated JPEG is an
  error, not only a bad header (issue 8 item 7). libjpeg decodes at 1/8 scale (``draft``):
  every entropy-coded byte is still read and checked, only the inverse DCT is cheaper. (W)
  pixel count far above the 1-3 MP guidance.
- Rule 23 (W): EXIF DateTimeOriginal against 撮影年月日.
- Rule 24 (E): PDFs without password or security (an ``/Encrypt`` dictionary).
- Rule 25 (W): photos that claim JACIC 小黒板情報電子化 (XMP in the namespace
  ``http://dcpadv.org/schema/…/photoinfo``, §2.2 rule 25; Goyo reads ``photo:*`` there) must
  carry the 改ざん検知 hash; checking the hash needs the JACIC 信憑性確認 procedure, which is
  licensed and not published, so it runs only through a ``BlackboardVerifier`` an operator
  plugs in, and is reported "not run" otherwise, never passed silently.
- Rule 29: every file through a ``Scanner`` (``clamd.ClamdScanner`` when configured); without
  one the report says the scan was not run (N), never that the files are clean.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as defused  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from indexer.extract.deliverable import rules as R
from indexer.extract.deliverable.state import HEAD, MAX_XML, TAIL, Run
from indexer.extract.deliverable.tree import Entry

PIXELS_WARN = 6_000_000
MAX_DECODE_PIXELS = 200_000_000  # decompression bombs: dimensions read, pixels not decoded
SCAN_CHUNK = 1 << 20
DECODE_THREADS = max(1, min(4, os.cpu_count() or 1))
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_BLACKBOARD_NS = re.compile(r"^\{http://dcpadv\.org/schema/[0-9.]+/photoinfo\}")
_HASH_NAME = re.compile(r"\}hashcode$", re.I)


def reads_for(entry: Entry) -> list[tuple[int, int | None]]:
    """Byte ranges the validator reads from a file: whole XMLs and JPEGs, the head and tail
    of PDFs. (The virus scan, when configured, reads every file whole besides.)"""
    upper = entry.path.upper()
    if entry.is_dir or entry.unsafe:
        return []
    if upper.endswith(".XML"):
        return [(0, None)] if entry.size <= MAX_XML else []
    if upper.endswith((".JPG", ".JPEG")):
        return [(0, None)]
    if upper.endswith(".PDF"):
        tail = max(0, entry.size - TAIL)
        return [(0, HEAD), (tail, entry.size)] if tail > HEAD else [(0, None)]
    return []


# ports ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Blackboard:
    """What a photo's XMP says about its 小黒板情報."""

    fields: dict[str, str]
    hash_code: str | None


class BlackboardVerifier(Protocol):
    name: str

    def verify(self, data: bytes, board: Blackboard) -> bool:
        """Whether the photo's 改ざん検知 hash matches its content (JACIC 信憑性確認)."""


@dataclass(frozen=True)
class ScanResult:
    status: Literal["clean", "infected", "error"]
    signature: str = ""
    detail: str = ""


class Scanner(Protocol):
    name: str

    def scan(self, chunks: Iterator[bytes]) -> ScanResult:
        """Scan one file given as a stream of chunks."""


# rule 22, 23, 25 -------------------------------------------------------------------------------
def blackboard(data: bytes) -> Blackboard | None:
    """The 小黒板情報 of a JPEG (XMP ``photo:*`` fields and a ``hashCode``), or None."""
    packet = _xmp_packet(data)
    if packet is None or b"dcpadv.org/schema" not in packet:
        return None
    text = packet.decode("utf-8", errors="replace")
    text = re.sub(r"<\?xpacket[^>]*\?>", "", text).strip()
    try:
        root = defused.fromstring(text)
    except (ParseError, DefusedXmlException):
        return Blackboard({}, None)
    fields: dict[str, str] = {}
    hash_code: str | None = None
    for elem in root.iter():
        tag = elem.tag if isinstance(elem.tag, str) else ""
        for name, value in [(tag, "".join(elem.itertext()).strip()), *elem.attrib.items()]:
            if _BLACKBOARD_NS.match(name) and value and not len(elem):
                fields[name.rsplit("}", 1)[-1]] = value
            if _HASH_NAME.search(name) and value:
                hash_code = value
    return Blackboard(fields, hash_code) if fields or hash_code else None


def _xmp_packet(data: bytes) -> bytes | None:
    """The XMP packet of a JPEG's APP1 segments, walking the markers up to the image data."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # EOI, SOS: no more metadata
            return None
        size = int.from_bytes(data[pos + 2 : pos + 4], "big")
        body = data[pos + 4 : pos + 2 + size]
        if marker == 0xE1 and body.startswith(_XMP_HEADER):
            return body[len(_XMP_HEADER) :]
        pos += 2 + size
    return None


@dataclass
class _Photo:
    """What decoding one photo found (computed in a worker thread, reported in order)."""

    ok: bool = False
    cut: bool = False
    pixels: int = 0
    exif: object = None
    board: Blackboard | None = None
    data: bytes = b""


def _inspect(run: Run, path: str) -> _Photo:
    """Read and decode one photo whole (no findings here: this runs in a thread)."""
    data = run.read(path)
    if not data or not data.startswith(b"\xff\xd8\xff"):
        return _Photo()
    from PIL import Image  # lazily: only processes that check photos load Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                exif = im.getexif().get_ifd(0x8769).get(36867)
                if width * height <= MAX_DECODE_PIXELS:
                    im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    im.load()
    except OSError as exc:
        cut = "truncated" in str(exc) or not data.rstrip(b"\0").endswith(b"\xff\xd9")
        return _Photo(cut=cut)
    except Exception:
        return _Photo()
    board = blackboard(data)
    return _Photo(True, False, width * height, exif, board, data if board else b"")


def jpeg(
    run: Run, path: str, verifier: BlackboardVerifier | None, photo: _Photo | None = None
) -> Blackboard | None:
    """Rules 22, 23 and 25 for one photo; returns its 小黒板情報 when it claims one."""
    photo = photo or _inspect(run, path)
    name = run.full(path)
    if not photo.ok:
        run.add("jpeg", path, name=name, detail="（途中で切れています）" if photo.cut else "")
        return None
    if photo.pixels > PIXELS_WARN:
        run.add("jpeg.pixels", path, pixels=f"{photo.pixels:,}", name=name)
    ref = run.report.files.get(name)
    exif = photo.exif
    if ref and ref.date and isinstance(exif, str) and R.valid_date(ref.date):
        exif_date = exif[:10].replace(":", "-")
        if re.match(r"^\d{4}-\d{2}-\d{2}$", exif_date) and exif_date != ref.date:
            run.add("exif_date", path, value=ref.date, exif=exif_date, name=name)
    board = photo.board
    if board is None:
        return None
    if not board.hash_code:
        detail = "小黒板情報がありますが改ざん検知値（hashCode）がありません"
        run.add("blackboard", path, detail=detail, name=name)
    elif verifier is not None and not verifier.verify(photo.data, board):
        run.add("blackboard", path, detail="小黒板情報の改ざん検知値が一致しません", name=name)
    return board


def content(run: Run, verifier: BlackboardVerifier | None) -> None:
    """Rules 22-25 over the package's photos and PDFs. Photos are decoded in a few threads
    (libjpeg releases the GIL), their findings added in path order."""
    photos = [
        p
        for p in sorted(run.files)
        if p.upper().endswith((".JPG", ".JPEG")) and p.upper().startswith(("PHOTO/", "REGISTER/"))
    ]
    boards = 0
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        for path, photo in zip(photos, pool.map(lambda p: _inspect(run, p), photos), strict=True):
            board = jpeg(run, path, verifier, photo)
            if board is not None and board.hash_code:
                boards += 1
    for path in sorted(run.files):
        if path.upper().endswith(".PDF"):
            entry = run.files[path]
            chunks = [run.read(path, s, e) for s, e in reads_for(entry)]
            if any(c and b"/Encrypt" in c for c in chunks):
                run.add("pdf_security", path, name=run.full(path))
    if boards and verifier is None:
        detail = (
            f"小黒板情報付きの写真{boards}枚の改ざん検知（信憑性確認）は実施していません"
            "（JACICの検証手順が組み込まれていません）。"
        )
        run.add_raw("blackboard.unverified", run.full("PHOTO"), detail=detail)


# rule 29 -------------------------------------------------------------------------------------
def _chunks(run: Run, path: str, size: int) -> Iterator[bytes]:
    start = 0
    while start < size:
        end = min(size, start + SCAN_CHUNK)
        data = run.read(path, start, end)
        if not data:
            return
        yield data
        start += len(data)


def scan(run: Run, scanner: Scanner | None) -> None:
    """Rule 29 (§2.2; the 要領 require a ウイルスチェック [V]): every file of the package."""
    if scanner is None:
        run.report.scan = "not_run"
        detail = "ウイルスチェックは実施していません（ウイルス対策ソフトが設定されていません）。"
        run.add_raw("virus.not_run", run.full(""), detail=detail)
        return
    status = "clean"
    for path, entry in sorted(run.files.items()):
        result = scanner.scan(_chunks(run, path, entry.size))
        if result.status == "infected":
            status = "infected"
            run.add("virus", path, signature=result.signature, name=run.full(path))
        elif result.status == "error":
            status = "error" if status == "clean" else status
            run.add("virus.error", path, detail=f"{run.full(path)}: {result.detail}")
    run.report.scan = status
