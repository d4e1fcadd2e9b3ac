"""Offices (事務所) of an organization: sub-resources, operator-edited, readable by members."""

from __future__ import annotations

from typing import Any

import pytest

from tests.organizations.harness import Harness, member, operator

pytestmark = pytest.mark.anyio

ORGS = "/api/v1/organizations"


async def setup(h: Harness) -> tuple[str, str]:
    h.as_(operator())
    r = await h.client.post(ORGS, json={"kind": "orderer", "name": "広島県", "code": "34000001"})
    org_id = r.json()["id"]
    r = await h.client.post(ORGS, json={"kind": "orderer", "name": "呉市", "code": "34202001"})
    return org_id, r.json()["id"]


async def add_office(h: Harness, org_id: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "西部建設事務所", "code": "W01", "address": "広島市", **fields}
    r = await h.as_(operator()).client.post(f"{ORGS}/{org_id}/offices", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_permission_matrix(h: Harness) -> None:
    org_id, other_id = await setup(h)
    office = await add_office(h, org_id)
    url = f"{ORGS}/{org_id}/offices"
    one = f"{url}/{office['id']}"
    h.as_(None)
    assert (await h.client.get(url)).status_code == 401
    assert (await h.client.get(one)).status_code == 401
    assert (await h.client.patch(one, json={"version": 1})).status_code == 401
    assert (await h.client.delete(one)).status_code == 401
    h.as_(member(other_id, "master.manage"))
    assert (await h.client.get(url)).status_code == 403
    assert (await h.client.get(one)).status_code == 403
    h.as_(member(org_id))
    listed = (await h.client.get(url)).json()
    assert [o["id"] for o in listed["items"]] == [office["id"]]
    assert (await h.client.get(one)).json()["name"] == "西部建設事務所"
    assert (await h.client.post(url, json={"name": "東部"})).status_code == 403
    assert (await h.client.patch(one, json={"version": 1, "name": "x"})).status_code == 403
    assert (await h.client.delete(one)).status_code == 403
    # an office looked up under the wrong organization does not exist
    h.as_(operator())
    assert (await h.client.get(f"{ORGS}/{other_id}/offices/{office['id']}")).status_code == 404


async def test_office_lifecycle_and_audit(h: Harness) -> None:
    org_id, other_id = await setup(h)
    office = await add_office(h, org_id)
    one = f"{ORGS}/{org_id}/offices/{office['id']}"
    r = await h.client.post(f"{ORGS}/{org_id}/offices", json={"name": "重複", "code": "W01"})
    assert r.status_code == 409
    await add_office(h, other_id)  # codes are unique per organization only
    r = await h.client.patch(
        one, json={"version": 1, "name": "西部建設事務所（改）", "code": "W02"}
    )
    assert r.status_code == 200
    assert r.json()["version"] == 2
    assert (await h.client.patch(one, json={"version": 1, "name": "x"})).status_code == 409
    await add_office(h, org_id, name="新", code="W01")  # the old code was released
    r = await h.client.patch(one, json={"version": 2, "name": "西部\t"})
    assert r.status_code == 422
    await h.container.records.insert("works", {"id": "W1", "office_id": office["id"]})
    assert (await h.client.delete(one)).status_code == 409
    await h.container.records.delete("works", "W1", None)
    assert (await h.client.delete(one, params={"version": 2})).status_code == 204
    assert (await h.client.get(one)).status_code == 404
    assert (await h.client.post(f"{ORGS}/NOPE/offices", json={"name": "x"})).status_code == 404
    actions = await h.actions()
    assert actions.count("offices.created") == 3
    assert "offices.updated" in actions
    assert actions[-1] == "offices.deleted"


async def test_deleting_an_org_removes_its_offices(h: Harness) -> None:
    org_id, _ = await setup(h)
    office = await add_office(h, org_id)
    assert (await h.client.delete(f"{ORGS}/{org_id}")).status_code == 204
    assert await h.container.records.get("offices", office["id"]) is None


async def test_null_never_empties_an_office_field(h: Harness) -> None:
    """Issue 7 item 8 ("offices the same"): a null name was stored and the office list
    answered 500 from then on."""
    org_id, _ = await setup(h)
    office = await add_office(h, org_id)
    one = f"{ORGS}/{org_id}/offices/{office['id']}"
    for field in ("name", "address", "phone"):
        r = await h.client.patch(one, json={"version": 1, field: None})
        assert r.status_code == 422, r.text
    assert (await h.client.get(f"{ORGS}/{org_id}/offices")).status_code == 200
    r = await h.client.patch(one, json={"version": 1, "code": None})
    assert r.status_code == 200, r.text
    assert r.json()["code"] is None
