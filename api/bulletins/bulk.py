"""One post in several works at once, for supervisors (seed 001 別表1-2 2(8): 業務担当員が、担当
する複数又は全ての業務で記事等を一括して登録、修正、削除できる).

A bulk post is a ``post_bulks`` record naming its copies: one ordinary post per work (same
title, body, importance and scope; scope "every member" or chosen roles, which mean the same in
each work), each made, edited and deleted through ``PostService`` and so each audited on its
own (``bulletins.post_created`` / ``_edited`` / ``_deleted`` with the bulk id) in one unit of
work: all copies or none. Files are uploaded once (without a work) and each copy gets a linked
copy of them (the content is stored once). Only the supervisor who made it manages a bulk post,
in works where they still are the supervisor and the work runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.attachments.service import ATTACHMENTS
from api.bulletins.models import BULKS, State
from api.bulletins.posts import PostService
from api.bulletins.schemas import (
    BulkCreate,
    BulkRead,
    BulkUpdate,
    NotifyIn,
    PostCreate,
    PostUpdate,
    ScopeIn,
)
from api.bulletins.service import Board, BoardService
from api.bulletins.views import post_read, work_brief
from api.errors import NotFoundError, StaleVersionError, ValidationFailed
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from storage.query import Record

if TYPE_CHECKING:
    from api.container import Container


def bulk_target(bulk_id: str) -> str:
    return f"{BULKS}/{bulk_id}"


class BulkService(BoardService):
    def __init__(self, container: Container) -> None:
        super().__init__(container)
        self.posts = PostService(container)

    async def _boards(self, subject: Subject | None, work_ids: list[str]) -> list[Board]:
        """The boards of ``work_ids``, each where the subject is the running work's
        supervisor (404 / 403 / 409 as for one work)."""
        return [await self.board(subject, w, "bulletins.bulk") for w in work_ids]

    async def _staged(self, subject: Subject, ids: list[str]) -> list[Record]:
        """Files for a bulk post: the subject's own, staged without a work."""
        await self.check_files(ids)
        found = {r["id"]: r for r in await self.records.get_many(ATTACHMENTS, ids)}
        out = []
        for aid in ids:
            record = found.get(aid)
            if (
                record is None
                or record.get("state") != "staged"
                or record.get("owner_id") != subject.user_id
                or record.get("work_id")
            ):
                raise ValidationFailed(
                    "一括登録の添付ファイルは、案件を指定せずにアップロードしたものを"
                    "指定してください。",
                    field="attachments",
                )
            out.append(record)
        return out

    async def create(self, subject: Subject | None, data: BulkCreate) -> BulkRead:
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        work_ids = list(dict.fromkeys(data.work_ids))
        boards = await self._boards(subject, work_ids)
        files = await self._staged(subject, list(data.attachment_ids))
        bulk_id = new_id()
        now = self.now()
        one = PostCreate(
            title=data.title,
            body=data.body,
            importance=data.importance,
            scope=ScopeIn(kind=data.scope.kind, roles=data.scope.roles),
            notify=NotifyIn(all=data.notify_all),
        )
        async with self.container.uow() as uow:
            copies = []
            for board in boards:
                copies.append(
                    await self.posts.create(
                        subject,
                        board.work_id,
                        one,
                        bulk_id=bulk_id,
                        board=board,
                        copy_files=files,
                    )
                )
            for record in files:
                await self.files.release(uow, record)  # each copy holds its own reference
            bulk = await uow.records.insert(
                BULKS,
                {
                    "id": bulk_id,
                    "author_id": subject.user_id,
                    "title": data.title,
                    "work_ids": work_ids,
                    "post_ids": [c["id"] for c in copies],
                    "created_at": now,
                    "updated_at": now,
                },
            )
            await self.audit.record(
                subject,
                "bulletins.bulk_created",
                bulk_target(bulk_id),
                after=bulk,
                detail={"posts": len(copies)},
            )
        return await self.read(subject, bulk_id)

    async def _own(self, subject: Subject | None, bulk_id: str) -> Record:
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        bulk = await self.repo.bulk(bulk_id) if is_id(bulk_id) else None
        if bulk is None or bulk.get("author_id") != subject.user_id:
            raise NotFoundError()
        return bulk

    async def _copies(self, bulk: Record) -> list[Record]:
        posts = await self.repo.posts(list(bulk.get("post_ids") or ()))
        return [
            posts[p]
            for p in bulk.get("post_ids") or ()
            if p in posts and posts[p].get("state") == State.ACTIVE
        ]

    async def read(self, subject: Subject | None, bulk_id: str) -> BulkRead:
        bulk = await self._own(subject, bulk_id)
        assert subject is not None
        copies = await self._copies(bulk)
        works = await self.repo.works([c["work_id"] for c in copies])
        return BulkRead(
            id=bulk["id"],
            title=bulk["title"],
            version=int(bulk["version"]),
            created_at=bulk["created_at"],
            updated_at=bulk["updated_at"],
            copies=[post_read(c, {}, subject.user_id) for c in copies],
            works=[work_brief(works[c["work_id"]]) for c in copies if c["work_id"] in works],
        )

    def _chosen(self, copies: list[Record], work_ids: list[str] | None) -> list[Record]:
        if work_ids is None:
            return copies
        by_work = {c["work_id"]: c for c in copies}
        missing = set(work_ids) - set(by_work)
        if missing:
            raise ValidationFailed(
                "この一括登録の記事がない案件が指定されています。", field="work_ids"
            )
        return [by_work[w] for w in dict.fromkeys(work_ids)]

    async def edit(self, subject: Subject | None, bulk_id: str, data: BulkUpdate) -> BulkRead:
        """Edit the copies in the chosen works (all by default); each keeps a revision."""
        bulk = await self._own(subject, bulk_id)
        if data.version != bulk["version"]:
            raise StaleVersionError(current_version=bulk["version"])
        chosen = self._chosen(await self._copies(bulk), data.work_ids)
        boards = {b.work_id: b for b in await self._boards(subject, [c["work_id"] for c in chosen])}
        fields = data.model_fields_set - {"version", "work_ids"}
        async with self.container.uow() as uow:
            for copy in chosen:
                update = PostUpdate(
                    version=int(copy["version"]),
                    revision=int(copy.get("revision") or 0),
                    **{name: getattr(data, name) for name in fields},
                )
                await self.posts.edit(subject, copy["id"], update, board=boards[copy["work_id"]])
            changes: Record = {"updated_at": self.now()}
            if data.title is not None:
                changes["title"] = data.title
            stored = await uow.records.update(BULKS, bulk_id, changes, bulk["version"])
            await self.audit.record(
                subject,
                "bulletins.bulk_edited",
                bulk_target(bulk_id),
                before=bulk,
                after=stored,
                detail={"posts": [c["id"] for c in chosen]},
            )
        return await self.read(subject, bulk_id)

    async def remove(
        self, subject: Subject | None, bulk_id: str, version: int, work_ids: list[str] | None
    ) -> BulkRead:
        """Delete the copies in the chosen works (all by default)."""
        bulk = await self._own(subject, bulk_id)
        if version != bulk["version"]:
            raise StaleVersionError(current_version=bulk["version"])
        chosen = self._chosen(await self._copies(bulk), work_ids)
        boards = {b.work_id: b for b in await self._boards(subject, [c["work_id"] for c in chosen])}
        async with self.container.uow() as uow:
            for copy in chosen:
                await self.posts.delete(
                    subject, copy["id"], int(copy["version"]), board=boards[copy["work_id"]]
                )
            stored = await uow.records.update(
                BULKS, bulk_id, {"updated_at": self.now()}, bulk["version"]
            )
            await self.audit.record(
                subject,
                "bulletins.bulk_deleted",
                bulk_target(bulk_id),
                before=bulk,
                after=stored,
                detail={"posts": [c["id"] for c in chosen]},
            )
        return await self.read(subject, bulk_id)
