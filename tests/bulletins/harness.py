"""A harness for the board tests on the embedded backends (SQLite, tantivy, local blobs, eager
Celery), the app exactly as ``create_app`` builds it; ``call(who, ...)`` answers as that
subject (``api.deps.optional_subject`` replaced, as in ``tests.works.harness``; sign-ins are
exercised by the permission matrix and the browser tests).

People (users stored with names, e-mail addresses and organizations):
- 監督 一郎 ``sup`` (orderer, may register works): supervisor of the works ``work()`` makes;
- 検査 花子 ``insp`` (orderer): inspector; 閲覧 三郎 ``view`` (orderer): viewer;
- 春日 太郎 ``b1`` and 春日 次郎 ``b2`` (contractor 春日建設): contractor members;
- 所属 四郎 ``same`` (orderer, no membership); 府中 五郎 ``oread`` (orderer, works.read_org);
- 瀬戸 六郎 ``other`` (another contractor, no membership); 尾道 七郎 ``alien`` (another orderer);
- 運用 八郎 ``op``: an operator.
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
from api.deps import optional_subject
from api.kit.clock import FixedClock
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query
from workers.celery_app import set_container

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
API = "/api/v1"
TUS = {"Tus-Resumable": "1.0.0"}

ORDERER = new_id()
CONTRACTOR = new_id()
OTHER_CONTRACTOR = new_id()
OTHER_ORDERER = new_id()
OPERATORS = new_id()
ORGS = {
    OPERATORS: ("operator", "運用事業者"),
    ORDERER: ("orderer", "広島県"),
    CONTRACTOR: ("contractor", "春日建設株式会社"),
    OTHER_CONTRACTOR: ("contractor", "瀬戸内測量株式会社"),
    OTHER_ORDERER: ("orderer", "尾道市"),
}
# key -> (login, name, org, grants)
PEOPLE: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "sup": ("sup", "監督 一郎", ORDERER, ("works.create",)),
    "insp": ("insp", "検査 花子", ORDERER, ()),
    "view": ("view", "閲覧 三郎", ORDERER, ()),
    "b1": ("b1", "春日 太郎", CONTRACTOR, ()),
    "b2": ("b2", "春日 次郎", CONTRACTOR, ()),
    "same": ("same", "所属 四郎", ORDERER, ()),
    "oread": ("oread", "府中 五郎", ORDERER, ("works.read_org",)),
    "other": ("other", "瀬戸 六郎", OTHER_CONTRACTOR, ()),
    "alien": ("alien", "尾道 七郎", OTHER_ORDERER, ("works.read_org", "works.create")),
    "op": ("op", "運用 八郎", OPERATORS, ()),
}
ROLES = {
    "insp": "inspector",
    "view": "viewer",
    "b1": "contractor_member",
    "b2": "contractor_member",
}


def _kind(org: str) -> OrgKind:
    return OrgKind(ORGS[org][0])


@dataclass
class Who:
    subject: Subject | None = None


@dataclass
class Board:
    container: Container
    client: httpx.AsyncClient
    clock: FixedClock
    who: Who
    people: dict[str, Subject] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Subject:
        return self.people[key]

    def tick(self, seconds: float = 1.0) -> None:
        self.clock.advance(seconds=seconds)

    async def call(
        self, who: str | Subject | None, method: str, url: str, **kw: Any
    ) -> httpx.Response:
        self.who.subject = self.people[who] if isinstance(who, str) else who
        return await self.client.request(
            method, url if url.startswith("/") else f"{API}/{url}", **kw
        )

    async def ok(
        self, who: str | Subject | None, method: str, url: str, status: int = 200, **kw: Any
    ) -> Any:
        r = await self.call(who, method, url, **kw)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        return r.json() if r.content else None

    async def work(self, *, members: dict[str, str] | None = None, **over: Any) -> dict[str, Any]:
        """A work registered by ``sup`` (its supervisor) with the members ``members`` (default
        ``ROLES``)."""
        body = {
            "kind": "service",
            "title": over.pop("title", "国道2号道路改良設計業務"),
            "number": f"R8-{new_id()[-8:]}",
            "orderer_org_id": ORDERER,
            "contractor_org_ids": [CONTRACTOR, OTHER_CONTRACTOR],
            "location": {"address": "広島県福山市春日町2丁目", "municipality_code": "342076"},
            "period_start": "2026-06-01",
            "period_end": "2027-03-31",
            **over,
        }
        work: dict[str, Any] = await self.ok("sup", "POST", "works", 201, json=body)
        for key, role in (ROLES if members is None else members).items():
            await self.ok(
                "sup",
                "POST",
                f"works/{work['id']}/members",
                201,
                json={"user_id": self[key].user_id, "role": role},
            )
        return work

    async def post(self, who: str, work_id: str, status: int = 201, **body: Any) -> Any:
        body.setdefault("title", "資材搬入の予定について")
        body.setdefault("body", "明日9時に資材を搬入します。")
        self.tick()
        return await self.ok(who, "POST", f"works/{work_id}/posts", status, json=body)

    async def reply(self, who: str, post_id: str, status: int = 201, **body: Any) -> Any:
        body.setdefault("body", "承知しました。")
        self.tick()
        return await self.ok(who, "POST", f"posts/{post_id}/replies", status, json=body)

    async def unread(self, who: str, **params: Any) -> dict[str, Any]:
        """Every page of the unread list, and the total of the first page."""
        items: list[dict[str, Any]] = []
        cursor = None
        total = None
        while True:
            q = {**params, **({"cursor": cursor} if cursor else {})}
            page = await self.ok(who, "GET", "bulletins/unread", params=q)
            total = page["total"] if total is None else total
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return {"total": total, "items": items}

    async def upload(
        self, who: str, data: bytes, name: str, work_id: str | None, filetype: str = ""
    ) -> httpx.Response:
        """A tus creation-with-upload of a whole small file as an attachment."""
        meta = {"filename": name, **({"work_id": work_id} if work_id else {})}
        if filetype:
            meta["filetype"] = filetype
        headers = {
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
            ),
            "Content-Type": "application/offset+octet-stream",
        }
        return await self.call(who, "POST", "attachments/uploads", content=data, headers=headers)

    async def attachment(
        self, who: str, data: bytes, name: str, work_id: str | None, filetype: str = ""
    ) -> str:
        r = await self.upload(who, data, name, work_id, filetype)
        assert r.status_code == 201, r.text
        return r.headers["Kura-Attachment-Id"]

    async def events(self, action: str) -> list[dict[str, Any]]:
        page = await self.container.records.find(
            "audit_events", Query(where=(Eq("action", action),), sort=(("seq", 1),), limit=1000)
        )
        return page.items


async def seed(container: Container, clock: FixedClock) -> dict[str, Subject]:
    records = container.records
    for org_id, (kind, name) in ORGS.items():
        await records.insert("organizations", {"id": org_id, "kind": kind, "name": name})
    people: dict[str, Subject] = {}
    for key, (login, name, org, grants) in PEOPLE.items():
        subject = Subject(new_id(), login, org, _kind(org), frozenset(grants))
        await records.insert(
            "users",
            {
                "id": subject.user_id,
                "login_id": login,
                "login_key": login,
                "name": name,
                "org_id": org,
                "email": f"{login}@example.jp",
                "status": "active",
            },
        )
        people[key] = subject
    return people


class InlineJobs:
    """Runs the tasks the board's flows enqueue in the caller's event loop, as Celery's eager
    mode does through ``workers.tasks`` (whose event loop MongoDB's async client refuses):
    the same services, called in process. Anything else is recorded."""

    name = "inline"

    def __init__(self, container: Container) -> None:
        self.container = container
        self.other: list[tuple[str, dict[str, Any]]] = []

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        from api.archive.indexing import reindex_work_files
        from api.attachments.service import AttachmentService
        from api.bulletins.unread import UnreadTracker

        c = self.container
        if task == "attachments.ingest":
            await AttachmentService(c).ingest(str(kwargs["attachment_id"]))
        elif task == "mail.flush":
            await c.outbox().flush_all()
        elif task == "index.work_files":
            await reindex_work_files(c, str(kwargs["work_id"]))
        elif task == "bulletins.sweep_read":
            await UnreadTracker(c.records).sweep(str(kwargs["user_id"]))
        else:
            self.other.append((task, kwargs))
        return new_id()

    async def send(self, task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        """The outbox's send (``api.jobs.ledger``): run the job now, like ``enqueue``."""
        await self.enqueue(task, **kwargs)

    async def waiting(self) -> dict[str, int] | None:
        return None

    async def health(self) -> Any:
        from storage.ports import Health

        return Health(True, self.name, "")


@asynccontextmanager
async def board_harness(settings: Settings) -> AsyncIterator[Board]:
    clock = FixedClock(START)
    container = Container(settings, clock=clock)
    if settings.records.backend == "mongodb":
        container.jobs = InlineJobs(container)
    await container.open()
    set_container(container)
    try:
        people = await seed(container, clock)
        app = create_app(container=container)
        who = Who()

        async def as_who() -> Subject | None:
            return who.subject

        app.dependency_overrides[optional_subject] = as_who
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
            yield Board(container, client, clock, who, people)
    finally:
        set_container(None)
        await container.close()
