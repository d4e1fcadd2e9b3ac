"""Bad input on the board (issue 9 "Bad input"): posting to a work one is not a member of,
replying to a post outside one's scope, an attachment over the limits or of a forbidden type,
a scope naming users of another organization who are not members. Each gets a clear
problem+json answer (Japanese title and detail; 422 only for the payload's shape) and leaves
nothing half-stored: no post, no unread row, no audit event, no mail, the files still staged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.attachments.service import ATTACHMENTS
from api.config import Settings
from tests.bulletins.harness import Board, board_harness

pytestmark = pytest.mark.anyio
JAPANESE = "\u3040-\u30ff\u4e00-\u9fff"


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[Board]:
    """Attachments limited to 1 KiB."""
    archive = settings.archive.model_copy(update={"max_attachment_bytes": 1024})
    async with board_harness(settings.model_copy(update={"archive": archive})) as harness:
        yield harness


async def _nothing_stored(b: Board) -> dict[str, int]:
    return {
        name: await b.container.records.count(name)
        for name in (
            "posts",
            "post_replies",
            "post_unread",
            "audit_events",
            "mails",
            "notifications",
        )
    }


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    import re

    assert re.search(f"[{JAPANESE}]", body["title"]), body
    assert re.search(f"[{JAPANESE}]", body["detail"]), body
    return body


async def test_posting_where_one_is_no_member(b: Board) -> None:
    work = await b.work()
    before = await _nothing_stored(b)
    for who, status, code in (
        ("other", 404, "not_found"),  # another contractor of the work, no member
        ("alien", 404, "not_found"),  # another organization
        ("same", 404, "not_found"),  # the orderer's staff, no member
        ("oread", 403, "forbidden"),  # reads the work, is no member of its board
        ("view", 403, "forbidden"),  # a member who only reads
    ):
        r = await b.call(who, "POST", f"works/{work['id']}/posts", json={"title": "連絡"})
        _problem(r, status, code)
    r = await b.call("sup", "POST", "works/not-an-id/posts", json={"title": "連絡"})
    _problem(r, 404, "not_found")
    assert await _nothing_stored(b) == before


async def test_replying_outside_ones_scope(b: Board) -> None:
    work = await b.work()
    post = await b.post("sup", work["id"], scope={"kind": "users", "user_ids": [b["b1"].user_id]})
    before = await _nothing_stored(b)
    for who in ("b2", "insp", "alien"):
        r = await b.call(who, "POST", f"posts/{post['id']}/replies", json={"body": "返信"})
        _problem(r, 404, "not_found")
    assert await _nothing_stored(b) == before


async def test_a_scope_naming_people_who_are_not_members(b: Board) -> None:
    work = await b.work()
    before = await _nothing_stored(b)
    for scope in (
        {"kind": "users", "user_ids": [b["other"].user_id]},  # another organization's user
        {"kind": "users", "user_ids": [b["b1"].user_id, b["same"].user_id]},  # one outsider
        {"kind": "users", "user_ids": ["01HZZZZZZZZZZZZZZZZZZZZZZZ"]},  # nobody
        {"kind": "users", "user_ids": []},
        {"kind": "roles", "roles": []},
        {"kind": "group", "group_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
    ):
        r = await b.call(
            "sup", "POST", f"works/{work['id']}/posts", json={"title": "連絡", "scope": scope}
        )
        body = _problem(r, 400, "validation_failed")
        assert body["field"] == "scope", scope
    r = await b.call(
        "sup",
        "POST",
        f"works/{work['id']}/posts",
        json={"title": "連絡", "scope": {"kind": "roles", "roles": ["mayor"]}},
    )
    _problem(r, 422, "invalid_payload")
    assert await _nothing_stored(b) == before


async def test_attachments_over_the_limits(small: Board) -> None:
    b = small
    work = await b.work()
    r = await b.upload("b1", b"x" * 1025, "大きな図面.pdf", work["id"])
    body = _problem(r, 413, "file_too_large")
    assert "上限" in body["detail"]
    before = await _nothing_stored(b)
    ids = [await b.attachment("b1", b"%d" % i, f"写真{i}.jpg", work["id"]) for i in range(31)]
    r = await b.call(
        "b1", "POST", f"works/{work['id']}/posts", json={"title": "写真", "attachment_ids": ids}
    )
    _problem(r, 422, "invalid_payload")
    assert await _nothing_stored(b) == before
    assert {a["state"] for a in (await _files(b, ids))} == {"staged"}


async def _files(b: Board, ids: list[str]) -> list[dict[str, Any]]:
    return await b.container.records.get_many(ATTACHMENTS, ids)


async def test_attachments_of_a_forbidden_type(b: Board) -> None:
    work = await b.work()
    exe = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200
    cases = [
        ("setup.exe", b"not really a program", ""),
        ("請求書.pdf.js", b"alert(1)", "text/javascript"),
        ("写真.jpg", exe, "image/jpeg"),  # a program under an image's name: the content decides
        ("install.bat", b"@echo off\r\n", ""),
    ]
    ok = await b.attachment("b1", b"%PDF-1.4\n%%EOF\n", "図面.pdf", work["id"])
    for name, data, filetype in cases:
        bad = await b.attachment("b1", data, name, work["id"], filetype)
        before = await _nothing_stored(b)
        r = await b.call(
            "b1",
            "POST",
            f"works/{work['id']}/posts",
            json={"title": "資料", "attachment_ids": [ok, bad]},
        )
        body = _problem(r, 400, "validation_failed")
        assert body["field"] == "attachments"
        assert name in body["detail"]
        assert await _nothing_stored(b) == before
        assert {a["state"] for a in await _files(b, [ok, bad])} == {"staged"}


async def test_someone_elses_or_another_works_files(b: Board) -> None:
    work = await b.work()
    other = await b.work(title="県道改良工事")
    theirs = await b.attachment("b2", b"a", "a.txt", work["id"])
    elsewhere = await b.attachment("b1", b"b", "b.txt", other["id"])
    before = await _nothing_stored(b)
    for ids in ([theirs], [elsewhere], ["01HZZZZZZZZZZZZZZZZZZZZZZZ"]):
        r = await b.call(
            "b1", "POST", f"works/{work['id']}/posts", json={"title": "資料", "attachment_ids": ids}
        )
        assert _problem(r, 400, "validation_failed")["field"] == "attachments"
    assert await _nothing_stored(b) == before


async def test_shapes_and_versions(b: Board) -> None:
    work = await b.work()
    before = await _nothing_stored(b)
    for body in (
        {"title": ""},
        {"title": " \n\t "},
        {"title": "あ" * 201},
        {"title": "件名", "body": "あ" * 20_001},
        {"title": "件名", "importance": "urgent"},
        {"title": "件名", "unknown": 1},
    ):
        r = await b.call("b1", "POST", f"works/{work['id']}/posts", json=body)
        _problem(r, 422, "invalid_payload")
    assert await _nothing_stored(b) == before
    post = await b.post("b1", work["id"])
    r = await b.call("b1", "POST", f"posts/{post['id']}/replies", json={"body": "  \n "})
    _problem(r, 422, "invalid_payload")
    r = await b.call("b1", "PATCH", f"posts/{post['id']}", json={"version": 99, "title": "x"})
    _problem(r, 409, "stale_version")
    r = await b.call("b1", "DELETE", f"posts/{post['id']}", params={"version": 99})
    _problem(r, 409, "stale_version")
    r = await b.call("sup", "GET", f"works/{work['id']}/posts", params={"date_from": "2026-13-01"})
    _problem(r, 422, "invalid_payload")
