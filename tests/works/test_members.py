"""Memberships: permissions, role rules, acl kept in step, audit events."""

from __future__ import annotations

from typing import Any

import pytest

from api.kit.ids import new_id
from tests.works.harness import (
    BUILDER,
    CLERK,
    MANAGER,
    NOBODY,
    OPERATOR,
    ORG_READER,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio
URL = "/api/v1/works"


def add_body(user: Any, role: str) -> dict[str, str]:
    return {"user_id": user.user_id, "role": role}


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (None, 401),
        (NOBODY, 404),
        (STRANGER, 404),
        (ORG_READER, 403),
        (MANAGER, 201),
        (CLERK, 201),
        (OPERATOR, 201),
    ],
)
async def test_add_permissions(h: Harness, subject: Any, status: int) -> None:
    work = await h.create()
    resp = await h.call(
        subject, "POST", f"{URL}/{work['id']}/members", json=add_body(NOBODY, "viewer")
    )
    assert resp.status_code == status, resp.text
    assert len(await h.events("works.member_added")) == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (NOBODY, 404), (STRANGER, 404), (ORG_READER, 200), (CLERK, 200)],
)
async def test_list_permissions(h: Harness, subject: Any, status: int) -> None:
    work = await h.create()
    resp = await h.call(subject, "GET", f"{URL}/{work['id']}/members")
    assert resp.status_code == status


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (STRANGER, 404), (ORG_READER, 403), (MANAGER, 200)],
)
async def test_change_and_remove_permissions(h: Harness, subject: Any, status: int) -> None:
    work = await h.create()
    url = f"{URL}/{work['id']}/members"
    assert (await h.call(CLERK, "POST", url, json=add_body(NOBODY, "viewer"))).status_code == 201
    change = await h.call(
        subject, "PATCH", f"{url}/{NOBODY.user_id}", json={"role": "inspector", "version": 1}
    )
    assert change.status_code == status, change.text
    remove = await h.call(subject, "DELETE", f"{url}/{NOBODY.user_id}")
    assert remove.status_code == (204 if status == 200 else status)


async def test_member_lifecycle_and_audit(h: Harness) -> None:
    work = await h.create()
    url = f"{URL}/{work['id']}/members"
    added = await h.call(CLERK, "POST", url, json=add_body(NOBODY, "viewer"))
    assert added.status_code == 201
    assert added.json()["org_id"] == NOBODY.org_id
    # membership makes the work readable; its version moved (acl is on the record)
    got = await h.call(NOBODY, "GET", f"{URL}/{work['id']}")
    assert got.status_code == 200
    assert got.json()["version"] == 2
    dup = await h.call(CLERK, "POST", url, json=add_body(NOBODY, "viewer"))
    assert dup.status_code == 409
    stale = await h.call(
        CLERK, "PATCH", f"{url}/{NOBODY.user_id}", json={"role": "inspector", "version": 9}
    )
    assert stale.status_code == 409
    changed = await h.call(
        CLERK, "PATCH", f"{url}/{NOBODY.user_id}", json={"role": "inspector", "version": 1}
    )
    assert changed.status_code == 200
    assert changed.json()["role"] == "inspector"
    assert (await h.call(CLERK, "DELETE", f"{url}/{NOBODY.user_id}")).status_code == 204
    assert (await h.call(CLERK, "DELETE", f"{url}/{NOBODY.user_id}")).status_code == 404
    assert (await h.call(NOBODY, "GET", f"{URL}/{work['id']}")).status_code == 404
    # the creator's own membership is part of works.created
    assert len(await h.events("works.member_added")) == 1
    assert len(await h.events("works.member_role_changed")) == 1
    assert len(await h.events("works.member_removed")) == 1


@pytest.mark.parametrize(
    ("user", "role", "status"),
    [
        (BUILDER, "supervisor", 400),  # supervisors are orderer staff
        (BUILDER, "inspector", 400),
        (NOBODY, "contractor_member", 400),  # not from a contractor of the work
        (BUILDER, "contractor_member", 201),
        (STRANGER, "viewer", 201),
    ],
)
async def test_role_rules(h: Harness, user: Any, role: str, status: int) -> None:
    work = await h.create()
    resp = await h.call(CLERK, "POST", f"{URL}/{work['id']}/members", json=add_body(user, role))
    assert resp.status_code == status, resp.text


async def test_bad_member_payloads(h: Harness) -> None:
    work = await h.create()
    url = f"{URL}/{work['id']}/members"
    unknown = await h.call(CLERK, "POST", url, json={"user_id": new_id(), "role": "viewer"})
    assert unknown.status_code == 400
    bad_role = await h.call(CLERK, "POST", url, json={"user_id": NOBODY.user_id, "role": "boss"})
    assert bad_role.status_code == 422
    bad_id = await h.call(CLERK, "POST", url, json={"user_id": "a b", "role": "viewer"})
    assert bad_id.status_code == 422
    missing = await h.call(
        CLERK, "PATCH", f"{url}/{new_id()}", json={"role": "viewer", "version": 1}
    )
    assert missing.status_code == 404


async def test_a_contractor_membership_counts_only_while_its_org_is_a_contractor(
    h: Harness,
) -> None:
    """Issue 7 item 9 (defence in depth): a contractor member's role holds only while their
    organization is among the work's contractors, even if a stale membership remains."""
    from api.works.models import member_id

    work = await h.create(CLERK, contractor_org_ids=[])
    await h.container.records.insert(
        "work_members",
        {
            "id": member_id(work["id"], BUILDER.user_id),
            "work_id": work["id"],
            "user_id": BUILDER.user_id,
            "role": "contractor_member",
            "org_id": BUILDER.org_id,
            "added_by": "test",
            "added_at": work["created_at"],
        },
    )
    assert (await h.call(BUILDER, "GET", f"{URL}/{work['id']}")).status_code == 404
    listed = await h.call(BUILDER, "GET", URL, params={"q": "福山"})
    assert listed.json()["items"] == []
