"""The approval workflow through the HTTP API (seed 001 別表1-1 4, 別表1-2 4): routes, approvals
in order, parallel steps, send-back to the proposer or an earlier approver, revisions, deputies
inside their window, post-review, withdrawal, answers, dates, corrections, and the decided
proposal rebuilt from its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from api.config import Settings
from api.workflow.store import EventStore, projection
from tests.proposals.harness import (
    BUILDER,
    CHIEF,
    CORRECTOR,
    DEPUTY,
    INSP,
    MANAGER,
    NOBODY,
    STRANGER,
    SUP,
    VIEWER,
    Harness,
    harness,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


def route(*steps: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    return [{"kind": kind, "assignees": [s.user_id for s in who]} for kind, who in steps]


async def submitted(
    h: Harness, steps: list[dict[str, Any]], **over: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    work = await h.work()
    draft = await h.draft(work["id"])
    body = {"route": steps, "requested_answer_date": "2026-06-15", **over}
    await h.act(BUILDER, draft["id"], "submit", **body)
    return work, draft


async def test_two_approvers_in_order_then_decided_and_rebuilt_from_events(h: Harness) -> None:
    """4(1)(8)(11): approvals in the chosen order; the last one decides; the decided proposal
    rebuilds from its event history."""
    _, draft = await submitted(
        h, route(("approve", [SUP]), ("view", [VIEWER]), ("approve", [CHIEF]))
    )
    p = await h.get(SUP, draft["id"])
    assert p["proposal"]["state"] == "in_review"
    assert p["proposal"]["number"] == 1
    assert p["proposal"]["proposed_on"] == "2026-06-08"
    assert p["proposal"]["waiting"] == [SUP.user_id]
    assert p["actions"]["approve"] is True
    # CHIEF's turn has not come: approving out of order is refused, nothing changes.
    before = await h.container.records.get("proposals", draft["id"])
    r = await h.act(CHIEF, draft["id"], "approve", 409)
    assert r["code"] == "not_your_turn"
    assert await h.container.records.get("proposals", draft["id"]) == before
    await h.act(SUP, draft["id"], "approve", comment="了解しました。")
    p = await h.get(SUP, draft["id"])
    # The viewer step was reached on the way: VIEWER is asked to view, CHIEF to approve.
    assert sorted(p["proposal"]["waiting"]) == sorted([VIEWER.user_id, CHIEF.user_id])
    assert p["proposal"]["received_on"] == "2026-06-08"
    # The same step approved twice is refused (OCA's "approve the same step N times").
    r = await h.act(SUP, draft["id"], "approve", 409)
    assert r["code"] in ("already_done", "not_your_turn")
    h.clock.advance(days=1)
    decided = await h.act(CHIEF, draft["id"], "approve")
    assert decided["state"] == "decided"
    assert decided["decided_on"] == "2026-06-09"
    assert decided["answered_on"] == "2026-06-09"
    assert decided["waiting"] == [VIEWER.user_id]  # the viewer may still view
    await h.act(VIEWER, draft["id"], "view")
    stored = await h.container.records.get("proposals", draft["id"])
    assert stored is not None
    assert stored["waiting"] == []
    rebuilt = await EventStore(h.container).rebuild(draft["id"])
    assert rebuilt == projection(stored)
    # Every transition is in the audit chain, in the same unit of work as the change.
    for action in (
        "proposals.created",
        "proposals.submitted",
        "proposals.approved",
        "proposals.viewed",
    ):
        assert await h.audit(action), action


async def test_a_parallel_step_waits_for_every_approver(h: Harness) -> None:
    """4(8) 合議: every approver of a step approves before the route moves on."""
    _, draft = await submitted(h, route(("approve", [SUP, INSP]), ("approve", [CHIEF])))
    p = await h.get(BUILDER, draft["id"])
    assert sorted(p["proposal"]["waiting"]) == sorted([SUP.user_id, INSP.user_id])
    await h.act(INSP, draft["id"], "approve")
    p = await h.get(BUILDER, draft["id"])
    assert p["proposal"]["waiting"] == [SUP.user_id]
    await h.act(SUP, draft["id"], "approve")
    p = await h.get(BUILDER, draft["id"])
    assert p["proposal"]["waiting"] == [CHIEF.user_id]


async def test_two_approvers_acting_at_once_one_wins_the_other_gets_409(h: Harness) -> None:
    """Issue 10 "Bad input": two approvers on one step with the same version: one wins."""
    _, draft = await submitted(h, route(("approve", [SUP, INSP]), ("approve", [CHIEF])))
    version = (await h.container.records.get("proposals", draft["id"]) or {})["version"]
    await h.act(SUP, draft["id"], "approve", version=version)
    r = await h.act(INSP, draft["id"], "approve", 409, version=version)
    assert r["code"] == "stale_version"
    stored = await h.container.records.get("proposals", draft["id"])
    assert stored is not None
    assert stored["waiting"] == [INSP.user_id]


async def test_send_back_to_the_proposer_then_revision_with_history_and_diff(h: Harness) -> None:
    """4(11)(12)(15)(16): send back with a reason; the proposer revises and resubmits; the
    revision is kept with its date and a diff of fields and attachments."""
    work, draft = await submitted(h, route(("approve", [SUP]), ("approve", [CHIEF])))
    r = await h.act(SUP, draft["id"], "send-back", 422, to="proposer", reason="")
    r = await h.act(
        SUP, draft["id"], "send-back", to="proposer", reason="施工時期の根拠を追記してください。"
    )
    assert r["state"] == "sent_back"
    assert r["waiting"] == [BUILDER.user_id]
    h.clock.advance(hours=2)
    pdf = await h.upload(BUILDER, work["id"], "根拠資料.pdf", PDF_ONE, "application/pdf")
    current = await h.container.records.get("proposals", draft["id"])
    assert current is not None
    values = {**current["values"], "content": "夜間施工としたい。交通量調査の結果を添付する。"}
    await h.ok(
        BUILDER,
        "PATCH",
        f"/proposals/{draft['id']}",
        json={"version": current["version"], "values": values, "attachments": [{"id": pdf}]},
    )
    await h.act(BUILDER, draft["id"], "submit")
    stored = await h.container.records.get("proposals", draft["id"])
    assert stored is not None
    assert stored["revision"] == 2
    assert stored["waiting"] == [SUP.user_id]
    history = await h.ok(SUP, "GET", f"/proposals/{draft['id']}/history")
    labels = [e["label"] for e in history["events"]]
    assert labels == ["作成", "編集", "発議", "差戻し", "編集", "発議"]
    back = next(e for e in history["events"] if e["kind"] == "sent_back")
    assert "施工時期の根拠を追記してください。" in back["detail"]
    assert back["actor_name"] == "監督 一郎"
    second = history["revisions"][1]
    assert second["revision"] == 2
    assert second["changes"] == [
        {
            "field": "content",
            "label": "内容",
            "old": "夜間施工としたい。",
            "new": "夜間施工としたい。交通量調査の結果を添付する。",
        }
    ]
    assert second["files"] == [{"name": "根拠資料.pdf", "change": "added", "label": "追加"}]


async def test_send_back_to_an_earlier_approver_reopens_their_step(h: Harness) -> None:
    """4(12): 差戻し to 前の承認者; someone not on the route is refused (400, nothing changed)."""
    _, draft = await submitted(
        h, route(("approve", [SUP]), ("approve", [INSP]), ("approve", [CHIEF]))
    )
    await h.act(SUP, draft["id"], "approve")
    await h.act(INSP, draft["id"], "approve")
    before = await h.container.records.get("proposals", draft["id"])
    r = await h.act(CHIEF, draft["id"], "send-back", 400, to=NOBODY.user_id, reason="確認願います")
    assert r["code"] == "validation_failed"
    assert r["field"] == "to"
    r = await h.act(CHIEF, draft["id"], "send-back", 400, to=VIEWER.user_id, reason="確認願います")
    assert await h.container.records.get("proposals", draft["id"]) == before
    r = await h.act(
        CHIEF, draft["id"], "send-back", to=INSP.user_id, reason="数量を再確認してください。"
    )
    assert r["state"] == "in_review"
    assert r["waiting"] == [INSP.user_id]
    marks = [m["status"] for p in r["progress"] for m in p["marks"]]
    assert marks == ["approved", "pending", "pending"]
    mails = [m for m in await h.mails() if m["kind"] == "proposal.sent_back"]
    assert [m["to_address"] for m in mails] == ["insp@example.jp"]


async def test_a_viewer_may_not_approve(h: Harness) -> None:
    """Issue 10 "Bad input": a viewer of the route trying to approve gets 403."""
    _, draft = await submitted(h, route(("approve", [SUP]), ("view", [INSP]), ("approve", [CHIEF])))
    await h.act(SUP, draft["id"], "approve")
    before = await h.container.records.get("proposals", draft["id"])
    r = await h.act(INSP, draft["id"], "approve", 403)
    assert r["code"] == "forbidden"
    # A member in the work's viewer role cannot act at all.
    await h.act(VIEWER, draft["id"], "approve", 403)
    assert await h.container.records.get("proposals", draft["id"]) == before


async def test_deputy_approves_inside_the_window_only(h: Harness) -> None:
    """4(21) 代理承認: a deputy named in advance, valid for [from, until); shown as such."""
    _, draft = await submitted(h, route(("approve", [SUP]), ("approve", [CHIEF])))
    start = h.clock.now() + timedelta(days=1)
    await h.ok(
        SUP,
        "POST",
        "/delegations",
        201,
        json={
            "deputy_id": DEPUTY.user_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=3)).isoformat(),
            "note": "出張のため",
        },
    )
    # Before the window: refused, and the inbox does not show it.
    r = await h.act(DEPUTY, draft["id"], "approve", 403, on_behalf_of=SUP.user_id)
    assert "代理" in r["detail"]
    assert (await h.ok(DEPUTY, "GET", "/proposals/inbox/count"))["count"] == 0
    h.clock.advance(days=1, hours=1)
    inbox = await h.ok(DEPUTY, "GET", "/proposals/inbox")
    assert [row["id"] for row in inbox["items"]] == [draft["id"]]
    assert inbox["total"] == 1
    assert inbox["items"][0]["deputy_for_name"] == "監督 一郎"
    await h.act(DEPUTY, draft["id"], "approve", on_behalf_of=SUP.user_id)
    history = await h.ok(BUILDER, "GET", f"/proposals/{draft['id']}/history")
    row = next(e for e in history["events"] if e["kind"] == "approved")
    assert row["label"] == "承認（代理承認）"
    assert row["actor_name"] == "代理 三郎"
    assert "監督 一郎 さんの代理" in row["detail"]
    # After the window: refused again.
    h.clock.advance(days=5)
    _, other = await submitted(h, route(("approve", [SUP]), ("approve", [CHIEF])))
    await h.act(DEPUTY, other["id"], "approve", 403, on_behalf_of=SUP.user_id)


async def test_superior_approves_first_and_the_absent_approver_reviews_after(h: Harness) -> None:
    """4(22) 後閲: a superior approves ahead; the skipped approver reviews afterwards."""
    _, draft = await submitted(h, route(("approve", [SUP]), ("approve", [CHIEF])))
    decided = await h.act(CHIEF, draft["id"], "approve", post_review=True)
    assert decided["state"] == "decided"
    assert decided["waiting"] == [SUP.user_id]
    assert decided["summary"]["post_review"] == 1
    mails = [m for m in await h.mails() if m["kind"] == "proposal.post_review"]
    assert [m["to_address"] for m in mails] == ["sup@example.jp"]
    inbox = await h.ok(SUP, "GET", "/proposals/inbox")
    assert inbox["items"][0]["action"] == "post_review"
    # A non-superior cannot approve ahead: only approvers of a later step.
    _, other = await submitted(h, route(("approve", [SUP]), ("approve", [CHIEF])))
    await h.act(SUP, other["id"], "approve", 409, post_review=True)
    await h.act(SUP, draft["id"], "post-review", comment="内容を確認しました。")
    history = await h.ok(BUILDER, "GET", f"/proposals/{draft['id']}/history")
    labels = [e["label"] for e in history["events"]]
    assert "承認（後閲扱いで先に承認）" in labels
    assert labels[-1] == "後閲"
    stored = await h.container.records.get("proposals", draft["id"])
    assert stored is not None
    assert stored["waiting"] == []
    assert await EventStore(h.container).rebuild(draft["id"]) == projection(stored)


async def test_withdrawal_before_the_first_decision_keeps_the_history(h: Harness) -> None:
    """引戻し by the proposer before the first decision; after an approval it is refused."""
    _, draft = await submitted(h, route(("approve", [SUP]), ("approve", [CHIEF])))
    await h.act(SUP, draft["id"], "withdraw", 403)
    withdrawn = await h.act(BUILDER, draft["id"], "withdraw")
    assert withdrawn["state"] == "withdrawn"
    history = await h.ok(BUILDER, "GET", f"/proposals/{draft['id']}/history")
    assert [e["kind"] for e in history["events"]][-1] == "withdrawn"
    await h.act(BUILDER, draft["id"], "submit")
    await h.act(SUP, draft["id"], "approve")
    r = await h.act(BUILDER, draft["id"], "withdraw", 409)
    assert "引戻し" in r["detail"]


async def test_dates_answers_and_notifications_of_the_proposer(h: Harness) -> None:
    """4(2)(3)(13)(19): 受付日 and 回答予定日 (a business day), interim and final answers of the
    approver's side; the proposer hears of the answer."""
    _, draft = await submitted(h, route(("approve", [SUP])))
    # 2026-06-13 is a Saturday: refused with the reason.
    r = await h.act(SUP, draft["id"], "receive", 400, planned_answer_date="2026-06-13")
    assert r["field"] == "planned_answer_date"
    assert "土曜日" in r["detail"]
    p = await h.act(SUP, draft["id"], "receive", planned_answer_date="2026-06-12")
    assert p["received_on"] == "2026-06-08"
    assert p["planned_answer_date"] == "2026-06-12"
    # The contractor's answer fields are not the supervisor's to fill.
    r = await h.act(SUP, draft["id"], "answer", 400, answers={"answer_contractor": "承諾"})
    assert r["field"] == "answer_contractor"
    p = await h.act(
        SUP,
        draft["id"],
        "answer",
        answers={"answer_orderer": "協議"},
        interim=True,
        answer_date="2026-06-09",
    )
    assert p["interim_answer_date"] == "2026-06-09"
    mails = [m for m in await h.mails() if m["kind"] == "proposal.answered"]
    assert [m["to_address"] for m in mails] == ["builder@example.jp"]
    h.clock.advance(days=2)
    p = await h.act(
        SUP,
        draft["id"],
        "approve",
        answers={"answer_orderer": "承諾", "answer_orderer_text": "夜間施工を承諾する。"},
    )
    assert p["state"] == "decided"
    assert p["answers"]["answer_orderer"] == "承諾"
    assert p["answered_on"] == "2026-06-10"
    kinds = sorted(m["kind"] for m in await h.mails() if m["to_address"] == "builder@example.jp")
    assert kinds == ["proposal.answered", "proposal.answered", "proposal.decided"]


