"""The pre-meeting stage (seed 001 別表1-2 4(8)-(13)) through the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.proposals.harness import BUILDER, NOBODY, STRANGER, SUP, VIEWER, Harness, harness
from tests.proposals.test_proposals import pdf_pages

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def test_register_notify_comment_answer_in_a_shared_folder_apart_from_decisions(
    h: Harness,
) -> None:
    work = await h.work(kind="service", title="春日地区測量設計業務")
    plan = await h.upload(BUILDER, work["id"], "計画案.pdf", pdf_pages("PLAN"), "application/pdf")
    # (8)(9): registered; the parties hear of it by mail.
    matter = await h.ok(
        BUILDER,
        "POST",
        f"/works/{work['id']}/premeetings",
        201,
        json={"title": "測量範囲の確認", "body": "範囲図を添付します。", "attachments": [plan]},
    )
    kinds = {(m["kind"], m["to_address"]) for m in await h.mails()}
    assert ("premeeting.registered", "sup@example.jp") in kinds
    # (10)(12): both sides comment; a comment's file joins the matter's folder.
    note = await h.upload(SUP, work["id"], "指摘事項.pdf", pdf_pages("NOTE"), "application/pdf")
    await h.ok(
        SUP,
        "POST",
        f"/premeetings/{matter['id']}/comments",
        201,
        json={"text": "北側を含めてください。", "attachments": [note]},
    )
    await h.ok(
        BUILDER,
        "POST",
        f"/premeetings/{matter['id']}/comments",
        201,
        json={"text": "承知しました。"},
    )
    await h.ok(VIEWER, "POST", f"/premeetings/{matter['id']}/comments", 403, json={"text": "?"})
    detail = await h.ok(VIEWER, "GET", f"/premeetings/{matter['id']}")
    assert [c["text"] for c in detail["comments"]] == ["北側を含めてください。", "承知しました。"]
    assert [f["name"] for f in detail["files"]] == ["計画案.pdf", "指摘事項.pdf"]
    assert (await h.call(VIEWER, "GET", f"/api/v1/attachments/{note}/content")).status_code == 200
    for other in (NOBODY, STRANGER):
        assert (
            await h.call(other, "GET", f"/api/v1/premeetings/{matter['id']}")
        ).status_code == 404
        assert (
            await h.call(other, "GET", f"/api/v1/attachments/{note}/content")
        ).status_code == 404
    # (11): the answer reaches the registrant.
    current = await h.container.records.get("premeetings", matter["id"])
    assert current is not None
    await h.ok(
        SUP,
        "POST",
        f"/premeetings/{matter['id']}/answer",
        json={"version": current["version"], "text": "範囲を了承します。"},
    )
    assert ("premeeting.answered", "builder@example.jp") in {
        (m["kind"], m["to_address"]) for m in await h.mails()
    }
    # (13): listed apart from the decisions, with their state.
    listed = await h.ok(SUP, "GET", f"/works/{work['id']}/premeetings")
    assert [(m["title"], m["status_label"]) for m in listed["items"]] == [
        ("測量範囲の確認", "回答済み")
    ]
    assert (await h.ok(SUP, "GET", f"/works/{work['id']}/proposals"))["items"] == []
