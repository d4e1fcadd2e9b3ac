"""Organizations and offices over HTTP: permissions, validation, concurrency, audit.

Rules: issue 2 items 5-6; seed 001 別表1-1 8(4) (発注機関の名称, 組織名 as master data).
"""

from __future__ import annotations

from typing import Any

import pytest

from api.organizations.service import corporate_number_valid
from tests.organizations.harness import Harness, member, operator

pytestmark = pytest.mark.anyio

ORGS = "/api/v1/organizations"


async def make_org(h: Harness, **fields: Any) -> dict[str, Any]:
    body = {"kind": "orderer", "name": "広島県", "code": "34000001", **fields}
    r = await h.as_(operator()).client.post(ORGS, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def test_corporate_number_check_digit() -> None:
    """法人番号の指定等に関する省令 第2条: 9 - (Σ Pn×Qn mod 9)."""
    assert corporate_number_valid("7123456789012")  # the worked example of the rule
    assert corporate_number_valid("4011001098993")
    assert corporate_number_valid("2120901007402")
    assert not corporate_number_valid("1123456789012")
    assert not corporate_number_valid("712345678901")
    assert not corporate_number_valid("７123456789012")


async def test_anonymous_gets_401_everywhere(h: Harness) -> None:
    org = await make_org(h)
    h.as_(None)
    oid = org["id"]
    for method, url, body in (
        ("GET", ORGS, None),
        ("POST", ORGS, {"kind": "issuer", "name": "x"}),
        ("GET", f"{ORGS}/{oid}", None),
        ("PATCH", f"{ORGS}/{oid}", {"version": 1, "name": "y"}),
        ("DELETE", f"{ORGS}/{oid}", None),
        ("GET", f"{ORGS}/{oid}/offices", None),
        ("POST", f"{ORGS}/{oid}/offices", {"name": "本庁"}),
    ):
        r = await h.client.request(method, url, json=body)
        assert r.status_code == 401, (method, url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_operator_creates_and_event_is_audited(h: Harness) -> None:
    org = await make_org(h, name_kana="ヒロシマケン", address="広島市中区", phone="082-228-2111")
    assert org["version"] == 1
    assert org["kind"] == "orderer"
    assert org["code"] == "34000001"
    assert org["created_at"].endswith("Z")
    assert len(org["created_at"]) == 27
    assert await h.actions() == ["organizations.created"]


async def test_non_operator_may_not_create_update_or_delete(h: Harness) -> None:
    org = await make_org(h)
    h.as_(member(org["id"], "works.create", "master.manage", "grants.manage"))
    r = await h.client.post(ORGS, json={"kind": "issuer", "name": "保証会社"})
    assert r.status_code == 403
    assert r.json()["title"] == "この操作を行う権限がありません。"
    r = await h.client.patch(f"{ORGS}/{org['id']}", json={"version": 1, "name": "x"})
    assert r.status_code == 403
    r = await h.client.delete(f"{ORGS}/{org['id']}")
    assert r.status_code == 403
    assert await h.actions() == ["organizations.created"]


async def test_read_own_org_only(h: Harness) -> None:
    mine = await make_org(h)
    other = await make_org(h, name="呉市", code="34202001")
    h.as_(member(mine["id"]))
    assert (await h.client.get(f"{ORGS}/{mine['id']}")).status_code == 200
    assert (await h.client.get(f"{ORGS}/{other['id']}")).status_code == 403
    # an unknown id answers the same as another org's: nothing is revealed
    assert (await h.client.get(f"{ORGS}/01ARZ3NDEKTSV4RRFFQ69G5FAV")).status_code == 403
    listed = (await h.client.get(ORGS)).json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    h.as_(operator())
    assert (await h.client.get(f"{ORGS}/01ARZ3NDEKTSV4RRFFQ69G5FAV")).status_code == 404


async def test_list_filters_by_kind_and_pages_by_cursor(h: Harness) -> None:
    await make_org(h)
    for i in range(3):
        r = await h.client.post(ORGS, json={"kind": "contractor", "name": f"建設{i}"})
        assert r.status_code == 201
    r = await h.client.get(ORGS, params={"kind": "contractor", "limit": 2})
    page = r.json()
    assert [o["name"] for o in page["items"]] == ["建設0", "建設1"]
    assert page["next_cursor"]
    r = await h.client.get(
        ORGS, params={"kind": "contractor", "limit": 2, "cursor": page["next_cursor"]}
    )
    assert [o["name"] for o in r.json()["items"]] == ["建設2"]
    assert r.json()["next_cursor"] is None
    assert (await h.client.get(ORGS, params={"kind": "bogus"})).status_code == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"kind": "orderer", "name": "広島県"}, 400),  # 発注者コード required
        ({"kind": "orderer", "name": "広島県", "code": "3400000"}, 422),  # 7 digits
        ({"kind": "orderer", "name": "広島県", "code": "3400000a"}, 422),
        ({"kind": "contractor", "name": "A建設", "code": "34000001"}, 400),  # orderers only
        ({"kind": "contractor", "name": "A建設", "corporate_number": "1123456789012"}, 400),
        ({"kind": "contractor", "name": "A建設", "corporate_number": "712345678901"}, 422),
        ({"kind": "contractor", "name": "A建設\u0007"}, 422),  # control character
        ({"kind": "contractor", "name": "A建設\n株式会社"}, 422),
        ({"kind": "contractor", "name": "A建設\u202e社会式株"}, 422),  # bidi override
        ({"kind": "contractor", "name": "あ" * 201}, 422),  # over-long
        ({"kind": "contractor", "name": "   "}, 422),  # blank
        ({"kind": "contractor", "name": "A建設", "extra": 1}, 422),
        ({"kind": "guild", "name": "A建設"}, 422),
    ],
)
async def test_validation(h: Harness, body: dict[str, Any], status: int) -> None:
    r = await h.as_(operator()).client.post(ORGS, json=body)
    assert r.status_code == status, r.text
    assert await h.actions() == []


