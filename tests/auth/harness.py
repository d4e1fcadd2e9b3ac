"""A test harness for the auth and users APIs on the real embedded backends.

``Container(settings)`` builds the SQLite records, local blobs and tantivy index in a temp
folder; the clock is a ``FixedClock`` the tests move to cross expiry and lockout times.
Organizations and grants are seeded as plain records (their API belongs to another module).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from api.app import create_app
from api.auth import passwords
from api.config import Settings
from api.container import Container
from api.kit.clock import FixedClock, to_iso
from api.kit.ids import new_id
from api.users.models import User
from api.users.repository import UserRepository
from storage.query import Eq, Query

PASSWORD = "correct-horse-battery-42"
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@dataclass
class Harness:
    container: Container
    clock: FixedClock
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = create_app(container=self.container)

    def client(self) -> httpx.AsyncClient:
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver"
        )
        self.clients.append(c)
        return c

    async def org(self, kind: str = "orderer", name: str = "テスト県") -> str:
        oid = new_id()
        await self.container.records.insert(
            "organizations", {"id": oid, "kind": kind, "name": name}
        )
        return oid

    async def user(
        self,
        login_id: str,
        org_id: str,
        *,
        password: str = PASSWORD,
        grants: tuple[str, ...] = (),
        must_change: bool = False,
        changed_at: datetime | None = None,
        hasher: passwords.Hasher | None = None,
    ) -> str:
        now = self.clock.now()
        h = hasher or passwords.hasher_for(self.container.settings.auth)
        user = User(
            id=new_id(),
            login_id=login_id,
            login_key=login_id.lower(),
            name=f"{login_id} 太郎",
            org_id=org_id,
            password_hash=h.hash_sync(password),
            password_changed_at=changed_at or now,
            must_change_password=must_change,
            created_at=now,
            updated_at=now,
        )
        await UserRepository(self.container.records).insert(user)
        for grant in grants:
            await self.container.records.insert(
                "grants",
                {
                    "id": new_id(),
                    "user_id": user.id,
                    "grant": grant,
                    "org_id": org_id,
                    "granted_by": "test",
                    "granted_at": to_iso(now),
                },
            )
        return user.id

    async def login(
        self, login_id: str, password: str = PASSWORD, *, mode: str = "session"
    ) -> tuple[httpx.AsyncClient, httpx.Response]:
        c = self.client()
        r = await c.post(
            "/api/v1/auth/login", json={"login_id": login_id, "password": password, "mode": mode}
        )
        if r.status_code == 200 and mode == "session":
            c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        if r.status_code == 200 and mode == "token":
            c.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return c, r

    async def as_user(self, login_id: str, password: str = PASSWORD) -> httpx.AsyncClient:
        c, r = await self.login(login_id, password)
        assert r.status_code == 200, r.text
        return c

    async def events(self, action: str) -> list[dict[str, Any]]:
        page = await self.container.records.find(
            "audit_events", Query(where=(Eq("action", action),), limit=1000)
        )
        return page.items

    async def stored_user(self, user_id: str) -> User:
        user = await UserRepository(self.container.records).get(user_id)
        assert user is not None
        return user


@asynccontextmanager
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    clock = FixedClock(START)
    container = Container(settings, clock=clock)
    await container.open()
    h = Harness(container, clock)
    try:
        yield h
    finally:
        for c in h.clients:
            await c.aclose()
        await container.close()
