"""In-app notifications and the mail that goes with them (issue 9 §1; seed 001 別表1-1 4(10)
(15)(19)(20), 2(8)).

Every event that can send mail makes an in-app notification first, so a user without a mail
address (or who turned mail off) still sees it under the bell. ``Notifier.notify`` runs inside
the caller's unit of work: the notifications and the queued mails commit with the change they
announce, or not at all. Both are idempotent per (kind, source, recipient), so a retried
request or task never notifies twice.

Each user chooses per kind whether mail is sent and from which importance (通常 or 重要 only),
seed 001 別表1-1 4(20) "通知メールの受信有無・重要度を利用者ごとに設定できること".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.config import Settings
from api.errors import NotAuthenticated, NotFoundError, ValidationFailed
from api.kit.clock import Clock, to_iso
from api.kit.uow import UnitOfWork
from api.mail.compose import InvalidAddress, Mail
from api.mail.outbox import MailOutbox
from api.master import mail as templates
from api.master.templates import effective_template
from api.permissions.policy import Subject
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, In, Page, Query

NOTIFICATIONS = "notifications"
PREFS = "notification_prefs"
INDEXES = [
    IndexSpec((("user_id", 1), ("created_at", 1))),
    IndexSpec((("user_id", 1), ("unread", 1), ("created_at", 1))),
]
IMPORTANCE = ("normal", "important")
IMPORTANCE_LABELS = {"normal": "通常", "important": "重要"}
SYSTEM_NAME = "Kura"


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(NOTIFICATIONS, INDEXES)


def kinds() -> dict[str, str]:
    """Every kind of notification with its Japanese label: one per mail template kind."""
    return {key: kind.label for key, kind in templates.TEMPLATE_KINDS.items()}


def notification_id(kind: str, source: str, user_id: str) -> str:
    raw = f"{kind}\x00{source}\x00{user_id}".encode()
    return "n" + hashlib.sha256(raw).hexdigest()[:31]


@dataclass(frozen=True)
class KindPref:
    mail: bool = True
    min_importance: str = "normal"  # "important": mail only for 重要

    def wants_mail(self, importance: str) -> bool:
        if not self.mail:
            return False
        return self.min_importance == "normal" or importance == "important"


def prefs_of(record: Mapping[str, Any] | None) -> dict[str, KindPref]:
    """The user's preference per kind; kinds never set take the default (mail on, 通常)."""
    stored = (record or {}).get("kinds") or {}
    out: dict[str, KindPref] = {}
    for kind in kinds():
        value = stored.get(kind) or {}
        out[kind] = KindPref(
            mail=bool(value.get("mail", True)),
            min_importance=str(value.get("min_importance", "normal")),
        )
    return out


class Notifier:
    """Make notifications (and their mails) for a set of recipients."""

    def __init__(self, records: RecordStore, clock: Clock, settings: Settings, outbox: MailOutbox):
        self.records = records
        self.clock = clock
        self.settings = settings
        self.outbox = outbox

    async def _template(self, kind: str, org_id: str | None) -> tuple[str, str]:
        """The organization's template for ``kind``, else the global one, else the default."""
        return await effective_template(self.records, kind, org_id)

    async def notify(
        self,
        uow: UnitOfWork,
        *,
        kind: str,
        recipients: Sequence[str],
        source: str,
        title: str,
        url: str,
        importance: str = "normal",
        context: Mapping[str, object] | None = None,
        work_id: str | None = None,
    ) -> int:
        """Notify each active recipient once for ``(kind, source)``; queue their mail where
        their preferences ask for it. Returns how many notifications were new.

        ``url`` is the path in the web interface (``/works/…``, its hash route); mails carry
        it absolute, as ``<base_url>/#/works/…`` (the interface routes by the hash).
        ``context`` fills the mail template's placeholders."""
        if kind not in templates.TEMPLATE_KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        if importance not in IMPORTANCE:
            raise ValueError(f"unknown importance {importance!r}")
        ids = sorted(set(recipients))
        if not ids:
            return 0
        users = {u["id"]: u for u in await uow.records.get_many("users", ids)}
        prefs = {p["id"]: p for p in await uow.records.get_many(PREFS, ids)}
        orgs = {
            o["id"]: o
            for o in await uow.records.get_many(
                "organizations", sorted({str(u.get("org_id")) for u in users.values()})
            )
        }
        # A work's messages read as its orderer wrote them (the orderer's template layer);
        # messages about no work use each recipient's organization's layer.
        orderer: str | None = None
        if work_id:
            work = await uow.records.get("works", work_id)
            orderer = (
                str(work.get("orderer_org_id")) if work and work.get("orderer_org_id") else None
            )
        templates_by_org: dict[str | None, tuple[str, str]] = {}
        now = to_iso(self.clock.now())
        made = 0
        for user_id in ids:
            user = users.get(user_id)
            if user is None or user.get("status") != "active":
                continue
            nid = notification_id(kind, source, user_id)
            if await uow.records.get(NOTIFICATIONS, nid) is not None:
                continue
            await uow.records.insert(
                NOTIFICATIONS,
                {
                    "id": nid,
                    "user_id": user_id,
                    "kind": kind,
                    "importance": importance,
                    "title": title[:300],
                    "url": url,
                    "source": source,
                    **({"work_id": work_id} if work_id else {}),
                    "unread": True,
                    "created_at": now,
                },
            )
            made += 1
            email = user.get("email")
            if not email or not prefs_of(prefs.get(user_id))[kind].wants_mail(importance):
                continue
            org = orgs.get(str(user.get("org_id"))) or {}
            values: dict[str, object] = {
                **(context or {}),
                "user_name": user.get("name", ""),
                "org_name": org.get("name", ""),
                "system_name": SYSTEM_NAME,
                "url": self.settings.mail.base_url.rstrip("/") + "/#" + url,
                "priority": IMPORTANCE_LABELS[importance],
            }
            layer = orderer or (str(user["org_id"]) if user.get("org_id") else None)
            if layer not in templates_by_org:
                templates_by_org[layer] = await self._template(kind, layer)
            subject_t, body_t = templates_by_org[layer]
            subject, body = templates.render(subject_t, body_t, values)
            try:
                await self.outbox.queue(
                    uow,
                    key=f"{kind}:{source}:{user_id}",
                    mail=Mail(
                        to_address=str(email),
                        to_name=str(user.get("name", "")),
                        subject=subject,
                        body=body,
                        kind=kind,
                        importance=importance,
                    ),
                    user_id=user_id,
                    work_id=work_id,
                )
            except InvalidAddress:
                # A stored address that no longer passes the strict check: the in-app
                # notification stands; the mail is not sent.
                continue
        return made