async def test_requested_answer_date_must_be_a_business_day(h: Harness) -> None:
    """Deadlines count business days from the master calendar (issue 10 §2)."""
    work = await h.work()
    draft = await h.draft(work["id"])
    r = await h.act(
        BUILDER,
        draft["id"],
        "submit",
        400,
        route=route(("approve", [SUP])),
        requested_answer_date="2026-07-20",
    )
    assert r["field"] == "requested_answer_date"
    assert "海の日" in r["detail"]


async def test_corrections_of_a_decided_proposal_are_recorded_and_shown(h: Harness) -> None:
    """4(17): 発議日, 受付日, 決裁完了日 corrected by an authorised user, recorded (who, when,
    which document, which date, old and new) and shown; others get 403; values cannot be
    edited after the decision."""
    _, draft = await submitted(h, route(("approve", [SUP])))
    await h.act(SUP, draft["id"], "approve")
    stored = await h.container.records.get("proposals", draft["id"])
    assert stored is not None
    r = await h.call(
        BUILDER,
        "PATCH",
        f"/api/v1/proposals/{draft['id']}",
        json={"version": stored["version"], "title": "x"},
    )
    assert r.status_code == 409
    await h.act(BUILDER, draft["id"], "corrections", 403, field="proposed_on", new="2026-06-05")
    await h.act(NOBODY, draft["id"], "corrections", 404, field="proposed_on", new="2026-06-05")
    p = await h.act(
        CORRECTOR,
        draft["id"],
        "corrections",
        field="proposed_on",
        new="2026-06-05",
        reason="入力誤り",
    )
    assert p["proposed_on"] == "2026-06-05"
    p = await h.act(SUP, draft["id"], "corrections", field="decided_on", new="2026-06-09")
    assert [(c["field"], c["old"], c["new"]) for c in p["corrections"]] == [
        ("proposed_on", "2026-06-08", "2026-06-05"),
        ("decided_on", "2026-06-08", "2026-06-09"),
    ]
    history = await h.ok(BUILDER, "GET", f"/proposals/{draft['id']}/history")
    row = next(e for e in history["events"] if e["kind"] == "corrected")
    assert row["actor_name"] == "訂正 六子"
    assert row["detail"] == "発議日: 2026-06-08 → 2026-06-05（入力誤り）"
    events = await h.audit("proposals.corrected")
    assert events[0]["target"] == f"proposals/{draft['id']}"
    assert events[0]["detail"]["field"] == "proposed_on"