async def test_valid_corporate_number_is_accepted(h: Harness) -> None:
    r = await h.as_(operator()).client.post(
        ORGS, json={"kind": "contractor", "name": "A建設", "corporate_number": "7123456789012"}
    )
    assert r.status_code == 201
    assert r.json()["corporate_number"] == "7123456789012"


async def test_duplicates_are_409_and_change_nothing(h: Harness) -> None:
    await make_org(h)
    r = await h.client.post(ORGS, json={"kind": "orderer", "name": "別", "code": "34000001"})
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate"
    body = {"kind": "contractor", "name": "A", "corporate_number": "7123456789012"}
    assert (await h.client.post(ORGS, json=body)).status_code == 201
    assert (await h.client.post(ORGS, json={**body, "name": "B"})).status_code == 409
    listed = (await h.client.get(ORGS)).json()["items"]
    assert len(listed) == 2
    assert await h.actions() == ["organizations.created"] * 2


async def test_update_with_version_and_stale_409(h: Harness) -> None:
    org = await make_org(h)
    url = f"{ORGS}/{org['id']}"
    r = await h.client.patch(url, json={"version": 1, "name": "広島県庁", "code": "34000002"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["code"] == "34000002"
    r = await h.client.patch(url, json={"version": 1, "name": "古い"})
    assert r.status_code == 409
    assert r.json()["code"] == "stale_version"
    assert (await h.client.get(url)).json()["name"] == "広島県庁"
    # the old code is free again, the new one is taken
    await make_org(h, name="他", code="34000001")
    r = await h.client.post(ORGS, json={"kind": "orderer", "name": "他2", "code": "34000002"})
    assert r.status_code == 409
    r = await h.client.patch(url, json={"version": 2, "code": None})
    assert r.status_code == 400  # an orderer keeps its code
    assert await h.actions() == [
        "organizations.created",
        "organizations.updated",
        "organizations.created",
    ]


async def test_delete_only_when_unused(h: Harness) -> None:
    org = await make_org(h)
    url = f"{ORGS}/{org['id']}"
    await h.add_user("U1", org["id"])
    r = await h.client.delete(url)
    assert r.status_code == 409
    assert r.json()["references"] == {"users": 1}
    await h.container.records.delete("users", "U1", None)
    await h.container.records.insert("works", {"id": "W1", "orderer_org_id": org["id"]})
    assert (await h.client.delete(url)).status_code == 409
    await h.container.records.delete("works", "W1", None)
    assert (await h.client.delete(url, params={"version": 7})).status_code == 409
    assert (await h.client.delete(url, params={"version": 1})).status_code == 204
    assert (await h.client.get(url)).status_code == 404
    assert (await h.client.delete(url)).status_code == 404
    assert await h.actions() == ["organizations.created", "organizations.deleted"]
    await make_org(h)  # its code is free again


async def test_contractor_referenced_by_a_work_is_not_deleted(h: Harness) -> None:
    r = await h.as_(operator()).client.post(ORGS, json={"kind": "contractor", "name": "A建設"})
    cid = r.json()["id"]
    await h.container.records.insert("works", {"id": "W1", "contractor_org_ids": [cid]})
    r = await h.client.delete(f"{ORGS}/{cid}")
    assert r.status_code == 409
    assert r.json()["references"] == {"works_as_contractor": 1}


@pytest.mark.parametrize("field", ["name", "name_kana", "address", "phone"])
async def test_null_never_empties_a_field_the_record_needs(h: Harness, field: str) -> None:
    """Issue 7 item 8: ``"name": null`` was stored, and every organization list answered
    500 from then on. Now it is a 422 naming the field, and nothing changes."""
    org = await make_org(h)
    url = f"{ORGS}/{org['id']}"
    r = await h.client.patch(url, json={"version": 1, field: None})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", field]
    assert (await h.client.get(url)).json() == org
    listed = await h.client.get(ORGS)
    assert listed.status_code == 200
    assert await h.actions() == ["organizations.created"]


async def test_null_clears_the_optional_identifiers(h: Harness) -> None:
    org = await make_org(h, kind="contractor", code=None, corporate_number="7000012050002")
    r = await h.client.patch(f"{ORGS}/{org['id']}", json={"version": 1, "corporate_number": None})
    assert r.status_code == 200, r.text
    assert r.json()["corporate_number"] is None


async def test_a_stored_unrenderable_record_is_refused_not_stored(h: Harness) -> None:
    """Whatever slips past the payload rules: a change whose result the API cannot show is
    refused (400) before it is stored."""
    org = await make_org(h)
    await h.container.records.update("organizations", org["id"], {"created_at": "gestern"}, 1)
    r = await h.client.patch(f"{ORGS}/{org['id']}", json={"version": 2, "name": "新しい名前"})
    assert r.status_code == 400
    stored = await h.container.records.get("organizations", org["id"])
    assert stored is not None
    assert stored["name"] == org["name"]


def test_the_schema_shows_which_fields_take_null() -> None:
    from api.organizations.schemas import OfficeUpdate, OrganizationUpdate

    props = OrganizationUpdate.model_json_schema()["properties"]
    assert props["name"]["type"] == "string"
    assert "anyOf" not in props["name"]
    assert {"type": "null"} in props["code"]["anyOf"]
    office = OfficeUpdate.model_json_schema()["properties"]
    assert "anyOf" not in office["address"]
    assert {"type": "null"} in office["code"]["anyOf"]