async def mark_seen(records: RecordStore, user_id: str, sources: Sequence[str], at: str) -> int:
    """Mark ``user_id``'s unread notifications about ``sources`` read: the user has now seen
    what they announced (a post opened on its board clears its bell entry too). Call inside
    the caller's unit of work."""
    if not sources:
        return 0
    done = 0
    for start in range(0, len(sources), 200):
        page = await records.find(
            NOTIFICATIONS,
            Query(
                where=(
                    Eq("user_id", user_id),
                    Eq("unread", True),
                    In("source", tuple(sources[start : start + 200])),
                ),
                limit=1000,
            ),
        )
        for record in page.items:
            await records.update(
                NOTIFICATIONS, record["id"], {"unread": False, "read_at": at}, record["version"]
            )
            done += 1
    return done


class NotificationService:
    """A user's own notifications and preferences (``/api/v1/notifications``)."""

    def __init__(self, records: RecordStore, uow: Any, clock: Clock) -> None:
        self.records = records
        self.uow = uow
        self.clock = clock

    @staticmethod
    def _me(subject: Subject | None) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        return subject

    async def list(
        self, subject: Subject | None, *, unread: bool | None, limit: int, cursor: str | None
    ) -> Page:
        me = self._me(subject)
        where: list[Any] = [Eq("user_id", me.user_id)]
        if unread is not None:
            where.append(Eq("unread", unread))
        return await self.records.find(
            NOTIFICATIONS,
            Query(where=tuple(where), sort=(("created_at", -1),), limit=limit, cursor=cursor),
        )

    async def unread_count(self, subject: Subject | None) -> int:
        me = self._me(subject)
        return await self.records.count(
            NOTIFICATIONS, [Eq("user_id", me.user_id), Eq("unread", True)]
        )

    async def mark_read(self, subject: Subject | None, nid: str) -> dict[str, Any]:
        me = self._me(subject)
        async with self.uow() as uow:
            record = await uow.records.get(NOTIFICATIONS, nid)
            if record is None or record.get("user_id") != me.user_id:
                raise NotFoundError()
            if not record.get("unread"):
                return dict(record)
            updated: dict[str, Any] = await uow.records.update(
                NOTIFICATIONS,
                nid,
                {"unread": False, "read_at": to_iso(self.clock.now())},
                record["version"],
            )
            return updated

    async def mark_all_read(self, subject: Subject | None) -> int:
        """Mark every unread notification of the user read, in batches; returns how many."""
        me = self._me(subject)
        done = 0
        now = to_iso(self.clock.now())
        while True:
            page = await self.records.find(
                NOTIFICATIONS,
                Query(where=(Eq("user_id", me.user_id), Eq("unread", True)), limit=500),
            )
            if not page.items:
                return done
            async with self.uow() as uow:
                for record in page.items:
                    await uow.records.update(
                        NOTIFICATIONS,
                        record["id"],
                        {"unread": False, "read_at": now},
                        record["version"],
                    )
                    done += 1

    async def preferences(self, subject: Subject | None) -> dict[str, KindPref]:
        me = self._me(subject)
        return prefs_of(await self.records.get(PREFS, me.user_id))

    async def save_preferences(
        self, subject: Subject | None, changes: Mapping[str, KindPref]
    ) -> dict[str, KindPref]:
        me = self._me(subject)
        known = kinds()
        for kind, pref in changes.items():
            if kind not in known:
                raise ValidationFailed(f"通知の種類「{kind}」はありません。", field="kinds")
            if pref.min_importance not in IMPORTANCE:
                raise ValidationFailed("重要度は 通常 か 重要 を選んでください。", field="kinds")
        async with self.uow() as uow:
            current = await uow.records.get(PREFS, me.user_id)
            merged = dict((current or {}).get("kinds") or {})
            for kind, pref in changes.items():
                merged[kind] = {"mail": pref.mail, "min_importance": pref.min_importance}
            if current is None:
                await uow.records.insert(PREFS, {"id": me.user_id, "kinds": merged})
            else:
                await uow.records.update(PREFS, me.user_id, {"kinds": merged}, current["version"])
        return prefs_of({"kinds": merged})