async def test_comments_are_seen_by_everyone_on_the_route(h: Harness) -> None:
    """4(9)(14): comments by the proposer and approvers; others may read but not write."""
    _, draft = await submitted(h, route(("approve", [SUP]), ("view", [INSP])))
    await h.act(BUILDER, draft["id"], "comments", text="現地写真は後日追加します。")
    await h.act(SUP, draft["id"], "comments", text="了解。")
    await h.act(CHIEF, draft["id"], "comments", 403, text="横から失礼")
    await h.act(STRANGER, draft["id"], "comments", 404, text="?")
    history = await h.ok(INSP, "GET", f"/proposals/{draft['id']}/history")
    comments = [
        (e["actor_name"], e["detail"]) for e in history["events"] if e["kind"] == "commented"
    ]
    assert comments == [("春日 太郎", "現地写真は後日追加します。"), ("監督 一郎", "了解。")]


async def test_history_exports_as_csv_and_pdf(h: Harness) -> None:
    """4(18): the approval history as electronic data (CSV and PDF)."""
    from io import BytesIO

    from pypdf import PdfReader

    _, draft = await submitted(h, route(("approve", [SUP])))
    await h.act(SUP, draft["id"], "approve")
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{draft['id']}/history.csv")
    assert r.status_code == 200
    text = r.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[1] == "No.,日時,操作,操作者,所属,内容"
    assert lines[-1].startswith("4,2026/06/08 10:00,承認,監督 一郎,福山市")
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{draft['id']}/history.pdf")
    assert r.status_code == 200
    pdf_text = "".join(page.extract_text() for page in PdfReader(BytesIO(r.content)).pages)
    assert "承認履歴" in pdf_text
    assert "監督 一郎" in pdf_text


