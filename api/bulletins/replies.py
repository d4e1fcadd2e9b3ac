"""Replies to posts, threaded one level (seed 001 別表1-1 2(3): 記事等に対して、返信コメントを
登録できる), with files (2(4)), edited and deleted by their author with history kept.

Replying needs the post in the replier's scope (404 otherwise: issue 9 "Bad input", replying
to a post outside one's scope) and the right to write on the board (403 for viewers). A reply
carries its post's acl, so its readers are the post's. Each reply makes the thread unread for
the post's other readers (``api.bulletins.unread``) and notifies the post's author and the
thread's other repliers (``bulletin.replied``).
"""

from __future__ import annotations

from api.bulletins.indexing import attachment_text, post_doc, reply_doc
from api.bulletins.models import POSTS, REPLIES, REVISIONS, State, post_target, reply_target
from api.bulletins.notify import notify_reply
from api.bulletins.schemas import ReplyCreate, ReplyUpdate, RevisionRead
from api.bulletins.scope import audience
from api.bulletins.service import BoardService
from api.errors import NotFoundError, StaleVersionError
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from storage.query import Record


class ReplyService(BoardService):
    async def create(self, subject: Subject | None, post_id: str, data: ReplyCreate) -> Record:
        post, board = await self.visible(subject, POSTS, post_id)
        if not board.can_post:
            self.policy.require(board.subject, "bulletins.post", self._ctx(board))
        await self.writable(board)
        members = await self.repo.members(board.work_id)
        reply_id = new_id()
        now = self.now()
        reply: Record = {
            "id": reply_id,
            "work_id": board.work_id,
            "post_id": post_id,
            "body": data.body,
            **await self.author(board.subject),
            "acl": list(post["acl"]),
            "state": State.ACTIVE.value,
            "created_at": now,
            "updated_at": now,
            "revision": 0,
        }
        async with self.container.uow() as uow:
            files = await self.attach(
                uow, board.subject, data.attachment_ids, reply_target(reply_id), board.work_id
            )
            reply["attachment_count"] = len(files)
            stored = await uow.records.insert(REPLIES, reply)
            # Re-read inside the unit: the counters are the post's latest.
            fresh = await uow.records.get(POSTS, post_id)
            if fresh is None or fresh.get("state") != State.ACTIVE:
                raise NotFoundError()
            updated = await uow.records.update(
                POSTS,
                post_id,
                {
                    "reply_count": int(fresh.get("reply_count") or 0) + 1,
                    "last_reply_at": now,
                    "activity_at": now,
                },
                fresh["version"],
            )
            await self.tracker.replied(
                updated, stored, members, board.status, seen_until=str(fresh["activity_at"])
            )
            await self.audit.record(
                board.subject,
                "bulletins.reply_created",
                reply_target(reply_id),
                after=stored,
                detail={"post": post_id},
            )
            readers = audience(updated["acl"], board.work_id, members, board.status)
            await notify_reply(self.container, uow, updated, stored, readers)
            uow.index(
                reply_doc(
                    stored, updated["title"], files, await attachment_text(self.container, files)
                )
            )
            await self._reindex_post(uow, updated)
        return stored

    async def _reindex_post(self, uow: UnitOfWork, post: Record) -> None:
        """The post's record changed (counters): its document follows (same stamp)."""
        files = await self.files.of_parent(post_target(post["id"]))
        uow.index(post_doc(post, files, await attachment_text(self.container, files)))

    async def _mine(
        self, subject: Subject | None, post_id: str, reply_id: str
    ) -> tuple[Record, Record, object]:
        reply, board = await self.visible(subject, REPLIES, reply_id)
        if reply["post_id"] != post_id:
            raise NotFoundError()
        post = await self.records.get(POSTS, post_id)
        if post is None or post.get("state") != State.ACTIVE:
            raise NotFoundError()
        self.require_author(board, reply, "返信")
        await self.writable(board)
        return reply, post, board

    async def edit(
        self, subject: Subject | None, post_id: str, reply_id: str, data: ReplyUpdate
    ) -> Record:
        reply, post, _ = await self._mine(subject, post_id, reply_id)
        assert subject is not None
        if data.version != reply["version"]:
            raise StaleVersionError(current_version=reply["version"])
        fields = data.model_fields_set - {"version"}
        now = self.now()
        changes: Record = {
            "updated_at": now,
            "edited_at": now,
            "revision": int(reply.get("revision") or 0) + 1,
        }
        if data.body is not None:
            changes["body"] = data.body
        async with self.container.uow() as uow:
            current = await self.files.of_parent(reply_target(reply_id))
            rev_id = await self.save_revision(uow, REPLIES, reply, subject, "edited", current)
            files = current
            if "attachment_ids" in fields and data.attachment_ids is not None:
                files = await self.relink(
                    uow,
                    subject,
                    data.attachment_ids,
                    reply_target(reply_id),
                    str(reply["work_id"]),
                    f"{REVISIONS}/{rev_id}",
                )
                changes["attachment_count"] = len(files)
            stored = await uow.records.update(REPLIES, reply_id, changes, reply["version"])
            await self.audit.record(
                subject,
                "bulletins.reply_edited",
                reply_target(reply_id),
                before=reply,
                after=stored,
                detail={"post": post_id, "revision": rev_id},
            )
            text = await attachment_text(self.container, files)
            uow.index(reply_doc(stored, post["title"], files, text))
        return stored

    async def delete(
        self, subject: Subject | None, post_id: str, reply_id: str, version: int
    ) -> None:
        """Deleted, kept as a revision; the thread shows its place; readers who had it as new
        count one reply less."""
        reply, _, _ = await self._mine(subject, post_id, reply_id)
        assert subject is not None
        if version != reply["version"]:
            raise StaleVersionError(current_version=reply["version"])
        now = self.now()
        async with self.container.uow() as uow:
            current = await self.files.of_parent(reply_target(reply_id))
            await self.save_revision(uow, REPLIES, reply, subject, "deleted", current)
            stored = await uow.records.update(
                REPLIES,
                reply_id,
                {
                    "state": State.DELETED.value,
                    "deleted_at": now,
                    "deleted_by": subject.user_id,
                    "updated_at": now,
                    "revision": int(reply.get("revision") or 0) + 1,
                },
                reply["version"],
            )
            fresh = await uow.records.get(POSTS, post_id)
            assert fresh is not None
            updated = await uow.records.update(
                POSTS,
                post_id,
                {"reply_count": max(0, int(fresh.get("reply_count") or 0) - 1)},
                fresh["version"],
            )
            await self.tracker.reply_gone(post_id, reply)
            await self.audit.record(
                subject,
                "bulletins.reply_deleted",
                reply_target(reply_id),
                before=reply,
                after=stored,
                detail={"post": post_id},
            )
            uow.unindex(reply_id)
            await self._reindex_post(uow, updated)

    async def revisions(
        self, subject: Subject | None, post_id: str, reply_id: str
    ) -> list[RevisionRead]:
        reply, _ = await self.visible(subject, REPLIES, reply_id)
        if reply["post_id"] != post_id:
            raise NotFoundError()
        return await self.history(reply_target(reply_id))
