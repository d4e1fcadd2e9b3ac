"""Every billing endpoint: anonymous 401, another organization 404 (or 403 where the refusal
comes before anything is looked up), same organization without ``billing.manage`` 403, the
party who may: allowed. Refusals store nothing (the audit chain does not grow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from api.config import Settings
from api.permissions.policy import Subject
from tests.billing.harness import (
    BUILDER,
    BUILDER_PLAIN,
    MUNI,
    MUNI_B,
    MUNI_PLAIN,
    OP,
    OTHER_BUILDER,
    harness,
)

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    allowed: Subject
    status: int
    denied: Subject | None
    other: Subject | None
    other_status: int = 404
    body: Any = None


async def test_permission_matrix(settings: Settings) -> None:
    async with harness(settings) as h:
        agreement = await h.agreement(starts_on="2026-04-01")
        request = await h.approved_request()
        pending = await h.request("R8-0002")
        second = await h.approved_request("R8-0003")
        app = await h.application(request)
        approved = await h.ok(OP, "POST", f"/billing/applications/{app['id']}/approve")
        fee_id = approved["fee_invoice_id"]
        fee_doc = (await h.ok(BUILDER, "GET", f"/billing/invoices/{fee_id}"))["documents"][0]["id"]
        ids = {
            "a": agreement["id"],
            "r": request["id"],
            "p": pending["id"],
            "app": app["id"],
            "fee": fee_id,
            "doc": fee_doc,
        }
        work_body = {
            "kind": "construction",
            "title": "追加の工事",
            "number": "R8-0099",
            "location": {"address": "福山市", "municipality_code": "34207"},
            "period_start": "2026-06-01",
            "period_end": "2026-06-30",
        }
        staff = [{"login_id": "x-genba", "name": "現場"}]
        rows = [
            Row("GET", "/billing/agreements/{a}", MUNI, 200, MUNI_PLAIN, MUNI_B),
            Row("GET", "/billing/requests/{r}", MUNI, 200, MUNI_PLAIN, MUNI_B),
            Row("GET", "/billing/applications/{app}", BUILDER, 200, BUILDER_PLAIN, OTHER_BUILDER),
            Row("GET", "/billing/applications/{app}", MUNI, 200, MUNI_PLAIN, MUNI_B),
            Row("GET", "/billing/invoices/{fee}", BUILDER, 200, BUILDER_PLAIN, OTHER_BUILDER),
            Row("GET", "/billing/invoices/{fee}", BUILDER, 200, None, MUNI),
            Row("GET", "/billing/documents/{doc}", BUILDER, 200, BUILDER_PLAIN, OTHER_BUILDER),
            Row("GET", "/billing/documents/{doc}/pdf", BUILDER, 200, BUILDER_PLAIN, MUNI_B),
            Row(
                "POST",
                "/billing/requests",
                MUNI,
                201,
                MUNI_PLAIN,
                BUILDER,
                403,
                {"work": work_body, "supervisor_ids": []},
            ),
            Row("POST", "/billing/requests/{p}/approve", OP, 200, MUNI, MUNI_B, 403, {}),
            Row(
                "POST",
                "/billing/applications",
                OTHER_BUILDER,
                201,
                BUILDER_PLAIN,
                MUNI,
                403,
                {
                    "approval_number": second["approval_number"],
                    "work_number": "R8-0003",
                    "company": {"name": "尾道土木株式会社"},
                    "staff": staff,
                },
            ),
            Row(
                "POST",
                "/billing/credentials/reveal",
                BUILDER,
                200,
                BUILDER_PLAIN,
                OTHER_BUILDER,
                404,
                {"source": f"billing_applications/{app['id']}"},
            ),
            Row("GET", "/billing/dashboard", OP, 200, MUNI, BUILDER, 403),
            Row("POST", "/billing/runs/annual", OP, 200, MUNI, BUILDER, 403, {"fiscal_year": 2026}),
            Row(
                "POST",
                "/billing/payments/import",
                OP,
                200,
                MUNI,
                BUILDER,
                403,
                "取引日,金額,振込依頼人名,摘要\n",
            ),
            Row(
                "POST",
                "/billing/tariffs",
                OP,
                201,
                MUNI,
                BUILDER,
                403,
                {
                    "name": "新",
                    "valid_from": "2030-04-01",
                    "items": [
                        {
                            "code": "collab_annual",
                            "label": "年額",
                            "kind": "org_annual",
                            "system": "collab",
                            "unit_price": 1,
                        }
                    ],
                },
            ),
            Row(
                "PUT",
                "/billing/profile",
                OP,
                200,
                MUNI,
                BUILDER,
                403,
                {"name": "一般財団法人 広島県土木協会", "registration_number": "T7000012050002"},
            ),
            Row(
                "POST",
                "/billing/sandboxes",
                OP,
                201,
                MUNI,
                BUILDER,
                403,
                {"name": "試行市", "login_id": "trial-1"},
            ),
            Row(
                "PUT",
                "/billing/rosters/2026",
                MUNI,
                200,
                MUNI_PLAIN,
                BUILDER,
                403,
                {"staff": [{"login_id": "fk-new", "name": "新任"}]},
            ),
            Row(
                "POST",
                "/billing/agreements/{a}/terminate",
                MUNI,
                200,
                MUNI_PLAIN,
                MUNI_B,
                404,
                {"reason": ""},
            ),
        ]
        failures = []

        async def call(who: Subject | None, row: Row) -> int:
            kw: dict[str, Any] = {}
            if isinstance(row.body, str):
                kw = {"content": row.body.encode(), "headers": {"content-type": "text/csv"}}
            elif row.body is not None:
                kw = {"json": row.body}
            r = await h.call(who, row.method, "/api/v1" + row.path.format(**ids), **kw)
            return r.status_code

        for row in rows:
            before = len(await h.all("audit_events"))
            for who, expected in ((None, 401), (row.other, row.other_status), (row.denied, 403)):
                if who is None and expected != 401:
                    continue
                got = await call(who, row)
                if got != expected:
                    failures.append(
                        (row.method, row.path, getattr(who, "login_id", None), got, expected)
                    )
            if len(await h.all("audit_events")) != before:
                failures.append((row.method, row.path, "refusal stored something"))
            got = await call(row.allowed, row)
            if got != row.status:
                failures.append((row.method, row.path, row.allowed.login_id, got, row.status))
        assert failures == [], failures
        # Lists are filtered: another municipality sees none of A's records.
        assert await h.ok(MUNI_B, "GET", "/billing/requests") == []
        assert (await h.ok(MUNI_B, "GET", "/billing/invoices"))["items"] == []
        assert await h.ok(MUNI_PLAIN, "GET", "/billing/agreements") == []