async def test_delegations_are_made_by_the_principal_or_a_holder_of_the_grant(h: Harness) -> None:
    """4(21): named in advance; the deputy of the same organization; a window of at most a
    year; revoked by the principal."""
    now = h.clock.now()
    window = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(days=2)).isoformat()}
    await h.ok(
        NOBODY,
        "POST",
        "/delegations",
        403,
        json={"deputy_id": DEPUTY.user_id, "principal_id": SUP.user_id, **window},
    )
    made = await h.ok(
        MANAGER,
        "POST",
        "/delegations",
        201,
        json={"deputy_id": DEPUTY.user_id, "principal_id": SUP.user_id, **window},
    )
    r = await h.call(
        SUP, "POST", "/api/v1/delegations", json={"deputy_id": BUILDER.user_id, **window}
    )
    assert r.status_code == 400
    assert r.json()["field"] == "deputy_id"
    r = await h.call(
        SUP,
        "POST",
        "/api/v1/delegations",
        json={
            "deputy_id": DEPUTY.user_id,
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=400)).isoformat(),
        },
    )
    assert r.status_code == 400
    mine = await h.ok(SUP, "GET", "/delegations")
    assert [d["id"] for d in mine["items"]] == [made["id"]]
    await h.ok(SUP, "DELETE", f"/delegations/{made['id']}", 204)
    assert await h.container.records.get("delegations", made["id"]) is not None
    assert (await h.ok(DEPUTY, "GET", "/delegations"))["items"][0]["revoked_at"]


PDF_ONE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
