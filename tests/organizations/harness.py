"""A small API harness for the organizations, grants and master tests.

The app runs on the real SQLite record store; blobs, search and jobs are inert fakes (these
domains never touch them). Who is asking is chosen per request by setting ``who.subject``,
which replaces ``api.deps.optional_subject``; one test per area logs in for real instead.
"""

from __future__ import annotations

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
from api.permissions.policy import OrgKind, Subject
from storage.ports import Health
from storage.query import Query
from storage.records.sqlite import SqliteRecordStore

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


class Inert:
    """Blobs, search index and job queue stand-in: accepts everything, stores nothing."""

    name = "inert"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def health(self) -> Health:
        return Health(True, "inert")

    async def upsert(self, docs: Any) -> None:
        return None

    async def delete(self, ids: Any) -> None:
        return None

    async def refresh(self) -> None:
        return None

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        return "job"

    async def send(self, task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        return None

    async def waiting(self) -> dict[str, int] | None:
        return None


@dataclass
class Who:
    subject: Subject | None = None


@dataclass
class Harness:
    client: httpx.AsyncClient
    container: Container
    who: Who = field(default_factory=Who)

    def as_(self, subject: Subject | None) -> Harness:
        self.who.subject = subject
        return self

    async def actions(self) -> list[str]:
        page = await self.container.records.find("audit_events", Query(limit=1000))
        return [str(e["action"]) for e in page.items]

    async def add_user(self, user_id: str, org_id: str | None, **extra: Any) -> None:
        await self.container.records.insert(
            "users", {"id": user_id, "login_id": user_id.lower(), "org_id": org_id, **extra}
        )


def operator() -> Subject:
    return Subject("OPERATOR", "op", "ORG-OP", OrgKind.OPERATOR)


def member(
    org_id: str, *grants: str, user_id: str = "USER1", kind: OrgKind = OrgKind.ORDERER
) -> Subject:
    return Subject(user_id, user_id.lower(), org_id, kind, frozenset(grants))


@asynccontextmanager
async def harness(settings: Settings, *, override: bool = True) -> AsyncIterator[Harness]:
    inert: Any = Inert()
    container = Container(
        settings,
        records=SqliteRecordStore(settings.data_dir / "records.sqlite3"),
        blobs=inert,
        index=inert,
        jobs=inert,
        clock=FixedClock(T0),
    )
    await container.open()
    app = create_app(settings, container=container)
    who = Who()
    if override:
        app.dependency_overrides[optional_subject] = lambda: who.subject
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://kura.test"
            ) as client,
        ):
            yield Harness(client, container, who)
    finally:
        await container.close()
