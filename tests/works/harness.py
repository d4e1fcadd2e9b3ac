"""API harness for the works and audit tests, on the embedded backends (SQLite, tantivy,
local blobs, eager Celery). ``who.subject`` replaces ``api.deps.optional_subject``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.deps import optional_subject
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query

ORDERER = new_id()
OTHER_ORDERER = new_id()
CONTRACTOR = new_id()
OPERATOR_ORG = new_id()
OFFICE = new_id()


def _subject(login: str, org: str, kind: OrgKind, *grants: str) -> Subject:
    return Subject(
        user_id=new_id(), login_id=login, org_id=org, org_kind=kind, grants=frozenset(grants)
    )


OPERATOR = _subject("op", OPERATOR_ORG, OrgKind.OPERATOR)
CLERK = _subject("clerk", ORDERER, OrgKind.ORDERER, "works.create")
MANAGER = _subject("manager", ORDERER, OrgKind.ORDERER, "works.manage", "works.create")
ORG_READER = _subject("reader", ORDERER, OrgKind.ORDERER, "works.read_org")
ARCHIVIST = _subject("archivist", ORDERER, OrgKind.ORDERER, "archive.read_org")
NOBODY = _subject("nobody", ORDERER, OrgKind.ORDERER)
STRANGER = _subject("stranger", OTHER_ORDERER, OrgKind.ORDERER, "works.manage", "works.create")
BUILDER = _subject("builder", CONTRACTOR, OrgKind.CONTRACTOR)
AUDITOR = _subject("auditor", ORDERER, OrgKind.ORDERER, "audit.read")

ALL = (OPERATOR, CLERK, MANAGER, ORG_READER, ARCHIVIST, NOBODY, STRANGER, BUILDER, AUDITOR)


@dataclass
class Who:
    subject: Subject | None = None


@dataclass
class Harness:
    container: Container
    client: httpx.AsyncClient
    who: Who = field(default_factory=Who)

    async def call(
        self, subject: Subject | None, method: str, url: str, **kw: Any
    ) -> httpx.Response:
        self.who.subject = subject
        return await self.client.request(method, url, **kw)

    async def create(self, subject: Subject = CLERK, **over: Any) -> dict[str, Any]:
        resp = await self.call(subject, "POST", "/api/v1/works", json=work_body(**over))
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def events(self, action: str) -> list[dict[str, Any]]:
        page = await self.container.records.find(
            "audit_events", Query(where=(Eq("action", action),), sort=(("seq", 1),), limit=1000)
        )
        return page.items


def work_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "construction",
        "title": "福山市春日町2丁目ほか道路標示工事",
        "number": f"R8-{new_id()[-6:]}",
        "orderer_org_id": ORDERER,
        "office_id": OFFICE,
        "contractor_org_ids": [CONTRACTOR],
        "location": {
            "address": "広島県福山市春日町2丁目2番56号先",
            "municipality_code": "342076",  # 福山市 34207 + 検査数字 6
            "lat": 34.49,
            "lon": 133.36,
        },
        "period_start": "2026-06-01",
        "period_end": "2026-08-31",
        "business_type": "17",
        "category": "道路",
        "planned_price": 13091000,
        "contract_price": 12500000,
        "bid_opening_at": "2026-05-26T01:00:00Z",
    }
    body.update(over)
    return body


async def seed(container: Container) -> None:
    records = container.records
    for org_id, kind in (
        (ORDERER, "orderer"),
        (OTHER_ORDERER, "orderer"),
        (CONTRACTOR, "contractor"),
        (OPERATOR_ORG, "operator"),
    ):
        await records.insert("organizations", {"id": org_id, "kind": kind, "name": org_id})
    await records.insert("offices", {"id": OFFICE, "org_id": ORDERER, "name": "東部建設事務所"})
    for s in ALL:
        await records.insert("users", {"id": s.user_id, "login_id": s.login_id, "org_id": s.org_id})


H = TypeVar("H", bound=Harness)


@asynccontextmanager
async def serve(container: Container, app: FastAPI, kind: type[H]) -> AsyncIterator[H]:
    """A ``kind`` harness with a client on ``app``; ``who.subject`` replaces
    ``api.deps.optional_subject``."""
    who = Who()

    async def as_who() -> Subject | None:
        return who.subject

    app.dependency_overrides[optional_subject] = as_who
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
        yield kind(container, client, who)


@asynccontextmanager
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    container = Container(settings)
    await container.open()
    try:
        await seed(container)
        async with serve(container, create_app(container=container), Harness) as h:
            yield h
    finally:
        await container.close()
