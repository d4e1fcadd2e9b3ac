"""Erasing the archive part (``wa-``) of a work that is not archived yet (issue 12 §2; seed
001 §3-6; 別表3 12(1)(2)): its tree mixes files of both scopes (``NodeService.scope_for``).
The files whose content is in ``wa-`` go with their records and the folders they leave
empty; the collaboration part's files and folders stay, readable. Before, the records of
the erased files stayed, naming files whose content answered 410."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.archive.cas import ContentStore
from api.archive.models import NODES
from api.archive.nodes import NodeService
from api.config import Settings
from api.keys import scopes
from api.keys.erasure import erase
from tests.archive.harness_tree import place_file
from tests.proposals.harness import BUILDER, Harness, harness

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def test_the_archive_part_of_a_work_in_progress_takes_only_its_files(h: Harness) -> None:
    c = h.container
    work = await h.work()
    wid = str(work["id"])
    nodes = NodeService(c)
    archived = await place_file(nodes, BUILDER, work, "納品/図面", "平面図.pdf", b"%PDF-1.4 wa")
    shared = await place_file(
        nodes, BUILDER, work, "納品", "協議.pdf", b"%PDF-1.4 wc", scope=scopes.collab(wid)
    )
    before = {n["path"] async for n in c.records.scan(NODES, ()) if n["work_id"] == wid}
    assert {"/納品", "/納品/図面", archived["path"], shared["path"]} <= before

    done = await erase(c, scopes.archive(wid), "operator", "試験")

    assert done.records.get(NODES) == 2, done  # the file and the folder it left empty
    after = {n["path"] async for n in c.records.scan(NODES, ()) if n["work_id"] == wid}
    assert after == before - {archived["path"], "/納品/図面"}
    # the collaboration part is untouched and readable
    assert shared["path"] in after
    cas = ContentStore(c.records, c.blobs, c.clock)
    record = await cas.lookup(scopes.collab(wid), str(shared["sha256"]))
    assert record is not None
    assert b"".join([p async for p in cas.open(record)]) == b"%PDF-1.4 wc"
