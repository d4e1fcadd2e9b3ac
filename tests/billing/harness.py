"""A world for the billing tests: the app exactly as ``create_app`` builds it on the embedded
backends (SQLite, tantivy, local blobs, eager Celery), a settable clock, and the parties of
seed 000's flow:

- ``OP``        the operator (広島県土木協会 in the seed)
- ``MUNI``      staff of municipality A (福山市) holding ``billing.manage`` and ``works.create``
- ``MUNI_PLAIN`` staff of A without the grant
- ``MUNI_B``    staff of municipality B (尾道市) holding ``billing.manage``
- ``BUILDER``   staff of contractor C holding ``billing.manage``
- ``BUILDER_PLAIN`` staff of C without the grant
- ``OTHER_BUILDER`` staff of contractor D holding ``billing.manage``

``who.subject`` replaces the signed-in subject (``tests.works.harness.serve``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from api.app import create_app
from api.billing import jobs
from api.config import Settings
from api.container import Container
from api.kit.clock import FixedClock
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query
from tests.works.harness import Harness as BaseHarness
from tests.works.harness import serve
from workers.celery_app import set_container

MUNI_ORG = new_id()
MUNI_B_ORG = new_id()
CONTRACTOR = new_id()
OTHER_CONTRACTOR = new_id()
OPERATOR_ORG = new_id()
API = "/api/v1"
REGISTRATION = "T7000012050002"  # a real 法人番号 (国税庁) behind "T": check digit 7


def _subject(login: str, org: str, kind: OrgKind, *grants: str) -> Subject:
    return Subject(
        user_id=new_id(), login_id=login, org_id=org, org_kind=kind, grants=frozenset(grants)
    )


OP = _subject("op", OPERATOR_ORG, OrgKind.OPERATOR)
MUNI = _subject("muni", MUNI_ORG, OrgKind.ORDERER, "billing.manage", "works.create")
MUNI_PLAIN = _subject("muniplain", MUNI_ORG, OrgKind.ORDERER)
MUNI_B = _subject("munib", MUNI_B_ORG, OrgKind.ORDERER, "billing.manage", "works.create")
BUILDER = _subject("builder", CONTRACTOR, OrgKind.CONTRACTOR, "billing.manage")
BUILDER_PLAIN = _subject("builderplain", CONTRACTOR, OrgKind.CONTRACTOR)
OTHER_BUILDER = _subject("otherbuilder", OTHER_CONTRACTOR, OrgKind.CONTRACTOR, "billing.manage")
PEOPLE = {
    OP: "運用 管理者",
    MUNI: "福山 一郎",
    MUNI_PLAIN: "福山 二郎",
    MUNI_B: "尾道 三郎",
    BUILDER: "春日 太郎",
    BUILDER_PLAIN: "春日 次郎",
    OTHER_BUILDER: "他社 四郎",
}


def jst(day: date, hour: int = 10) -> datetime:
    """A moment of a Japanese day (10:00 JST by default)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=9)


