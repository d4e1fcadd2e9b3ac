"""Proposals in the search index never reach people outside their access (seed 001 別表1-1
3(5): a draft is its proposer's alone; 4(4)-(7): lists show what the reader may read).

- the global search (``/search``) filters proposals on their own principals inside the index
  (``api.proposals.lists.search_principals``): the work's readers find a submitted one; an
  archive reader of the work (membership opens only works and files), another organization
  and operators (a private type: their search has no acl filter) do not;
- the proposals' own list with a text query filters on the same principals: readers of the
  work find it (operators too: they read submitted proposals), nobody else;
- a draft never submitted is not in the index at all (nobody's query can reach it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from indexer.query import SearchQuery
from tests.proposals.harness import (
    BUILDER,
    BUILDER2,
    NOBODY,
    OPERATOR,
    STRANGER,
    SUP,
    VIEWER,
    Harness,
    harness,
)
from tests.proposals.test_workflow import route

pytestmark = pytest.mark.anyio
SECRET = "秘匿区画線甲乙"


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def titles(h: Harness, who: object, url: str) -> list[str]:
    found = await h.ok(who, "GET", url)  # type: ignore[arg-type]
    if "hits" in found:
        return [str(hit.get("title")) for hit in found["hits"]]
    return [str(row["title"]) for row in found["items"]]


async def test_search_never_shows_proposals_outside_their_access(h: Harness) -> None:
    work = await h.work()
    await h.ok(
        SUP,
        "POST",
        f"/works/{work['id']}/members",
        201,
        json={"user_id": NOBODY.user_id, "role": "archive_reader"},
    )
    submitted = await h.draft(work["id"], title=f"{SECRET} 発議済み")
    await h.act(BUILDER, submitted["id"], "submit", route=route(("approve", [SUP])))
    draft = await h.draft(work["id"], title=f"{SECRET} 下書き")

    # The submitted one is in the index (its text and its principals), the draft is not.
    everything = await h.container.index.search(SearchQuery(text=SECRET, acl=None, limit=50))
    assert [hit.id for hit in everything.hits] == [submitted["id"]]
    assert draft["id"] not in [hit.id for hit in everything.hits]

    # The global search: the work's readers find the submitted one (never the draft); an
    # archive reader of the work, another organization and operators find nothing.
    for who in (SUP, VIEWER, BUILDER, BUILDER2):
        assert await titles(h, who, f"/search?q={SECRET}") == [f"{SECRET} 発議済み"], who.login_id
        found = await h.ok(who, "GET", f"/search?q={SECRET}&type=proposal")
        assert [hit["type"] for hit in found["hits"]] == ["proposal"]
        # The 分類 facet names the form as users know it (a code read as gibberish).
        assert [b["value"] for b in found["facets"]["category"]] == ["工事打合せ簿"]
    for who in (NOBODY, OPERATOR, STRANGER):
        assert await titles(h, who, f"/search?q={SECRET}") == [], who.login_id
        found = await h.ok(who, "GET", f"/search?q={SECRET}&type=proposal")
        assert found["hits"] == []

    # The proposals' list with a text query: the readers of the work, nobody else.
    for who in (SUP, VIEWER, BUILDER, BUILDER2, OPERATOR):
        assert await titles(h, who, f"/proposals?q={SECRET}") == [f"{SECRET} 発議済み"], (
            who.login_id
        )
    for who in (STRANGER, NOBODY):
        assert await titles(h, who, f"/proposals?q={SECRET}") == [], who.login_id
    # Without a text query the proposer sees their draft too; nobody else ever does.
    assert sorted(await titles(h, BUILDER, f"/proposals?work={work['id']}")) == [
        f"{SECRET} 下書き",
        f"{SECRET} 発議済み",
    ]
    for who in (SUP, BUILDER2, OPERATOR, VIEWER):
        assert f"{SECRET} 下書き" not in await titles(h, who, "/proposals"), who.login_id
