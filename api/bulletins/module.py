"""The bulletin board (掲示板): posts, replies, unread, groups, tree and bulk posting."""

from __future__ import annotations

from api.attachments.service import register_reader
from api.bulletins import indexing
from api.bulletins.models import POSTS, REPLIES, REVISIONS, State
from api.bulletins.permissions import BulletinRules
from api.bulletins.repository import BoardRepository
from api.bulletins.router import router
from api.bulletins.router_board import router as board_router
from api.bulletins.router_groups import router as groups_router
from api.bulletins.unread import UnreadTracker
from api.container import Container
from api.errors import KuraError
from api.modules import Module
from api.permissions.policy import Subject
from api.search.principals import register_principals
from api.works.hooks import on_member_changed
from storage.ports import RecordStore


async def _schema(container: Container) -> None:
    await BoardRepository(container.records).ensure_indexes()


async def _reads(container: Container, subject: Subject, collection: str, rid: str) -> bool:
    from api.bulletins.service import BoardService

    try:
        await BoardService(container).visible(subject, collection, rid)
    except KuraError:
        return False
    return True


async def _post_files(container: Container, subject: Subject, post_id: str) -> bool:
    """A post's files: whoever reads the post (its scope, seed 001 別表1-1 2(4)(5))."""
    return await _reads(container, subject, POSTS, post_id)


async def _reply_files(container: Container, subject: Subject, reply_id: str) -> bool:
    return await _reads(container, subject, REPLIES, reply_id)


async def _revision_files(container: Container, subject: Subject, rev_id: str) -> bool:
    """Files an edit removed: whoever reads the post or reply (and it is not deleted)."""
    revision = await container.records.get(REVISIONS, rev_id)
    if revision is None:
        return False
    collection, _, record_id = str(revision.get("record")).partition("/")
    record = await container.records.get(collection, record_id)
    if record is None or record.get("state") != State.ACTIVE:
        return False
    return await _reads(container, subject, collection, record_id)


async def _member_changed(records: RecordStore, work_id: str, user_id: str) -> None:
    await UnreadTracker(records).member_changed(work_id, user_id)


register_reader(POSTS, _post_files)
register_reader(REPLIES, _reply_files)
register_reader(REVISIONS, _revision_files)
register_principals(indexing.board_principals, private_types=("post", "reply"))
on_member_changed(_member_changed)
indexing.register()

MODULE = Module(
    "bulletins",
    routers=(router, board_router, groups_router),
    ensure_schema=_schema,
    rules={"bulletins": BulletinRules()},
)
