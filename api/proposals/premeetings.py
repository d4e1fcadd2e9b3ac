"""The pre-meeting stage (事前打合せ, seed 001 別表1-2 4(8)-(13)), kept apart from decisions.

- (8) either side registers pre-meeting material for a matter (``premeetings``);
- (9) the registration is announced by mail and in-app (``premeeting.registered``) to the
  work's parties;
- (10) both sides comment on the material and read each other's comments;
- (11) an answer is announced to the registrant (``premeeting.answered``);
- (12) material and comments are kept per matter in its own shared folder (the matter's
  attachments, added by either side, plus the files attached to its comments);
- (13) listed in their own category with their registration and answer state, apart from
  the decision stage (``/works/{id}/premeetings`` vs ``/works/{id}/proposals``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from api.attachments.service import AttachmentService
from api.audit.service import AuditLog
from api.errors import NotAuthenticated, NotFoundError
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from api.proposals.access import Access
from api.proposals.models import PREMEETINGS, ProposalResource, org_principal, work_principal
from api.proposals.views import user_names
from api.works.models import MEMBERS
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

COMMENTS = "premeeting_comments"
STATUS_LABELS = {"open": "回答待ち", "answered": "回答済み"}


def parent_of(matter_id: str) -> str:
    return f"{PREMEETINGS}/{matter_id}"


class PremeetingService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)
        self.attachments = AttachmentService(container)

    async def _matter(
        self, subject: Subject | None, matter_id: str, action: str
    ) -> tuple[dict[str, Any], ProposalResource]:
        if subject is None:
            raise NotAuthenticated()
        matter = await self.records.get(PREMEETINGS, matter_id) if is_id(matter_id) else None
        if matter is None:
            raise NotFoundError()
        work = await self.records.get("works", str(matter["work_id"]))
        if work is None:
            raise NotFoundError()
        ctx = await self.access.works.context(subject, work)
        res = ProposalResource(ctx, {"proposer_id": matter["created_by"], "revision": 1})
        if not self.container.policy.can(subject, "proposals.read", res):
            raise NotFoundError()
        if action != "proposals.read":
            self.container.policy.require(subject, action, res)
        return matter, res

    async def _parties(self, work_id: str) -> list[str]:
        page = await self.records.find(MEMBERS, Query(where=(Eq("work_id", work_id),), limit=1000))
        return [
            m["user_id"]
            for m in page.items
            if m.get("role") in ("supervisor", "contractor_member", "inspector")
        ]

    async def _notify(
        self,
        uow: Any,
        subject: Subject,
        kind: str,
        matter: Mapping[str, Any],
        recipients: Sequence[str],
        seq: int,
    ) -> None:
        work = await uow.records.get("works", str(matter["work_id"])) or {}
        me = (await user_names(self.container, [subject.user_id])).get(subject.user_id) or {}
        await self.container.notifier().notify(
            uow,
            kind=kind,
            recipients=[r for r in recipients if r != subject.user_id],
            source=f"{PREMEETINGS}/{matter['id']}#{seq}",
            title=f"事前打合せ: {matter['title']}",
            url=f"/premeetings/{matter['id']}",
            context={
                "work_title": work.get("title", ""),
                "work_number": work.get("number", ""),
                "matter_title": matter["title"],
                "actor_name": me.get("name", ""),
            },
            work_id=str(matter["work_id"]),
        )

    async def create(
        self, subject: Subject | None, work_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """(8)(9): register material for a matter; the parties are told."""
        work, ctx = await self.access.work(subject, work_id)
        assert subject is not None
        self.container.policy.require(subject, "proposals.create", ProposalResource(ctx))
        now = to_iso(self.clock.now())
        matter = {
            "id": new_id(),
            "work_id": work_id,
            "title": body["title"],
            "body": body.get("body") or "",
            "status": "open",
            "comments": 0,
            "files": list(body.get("attachments") or []),
            "created_by": subject.user_id,
            "created_at": now,
            "updated_at": now,
            "acl": [work_principal(work_id), org_principal(str(work.get("orderer_org_id")))],
        }
        async with self.container.uow() as uow:
            await self.attachments.link(
                uow, subject, matter["files"], parent_of(matter["id"]), work_id=work_id
            )
            stored = await uow.records.insert(PREMEETINGS, matter)
            await AuditLog(uow.records, self.clock).record(
                subject, "premeetings.created", parent_of(stored["id"]), after=stored
            )
            await self._notify(
                uow, subject, "premeeting.registered", stored, await self._parties(work_id), 0
            )
        return stored

    async def matters(self, subject: Subject | None, work_id: str) -> list[dict[str, Any]]:
        """(13): the work's pre-meeting matters, newest first, with their state."""
        await self.access.work(subject, work_id)
        page = await self.records.find(
            PREMEETINGS,
            Query(where=(Eq("work_id", work_id),), sort=(("updated_at", -1),), limit=500),
        )
        names = await user_names(self.container, [str(m["created_by"]) for m in page.items])
        return [
            {
                **m,
                "status_label": STATUS_LABELS.get(str(m["status"]), ""),
                "created_by_name": (names.get(str(m["created_by"])) or {}).get("name", ""),
            }
            for m in page.items
        ]

    async def detail(self, subject: Subject | None, matter_id: str) -> dict[str, Any]:
        """(10)(12): the matter, its shared folder and every comment."""
        matter, _ = await self._matter(subject, matter_id, "proposals.read")
        page = await self.records.find(
            COMMENTS, Query(where=(Eq("premeeting_id", matter_id),), sort=(("at", 1),), limit=1000)
        )
        files = await self.attachments.of_parent(parent_of(matter_id))
        ids = [str(matter["created_by"]), *(str(c["by"]) for c in page.items)]
        if matter.get("answer"):
            ids.append(str(matter["answer"]["by"]))
        return {
            "matter": matter,
            "status_label": STATUS_LABELS.get(str(matter["status"]), ""),
            "comments": page.items,
            "files": [{"id": f["id"], "name": f["name"], "size": f["size"]} for f in files],
            "users": await user_names(self.container, ids),
        }

    async def comment(
        self, subject: Subject | None, matter_id: str, text: str, attachments: Sequence[str]
    ) -> dict[str, Any]:
        """(10)(12): a comment, with files that join the matter's folder."""
        matter, _ = await self._matter(subject, matter_id, "proposals.premeeting.comment")
        assert subject is not None
        record = {
            "id": new_id(),
            "premeeting_id": matter_id,
            "text": text,
            "by": subject.user_id,
            "at": to_iso(self.clock.now()),
            "files": list(attachments),
        }
        async with self.container.uow() as uow:
            current = await self._files(matter_id)
            await self.attachments.link(
                uow,
                subject,
                [*current, *attachments],
                parent_of(matter_id),
                work_id=str(matter["work_id"]),
            )
            stored = await uow.records.insert(COMMENTS, record)
            await uow.records.update(
                PREMEETINGS,
                matter_id,
                {"comments": int(matter.get("comments") or 0) + 1, "updated_at": record["at"]},
                matter["version"],
            )
            await AuditLog(uow.records, self.clock).record(
                subject, "premeetings.commented", parent_of(matter_id), after=stored
            )
        return stored

    async def _files(self, matter_id: str) -> list[str]:
        return [a["id"] for a in await self.attachments.of_parent(parent_of(matter_id))]

    async def answer(
        self, subject: Subject | None, matter_id: str, text: str, version: int
    ) -> dict[str, Any]:
        """(11): the answer; the registrant is told."""
        matter, _ = await self._matter(subject, matter_id, "proposals.premeeting.comment")
        assert subject is not None
        now = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            updated = await uow.records.update(
                PREMEETINGS,
                matter_id,
                {
                    "status": "answered",
                    "answer": {"text": text, "by": subject.user_id, "at": now},
                    "updated_at": now,
                },
                version,
            )
            await AuditLog(uow.records, self.clock).record(
                subject, "premeetings.answered", parent_of(matter_id), before=matter, after=updated
            )
            await self._notify(
                uow,
                subject,
                "premeeting.answered",
                updated,
                [str(matter["created_by"])],
                int(updated["version"]),
            )
        return updated
