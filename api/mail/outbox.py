"""The outbox: every outgoing mail is a ``mails`` record first, delivered by ``mail.flush``.

Why a record before anything is sent (issue 9 §1: "nothing is lost when the SMTP server is
down, and a mail is never sent twice for one event"):
- ``queue`` runs inside the caller's unit of work, so a mail exists exactly when the change it
  announces committed; its id is derived from an idempotency key (``event:recipient``), so
  the same event queued twice is one mail.
- ``flush`` (a Celery task after each commit, and every minute from beat) claims due mails
  with a versioned update (two flushers never claim the same mail), sends them over one
  connection and marks each as it goes. A relay that is down puts the mails back with
  exponential backoff (30 s doubling to 1 h); after ``max_attempts`` or a permanent (5xx)
  refusal a mail is ``dead`` (the dead-letter state), visible to operators who may retry it.
- A worker that dies between the relay's acceptance and the mark leaves the mail ``sending``;
  its lease (5 min) expires and it is sent again with the same Message-ID, so receivers can
  drop the copy. That window is the only way a message can arrive twice.

States: ``queued`` → ``sending`` → ``sent`` (relay accepted) | ``stored`` (embedded outbox
transport: kept, not delivered) | ``queued`` again (transient failure) | ``dead``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from api.config import MailSettings
from api.kit.clock import Clock, to_iso
from api.kit.uow import UnitOfWork
from api.mail.compose import Mail, as_bytes, build_message
from api.mail.transport import DeliveryError, MailTransport
from storage.errors import StaleVersion
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, In, Page, Query, Range

log = logging.getLogger("kura.mail")

MAILS = "mails"
INDEXES = [
    IndexSpec((("state", 1), ("due_at", 1))),
    IndexSpec((("created_at", 1),)),
    IndexSpec((("to_user_id", 1), ("created_at", 1))),
    IndexSpec((("kind", 1), ("created_at", 1))),
]
STATES = ("queued", "sending", "sent", "stored", "dead")
FINAL = frozenset({"sent", "stored", "dead"})
LEASE = timedelta(minutes=5)
BACKOFF_START_S = 30
BACKOFF_MAX_S = 3600
FLUSH_TASK = "mail.flush"


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(MAILS, INDEXES)


def mail_id(key: str) -> str:
    """The record id of the mail for idempotency key ``key`` (same key, same mail)."""
    return "m" + hashlib.sha256(key.encode()).hexdigest()[:31]


def backoff_s(attempts: int) -> int:
    return int(min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** max(0, attempts - 1)))


@dataclass
class FlushReport:
    claimed: int = 0
    sent: int = 0
    stored: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "stored": self.stored,
            "retried": self.retried,
            "dead": self.dead,
        }


class MailOutbox:
    def __init__(
        self,
        records: RecordStore,
        clock: Clock,
        settings: MailSettings,
        transport: MailTransport,
    ) -> None:
        self.records = records
        self.clock = clock
        self.settings = settings
        self.transport = transport

    # -- queue ---------------------------------------------------------------------------

    async def queue(
        self,
        uow: UnitOfWork,
        *,
        key: str,
        mail: Mail,
        user_id: str | None = None,
        work_id: str | None = None,
    ) -> str | None:
        """Record ``mail`` for delivery after the unit of work commits. Returns its id, or
        None when a mail with this idempotency key exists already. A bad address raises
        ``InvalidAddress`` before anything is stored."""
        now = self.clock.now()
        mid = mail_id(key)
        domain = self.settings.from_address.rpartition("@")[2]
        message_id = f"<{mid}@{domain}>"
        msg = build_message(
            mail,
            from_address=self.settings.from_address,
            from_name=self.settings.from_name,
            at=now,
            message_id=message_id,
        )
        if await uow.records.get(MAILS, mid) is not None:
            return None
        await uow.records.insert(
            MAILS,
            {
                "id": mid,
                "key": key,
                "kind": mail.kind,
                "importance": mail.importance,
                "to_address": mail.to_address,
                "to_name": mail.to_name,
                **({"to_user_id": user_id} if user_id else {}),
                **({"work_id": work_id} if work_id else {}),
                "subject": mail.subject,
                "message_id": message_id,
                "raw": as_bytes(msg).decode("ascii"),
                "state": "queued",
                "attempts": 0,
                "due_at": to_iso(now),
                "created_at": to_iso(now),
            },
        )
        _enqueue_flush_once(uow)
        return mid

    # -- deliver -------------------------------------------------------------------------

    async def _due(self, limit: int) -> list[dict[str, Any]]:
        now = to_iso(self.clock.now())
        queued = await self.records.find(
            MAILS,
            Query(
                where=(Eq("state", "queued"), Range("due_at", lte=now)),
                sort=(("due_at", 1),),
                limit=limit,
            ),
        )
        items = list(queued.items)
        if len(items) < limit:
            # A flusher that died mid-send: its lease has run out.
            stale = await self.records.find(
                MAILS,
                Query(
                    where=(Eq("state", "sending"), Range("due_at", lte=now)),
                    sort=(("due_at", 1),),
                    limit=limit - len(items),
                ),
            )
            items.extend(stale.items)
        return items

    async def _claim(self, record: dict[str, Any]) -> dict[str, Any] | None:
        now = self.clock.now()
        try:
            return await self.records.update(
                MAILS,
                record["id"],
                {
                    "state": "sending",
                    "attempts": int(record.get("attempts", 0)) + 1,
                    "due_at": to_iso(now + LEASE),
                },
                record["version"],
            )
        except StaleVersion:
            return None  # another flusher took it

    async def _mark(self, record: dict[str, Any], changes: dict[str, Any]) -> None:
        try:
            await self.records.update(MAILS, record["id"], changes, record["version"])
        except StaleVersion:
            log.warning("mail %s changed while being sent; left as it is", record["id"])

    async def _failed(
        self, record: dict[str, Any], error: DeliveryError, report: FlushReport
    ) -> None:
        attempts = int(record["attempts"])
        if error.permanent or attempts >= self.settings.max_attempts:
            report.dead += 1
            log.error("mail %s dead after %d attempts: %s", record["id"], attempts, error)
            await self._mark(record, {"state": "dead", "last_error": str(error)[:500]})
            return
        report.retried += 1
        due = self.clock.now() + timedelta(seconds=backoff_s(attempts))
        await self._mark(
            record, {"state": "queued", "due_at": to_iso(due), "last_error": str(error)[:500]}
        )

    async def flush(self, limit: int | None = None) -> FlushReport:
        """Deliver every due mail (at most ``limit``, default the batch setting) over one
        connection. Never raises for delivery problems; they are recorded on the mails."""
        report = FlushReport()
        due = await self._due(limit or self.settings.batch)
        claimed = [c for c in [await self._claim(r) for r in due] if c is not None]
        report.claimed = len(claimed)
        if not claimed:
            return report
        manager = self.transport.session()
        try:
            session = await asyncio.to_thread(manager.__enter__)
        except DeliveryError as exc:
            for record in claimed:
                await self._failed(record, exc, report)
            report.errors.append(str(exc))
            return report
        try:
            for index, record in enumerate(claimed):
                try:
                    state = await asyncio.to_thread(
                        session.send,
                        self.settings.from_address,
                        record["to_address"],
                        record["raw"].encode("ascii"),
                    )
                except DeliveryError as exc:
                    report.errors.append(str(exc))
                    await self._failed(record, exc, report)
                    if not exc.permanent:
                        # The connection is gone: the rest go back for the next flush.
                        for rest in claimed[index + 1 :]:
                            await self._failed(rest, exc, report)
                        break
                    continue
                if state == "sent":
                    report.sent += 1
                else:
                    report.stored += 1
                await self._mark(
                    record,
                    {"state": state, "sent_at": to_iso(self.clock.now()), "last_error": None},
                )
        finally:
            try:
                await asyncio.to_thread(manager.__exit__, None, None, None)
            except Exception as exc:  # closing a broken connection must not lose the marks
                log.warning("closing the mail connection failed: %s", exc)
        return report

    async def flush_all(self, budget_s: float = 60.0) -> FlushReport:
        """Flush batch after batch until nothing is due or ``budget_s`` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        total = FlushReport()
        while loop.time() < deadline:
            report = await self.flush()
            for name in ("claimed", "sent", "stored", "retried", "dead"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.errors.extend(report.errors[:5])
            if report.claimed == 0 or report.retried:
                break
        return total

    # -- operators -----------------------------------------------------------------------

    async def list(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        to_user_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        where = []
        if state is not None:
            where.append(Eq("state", state))
        if kind is not None:
            where.append(Eq("kind", kind))
        if to_user_id is not None:
            where.append(Eq("to_user_id", to_user_id))
        return await self.records.find(
            MAILS,
            Query(where=tuple(where), sort=(("created_at", -1),), limit=limit, cursor=cursor),
        )

    async def get(self, mid: str) -> dict[str, Any] | None:
        return await self.records.get(MAILS, mid)

    async def retry(self, uow: UnitOfWork, record: dict[str, Any]) -> dict[str, Any]:
        """Put a dead mail back in the queue with fresh attempts."""
        updated = await uow.records.update(
            MAILS,
            record["id"],
            {"state": "queued", "attempts": 0, "due_at": to_iso(self.clock.now())},
            record["version"],
        )
        _enqueue_flush_once(uow)
        return updated

    async def counts(self) -> dict[str, int]:
        return {s: await self.records.count(MAILS, [Eq("state", s)]) for s in STATES}

    async def pending(self) -> int:
        return await self.records.count(MAILS, [In("state", ("queued", "sending"))])


_FLAG = "_kura_mail_flush_enqueued"


def _enqueue_flush_once(uow: UnitOfWork) -> None:
    # One flush per unit of work is enough: it sends every due mail.
    if not getattr(uow, _FLAG, False):
        setattr(uow, _FLAG, True)
        uow.enqueue(FLUSH_TASK)
