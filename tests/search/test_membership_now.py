"""Issue 7 item 9: membership changes take effect in the search filter at once.

The file documents of a work carry the work's ``acl`` and are rebuilt by the
``index.work_files`` task after a membership change; this harness records jobs instead of
running them, which is exactly the window in which a removed member used to keep their hits.
The index query now takes membership from the record store, so the window is gone (both
ways: a new member finds the files before their documents are rebuilt too).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.search.test_search_api import ids, ingest, pdf, place, search, stored_work
from tests.works.harness import BUILDER, CLERK, CONTRACTOR, OPERATOR, Harness

pytestmark = pytest.mark.anyio
WORKS = "/api/v1/works"


async def setup(h: Harness) -> dict[str, Any]:
    work = await h.create(CLERK, title="福山市道路改良工事")
    resp = await h.call(
        CLERK,
        "POST",
        f"{WORKS}/{work['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert resp.status_code == 201, resp.text
    # the file is placed and indexed as in production, its document with user:<builder> in
    # the acl (taken from the work record)
    current = await stored_work(h, work["id"])
    assert f"user:{BUILDER.user_id}" in current["acl"]
    plan = await place(h, current, "PLAN", "施工計画書.pdf", pdf("コンクリート打設"))
    await ingest(h)
    return {"work": current, "plan": plan, "all": {work["id"], plan["id"]}}


async def test_a_removed_member_loses_hits_at_once(h: Harness) -> None:
    w = await setup(h)
    assert ids(await search(h, BUILDER)) == w["all"]
    resp = await h.call(CLERK, "DELETE", f"{WORKS}/{w['work']['id']}/members/{BUILDER.user_id}")
    assert resp.status_code == 204
    # the file document still says user:<builder> (its re-index has not run) ...
    assert ("index.work_files", {"work_id": w["work"]["id"]}) in h.jobs  # type: ignore[attr-defined]
    # ... yet nothing is found: not the file, not by text, not in facets
    body = await search(h, BUILDER)
    assert ids(body) == set()
    assert body["total"] == 0
    assert ids(await search(h, BUILDER, q="コンクリート")) == set()
    listed = await h.call(BUILDER, "GET", WORKS, params={"q": "福山"})
    assert listed.json()["items"] == []
    assert ids(await search(h, CLERK)) == w["all"]
    assert ids(await search(h, OPERATOR)) == w["all"]


async def test_removing_the_contractor_organization_removes_its_members(h: Harness) -> None:
    w = await setup(h)
    work_id = w["work"]["id"]
    resp = await h.call(
        CLERK,
        "PATCH",
        f"{WORKS}/{work_id}",
        json={"version": w["work"]["version"], "contractor_org_ids": []},
    )
    assert resp.status_code == 200, resp.text
    assert f"user:{BUILDER.user_id}" not in resp.json().get("acl", [])
    assert ids(await search(h, BUILDER)) == set()
    # the membership itself is gone, audited with the reason
    assert await h.container.records.get("work_members", f"{work_id}:{BUILDER.user_id}") is None
    [removed] = await h.events("works.member_removed")
    assert removed["detail"] == {"reason": "contractor_removed"}
    assert CONTRACTOR in removed["org_ids"]
    # and the work is no longer readable
    assert (await h.call(BUILDER, "GET", f"{WORKS}/{work_id}")).status_code == 404


async def test_a_new_member_finds_files_before_their_reindex(h: Harness) -> None:
    work = await h.create(CLERK, title="尾道市橋梁補修工事")
    # acl without the builder
    plan = await place(h, await stored_work(h, work["id"]), "PLAN", "計画書.pdf", pdf("橋台"))
    await ingest(h)
    assert ids(await search(h, BUILDER)) == set()
    resp = await h.call(
        CLERK,
        "POST",
        f"{WORKS}/{work['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert resp.status_code == 201
    assert ids(await search(h, BUILDER)) == {work["id"], plan["id"]}
