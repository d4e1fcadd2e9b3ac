"""A work with collaboration data for the erasure tests: the proposal harness (the app as
``create_app`` builds it, eager jobs, fixed clock) on the embedded index or, with the real
test servers, on Elasticsearch; and the "what is left of it" probes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from api.config import SearchSettings, Settings
from api.container import Container
from api.keys import scopes
from indexer.query import SearchQuery
from tests.conftest import server_env
from tests.handovers.support import XLSX, xlsx
from tests.handovers.test_transfer import board_content
from tests.proposals.harness import BUILDER, SUP, Harness, harness

# Words that occur only in the erased scope's content (post, reply, proposal, file text)
MARK = "秘匿消去確認語"
MARK_BYTES = MARK.encode()
SHIM = "tests.support.es_shim:AsyncPlainJsonNode"


def index_settings(settings: Settings, backend: str) -> Settings:
    if backend == "tantivy":
        return settings
    search = SearchSettings(
        backend="elasticsearch",
        es_hosts=[server_env("KURA_TEST_ES_URL")],
        es_index=f"kura-test-{uuid.uuid4().hex[:12]}",
        es_node_class=SHIM,
    )
    return settings.model_copy(update={"search": search})


@asynccontextmanager
async def world(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as h:
        try:
            yield h
        finally:
            drop = getattr(h.container.index, "drop", None)
            if settings.search.backend == "elasticsearch" and drop is not None:
                await drop()


async def collaboration(h: Harness, work_id: str) -> dict[str, Any]:
    """Board (post, revision, reply, files, schedules, unread rows), a proposal with a file
    and a comment, all carrying ``MARK``; a scoped object of each of the work's scopes."""
    await board_content(h, work_id)
    sheet = await h.upload(BUILDER, work_id, "秘匿.xlsx", xlsx([MARK, "6月"]), XLSX)
    post = await h.ok(
        BUILDER,
        "POST",
        f"/works/{work_id}/posts",
        201,
        json={"title": f"{MARK}の件", "body": f"本文 {MARK} です。", "attachment_ids": [sheet]},
    )
    await h.ok(SUP, "POST", f"/posts/{post['id']}/replies", 201, json={"body": f"返信 {MARK}"})
    proposal = await h.draft(
        work_id,
        title=f"{MARK}について",
        values={
            **(
                await h.ok(BUILDER, "GET", f"/works/{work_id}/proposals/new?form_id=koji_uchiawase")
            )["values"],
            "matter": "協議",
            "subject": f"{MARK}について",
            "content": f"内容 {MARK}",
        },
    )
    blobs = h.container.blobs
    for scope in (scopes.collab(work_id), scopes.archive(work_id)):
        await blobs.put(f"{scopes.prefix(scope)}note", _one(f"{MARK} {scope}".encode() * 1000))
    await h.container.index.refresh()
    return {"post": post, "proposal": proposal}


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def found(c: Container, text: str = MARK, work_id: str | None = None) -> int:
    await c.index.refresh()
    filters = {"work_id": (work_id,)} if work_id else {}
    result = await c.index.search(SearchQuery(text=text, filters=filters, acl=None, limit=100))
    return result.total


def database_holds(path: Path, needle: bytes = MARK_BYTES) -> list[str]:
    """Which files of the SQLite database (main file, WAL) contain ``needle``."""
    return [
        p.name
        for p in (path, path.with_name(path.name + "-wal"))
        if p.exists() and needle in p.read_bytes()
    ]


async def audit_mentions(c: Container, needle: str = MARK) -> list[dict[str, Any]]:
    return [
        e
        async for e in c.records.scan("audit_events", ())
        if needle in json.dumps(e, ensure_ascii=False)
    ]
