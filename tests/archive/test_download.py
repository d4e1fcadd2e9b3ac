"""Single-file download: ranges (RFC 9110 §14), validators, RFC 6266 names, thumbnails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest

from api.archive.cas import ContentStore
from api.archive.download import Unsatisfiable, content_disposition, parse_range
from api.archive.models import derived_key
from api.config import Settings
from tests.archive.harness_tree import ArchiveHarness, archive_harness
from tests.works.harness import MANAGER

pytestmark = pytest.mark.anyio

DATA = (b"%PDF-1.4\n" + bytes(range(256)) * 8)[:2048]  # offsets recognisable


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[ArchiveHarness]:
    async with archive_harness(settings) as the_harness:
        yield the_harness


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 1)),
        ("bytes=-500", (1548, 2048)),
        ("bytes=100-", (100, 2048)),
        ("bytes=2000-9999", (2000, 2048)),
        ("bytes=-5000", (0, 2048)),
        ("BYTES = 5-9", (5, 10)),
        ("bytes=9-5", None),  # invalid spec: ignored
        ("bytes=abc", None),
        ("items=0-5", None),
        ("bytes=0-1,5-9", None),  # several ranges: the whole file
        ("bytes=-", None),
        (None, None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 2048) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=2048-", 2048), ("bytes=-0", 2048), ("bytes=0-0", 0), ("bytes=-5", 0)],
)
def test_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


@pytest.mark.parametrize(
    "name",
    [
        "平面図 第1回.pdf",
        'quote "me".txt',
        "space name.txt",
        "ｶﾅ；セミ;colon.txt",
        "100%.csv",
        "back\\slash.txt",
        "設計図",
    ],
)
def test_content_disposition_roundtrip(name: str) -> None:
    value = content_disposition(name)
    kind, fallback, star = (p.strip() for p in value.split("; "))
    assert kind == "attachment"
    assert fallback.startswith('filename="')
    assert fallback.endswith('"')
    inner = fallback[len('filename="') : -1]
    assert inner.isascii()
    assert '"' not in inner
    assert "\\" not in inner
    assert inner
    assert star.startswith("filename*=UTF-8''")
    encoded = star[len("filename*=UTF-8''") :]
    assert all(c.isascii() and c not in ' ";\\' for c in encoded)
    assert unquote(encoded, encoding="utf-8") == name


async def test_download_ranges_and_validators(h: ArchiveHarness) -> None:
    node = await h.add("報告書", "完成 報告書 (最終).pdf", DATA, declared_type="application/pdf")
    url = f"/files/{node['id']}/content"
    r = await h.as_(MANAGER, "GET", url)
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"] == f'"{node["sha256"]}"'
    assert r.headers["content-length"] == "2048"
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment;")
    assert "filename*=UTF-8''" + "%E5%AE%8C%E6%88%90%20" in cd

    cases = {
        "bytes=0-0": (206, DATA[:1], "bytes 0-0/2048"),
        "bytes=-500": (206, DATA[-500:], "bytes 1548-2047/2048"),
        "bytes=100-": (206, DATA[100:], "bytes 100-2047/2048"),
        "bytes=2040-5000": (206, DATA[2040:], "bytes 2040-2047/2048"),
        "bytes=5000-": (416, b"", "bytes */2048"),
        "bytes=x-y": (200, DATA, None),
        "bytes=9-3": (200, DATA, None),
        "bytes=0-1, 4-5": (200, DATA, None),
    }
    for header, (status, body, content_range) in cases.items():
        r = await h.as_(MANAGER, "GET", url, headers={"Range": header})
        assert r.status_code == status, header
        assert r.content == body, header
        assert r.headers.get("content-range") == content_range, header
        if status != 416:
            assert int(r.headers["content-length"]) == len(body)

    etag = f'"{node["sha256"]}"'
    r = await h.as_(MANAGER, "GET", url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert r.status_code == 304
    assert r.content == b""
    r = await h.as_(MANAGER, "GET", url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200
    r = await h.as_(MANAGER, "GET", url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206
    assert r.content == DATA[:10]

    r = await h.as_(MANAGER, "HEAD", url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206
    assert r.headers["content-length"] == "10"
    assert r.content == b""

    r = await h.as_(MANAGER, "GET", url + "?disposition=inline")
    assert r.headers["content-disposition"].startswith("inline;")
    assert r.headers["content-security-policy"].startswith("sandbox;")


async def test_unsafe_types_are_never_inline_and_empty_files(h: ArchiveHarness) -> None:
    html = await h.add("", "page.html", b"<script>alert(1)</script>", declared_type="text/html")
    r = await h.as_(MANAGER, "GET", f"/files/{html['id']}/content?disposition=inline")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    empty = await h.add("", "empty.txt", b"")
    r = await h.as_(MANAGER, "GET", f"/files/{empty['id']}/content")
    assert r.status_code == 200
    assert r.content == b""
    r = await h.as_(MANAGER, "GET", f"/files/{empty['id']}/content", headers={"Range": "bytes=0-0"})
    assert r.status_code == 416


async def test_thumbnail(h: ArchiveHarness) -> None:
    node = await h.add("PHOTO", "P1.JPG", b"\xff\xd8 not really")
    url = f"/files/{node['id']}/thumbnail"
    assert (await h.as_(MANAGER, "GET", url)).status_code == 404

    async def thumb() -> AsyncIterator[bytes]:
        yield b"\xff\xd8thumb"

    await h.container.blobs.put(
        derived_key(node["scope"], str(node["sha256"]), "thumb.jpg"), thumb()
    )
    r = await h.as_(MANAGER, "GET", url)
    assert r.status_code == 200
    assert r.content == b"\xff\xd8thumb"
    assert r.headers["content-type"] == "image/jpeg"
    r = await h.as_(MANAGER, "GET", url, headers={"If-None-Match": r.headers["etag"]})
    assert r.status_code == 304
    folder = await h.nodes.by_path(str(h.work["id"]), "PHOTO")
    assert folder is not None
    assert (await h.as_(MANAGER, "GET", f"/files/{folder['id']}/thumbnail")).status_code == 404
    assert isinstance(h.nodes.cas, ContentStore)


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-" + "9" * 5000,
        "bytes=" + "0" * 5000 + "1-",
        "bytes=-" + "9" * 5000,
        "bytes=" + "9" * 5000 + "-",
    ],
)
def test_range_positions_of_any_length(header: str) -> None:
    """Issue 7 item 8: 5,000 digits made ``int()`` raise (Python's 4,300-digit limit): 500."""
    expected = {
        "bytes=0-" + "9" * 5000: (0, 2048),
        "bytes=" + "0" * 5000 + "1-": (1, 2048),
        "bytes=-" + "9" * 5000: (0, 2048),
    }
    if header in expected:
        assert parse_range(header, 2048) == expected[header]
    else:
        with pytest.raises(Unsatisfiable):
            parse_range(header, 2048)


async def test_a_huge_range_header_is_answered_not_500(h: ArchiveHarness) -> None:
    node = await h.add("", "r.pdf", DATA)
    r = await h.as_(
        MANAGER, "GET", f"/files/{node['id']}/content", headers={"Range": "bytes=0-" + "9" * 5000}
    )
    assert r.status_code == 206
    assert r.content == DATA


async def test_a_declared_type_list_is_never_inline(h: ArchiveHarness) -> None:
    """Issue 7 item 7: ``text/plain, text/html`` declared on bytes libmagic cannot name was
    served inline with that type, and browsers rendered it as a page."""
    body = b"\x00\x01\x02\x03<html><script>alert(document.cookie)</script></html>"
    node = await h.add("", "page.txt", body, declared_type="text/plain, text/html")
    r = await h.as_(MANAGER, "GET", f"/files/{node['id']}/content?disposition=inline")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_nothing_is_inline_before_ingest_has_run(h: ArchiveHarness) -> None:
    """A declared type is the uploader's word: until ingest has detected the type of this
    very content, even a PDF is sent as an attachment."""
    node = await h.add("", "before.pdf", DATA, declared_type="application/pdf")
    url = f"/files/{node['id']}/content?disposition=inline"
    assert (await h.as_(MANAGER, "GET", url)).headers["content-disposition"].startswith("inline;")
    stored = await h.container.records.get("nodes", str(node["id"]))
    assert stored is not None
    await h.container.records.update(
        "nodes", str(node["id"]), {"ingest": {"state": "queued"}}, int(stored["version"])
    )
    r = await h.as_(MANAGER, "GET", url)
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["content-type"] == "application/pdf"
