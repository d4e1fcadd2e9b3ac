"""Permission matrices of the proposals and workflow routers on the app as ``create_app`` builds
it, with real sign-ins (``tests.support.perms``): anonymous 401, another organization 404 (the
proposal's existence is not revealed), a member without the right 403 (or 404 where they may
not even read it), the one who may: allowed. Refused calls store nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.config import Settings
from api.proposals.router import router as proposals_router
from api.proposals.router_forms import router as forms_router
from api.proposals.router_premeetings import router as premeetings_router
from api.workflow.router import router as workflow_router
from tests.support.perms import API, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio

FORM = {"name": "試験様式", "fields": [{"key": "a", "label": "項目A", "type": "text"}]}
NOW = datetime.now(UTC)
WINDOW = {"starts_at": NOW.isoformat(), "ends_at": (NOW + timedelta(days=2)).isoformat()}


def v(key: str) -> Any:
    return lambda ids: {"version": int(ids[key])}


ROWS = [
    Row("GET", "/proposal-forms", allowed="builder", denied=None, other=None),
    Row("GET", "/proposal-forms/{std}", allowed="builder", denied=None, other=None),
    Row("GET", "/proposal-forms/{std}/versions/{one}", allowed="builder", denied=None, other=None),
    Row(
        "POST",
        "/proposal-forms",
        allowed="operator",
        ok=201,
        other_status=403,
        json={"definition": FORM},
    ),
    Row(
        "PUT",
        "/proposal-forms/{form_a}",
        allowed="operator",
        other_status=403,
        json=lambda ids: {"version": 1, "definition": FORM},
    ),
    Row(
        "POST",
        "/proposal-forms/{form_b}/active",
        allowed="operator",
        other_status=403,
        json={"version": 1, "active": False},
    ),
    Row("GET", "/works/{work}/proposals", allowed="viewer", refused=404, hidden="proposal"),
    Row(
        "GET",
        "/works/{work}/proposals/new?form_id=koji_uchiawase",
        allowed="builder",
        denied="viewer",
    ),
    Row("GET", "/works/{work}/proposals/people", allowed="builder", refused=404),
    Row(
        "POST",
        "/works/{work}/proposals",
        allowed="builder",
        denied="viewer",
        ok=201,
        json={"form_id": "koji_uchiawase", "title": "t"},
    ),
    Row("GET", "/proposals", allowed="viewer", denied=None, other_status=200, hidden="proposal"),
    Row(
        "GET",
        "/proposals/inbox",
        allowed="supervisor",
        denied=None,
        other_status=200,
        hidden="proposal",
    ),
    Row("GET", "/proposals/inbox/count", allowed="supervisor", denied=None, other_status=200),
    Row("GET", "/proposals/{proposal}", allowed="viewer", refused=404),
    Row(
        "PATCH",
        "/proposals/{draft}",
        allowed="builder",
        denied="viewer",
        refused=404,
        fresh=True,
        json=lambda ids: {"version": int(ids["draft_v"]), "title": "改"},
    ),
    Row(
        "DELETE",
        "/proposals/{draft}?version={draft_v}",
        allowed="builder",
        denied="viewer",
        refused=404,
        ok=204,
        fresh=True,
    ),
    Row("GET", "/proposals/{proposal}/pdf", allowed="viewer", refused=404),
    Row("GET", "/proposals/{proposal}/history", allowed="viewer", refused=404),
    Row("GET", "/proposals/{proposal}/history.csv", allowed="viewer", refused=404),
    Row("GET", "/proposals/{proposal}/history.pdf", allowed="viewer", refused=404),
    Row(
        "POST",
        "/proposals/{draft}/submit",
        allowed="builder",
        denied="viewer",
        refused=404,
        fresh=True,
        json=lambda ids: {"version": int(ids["draft_v"]), "route": ids["route"]},
    ),
    Row(
        "POST",
        "/proposals/{fresh}/withdraw",
        allowed="builder",
        denied="supervisor",
        fresh=True,
        json=v("fresh_v"),
    ),
    Row(
        "POST",
        "/proposals/{withdrawn}/cancel",
        allowed="builder",
        denied="supervisor",
        fresh=True,
        json=v("withdrawn_v"),
    ),
    Row(
        "POST",
        "/proposals/{fresh}/receive",
        allowed="supervisor",
        denied="viewer",
        fresh=True,
        json=v("fresh_v"),
    ),
    Row(
        "POST",
        "/proposals/{fresh}/plan",
        allowed="supervisor",
        denied="viewer",
        fresh=True,
        json=lambda ids: {"version": int(ids["fresh_v"]), "planned_answer_date": ids["day"]},
    ),
    Row(
        "POST",
        "/proposals/{fresh}/approve",
        allowed="supervisor",
        denied="viewer",
        fresh=True,
        json=v("fresh_v"),
    ),
    Row(
        "POST",
        "/proposals/{fresh}/send-back",
        allowed="supervisor",
        denied="viewer",
        fresh=True,
        json=lambda ids: {"version": int(ids["fresh_v"]), "reason": "再確認"},
    ),
    Row(
        "POST",
        "/proposals/{fresh}/answer",
        allowed="supervisor",
        denied="viewer",
        fresh=True,
        json=lambda ids: {
            "version": int(ids["fresh_v"]),
            "answers": {"answer_orderer": "協議"},
            "interim": True,
        },
    ),
    Row(
        "POST",
        "/proposals/{fresh}/view",
        allowed="viewer",
        denied="builder",
        fresh=True,
        json=v("fresh_v"),
    ),
    Row(
        "POST",
        "/proposals/{decided}/post-review",
        allowed="supervisor",
        denied="builder",
        fresh=True,
        json=v("decided_v"),
    ),
    Row(
        "POST",
        "/proposals/{proposal}/comments",
        allowed="builder",
        denied="reader",
        json={"text": "確認お願いします"},
    ),
    Row(
        "POST",
        "/proposals/{decided}/corrections",
        allowed="supervisor",
        denied="builder",
        fresh=True,
        json=lambda ids: {
            "version": int(ids["decided_v"]),
            "field": "proposed_on",
            "new": "2026-06-01",
        },
    ),
    Row("GET", "/route-templates?work_id={work}", allowed="builder", denied="plain", refused=404),
    Row(
        "POST",
        "/route-templates",
        allowed="builder",
        denied="viewer",
        ok=201,
        json=lambda ids: {
            "scope": "work",
            "owner_id": ids["work"],
            "name": "標準経路",
            "steps": ids["route"],
        },
    ),
    Row(
        "DELETE",
        "/route-templates/{template}",
        allowed="builder",
        denied="viewer",
        ok=204,
        fresh=True,
    ),
    Row("GET", "/works/{work}/premeetings", allowed="viewer", refused=404),
    Row(
        "POST",
        "/works/{work}/premeetings",
        allowed="builder",
        denied="viewer",
        ok=201,
        json={"title": "範囲の確認"},
    ),
    Row("GET", "/premeetings/{matter}", allowed="viewer", refused=404),
    Row(
        "POST",
        "/premeetings/{matter}/comments",
        allowed="supervisor",
        denied="viewer",
        ok=201,
        json={"text": "確認します"},
    ),
    Row(
        "POST",
        "/premeetings/{matter_f}/answer",
        allowed="supervisor",
        denied="viewer",
        fresh=True,
        json=lambda ids: {"version": int(ids["matter_v"]), "text": "了承"},
    ),
    Row(
        "GET",
        "/delegations",
        allowed="supervisor",
        denied=None,
        other_status=200,
        hidden="delegation",
    ),
    Row(
        "GET",
        "/delegations/candidates",
        allowed="supervisor",
        denied=None,
        other_status=200,
        hidden="manager",
    ),
    Row(
        "POST",
        "/delegations",
        allowed="supervisor",
        ok=201,
        other_status=404,
        json=lambda ids: {"deputy_id": ids["manager"], "principal_id": ids["supervisor"], **WINDOW},
    ),
    Row(
        "DELETE",
        "/delegations/{delegation_f}",
        allowed="supervisor",
        ok=204,
        other_status=404,
        fresh=True,
    ),
]


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def test_proposals_and_workflow_matrix(world: World) -> None:
    work = await world.work()
    wid = work["id"]
    await _ok(
        await world.client("manager").post(
            f"{API}/works/{wid}/members",
            json={"user_id": world.user_id("manager"), "role": "supervisor"},
        ),
        201,
    )
    current = await _ok(await world.client("manager").get(f"{API}/works/{wid}"))
    await _ok(
        await world.client("manager").post(
            f"{API}/works/{wid}/transition",
            json={"to": "in_progress", "version": current["version"]},
        )
    )
    route = [
        {"kind": "view", "assignees": [world.user_id("viewer")]},
        {"kind": "approve", "assignees": [world.user_id("supervisor")]},
        {"kind": "approve", "assignees": [world.user_id("manager")]},
    ]
    builder = world.client("builder")

    async def draft() -> dict[str, Any]:
        body = {
            "form_id": "koji_uchiawase",
            "title": "区画線の施工時期",
            "values": {
                "proposer_side": "受注者",
                "proposed_date": "2026-06-08",
                "matter": "協議",
                "work_title": "道路標示工事",
                "subject": "施工時期",
                "content": "夜間施工としたい。",
            },
        }
        made: dict[str, Any] = await _ok(
            await builder.post(f"{API}/works/{wid}/proposals", json=body), 201
        )
        return made

    async def submitted() -> dict[str, Any]:
        made = await draft()
        done: dict[str, Any] = await _ok(
            await builder.post(
                f"{API}/proposals/{made['id']}/submit",
                json={"version": made["version"], "route": route},
            )
        )
        return done

    operator = world.operator
    form_a = await _ok(await operator.post(f"{API}/proposal-forms", json={"definition": FORM}), 201)
    form_b = await _ok(await operator.post(f"{API}/proposal-forms", json={"definition": FORM}), 201)
    proposal = await submitted()
    day = (datetime.now(UTC) + timedelta(days=14)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    ids = {
        **world.base_ids(),
        "work": wid,
        "std": "koji_uchiawase",
        "one": "1",
        "form_a": form_a["id"],
        "form_b": form_b["id"],
        "proposal": proposal["id"],
        "route": route,  # type: ignore[dict-item]
        "day": day.isoformat(),
    }
    delegation = await _ok(
        await world.client("supervisor").post(
            f"{API}/delegations", json={"deputy_id": world.user_id("manager"), **WINDOW}
        ),
        201,
    )
    ids["delegation"] = delegation["id"]
    matter = await _ok(
        await builder.post(f"{API}/works/{wid}/premeetings", json={"title": "事前打合せ"}), 201
    )
    ids["matter"] = matter["id"]

    async def fresh() -> dict[str, str]:
        d = await draft()
        f = await submitted()
        w = await submitted()
        w = await _ok(
            await builder.post(
                f"{API}/proposals/{w['id']}/withdraw", json={"version": w["version"]}
            )
        )
        dec = await submitted()
        dec = await _ok(
            await world.client("manager").post(
                f"{API}/proposals/{dec['id']}/approve",
                json={"version": dec["version"], "post_review": True},
            )
        )
        t = await _ok(
            await builder.post(
                f"{API}/route-templates",
                json={"scope": "work", "owner_id": wid, "name": "経路", "steps": route},
            ),
            201,
        )
        g = await _ok(
            await world.client("supervisor").post(
                f"{API}/delegations", json={"deputy_id": world.user_id("manager"), **WINDOW}
            ),
            201,
        )
        m = await _ok(
            await builder.post(f"{API}/works/{wid}/premeetings", json={"title": "事前打合せ"}), 201
        )
        return {
            "matter_f": m["id"],
            "matter_v": str(m["version"]),
            "draft": d["id"],
            "draft_v": str(d["version"]),
            "fresh": f["id"],
            "fresh_v": str(f["version"]),
            "withdrawn": w["id"],
            "withdrawn_v": str(w["version"]),
            "decided": dec["id"],
            "decided_v": str(dec["version"]),
            "template": t["id"],
            "delegation_f": g["id"],
        }

    await check_matrix(world, ROWS, ids, fresh)


def test_every_endpoint_has_a_row() -> None:
    assert (
        uncovered([proposals_router, forms_router, workflow_router, premeetings_router], ROWS) == []
    )