@dataclass
class Harness(BaseHarness):
    clock: FixedClock = field(default_factory=lambda: FixedClock(jst(date(2026, 1, 15))))

    def at(self, day: date) -> None:
        self.clock.at = jst(day)

    async def ok(
        self, subject: Subject | None, method: str, url: str, status: int = 200, **kw: Any
    ) -> Any:
        r = await self.call(subject, method, API + url, **kw)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        if r.content and r.headers.get("content-type", "").endswith("json"):
            return r.json()
        return r

    async def problem(
        self, subject: Subject | None, method: str, url: str, status: int, **kw: Any
    ) -> dict[str, Any]:
        r = await self.call(subject, method, API + url, **kw)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        body: dict[str, Any] = r.json()
        return body

    async def agreement(
        self,
        starts_on: str = "2026-04-01",
        systems: tuple[str, ...] = ("collab", "archive"),
        subject: Subject = MUNI,
        **conclude: Any,
    ) -> dict[str, Any]:
        applied = await self.ok(
            subject,
            "POST",
            "/billing/agreements",
            201,
            json={
                "systems": list(systems),
                "starts_on": starts_on,
                "contact": {"name": "契約 担当", "phone": "084-000-0000"},
            },
        )
        done: dict[str, Any] = await self.ok(
            OP, "POST", f"/billing/agreements/{applied['id']}/conclude", json=conclude
        )
        return done

    async def request(self, number: str = "R8-0001", **work: Any) -> dict[str, Any]:
        body = {
            "work": {
                "kind": "construction",
                "title": "福山市春日町2丁目ほか道路標示工事",
                "number": number,
                "location": {"address": "広島県福山市春日町2丁目", "municipality_code": "342076"},
                "period_start": "2026-06-01",
                "period_end": "2026-08-31",
                **work,
            },
            "supervisor_ids": [MUNI.user_id],
        }
        created: dict[str, Any] = await self.ok(MUNI, "POST", "/billing/requests", 201, json=body)
        return created

    async def approved_request(self, number: str = "R8-0001", **work: Any) -> dict[str, Any]:
        req = await self.request(number, **work)
        approved: dict[str, Any] = await self.ok(
            OP, "POST", f"/billing/requests/{req['id']}/approve", json={}
        )
        return approved

    async def application(
        self,
        request: dict[str, Any],
        subject: Subject = BUILDER,
        logins: tuple[str, ...] = ("kasuga-genba",),
    ) -> dict[str, Any]:
        body = {
            "approval_number": request["approval_number"],
            "work_number": request["work"]["number"],
            "company": {
                "name": "春日建設株式会社",
                "corporate_number": "1180301018771",
                "representative": "春日 太郎",
            },
            "staff": [{"login_id": login, "name": f"現場 {i}"} for i, login in enumerate(logins)],
        }
        created: dict[str, Any] = await self.ok(
            subject, "POST", "/billing/applications", 201, json=body
        )
        return created

    async def run_jobs(self) -> dict[str, Any]:
        return await jobs.daily(self.container)

    async def audit(self, action: str) -> list[dict[str, Any]]:
        page = await self.container.records.find(
            "audit_events", Query(where=(Eq("action", action),), sort=(("seq", 1),), limit=1000)
        )
        return page.items

    async def all(self, collection: str, **eq: Any) -> list[dict[str, Any]]:
        where = tuple(Eq(k, v) for k, v in eq.items())
        return [r async for r in self.container.records.scan(collection, where)]


async def seed(container: Container) -> None:
    records = container.records
    for org_id, kind, name, code in (
        (MUNI_ORG, "orderer", "福山市", "34207000"),
        (MUNI_B_ORG, "orderer", "尾道市", "34205000"),
        (CONTRACTOR, "contractor", "春日建設株式会社", None),
        (OTHER_CONTRACTOR, "contractor", "尾道土木株式会社", None),
        (OPERATOR_ORG, "operator", "一般財団法人 広島県土木協会", None),
    ):
        await records.insert(
            "organizations", {"id": org_id, "kind": kind, "name": name, "code": code}
        )
    for s, name in PEOPLE.items():
        await records.insert(
            "users",
            {
                "id": s.user_id,
                "login_id": s.login_id,
                "login_key": s.login_id,
                "org_id": s.org_id,
                "name": name,
                "status": "active",
                "email": f"{s.login_id}@example.jp",
            },
        )
        for grant in s.grants:
            await records.insert(
                "grants",
                {
                    "id": f"{s.user_id}:{grant}",
                    "user_id": s.user_id,
                    "org_id": s.org_id,
                    "grant": grant,
                },
            )
    await records.insert(
        "billing_profile",
        {
            "id": "operator",
            "name": "一般財団法人 広島県土木協会",
            "registration_number": REGISTRATION,
            "address": "広島市中区基町10-52",
            "phone": "082-000-0000",
            "bank": "広島銀行 本店 普通 1234567 ザイ）ヒロシマケンドボクキョウカイ",
        },
    )


@asynccontextmanager
async def harness(settings: Settings, start: date = date(2026, 1, 15)) -> AsyncIterator[Harness]:
    clock = FixedClock(jst(start))
    container = Container(settings, clock=clock)
    await container.open()
    set_container(container)
    try:
        await seed(container)
        async with serve(container, create_app(container=container), Harness) as h:
            h.clock = clock
            yield h
    finally:
        set_container(None)
        await container.close()
