"""Erasure at the contract's dates (seed 001 別表3 12(1): 契約書に記載された期日に達した際、
自動あるいは、手動によりデータを削除; §3-6: データが消去される時期について … 工事監督員に報告):
a municipality whose agreement ends, and an archived work past its retention without a hold.
The supervisors (the municipality's administrators and the operators) are told the date in
advance and reminded; a legal hold postpones; the organization's own records go with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from api.config import Settings
from api.erasures.service import ErasureService
from api.grants.service import grant_id
from api.keys import scopes
from api.keys.erasure import erase
from api.kit.ids import new_id
from tests.erasures.support import MARK, collaboration, found, world
from tests.proposals.harness import (
    API,
    BUILDER,
    CONTRACTOR,
    MANAGER,
    OPERATOR,
    ORDERER,
    OTHER_ORDERER,
    SUP,
    Harness,
)

pytestmark = pytest.mark.anyio

START = date(2026, 6, 8)


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with world(settings) as the_harness:
        # the municipality's administrator (works.manage) hears of erasure dates
        await the_harness.container.records.insert(
            "grants",
            {
                "id": grant_id(MANAGER.user_id, "works.manage"),
                "user_id": MANAGER.user_id,
                "org_id": ORDERER,
                "grant": "works.manage",
            },
        )
        yield the_harness


def day(h: Harness) -> date:
    return (h.clock.now() + timedelta(hours=9)).date()


def to(h: Harness, when: date) -> None:
    h.clock.advance(days=(when - day(h)).days)


async def told(h: Harness, kind: str) -> set[str]:
    return {
        str(n["user_id"])
        async for n in h.container.records.scan("notifications", ())
        if n.get("kind") == kind
    }


async def mailed(h: Harness, kind: str) -> set[str]:
    return {str(m.get("to_user_id")) for m in await h.mails() if m.get("kind") == kind}


async def test_everything_of_a_municipality_is_erased_after_its_agreement_ends(
    h: Harness,
) -> None:
    c = h.container
    service = ErasureService(c)
    work = await h.work()
    wid = str(work["id"])
    await collaboration(h, wid)
    await c.records.insert(
        "billing_agreements",
        {"id": new_id(), "org_id": ORDERER, "state": "terminating", "term_ends_on": "2026-06-30"},
    )
    mine = {"id": new_id(), "org_id": ORDERER, "number": "請-1", "amount": 1000}
    theirs = {"id": new_id(), "org_id": OTHER_ORDERER, "number": "請-2", "amount": 2000}
    for invoice in (mine, theirs):
        await c.records.insert("billing_invoices", invoice)
    due = date(2026, 6, 30) + timedelta(days=c.settings.erasure.agreement_days)
    scope = scopes.org(ORDERER)

    # far ahead: nothing planned yet
    assert (await service.run_due())["scheduled"] == 0
    # NOTICE_DAYS before: planned and told (notification + mail) to the administrator and
    # the operator, not to the other staff
    to(h, due - timedelta(days=c.settings.erasure.notice_days))
    counts = await service.run_due()
    assert counts["scheduled"] == 1, counts
    planned = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert planned["state"] == "scheduled"
    assert planned["erasure"]["due_on"] == due.isoformat()
    assert planned["erasure"]["source"] == "agreement"
    assert await told(h, "erasure.scheduled") == {MANAGER.user_id, OPERATOR.user_id}
    assert await mailed(h, "erasure.scheduled") == {MANAGER.user_id, OPERATOR.user_id}
    mail = next(m for m in await h.mails() if m.get("kind") == "erasure.scheduled")
    assert due.isoformat() in str(mail)
    assert "福山市" in str(mail)
    assert (await service.run_due())["scheduled"] == 0  # once
    # reminded REMINDER_DAYS before, once
    to(h, due - timedelta(days=c.settings.erasure.reminder_days))
    assert (await service.run_due())["reminded"] == 1
    assert (await service.run_due())["reminded"] == 0
    assert await told(h, "erasure.reminder") == {MANAGER.user_id, OPERATOR.user_id}
    # a hold on one of its works postpones everything
    await h.ok(OPERATOR, "POST", f"/works/{wid}/legal-hold", json={"reason": "監査"})
    to(h, due)
    assert (await service.run_due())["held"] == 1
    assert await c.keys.destroyed(scope) is None
    assert await c.records.get("billing_invoices", mine["id"]) is not None
    await h.ok(OPERATOR, "DELETE", f"/works/{wid}/legal-hold", json={"reason": "解除"})
    # on the day: the works it orders (both scopes), then its own scope
    assert (await service.run_due())["erased"] == 1
    for gone in (scopes.collab(wid), scopes.archive(wid), scope):
        assert await c.keys.destroyed(gone) is not None, gone
        assert (await h.ok(OPERATOR, "GET", f"/erasures/{gone}"))["state"] == "done"
    assert await c.records.get("billing_invoices", mine["id"]) is None
    assert await c.records.get("billing_invoices", theirs["id"]) is not None
    assert await c.records.count("posts", ()) == 0
    assert await found(c, MARK) == 0
    # its users' personal data is gone, the accounts stay for the audit trail
    user = await c.records.get("users", SUP.user_id)
    assert user is not None
    assert user["name"] == "（消去済み）"
    assert user.get("email") is None
    assert user["status"] == "disabled"
    # nothing more to do
    assert (await service.run_due())["erased"] == 0


async def test_a_new_agreement_withdraws_the_plan(h: Harness) -> None:
    c = h.container
    service = ErasureService(c)
    ending = {
        "id": new_id(),
        "org_id": ORDERER,
        "state": "terminated",
        "term_ends_on": "2026-06-30",
    }
    await c.records.insert("billing_agreements", ending)
    to(h, date(2026, 8, 1))
    assert (await service.run_due())["scheduled"] == 1
    await c.records.insert(
        "billing_agreements",
        {"id": new_id(), "org_id": ORDERER, "state": "active", "term_ends_on": "2027-03-31"},
    )
    assert (await service.run_due())["cancelled"] == 1
    assert (await h.ok(OPERATOR, "GET", f"/erasures/{scopes.org(ORDERER)}"))["state"] == "none"


async def test_an_archived_work_is_disposed_of_after_its_retention(h: Harness) -> None:
    c = h.container
    service = ErasureService(c)
    work = await h.work()
    wid = str(work["id"])
    for status in ("completed", "archived"):
        current = await h.ok(SUP, "GET", f"/works/{wid}")
        await h.ok(
            SUP if status == "completed" else OPERATOR,
            "POST",
            f"/works/{wid}/transition",
            json={"to": status, "version": current["version"]},
        )
    archived = await h.ok(SUP, "GET", f"/works/{wid}")
    until = date.fromisoformat(archived["retention_until"])
    due = until + timedelta(days=c.settings.erasure.retention_days)
    scope = scopes.archive(wid)
    to(h, until - timedelta(days=365))
    assert (await service.run_due())["scheduled"] == 0
    to(h, due - timedelta(days=c.settings.erasure.notice_days))
    assert (await service.run_due())["scheduled"] == 1
    assert await told(h, "erasure.scheduled") == {MANAGER.user_id, OPERATOR.user_id}
    await h.ok(OPERATOR, "POST", f"/works/{wid}/legal-hold", json={"reason": "訴訟"})
    to(h, due)
    assert (await service.run_due())["held"] == 1
    assert await c.records.get("works", wid) is not None
    await h.ok(OPERATOR, "DELETE", f"/works/{wid}/legal-hold", json={"reason": "終結"})
    assert (await service.run_due())["erased"] == 1
    assert await c.records.get("works", wid) is None
    for gone in (scopes.collab(wid), scope):
        assert await c.keys.destroyed(gone) is not None
    [disposed] = await h.audit("works.disposed")
    assert disposed["actor_id"] == "system:erasures"


async def test_an_organizations_own_records_go_with_its_scope(h: Harness) -> None:
    """o-<org>: the bonds it issued (revisions, keys, openings, balances, certificates), its
    billing and qualification records and their files; another organization's stay."""
    c = h.container
    records = c.records
    made: dict[str, list[dict[str, Any]]] = {}

    async def put(collection: str, record: dict[str, Any]) -> dict[str, Any]:
        stored = await records.insert(collection, {"id": new_id(), **record})
        made.setdefault(collection, []).append(stored)
        return stored

    for org in (CONTRACTOR, OTHER_ORDERER):
        bond = await put("bonds", {"issuer_org_id": org, "contents": {"conditions": MARK}})
        await put("bond_revisions", {"bond_id": bond["id"], "contents": {"conditions": MARK}})
        await put("bond_keys", {"bond_id": bond["id"]})
        await put("bond_openings", {"bond_id": bond["id"], "org_id": ORDERER})
        await put("bond_balance_years", {"issuer_org_id": org, "year": 2026})
        await put("bond_certificates", {"issuer_org_id": org})
        application = await put("qual_applications", {"org_id": org, "company": MARK})
        await put("qual_desks", {"application_id": application["id"], "org_id": ORDERER})
        await put("qual_drafts", {"org_id": org, "company": MARK})
        await put("billing_applications", {"org_id": org})
    erased = await erase(c, scopes.org(CONTRACTOR), "user:op", "試験")
    for collection, items in made.items():
        left = [r for r in items if await records.get(collection, str(r["id"])) is not None]
        assert len(left) == 1, (collection, left)
        kept = left[0]
        assert CONTRACTOR not in (kept.get("issuer_org_id"), kept.get("org_id")), collection
    assert erased.records["bonds"] == 1
    assert erased.records["users.anonymised"] >= 1
    builder = await records.get("users", BUILDER.user_id)
    assert builder is not None
    assert builder.get("email") is None
    assert (await records.get("users", SUP.user_id) or {}).get("email")
    # again: idempotent
    again = await erase(c, scopes.org(CONTRACTOR), "user:op")
    assert again.destroyed.already
    assert again.records == erased.records  # the totals of the erasure, nothing more found
    r = await h.call(OPERATOR, "GET", f"{API}/erasures/{scopes.org(CONTRACTOR)}/certificate")
    assert r.status_code == 200


async def test_a_date_already_past_still_gets_its_advance_notice(h: Harness) -> None:
    """§3-6 (消去される時期 … 報告): an agreement that ended before the plan was made is not
    erased at once; the plan gives the supervisors ``reminder_days`` and keeps its date."""
    c = h.container
    service = ErasureService(c)
    await c.records.insert(
        "billing_agreements",
        {"id": new_id(), "org_id": ORDERER, "state": "terminated", "term_ends_on": "2026-01-31"},
    )
    counts = await service.run_due()
    assert counts["scheduled"] == 1
    assert counts["erased"] == 0
    scope = scopes.org(ORDERER)
    planned = (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["erasure"]
    on = START + timedelta(days=c.settings.erasure.reminder_days)
    assert planned["due_on"] == on.isoformat()
    assert await told(h, "erasure.scheduled") == {MANAGER.user_id, OPERATOR.user_id}
    h.clock.advance(days=1)
    assert (await service.run_due())["scheduled"] == 0  # the plan stays as it is
    assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["erasure"][
        "due_on"
    ] == on.isoformat()
    to(h, on)
    assert (await service.run_due())["erased"] == 1
    assert await c.keys.destroyed(scope) is not None
