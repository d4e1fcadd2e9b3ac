"""A refused ZIP is visible where people look (issue 7 item 15): a contractor uploads a ZIP
with a path-traversal entry to be unpacked; the worker of the real ``kura serve`` refuses it;
the work page lists the import as 「受け付けられません」 with the reason in Japanese and the
finding, not just a file whose ingest is done."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.browser import login, new_context, shot
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e
WAIT_S = 120.0


def evil_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../../etc/cron.d/evil", b"* * * * * root sh")
    return buf.getvalue()


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def upload_with_unpack(stack: Stack, login_id: str, name: str, data: bytes) -> str:
    """tus creation-with-upload as the user; returns the upload id."""
    api = stack.as_user(login_id)
    try:
        resp = api.client.post(
            f"/works/{stack.work_id}/uploads",
            content=data,
            headers={
                "Tus-Resumable": "1.0.0",
                "Content-Type": "application/offset+octet-stream",
                "Upload-Length": str(len(data)),
                "Upload-Metadata": meta(filename=name, unpack="1"),
            },
        )
        assert resp.status_code == 201, resp.text
        return str(resp.headers["Location"]).rstrip("/").rsplit("/", 1)[-1]
    finally:
        api.close()


def wait_for_import(stack: Stack, upload_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        page = stack.api.get(f"/works/{stack.work_id}/imports", upload_id=upload_id)
        items = page["items"]
        if items and items[0]["state"] not in ("queued", "running"):
            return dict(items[0])
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not finish the import in {WAIT_S:g} s: {items}")
        time.sleep(0.5)


def test_refused_zip_shows_on_the_work_page(browser: Browser, stack: Stack) -> None:
    sent = evil_zip()
    upload_id = upload_with_unpack(stack, "contractor1", "納品データ.zip", sent)
    item = wait_for_import(stack, upload_id)
    assert item["state"] == "rejected", item
    assert "上位フォルダを指すパス" in item["reason"]

    ctx = new_context(browser, stack.url)
    page = ctx.new_page()
    try:
        login(page, "contractor1", stack.passwords["contractor1"])
        page.goto(f"/#/works/{stack.work_id}")
        row = page.locator(f'[data-testid="import-row"][data-id="{item["id"]}"]')
        row.wait_for()
        assert row.get_by_test_id("import-state").inner_text() == "受け付けられません"
        assert "上位フォルダを指すパス" in row.inner_text()
        assert "納品データ.zip" in row.inner_text()
        row.get_by_test_id("import-open").click()
        detail = page.get_by_test_id("import-detail").first
        detail.wait_for()
        finding = detail.get_by_test_id("import-finding").first
        assert "エラー" in finding.inner_text()
        assert "上位フォルダを指すパス" in finding.inner_text()
        shot(page, "work-imports-refused")
    finally:
        ctx.close()
    # Only the uploaded ZIP itself was stored, as the import's source (issue 8 §2), not as a
    # document of the work; nothing of its content.
    names = {f["name"] for f in stack.files()}
    assert "納品データ.zip" not in names
    assert "ok.txt" not in names
    kept = stack.api.client.get(f"/imports/{item['id']}/source")
    assert kept.status_code == 200
    assert kept.content == sent
    assert stack.api.get(f"/imports/{item['id']}")["findings"][0]["code"] == "unsafe_path"
