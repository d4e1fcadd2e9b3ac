"""A world for the proposal and workflow tests: the app exactly as ``create_app`` builds it on the
embedded backends (SQLite, tantivy, local blobs, eager Celery), a fixed clock (Monday
2026-06-08 10:00 JST), and the people of one running work:

- ``SUP``   監督員 (orderer, supervisor member; registers the work)
- ``CHIEF`` 総括監督員 (orderer, supervisor member): the superior of the route
- ``DEPUTY`` (orderer, supervisor member): named deputy of SUP
- ``INSP``  検査員 (orderer, inspector member)
- ``BUILDER`` 現場代理人 (contractor member): the proposer
- ``VIEWER`` (orderer, viewer member)
- ``NOBODY`` (orderer, no membership, no grant)
- ``CORRECTOR`` (orderer, grant ``proposals.correct``, no membership but ``works.read_org``)
- ``STRANGER`` (another orderer holding every grant)
- ``OPERATOR``

``who.subject`` replaces the signed-in subject (``tests.works.harness.serve``).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.kit.clock import FixedClock
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query
from tests.works.harness import Harness as BaseHarness
from tests.works.harness import serve
from workers.celery_app import set_container

ORDERER = new_id()
OTHER_ORDERER = new_id()
CONTRACTOR = new_id()
OPERATOR_ORG = new_id()
OFFICE = new_id()
API = "/api/v1"
TUS = {"Tus-Resumable": "1.0.0"}
START = datetime(2026, 6, 8, 1, 0, tzinfo=UTC)  # Monday 10:00 JST


def _subject(login: str, org: str, kind: OrgKind, *grants: str) -> Subject:
    return Subject(
        user_id=new_id(), login_id=login, org_id=org, org_kind=kind, grants=frozenset(grants)
    )


SUP = _subject("sup", ORDERER, OrgKind.ORDERER, "works.create")
CHIEF = _subject("chief", ORDERER, OrgKind.ORDERER)
DEPUTY = _subject("deputy", ORDERER, OrgKind.ORDERER)
INSP = _subject("insp", ORDERER, OrgKind.ORDERER)
VIEWER = _subject("viewer", ORDERER, OrgKind.ORDERER)
NOBODY = _subject("nobody", ORDERER, OrgKind.ORDERER)
CORRECTOR = _subject("corrector", ORDERER, OrgKind.ORDERER, "proposals.correct", "works.read_org")
MANAGER = _subject("manager", ORDERER, OrgKind.ORDERER, "workflow.delegate", "works.manage")
BUILDER = _subject("builder", CONTRACTOR, OrgKind.CONTRACTOR)
BUILDER2 = _subject("builder2", CONTRACTOR, OrgKind.CONTRACTOR)
STRANGER = _subject(
    "stranger",
    OTHER_ORDERER,
    OrgKind.ORDERER,
    "works.manage",
    "works.create",
    "works.read_org",
    "proposals.correct",
    "proposals.forms",
    "workflow.delegate",
)
OPERATOR = _subject("op", OPERATOR_ORG, OrgKind.OPERATOR)
NAMES = {
    SUP: "監督 一郎",
    CHIEF: "総括 二郎",
    DEPUTY: "代理 三郎",
    INSP: "検査 花子",
    VIEWER: "閲覧 四郎",
    NOBODY: "無縁 五郎",
    CORRECTOR: "訂正 六子",
    MANAGER: "管理 七郎",
    BUILDER: "春日 太郎",
    BUILDER2: "春日 次郎",
    STRANGER: "他市 八郎",
    OPERATOR: "運用 管理者",
}
ROLES = {
    SUP: "supervisor",
    CHIEF: "supervisor",
    DEPUTY: "supervisor",
    INSP: "inspector",
    VIEWER: "viewer",
    BUILDER: "contractor_member",
    BUILDER2: "contractor_member",
}


@dataclass
class Harness(BaseHarness):
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))

    async def ok(
        self, subject: Subject | None, method: str, url: str, status: int = 200, **kw: Any
    ) -> Any:
        r = await self.call(subject, method, API + url, **kw)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        return r.json() if r.content and r.headers.get("content-type", "").endswith("json") else r

    async def work(self, **over: Any) -> dict[str, Any]:
        """A running work with every member of ``ROLES``."""
        body = {
            "kind": "construction",
            "title": "福山市春日町2丁目ほか道路標示工事",
            "number": f"R8-{new_id()[-6:]}",
            "orderer_org_id": ORDERER,
            "office_id": OFFICE,
            "contractor_org_ids": [CONTRACTOR],
            "location": {
                "address": "広島県福山市春日町2丁目2番56号先",
                "municipality_code": "342076",
            },
            "period_start": "2026-06-01",
            "period_end": "2026-08-31",
            "contract_price": 12500000,
            **over,
        }
        work = await self.ok(SUP, "POST", "/works", 201, json=body)
        for who, role in ROLES.items():
            if who is SUP:
                continue
            await self.ok(
                SUP,
                "POST",
                f"/works/{work['id']}/members",
                201,
                json={"user_id": who.user_id, "role": role},
            )
        current: dict[str, Any] = await self.ok(SUP, "GET", f"/works/{work['id']}")
        await self.ok(
            SUP,
            "POST",
            f"/works/{work['id']}/transition",
            json={"to": "in_progress", "version": current["version"]},
        )
        return current

    async def upload(
        self, subject: Subject, work_id: str, name: str, data: bytes, ctype: str
    ) -> str:
        r = await self.send_upload(subject, work_id, name, data, ctype)
        assert r.status_code == 201, r.text
        return str(r.headers["Kura-Attachment-Id"])

    async def send_upload(
        self, subject: Subject, work_id: str, name: str, data: bytes, ctype: str
    ) -> httpx.Response:
        """A whole file staged as an attachment of the work in one tus request (the answer)."""
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in {"filename": name, "filetype": ctype, "work_id": work_id}.items()
        )
        return await self.call(
            subject,
            "POST",
            f"{API}/attachments/uploads",
            content=data,
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": meta,
                "Content-Type": "application/offset+octet-stream",
            },
        )

    async def draft(self, work_id: str, subject: Subject = BUILDER, **over: Any) -> dict[str, Any]:
        """A 工事打合せ簿 draft with its required fields filled."""
        new = await self.ok(
            subject, "GET", f"/works/{work_id}/proposals/new?form_id=koji_uchiawase"
        )
        values = {
            **new["values"],
            "matter": "協議",
            "subject": "区画線の施工時期について",
            "content": "夜間施工としたい。",
        }
        body = {
            "form_id": "koji_uchiawase",
            "title": "区画線の施工時期について",
            "values": values,
            **over,
        }
        created: dict[str, Any] = await self.ok(
            subject, "POST", f"/works/{work_id}/proposals", 201, json=body
        )
        return created

    async def get(self, subject: Subject, pid: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.ok(subject, "GET", f"/proposals/{pid}")
        return found

    async def act(
        self, subject: Subject, pid: str, action: str, status: int = 200, **body: Any
    ) -> Any:
        """POST /proposals/{pid}/{action} with the current version (unless given)."""
        if "version" not in body and action != "comments":
            body["version"] = (await self.container.records.get("proposals", pid) or {}).get(
                "version"
            )
        r = await self.call(subject, "POST", f"{API}/proposals/{pid}/{action}", json=body)
        assert r.status_code == status, (action, subject.login_id, r.status_code, r.text)
        return r.json()

    async def audit(self, action: str) -> list[dict[str, Any]]:
        page = await self.container.records.find(
            "audit_events", Query(where=(Eq("action", action),), sort=(("seq", 1),), limit=1000)
        )
        return page.items

    async def mails(self) -> list[dict[str, Any]]:
        return (await self.container.records.find("mails", Query(limit=1000))).items


async def seed(container: Container) -> None:
    records = container.records
    for org_id, kind, name in (
        (ORDERER, "orderer", "福山市"),
        (OTHER_ORDERER, "orderer", "尾道市"),
        (CONTRACTOR, "contractor", "春日建設株式会社"),
        (OPERATOR_ORG, "operator", "運用"),
    ):
        await records.insert("organizations", {"id": org_id, "kind": kind, "name": name})
    await records.insert("offices", {"id": OFFICE, "org_id": ORDERER, "name": "東部建設事務所"})
    for s, name in NAMES.items():
        await records.insert(
            "users",
            {
                "id": s.user_id,
                "login_id": s.login_id,
                "org_id": s.org_id,
                "name": name,
                "status": "active",
                "email": f"{s.login_id}@example.jp",
            },
        )


@asynccontextmanager
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    clock = FixedClock(START)
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
