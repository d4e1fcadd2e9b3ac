"""Posts: register, read as a thread, edit and delete by the author with history kept
(seed 001 別表1-1 2(1)-(5)(8), 別表1-2 2(1)-(6)).

Every change is one unit of work: the record, its attachments' links, the unread rows, the
revision, the audit event, the mails and notifications commit together or not at all; the index
follows after commit. Edits and deletions keep the earlier state as a revision
(``post_revisions``), and files an edit removes stay with that revision.
"""

from __future__ import annotations

from typing import Any

from api.bulletins.indexing import attachment_text, post_doc, reply_doc
from api.bulletins.models import (
    POSTS,
    REPLIES,
    REVISIONS,
    State,
    post_target,
    reply_target,
)
from api.bulletins.notify import notify_post
from api.bulletins.schemas import (
    PostCreate,
    PostUpdate,
    RevisionRead,
    ThreadRead,
)
from api.bulletins.scope import audience, post_acl
from api.bulletins.service import Board, BoardService
from api.bulletins.unread import row_id
from api.bulletins.views import (
    briefs,
    post_read,
    reply_read,
    scope_user_ids,
    work_brief,
)
from api.errors import StaleVersionError
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.notifications.service import mark_seen
from api.permissions.policy import Subject
from storage.query import Record


