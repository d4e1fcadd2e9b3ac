"""The bulletin board's part of the collaboration copy of a work, erased with the rest (seed 001
§3-6: 契約終了後、情報共有システム上の全てのデータを消去; 別表3 12(1)): the work's posts and
replies, their revisions, the unread rows of every reader, the files of each (released like
every attachment) and their search documents.

Kept: each user's read mark (one per user, across works) and a bulk post's record in the
supervisor's list of bulk posts (it lists copies in several works; the copy in this work is
gone and the list shows it no more).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.attachments.service import ATTACHMENTS, AttachmentService
from api.kit.uow import UnitOfWork
from storage.query import Eq, In, Record

if TYPE_CHECKING:
    from api.container import Container

CHUNK = 200


async def erase_board(container: Container, uow: UnitOfWork, work_id: str) -> dict[str, int]:
    """Delete the work's board inside ``uow``; returns counts per collection."""
    from api.bulletins.models import POSTS, REPLIES, REVISIONS, UNREAD

    records = container.records
    counts: dict[str, int] = {}

    async def drop(collection: str, items: list[Record], index: bool = False) -> None:
        for item in items:
            await records.delete(collection, str(item["id"]), None)
            if index:
                uow.unindex(str(item["id"]))
        if items:
            counts[collection] = counts.get(collection, 0) + len(items)

    posts = [p async for p in records.scan(POSTS, (Eq("work_id", work_id),))]
    replies = [r async for r in records.scan(REPLIES, (Eq("work_id", work_id),))]
    targets = [f"{POSTS}/{p['id']}" for p in posts] + [f"{REPLIES}/{r['id']}" for r in replies]
    revisions: list[Record] = []
    for start in range(0, len(targets), CHUNK):
        chunk = tuple(targets[start : start + CHUNK])
        revisions += [r async for r in records.scan(REVISIONS, (In("record", chunk),))]
    parents = [*targets, *(f"{REVISIONS}/{r['id']}" for r in revisions)]
    files: list[Record] = []
    for start in range(0, len(parents), CHUNK):
        chunk = tuple(parents[start : start + CHUNK])
        files += [a async for a in records.scan(ATTACHMENTS, (In("parent", chunk),))]
    service = AttachmentService(container)
    for attachment in files:
        await service.release(uow, attachment)
    if files:
        counts[ATTACHMENTS] = len(files)
    post_ids = [str(p["id"]) for p in posts]
    for start in range(0, len(post_ids), CHUNK):
        chunk = tuple(post_ids[start : start + CHUNK])
        await drop(UNREAD, [u async for u in records.scan(UNREAD, (In("post_id", chunk),))])
    await drop(REVISIONS, revisions)
    await drop(REPLIES, replies, index=True)
    await drop(POSTS, posts, index=True)
    return counts
