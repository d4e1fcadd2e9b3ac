"""ZIP export and listings: structure and bytes kept, empty folders, odd names, zip64."""

from __future__ import annotations

import csv
import io
import struct
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.archive.listing import HEADERS as HEADERS_OF_LISTING
from api.archive.zipstream import ZipWriter
from api.config import Settings
from storage.query import Eq, Query
from tests.archive.harness_tree import ArchiveHarness, archive_harness
from tests.works.harness import MANAGER

pytestmark = pytest.mark.anyio

FILES = {
    "PHOTO/PIC/P0000001.JPG": b"\xff\xd8" + b"j" * 5000,
    "PHOTO/PHOTO.XML": "<?xml version='1.0' encoding='Shift_JIS'?><写真/>".encode("cp932"),
    "DRAWING/平面図 第1回.pdf": b"%PDF-1.4\n" + bytes(range(256)) * 40,
    '別表1-1 6/報告書?:*<>|".txt': "名前はそのまま".encode(),
    "README.txt": b"hello " * 1000,
}


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[ArchiveHarness]:
    async with archive_harness(settings) as the_harness:
        for path, data in FILES.items():
            folder, _, name = path.rpartition("/")
            await the_harness.add(folder, name, data)
        await the_harness.folder("EMPTY/INNER")
        yield the_harness


def _open(data: bytes) -> zipfile.ZipFile:
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    return z


async def test_whole_work_keeps_structure_names_and_bytes(h: ArchiveHarness) -> None:
    r = await h.as_(MANAGER, "POST", f"/works/{h.work['id']}/export", json={})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    z = _open(r.content)
    files = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    assert files == FILES
    dirs = {i.filename for i in z.infolist() if i.is_dir()}
    assert {"EMPTY/", "EMPTY/INNER/", "PHOTO/", "PHOTO/PIC/", "DRAWING/"} <= dirs
    for info in z.infolist():
        assert info.flag_bits & 0x800  # UTF-8 names
        assert info.compress_type == zipfile.ZIP_STORED
    events = await h.events("files.exported")
    assert len(events) == 1
    # The CRC-32s are kept on the blobs; a second export uses them and is identical.
    again = await h.as_(MANAGER, "POST", f"/works/{h.work['id']}/export", json={})
    assert again.content == r.content
    blobs = await h.container.records.find("blobs", Query(limit=100))
    assert all("crc32" in b for b in blobs.items)
    assert events[0]["target"] == f"works/{h.work['id']}"


async def test_folder_selection_and_deflate(h: ArchiveHarness) -> None:
    photo = await h.nodes.by_path(str(h.work["id"]), "PHOTO")
    readme = await h.nodes.by_path(str(h.work["id"]), "README.txt")
    pic = await h.nodes.by_path(str(h.work["id"]), "PHOTO/PIC/P0000001.JPG")
    assert photo is not None and readme is not None and pic is not None  # noqa: PT018
    url = f"/works/{h.work['id']}/export"
    r = await h.as_(MANAGER, "POST", url, json={"folder_id": photo["id"]})
    names = sorted(_open(r.content).namelist())
    assert names == ["PHOTO/", "PHOTO/PHOTO.XML", "PHOTO/PIC/", "PHOTO/PIC/P0000001.JPG"]
    assert "PHOTO.zip" in r.headers["content-disposition"]

    # A file inside a selected folder comes once; compression only where it helps.
    body = {"node_ids": [pic["id"], photo["id"], readme["id"]], "compress": True}
    z = _open((await h.as_(MANAGER, "POST", url, json=body)).content)
    assert sorted(z.namelist()) == [*names, "README.txt"]
    assert z.getinfo("README.txt").compress_type == zipfile.ZIP_DEFLATED
    assert z.getinfo("README.txt").compress_size < 200
    assert z.read("README.txt") == FILES["README.txt"]

    bad = await h.as_(MANAGER, "POST", url, json={"folder_id": readme["id"]})
    assert bad.status_code == 400
    other = await h.create()
    foreign = await h.as_(
        MANAGER, "POST", f"/works/{other['id']}/export", json={"node_ids": [readme["id"]]}
    )
    assert foreign.status_code == 404
    assert (await h.as_(MANAGER, "POST", url, json={"node_ids": []})).status_code == 400


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    out = bytearray()
    async for chunk in chunks:
        out += chunk
    return bytes(out)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_zip64_offsets_past_4_gib() -> None:
    """Pretend the archive starts 5 GiB into the stream: every offset needs zip64 fields,
    and the zip64 end record must point right. zipfile reads through the shift."""
    w = ZipWriter(base_offset=5 << 30)
    out = w.directory("空/")
    out += await _collect(w.file("a/データ.bin", _one(b"x" * 100), 100))
    out += w.finish()
    z = _open(out)
    assert z.read("a/データ.bin") == b"x" * 100
    assert z.getinfo("a/データ.bin").header_offset > 0
    eocd = out[-22:]
    assert struct.unpack("<I", eocd[:4])[0] == 0x06054B50
    assert struct.unpack("<I", eocd[16:20])[0] == 0xFFFFFFFF  # the offset lives in zip64
    locator = out[-42:-22]
    assert struct.unpack("<I", locator[:4])[0] == 0x07064B50
    end64_at = struct.unpack("<Q", locator[8:16])[0]
    assert end64_at - (5 << 30) == len(out) - 42 - 56


