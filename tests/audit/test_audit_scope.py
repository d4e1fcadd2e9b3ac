"""Issue 7 item 1: audit reads stay inside the reader's organization.

A holder of ``audit.read`` in one city used to read every event of every organization
(another city's exports with file names, its users' logins with IP addresses). Events now
record the organizations they concern (actor's and target's) and list/export filter on it;
operators still read everything, and the hash chain still verifies.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from api.audit.service import COLLECTION, AuditLog
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query
from tests.works.harness import (
    AUDITOR,
    BUILDER,
    CLERK,
    CONTRACTOR,
    OPERATOR,
    ORDERER,
    OTHER_ORDERER,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio
URL = "/api/v1/audit/events"

OTHER_AUDITOR = Subject(
    new_id(), "auditor.b", OTHER_ORDERER, OrgKind.ORDERER, frozenset({"audit.read"})
)
BUILDER_AUDITOR = Subject(
    new_id(), "auditor.c", CONTRACTOR, OrgKind.CONTRACTOR, frozenset({"audit.read"})
)


async def world(h: Harness) -> dict[str, Any]:
    """City A (ORDERER) and city B (OTHER_ORDERER) each with a work, an export and a login."""
    a = await h.create(CLERK, title="A市の工事")
    b = await h.create(STRANGER, title="B市の工事", orderer_org_id=OTHER_ORDERER, office_id=None)
    log = AuditLog(h.container.records, h.container.clock)
    async with h.container.uow():
        # B's user's login, with address and login id, as AuthService records it
        await log.record(
            STRANGER,
            "auth.logged_in",
            f"users/{STRANGER.user_id}",
            detail={"login_id": "stranger", "ip": "203.0.113.9", "mode": "session"},
        )
        # a failed login for B's user (anonymous actor: the organization comes from the target)
        await log.record(
            None,
            "auth.login_failed",
            f"users/{STRANGER.user_id}",
            detail={"login_id": "stranger", "ip": "203.0.113.10", "reason": "wrong_password"},
        )
        # B's export of a work, with the file name
        await log.record(
            STRANGER, "files.exported", f"works/{b['id']}", detail={"filename": "B市_秘.zip"}
        )
    resp = await h.call(
        CLERK,
        "POST",
        f"/api/v1/works/{a['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert resp.status_code == 201, resp.text
    return {"a": a, "b": b}


async def listed(h: Harness, subject: Subject, **params: Any) -> list[dict[str, Any]]:
    resp = await h.call(subject, "GET", URL, params={"limit": 500, **params})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def test_an_auditor_reads_only_their_organization(h: Harness) -> None:
    w = await world(h)
    mine = await listed(h, AUDITOR)
    text = json.dumps(mine, ensure_ascii=False)
    assert w["b"]["id"] not in text
    assert "203.0.113" not in text
    assert "B市_秘.zip" not in text
    assert {e["action"] for e in mine} == {"works.created", "works.member_added"}
    assert all(ORDERER in e["org_ids"] for e in mine)
    # filtering for another organization's target finds nothing rather than leaking
    assert await listed(h, AUDITOR, target=f"works/{w['b']['id']}") == []
    assert await listed(h, AUDITOR, actor=STRANGER.user_id) == []
    theirs = await listed(h, OTHER_AUDITOR)
    assert {e["action"] for e in theirs} == {
        "works.created",
        "auth.logged_in",
        "auth.login_failed",
        "files.exported",
    }
    assert w["a"]["id"] not in json.dumps(theirs)


async def test_export_is_scoped_too(h: Harness) -> None:
    w = await world(h)
    for fmt in ("csv", "jsonl"):
        resp = await h.call(AUDITOR, "GET", f"{URL}/export", params={"format": fmt})
        assert resp.status_code == 200
        assert w["b"]["id"] not in resp.text
        assert "203.0.113" not in resp.text
        assert "B市_秘.zip" not in resp.text
    resp = await h.call(AUDITOR, "GET", f"{URL}/export", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["action"] for r in rows] == [
        "works.created",
        "works.member_added",
        *["audit.exported"] * 3,  # the auditor's own exports concern their organization
    ]
    assert json.loads(rows[0]["org_ids"]) == [ORDERER]


async def test_a_contractor_sees_its_members_added_to_a_work(h: Harness) -> None:
    await world(h)
    seen = await listed(h, BUILDER_AUDITOR)
    assert [e["action"] for e in seen] == ["works.member_added"]
    assert seen[0]["org_ids"] == sorted([CONTRACTOR, ORDERER])


async def test_operators_see_everything_and_the_chain_verifies(h: Harness) -> None:
    await world(h)
    everything = await listed(h, OPERATOR)
    assert len(everything) == 6
    assert await AuditLog(h.container.records, h.container.clock).verify() == []


async def test_deleted_targets_keep_their_organization(h: Harness) -> None:
    a = await h.create(CLERK, title="消す工事")
    resp = await h.call(CLERK, "DELETE", f"/api/v1/works/{a['id']}", params={"version": 1})
    assert resp.status_code == 204, resp.text
    assert [e["action"] for e in await listed(h, AUDITOR)] == ["works.deleted", "works.created"]


async def test_events_without_organizations_are_for_operators_only(h: Harness) -> None:
    """Events recorded before issue 7 carry no ``org_ids``: only operators see them."""
    await h.create(CLERK, title="古い工事")
    page = await h.container.records.find(
        COLLECTION, Query(where=(Eq("action", "works.created"),), limit=10)
    )
    [old] = page.items
    await h.container.records.update(COLLECTION, old["id"], {"org_ids": None}, old["version"])
    assert await listed(h, AUDITOR) == []
    assert [e["action"] for e in await listed(h, OPERATOR)] == ["works.created"]