class PostService(BoardService):
    # -- create ------------------------------------------------------------------------------
    async def create(
        self,
        subject: Subject | None,
        work_id: str,
        data: PostCreate,
        *,
        bulk_id: str | None = None,
        board: Board | None = None,
        copy_files: list[Record] | None = None,
    ) -> Record:
        """A new post (2(1)(2)(4)(5)(8)). ``bulk_id``/``copy_files``: a copy made by a bulk
        post (別表1-2 2(8)), its files copied from the staged ones."""
        board = board or await self.board(subject, work_id, "bulletins.post")
        subject = board.subject
        members = await self.repo.members(work_id)
        scope = await self.resolve_scope(board, data.scope, members)
        post_id = new_id()
        now = self.now()
        post: Record = {
            "id": post_id,
            "work_id": work_id,
            "title": data.title,
            "body": data.body,
            "importance": data.importance.value,
            **await self.author(subject),
            "scope": scope,
            "acl": post_acl(work_id, scope, subject.user_id),
            "state": State.ACTIVE.value,
            "created_at": now,
            "updated_at": now,
            "activity_at": now,
            "reply_count": 0,
            "revision": 0,
            **({"bulk_id": bulk_id} if bulk_id else {}),
        }
        readers = audience(post["acl"], work_id, members, board.status)
        recipients = self.recipients(data.notify, readers, subject.user_id)
        async with self.container.uow() as uow:
            if copy_files is not None:
                files = [
                    await self.files.copy(uow, f, post_target(post_id), work_id=work_id, order=i)
                    for i, f in enumerate(copy_files)
                ]
            else:
                files = await self.attach(
                    uow, subject, data.attachment_ids, post_target(post_id), work_id
                )
            post["attachment_count"] = len(files)
            if recipients:
                post["notified"] = recipients
            stored = await uow.records.insert(POSTS, post)
            await self.tracker.post_created(stored, members, board.status)
            await self.audit.record(
                subject,
                "bulletins.post_created",
                post_target(post_id),
                after=stored,
                detail={"bulk_id": bulk_id} if bulk_id else None,
            )
            await notify_post(self.container, uow, stored, recipients)
            uow.index(post_doc(stored, files, await attachment_text(self.container, files)))
        return stored

    # -- read --------------------------------------------------------------------------------
    async def thread(self, subject: Subject | None, post_id: str) -> ThreadRead:
        """The post with its files and replies (deleted replies keep their place), and which
        replies are new to the reader."""
        post, board = await self.visible(subject, POSTS, post_id)
        me = board.subject.user_id
        replies = await self.repo.replies_of(
            post_id, states=(State.ACTIVE.value, State.DELETED.value)
        )
        parents = [post_target(post_id), *(reply_target(r["id"]) for r in replies)]
        files = await self.files.of_parents(parents)
        row = (await self.repo.unread_rows(me, [row_id(post_id, me)])).get(row_id(post_id, me))
        since = row.get("since") if row else None
        people = await self.people(scope_user_ids([post]))
        return ThreadRead(
            work=work_brief(board.work),
            post=post_read(post, people, me, row),
            attachments=briefs(files.get(post_target(post_id), [])),
            replies=[
                reply_read(r, me, files.get(reply_target(r["id"]), []), since, row is not None)
                for r in replies
            ],
            can_reply=board.can_post,
            can_edit=board.can_post and post["author_id"] == me,
        )

    async def mark_read(self, subject: Subject | None, post_id: str) -> bool:
        """The reader has seen the post and its replies (their unread row goes)."""
        _, board = await self.visible(subject, POSTS, post_id)
        me = board.subject.user_id
        replies = await self.repo.replies_of(post_id, states=(State.ACTIVE.value,))
        sources = [post_target(post_id), *(reply_target(r["id"]) for r in replies)]
        async with self.container.uow():
            # The bell's entries for this post and its replies go with the unread mark.
            await mark_seen(self.records, me, sources, self.now())
            return await self.tracker.mark_read(me, post_id)

    async def revisions(self, subject: Subject | None, post_id: str) -> list[RevisionRead]:
        """Earlier states of a post (edits kept, 2(1))."""
        await self.visible(subject, POSTS, post_id)
        return await self.history(post_target(post_id))

    # -- edit --------------------------------------------------------------------------------
    async def edit(
        self, subject: Subject | None, post_id: str, data: PostUpdate, *, board: Board | None = None
    ) -> Record:
        """The author changes title, body, importance, scope or files; the earlier state is
        kept as a revision, the unread rows follow a changed scope."""
        post, seen = await self.visible(subject, POSTS, post_id)
        board = board or seen
        self.require_author(board, post, "記事")
        await self.writable(board)
        if data.revision is not None:
            if data.revision != int(post.get("revision") or 0):
                raise StaleVersionError(current_version=post["version"])
        elif data.version != post["version"]:
            raise StaleVersionError(current_version=post["version"])
        fields = data.model_fields_set - {"version", "revision"}
        changes: dict[str, Any] = {}
        for name in ("title", "body"):
            if name in fields and getattr(data, name) is not None:
                changes[name] = getattr(data, name)
        if "importance" in fields and data.importance is not None:
            changes["importance"] = data.importance.value
        members = await self.repo.members(board.work_id)
        if "scope" in fields and data.scope is not None:
            scope = await self.resolve_scope(board, data.scope, members)
            changes["scope"] = scope
            changes["acl"] = post_acl(board.work_id, scope, post["author_id"])
        now = self.now()
        changes.update(updated_at=now, edited_at=now, revision=int(post.get("revision") or 0) + 1)
        async with self.container.uow() as uow:
            current = await self.files.of_parent(post_target(post_id))
            rev_id = await self.save_revision(uow, POSTS, post, board.subject, "edited", current)
            files = current
            if "attachment_ids" in fields and data.attachment_ids is not None:
                files = await self.relink(
                    uow,
                    board.subject,
                    data.attachment_ids,
                    post_target(post_id),
                    board.work_id,
                    f"{REVISIONS}/{rev_id}",
                )
                changes["attachment_count"] = len(files)
            stored = await uow.records.update(POSTS, post_id, changes, post["version"])
            acl_changed = stored["acl"] != post["acl"]
            replies = await self.repo.replies_of(post_id, states=(State.ACTIVE.value,))
            if acl_changed:
                await self.tracker.scope_changed(
                    stored, post["acl"], members, board.status, replies
                )
            await self.audit.record(
                board.subject,
                "bulletins.post_edited",
                post_target(post_id),
                before=post,
                after=stored,
                detail={"fields": sorted(fields), "revision": rev_id},
            )
            uow.index(post_doc(stored, files, await attachment_text(self.container, files)))
            if acl_changed or stored["title"] != post["title"]:
                await self._refresh_replies(uow, stored, replies)
        return stored

    async def _refresh_replies(self, uow: UnitOfWork, post: Record, replies: list[Record]) -> None:
        """Replies carry their post's acl (and its title in the index)."""
        files = await self.files.of_parents([reply_target(r["id"]) for r in replies])
        for reply in replies:
            if reply.get("acl") != post["acl"]:
                reply = await uow.records.update(
                    REPLIES, reply["id"], {"acl": post["acl"]}, reply["version"]
                )
            mine = files.get(reply_target(reply["id"]), [])
            uow.index(
                reply_doc(reply, post["title"], mine, await attachment_text(self.container, mine))
            )

    # -- delete ------------------------------------------------------------------------------
    async def delete(
        self, subject: Subject | None, post_id: str, version: int, *, board: Board | None = None
    ) -> None:
        """The author deletes a post: hidden with its replies and files, kept as a revision."""
        post, seen = await self.visible(subject, POSTS, post_id)
        board = board or seen
        self.require_author(board, post, "記事")
        await self.writable(board)
        if version != post["version"]:
            raise StaleVersionError(current_version=post["version"])
        now = self.now()
        async with self.container.uow() as uow:
            current = await self.files.of_parent(post_target(post_id))
            await self.save_revision(uow, POSTS, post, board.subject, "deleted", current)
            stored = await uow.records.update(
                POSTS,
                post_id,
                {
                    "state": State.DELETED.value,
                    "deleted_at": now,
                    "deleted_by": board.subject.user_id,
                    "updated_at": now,
                    "revision": int(post.get("revision") or 0) + 1,
                },
                post["version"],
            )
            for reply in await self.repo.replies_of(post_id, states=(State.ACTIVE.value,)):
                await uow.records.update(
                    REPLIES, reply["id"], {"state": State.THREAD_DELETED.value}, reply["version"]
                )
                uow.unindex(reply["id"])
            await self.tracker.post_gone(post_id)
            await self.audit.record(
                board.subject,
                "bulletins.post_deleted",
                post_target(post_id),
                before=post,
                after=stored,
            )
            uow.unindex(post_id)