async def test_zip64_for_a_huge_declared_entry_and_many_entries() -> None:
    # An entry declared past 4 GiB gets a zip64 local header and an 8-byte data descriptor.
    w = ZipWriter()
    out = await _collect(w.file("big.bin", _one(b"abc"), 5 << 30))
    assert struct.unpack("<H", out[4:6])[0] == 45
    assert struct.unpack("<II", out[18:26]) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert out[-24:-20] == b"PK\x07\x08"
    assert struct.unpack("<QQ", out[-16:]) == (3, 3)
    out += w.finish()
    assert _open(out).read("big.bin") == b"abc"
    # More than 65,535 entries need the zip64 end record.
    w = ZipWriter()
    parts = [w.directory(f"d{i}/") for i in range(70_000)]
    data = b"".join(parts) + w.finish()
    assert len(_open(data).namelist()) == 70_000


async def test_listing_csv_and_xlsx(h: ArchiveHarness) -> None:
    url = f"/works/{h.work['id']}/listing"
    r = await h.as_(MANAGER, "GET", url + ".csv")
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["パス", "名前", "種別", "サイズ"]
    by_path: dict[str, list[str]] = {row[0]: row for row in rows[1:]}
    odd = by_path['/別表1-1 6/報告書?:*<>|".txt']
    assert odd[1] == '報告書?:*<>|".txt'
    assert odd[3] == str(len(FILES['別表1-1 6/報告書?:*<>|".txt']))
    nodes = await h.container.records.find(
        "nodes", Query(where=(Eq("work_id", h.work["id"]),), limit=100)
    )
    assert len(rows) - 1 == len(nodes.items)
    assert by_path["/EMPTY"][2] == "フォルダ"

    r = await h.as_(MANAGER, "GET", url + ".xlsx")
    assert r.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(r.content))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = (
        book.read("xl/sharedStrings.xml").decode()
        if "xl/sharedStrings.xml" in book.namelist()
        else ""
    )
    assert "平面図 第1回.pdf" in sheet + strings
    assert "ファイル一覧" in book.read("xl/workbook.xml").decode()


async def test_formula_like_names_are_defused_in_csv(h: ArchiveHarness) -> None:
    await h.add("", "=HYPERLINK(1).txt", b"x")
    r = await h.as_(MANAGER, "GET", f"/works/{h.work['id']}/listing.csv")
    rows: list[Any] = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    names = [row[1] for row in rows]
    assert "'=HYPERLINK(1).txt" in names


async def test_the_xlsx_listing_is_written_off_the_event_loop(
    h: ArchiveHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 7 item 3: formatting and writing every cell ran on the event loop, so a large
    work's listing held every other request. The cells are written in worker threads."""
    import threading

    import xlsxwriter.worksheet

    for i in range(3):
        await h.add("DOC", f"f{i}.txt", b"x" * (i + 1))
    loop_thread = threading.get_ident()
    writers: list[int] = []
    original = xlsxwriter.worksheet.Worksheet.write_string

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        writers.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(xlsxwriter.worksheet.Worksheet, "write_string", spy)
    r = await h.as_(MANAGER, "GET", f"/works/{h.work['id']}/listing.xlsx")
    assert r.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(r.content))
    assert "xl/worksheets/sheet1.xml" in book.namelist()
    rows = writers[len(HEADERS_OF_LISTING) :]  # the header row is written up front
    assert rows, "no cell written"
    assert loop_thread not in rows
