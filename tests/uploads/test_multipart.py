"""Plain multipart upload of small files: ``POST /works/{work_id}/files``."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from api.archive.models import NODES
from tests.uploads.conftest import UploadHarness, set_limits
from tests.works.harness import BUILDER, CLERK, MANAGER, NOBODY

pytestmark = pytest.mark.anyio
API = "/api/v1"


async def post(
    uh: UploadHarness,
    work_id: str,
    files: list[tuple[str, bytes]],
    subject: Any = CLERK,
    **data: str,
) -> Any:
    parts = [("file", (name, content, "application/pdf")) for name, content in files]
    return await uh.call(subject, "POST", f"{API}/works/{work_id}/files", files=parts, data=data)


async def stored_objects(uh: UploadHarness) -> int:
    return len([i async for i in uh.container.blobs.list("s/") if "/objects/" in i.key])


async def test_several_files_in_one_request(uh: UploadHarness) -> None:
    work = await uh.work()
    big = bytes(range(256)) * 8192  # 2 MiB: several parser chunks
    resp = await post(
        uh, work["id"], [("報告書.pdf", b"%PDF-1.7 a"), ("写真.jpg", big)], folder="/書類/提出"
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert [f["path"] for f in body] == ["/書類/提出/報告書.pdf", "/書類/提出/写真.jpg"]
    assert body[1]["sha256"] == hashlib.sha256(big).hexdigest()
    assert body[1]["size"] == len(big)
    assert await uh.container.records.count(NODES) == 4
    again = await post(
        uh, work["id"], [("報告書.pdf", b"x")], folder="書類/提出", on_conflict="error"
    )
    assert again.status_code == 409
    assert await stored_objects(uh) == 2  # the refused file's object was deleted


@pytest.mark.parametrize(
    "name", ["a/b.pdf", "a\x00b.pdf", "あ" * 300, ".."], ids=["slash", "nul", "long", "dots"]
)
async def test_bad_names_store_nothing(uh: UploadHarness, name: str) -> None:
    work = await uh.work()
    # Built by hand: httpx (like browsers) would percent-encode the NUL.
    boundary = "kuraBOUNDARY"
    body = b""
    for filename, content in (("ok.pdf", b"fine"), (name, b"bad")):
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    resp = await uh.call(
        CLERK,
        "POST",
        f"{API}/works/{work['id']}/files",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert await uh.container.records.count(NODES) == 0
    assert await stored_objects(uh) == 0


async def test_size_limit_and_quota(uh: UploadHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    set_limits(monkeypatch, max_form_file_bytes=1000, work_quota_bytes=1500)
    work = await uh.work()
    resp = await post(uh, work["id"], [("a.bin", b"a" * 10), ("b.bin", b"b" * 1001)])
    assert resp.status_code == 413
    assert resp.json()["code"] == "file_too_large"
    assert await stored_objects(uh) == 0
    assert (await post(uh, work["id"], [("a.bin", b"a" * 1000)])).status_code == 201
    resp = await post(uh, work["id"], [("b.bin", b"b" * 600)])
    assert resp.status_code == 413
    assert resp.json()["code"] == "quota_exceeded"
    assert await stored_objects(uh) == 1


async def test_bad_requests(uh: UploadHarness) -> None:
    work = await uh.work()
    url = f"{API}/works/{work['id']}/files"
    assert (await uh.call(CLERK, "POST", url, json={"a": 1})).status_code == 415
    assert (await post(uh, work["id"], [], folder="x")).status_code in (400, 415)
    resp = await post(uh, work["id"], [("a.pdf", b"x")], on_conflict="merge")
    assert resp.status_code == 400
    assert await stored_objects(uh) == 0


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (NOBODY, 404), (BUILDER, 404), (MANAGER, 201), (CLERK, 201)],
)
async def test_permissions(uh: UploadHarness, subject: Any, status: int) -> None:
    work = await uh.work()
    resp = await post(uh, work["id"], [("a.pdf", b"x")], subject=subject)
    assert resp.status_code == status, resp.text


async def test_a_part_with_too_many_headers_is_400_not_500(uh: UploadHarness) -> None:
    """Issue 7 item 8: a part with 20 headers made the parser raise, answered 500."""
    work = await uh.work()
    headers = "".join(f"X-Extra-{i}: {i}\r\n" for i in range(20))
    body = (
        "--b\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        f"{headers}\r\n"
        "hello\r\n"
        "--b--\r\n"
    ).encode()
    resp = await uh.call(
        CLERK,
        "POST",
        f"{API}/works/{work['id']}/files",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "validation_failed"
    assert await stored_objects(uh) == 0
    assert await uh.container.records.count(NODES) == 0
