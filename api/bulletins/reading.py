"""Reading the board: a work's post list and search, the unread list of all works, "mark all
read", the compose form's audience and the supervisors' tree of works → posts.

Clauses: unread titles of all one's works at sign-in (seed 001 別表1-1 2(6), 別表1-2 2(10));
search by title, author and date (別表1-1 2(7), 別表1-2 2(11)); every post of several or all of
a supervisor's works as a tree work → post (別表1-2 2(7)).

Lists with a text, author or date condition, and every cross-work list, ask the search index
with the subject's principals (the acl filter inside the index); a work's plain list and the
unread list ask the record store. Either way the scope is enforced by the query, never after.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from api.bulletins.indexing import board_principals
from api.bulletins.models import PAGE_MAX, POST_DOC, REPLIES, REPLY_DOC, State
from api.bulletins.notify import excerpt
from api.bulletins.schemas import (
    AudienceRead,
    BoardPage,
    GroupChoice,
    HitPage,
    MemberChoice,
    PersonRead,
    PostHit,
    TreePage,
    TreeWork,
    UnreadItem,
    UnreadPage,
)
from api.bulletins.scope import reads_board
from api.bulletins.service import Board, BoardService
from api.bulletins.unread import row_id
from api.bulletins.views import post_read, scope_user_ids, work_brief
from api.errors import ValidationFailed
from api.kit.ids import is_id
from api.permissions.policy import Subject, WorkRole
from indexer.query import DateRange, SearchQuery
from storage.ports import SearchHit
from storage.query import Record


def _range(date_from: date | None, date_to: date | None) -> dict[str, DateRange]:
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("登録日の範囲の開始日が終了日より後です。", field="date_from")
    if not date_from and not date_to:
        return {}
    return {
        "created_at": DateRange(
            gte=date_from.isoformat() if date_from else None,
            lte=date_to.isoformat() if date_to else None,
        )
    }


SWEEP_TASK = "bulletins.sweep_read"


class ReadingService(BoardService):
    # -- one work --------------------------------------------------------------------------
    async def board_list(
        self,
        subject: Subject | None,
        work_id: str,
        *,
        q: str | None = None,
        author_id: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BoardPage:
        """The work's posts the subject reads, newest activity first; with ``q`` (title),
        ``author_id`` or a date range (登録日時), a search of those (2(7))."""
        board = await self.board(subject, work_id, "bulletins.read")
        me = board.subject.user_id
        total: int | None = None
        ranges = _range(date_from, date_to)
        if q or author_id or ranges:
            filters: dict[str, tuple[str, ...]] = {"work_id": (work_id,)}
            if author_id:
                filters["author"] = (author_id,)
            result = await self.container.index.search(
                SearchQuery(
                    text=(q or "").strip(),
                    fields=("title",),
                    types=(POST_DOC,),
                    filters=filters,
                    ranges=ranges,
                    acl=board.principals,
                    sort="date",
                    sort_date_field="created_at",
                    descending=True,
                    limit=limit,
                    cursor=cursor,
                )
            )
            found = await self.repo.posts([h.id for h in result.hits])
            # The index follows commits: a hit whose post is gone (deleted meanwhile) is left out.
            posts = [
                found[h.id]
                for h in result.hits
                if h.id in found
                and found[h.id].get("state") == State.ACTIVE
                and board.sees(found[h.id])
            ]
            next_cursor, total = result.next_cursor, result.total
        else:
            page = await self.repo.board_page(work_id, board.principals, limit=limit, cursor=cursor)
            posts, next_cursor = page.items, page.next_cursor
        rows = await self.repo.unread_rows(me, [row_id(p["id"], me) for p in posts])
        people = await self.people(scope_user_ids(posts))
        return BoardPage(
            items=[post_read(p, people, me, rows.get(row_id(p["id"], me))) for p in posts],
            next_cursor=next_cursor,
            total=total,
            unread=await self.repo.unread_count(me, work_id),
        )

    async def audience(self, subject: Subject | None, work_id: str) -> AudienceRead:
        """Members (names, organizations, roles), the subject's groups, and the authors of the
        posts the subject reads (for the author search)."""
        board = await self.board(subject, work_id, "bulletins.read")
        members = await self.repo.members(work_id)
        people = await self.people(list(members))
        groups = await self.repo.groups_of(board.subject.user_id)
        facets = await self.container.index.search(
            SearchQuery(
                types=(POST_DOC,),
                filters={"work_id": (work_id,)},
                acl=board.principals,
                facets=("author",),
                limit=0,
            )
        )
        author_ids = list(facets.facets.get("author", {}))
        authors = await self.people(author_ids)
        return AudienceRead(
            members=[
                MemberChoice(
                    user_id=uid,
                    name=people.get(uid, {}).get("name", ""),
                    org_name=people.get(uid, {}).get("org_name", ""),
                    role=WorkRole(role),
                )
                for uid, role in sorted(
                    members.items(), key=lambda m: (m[1], people.get(m[0], {}).get("name", ""))
                )
                if reads_board(role, board.status)
            ],
            groups=[
                GroupChoice(
                    id=g["id"], name=g.get("name", ""), member_count=len(g.get("member_ids") or [])
                )
                for g in groups
            ],
            authors=[PersonRead(**authors[a]) for a in author_ids if a in authors],
            can_post=board.can_post,
            work=work_brief(board.work),
        )

    # -- unread ----------------------------------------------------------------------------
    async def unread(
        self,
        subject: Subject | None,
        *,
        work_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> UnreadPage:
        """The titles of unread posts of all the subject's works (or one work), newest
        activity first; ``total`` counts the same rows the pages walk."""
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        if work_id is not None:
            await self.board(subject, work_id, "bulletins.read")
        page, total = await self.repo.unread_page(subject.user_id, work_id, limit, cursor)
        posts = await self.repo.posts([r["post_id"] for r in page.items])
        works = await self.repo.works(sorted({r["work_id"] for r in page.items}))
        items = []
        for row in page.items:
            post = posts.get(row["post_id"])
            work = works.get(row["work_id"]) or {}
            if post is None:  # cannot happen: a post's rows go with it in one unit of work
                continue
            items.append(
                UnreadItem(
                    post_id=post["id"],
                    work_id=post["work_id"],
                    work_title=str(work.get("title") or ""),
                    work_number=str(work.get("number") or ""),
                    title=post["title"],
                    author_name=post.get("author_name", ""),
                    author_org_name=post.get("author_org_name", ""),
                    importance=post.get("importance", "normal"),
                    created_at=post["created_at"],
                    activity_at=row["activity_at"],
                    new_post=bool(row.get("new_post")),
                    new_replies=int(row.get("new_replies") or 0),
                )
            )
        return UnreadPage(items=items, next_cursor=page.next_cursor, total=total)

    async def mark_all_read(self, subject: Subject | None, work_id: str | None = None) -> int:
        """Mark all read everywhere (one mark whatever the backlog; ``bulletins.sweep_read``
        deletes the rows afterwards) or in one work (its rows go in pages of 500, each page its
        own unit: an interruption leaves fewer unread, never a wrong count). Returns how many
        posts were unread."""
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        if work_id is None:
            marked = await self.repo.unread_count(subject.user_id)
            async with self.container.uow() as uow:
                await self.tracker.mark_everywhere(subject.user_id, self.now())
                uow.enqueue(SWEEP_TASK, user_id=subject.user_id)
            return marked
        await self.board(subject, work_id, "bulletins.read")
        done = 0
        while True:
            rows = await self.tracker.next_batch(subject.user_id, work_id)
            if not rows:
                return done
            async with self.container.uow():
                done += await self.tracker.delete_rows(rows)

    # -- across works ----------------------------------------------------------------------
    async def memberships(self, subject: Subject) -> list[tuple[Record, str]]:
        """(work, role) of every work whose board the subject reads, by work number."""
        roles = {
            str(m["work_id"]): str(m["role"]) for m in await self.repo.memberships(subject.user_id)
        }
        works = await self.repo.works(sorted(roles))
        out = [
            (w, roles[w["id"]])
            for w in works.values()
            if reads_board(roles[w["id"]], str(w.get("status")))
        ]
        out.sort(key=lambda x: (str(x[0].get("number") or ""), str(x[0]["id"])))
        return out

    async def tree(
        self, subject: Subject | None, *, limit: int = 50, cursor: str | None = None
    ) -> TreePage:
        """The subject's works with their unread counts and latest post: the first level of
        the tree work → post (別表1-2 2(7)); a work's posts are its board list."""
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        works = await self.memberships(subject)
        start = int(cursor) if cursor and cursor.isdigit() else 0
        chunk = works[start : start + limit]
        items = []
        for work, role in chunk:
            board = Board(work, subject, WorkRole(role))
            latest = await self.repo.board_page(work["id"], board.principals, limit=1)
            top = latest.items[0] if latest.items else None
            items.append(
                TreeWork(
                    work=work_brief(work),
                    role=WorkRole(role),
                    unread=await self.repo.unread_count(subject.user_id, work["id"]),
                    latest_post_id=top["id"] if top else None,
                    latest_title=top["title"] if top else None,
                    latest_at=top["activity_at"] if top else None,
                )
            )
        more = start + limit < len(works)
        return TreePage(items=items, next_cursor=str(start + limit) if more else None)

    async def search(
        self,
        subject: Subject | None,
        *,
        q: str | None = None,
        author_id: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        work_ids: Sequence[str] = (),
        replies: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> HitPage:
        """Posts (and replies) of all the subject's works by title (or, with replies, text),
        author and registration date: 2(7)/2(11) across works."""
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        for work_id in work_ids:
            if not is_id(work_id):
                raise ValidationFailed("案件の指定が正しくありません。", field="work_id")
        filters: dict[str, tuple[str, ...]] = {}
        if work_ids:
            filters["work_id"] = tuple(work_ids)
        if author_id:
            filters["author"] = (author_id,)
        result = await self.container.index.search(
            SearchQuery(
                text=(q or "").strip(),
                fields=("title",) if not replies else (),
                types=(POST_DOC, REPLY_DOC) if replies else (POST_DOC,),
                filters=filters,
                ranges=_range(date_from, date_to),
                acl=tuple(await board_principals(self.records, subject)),
                sort="date",
                sort_date_field="created_at",
                descending=True,
                limit=min(limit, PAGE_MAX),
                cursor=cursor,
            )
        )
        return await self.hits(result.hits, result.next_cursor, result.total)

    async def hits(self, hits: Sequence[SearchHit], next_cursor: str | None, total: int) -> HitPage:
        """Index hits as list items, from the records (names, excerpts); a hit whose record
        is gone or hidden meanwhile (the index follows commits) is left out."""
        post_ids = [h.id for h in hits if h.doc.get("type") == POST_DOC]
        reply_ids = [h.id for h in hits if h.doc.get("type") == REPLY_DOC]
        records = {
            **await self.repo.posts(post_ids),
            **{r["id"]: r for r in await self.records.get_many(REPLIES, reply_ids)},
        }
        parents = await self.repo.posts(
            sorted({str(r["post_id"]) for r in records.values() if r.get("post_id")})
        )
        works = await self.repo.works(sorted({str(r["work_id"]) for r in records.values()}))
        items = []
        for hit in hits:
            record = records.get(hit.id)
            if record is None or record.get("state") != State.ACTIVE:
                continue
            post = parents.get(str(record.get("post_id"))) if record.get("post_id") else record
            if post is None:
                continue
            items.append(
                PostHit(
                    type=str(hit.doc.get("type")),
                    id=hit.id,
                    post_id=post["id"],
                    work_id=str(record["work_id"]),
                    work_title=str((works.get(str(record["work_id"])) or {}).get("title") or ""),
                    title=str(post.get("title") or ""),
                    excerpt=excerpt(str(record.get("body") or "")),
                    author_name=str(record.get("author_name") or ""),
                    created_at=record.get("created_at"),
                )
            )
        return HitPage(items=items, next_cursor=next_cursor, total=total)
