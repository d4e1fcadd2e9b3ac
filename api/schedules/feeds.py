"""iCalendar feeds: a user's or a work's schedule exported as a URL that groupware subscribes
to without a session (issue 9 §3). Each feed has its own random token, shown once and stored
as a SHA-256 hash; revoking it ends the subscription at once. A feed answers as its creator
would see the schedule now (a creator who left the work, or was disabled, gets nothing), and
carries the rules themselves (RRULE/EXDATE/RDATE, RECURRENCE-ID), never an expansion.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.errors import NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from api.schedules import export
from api.schedules.access import Relations, my_memberships
from api.schedules.models import ENTRIES, FEEDS
from api.schedules.service import ScheduleService
from storage.query import Eq, Query, Range, Record

if TYPE_CHECKING:
    from api.container import Container

MAX_FEED_ENTRIES = 10_000
FEED_HISTORY = timedelta(days=366)
MAX_FEEDS = 20


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FeedService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.schedules = ScheduleService(container)

    async def create(
        self, subject: Subject | None, scope: str, work_id: str | None, name: str
    ) -> tuple[Record, str]:
        me = self.schedules._me(subject)
        if scope == "work":
            if not work_id:
                raise ValidationFailed("案件を指定してください。", field="work_id")
            await self._work_check(me, work_id)
        elif work_id:
            raise ValidationFailed("個人のフィードに案件は指定できません。", field="work_id")
        count = await self.records.count(FEEDS, [Eq("owner_id", me.user_id), Eq("revoked", False)])
        if count >= MAX_FEEDS:
            raise ValidationFailed(
                f"フィードは {MAX_FEEDS} 件までです。不要なものを無効にしてください。"
            )
        token = secrets.token_urlsafe(32)
        record: Record = {
            "id": new_id(),
            "owner_id": me.user_id,
            "scope": scope,
            **({"work_id": work_id} if work_id else {}),
            "name": name.strip(),
            "token_hash": token_hash(token),
            "revoked": False,
            "created_at": to_iso(self.clock.now()),
        }
        async with self.container.uow() as uow:
            stored = await uow.records.insert(FEEDS, record)
            await AuditLog(uow.records, self.clock).record(
                me,
                "schedules.feed_created",
                f"{FEEDS}/{record['id']}",
                detail={"scope": scope, "work_id": work_id},
            )
        return stored, token

    async def _work_check(self, me: Subject, work_id: str) -> None:
        from api.works.service import WorkService

        works = WorkService.of(self.container)
        work = await works.load(me, work_id, "works.read")
        self.container.policy.require(me, "schedules.feed_work", await works.context(me, work))

    async def list(self, subject: Subject | None) -> list[Record]:
        me = self.schedules._me(subject)
        page = await self.records.find(
            FEEDS, Query(where=(Eq("owner_id", me.user_id),), sort=(("created_at", -1),), limit=100)
        )
        return page.items

    async def revoke(self, subject: Subject | None, feed_id: str) -> Record:
        me = self.schedules._me(subject)
        feed = await self.records.get(FEEDS, feed_id) if is_id(feed_id) else None
        if feed is None or feed["owner_id"] != me.user_id:
            raise NotFoundError()
        if feed.get("revoked"):
            return feed
        async with self.container.uow() as uow:
            stored = await uow.records.update(
                FEEDS,
                feed_id,
                {"revoked": True, "revoked_at": to_iso(self.clock.now())},
                feed["version"],
            )
            await AuditLog(uow.records, self.clock).record(
                me, "schedules.feed_revoked", f"{FEEDS}/{feed_id}"
            )
        return stored

    async def render(self, token: str) -> bytes:
        """The calendar behind ``token``; 404 for an unknown or revoked token, and when the
        feed's creator may no longer read it."""
        if not 20 <= len(token) <= 100:
            raise NotFoundError()
        page = await self.records.find(
            FEEDS, Query(where=(Eq("token_hash", token_hash(token)),), limit=1)
        )
        feed = page.items[0] if page.items else None
        if feed is None or feed.get("revoked"):
            raise NotFoundError()
        owner = await self.records.get("users", str(feed["owner_id"]))
        if owner is None or owner.get("status", "active") != "active":
            raise NotFoundError()
        mine = await my_memberships(self.records, str(feed["owner_id"]))
        rel = Relations(str(feed["owner_id"]), mine)
        since = to_iso(self.clock.now() - FEED_HISTORY)
        if feed["scope"] == "work":
            work_id = str(feed["work_id"])
            if work_id not in mine:
                raise NotFoundError()
            where: tuple[Any, ...] = (Eq("work_ids", work_id), Range("range_end", gte=since))
            work = await self.records.get("works", work_id)
            name = f"{(work or {}).get('title', '')} の予定"
        else:
            where = (Eq("owner_id", str(feed["owner_id"])), Range("range_end", gte=since))
            name = f"{owner.get('name', '')} の予定"
        entries: list[Record] = []
        cursor: str | None = None
        while len(entries) < MAX_FEED_ENTRIES:
            found = await self.records.find(ENTRIES, Query(where=where, limit=1000, cursor=cursor))
            entries.extend(found.items)
            cursor = found.next_cursor
            if not cursor:
                break
        await self.records.update(
            FEEDS, str(feed["id"]), {"last_used_at": to_iso(self.clock.now())}, feed["version"]
        )
        return export.calendar(entries[:MAX_FEED_ENTRIES], rel.full, name)
