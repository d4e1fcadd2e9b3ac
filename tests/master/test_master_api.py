"""Master data over HTTP (seed 001 別表1-1 8(4)): read by anyone signed in; positions and
business types edited by operators only, calendar days and mail templates by operators
(global) and ``master.manage`` holders (their organization's layer); every change audited.
The scopes themselves: ``test_master_scopes.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.organizations.harness import Harness, member, operator

pytestmark = pytest.mark.anyio

M = "/api/v1/master"
MANAGER = member("ORG-A", "master.manage")
PLAIN = member("ORG-A")


async def test_anonymous_401(h: Harness) -> None:
    for method, path, body in (
        ("GET", "/positions", None),
        ("POST", "/positions", {"name": "課長"}),
        ("PATCH", "/positions/X", {"version": 1}),
        ("DELETE", "/positions/X", None),
        ("GET", "/business-types", None),
        ("PATCH", "/business-types/01", {"version": 1}),
        ("GET", "/mail-templates", None),
        ("GET", "/mail-templates/account.created", None),
        ("PUT", "/mail-templates/account.created", {"subject": "s", "body": "b"}),
        ("DELETE", "/mail-templates/account.created", None),
        ("POST", "/mail-templates/account.created/preview", {}),
        ("GET", "/calendar?year=2026", None),
        ("GET", "/calendar/business-days?from=2026-01-09&add=1", None),
        ("GET", "/calendar/days", None),
        ("PUT", "/calendar/days/2026-06-01", {"kind": "closed"}),
        ("DELETE", "/calendar/days/2026-06-01", None),
    ):
        r = await h.client.request(method, M + path, json=body)
        assert r.status_code == 401, (method, path, r.text)


async def test_positions(h: Harness) -> None:
    for who in (PLAIN, MANAGER):  # global master data: operators only (issue 7 item 5)
        h.as_(who)
        r = await h.client.post(f"{M}/positions", json={"name": "課長", "rank": 3})
        assert r.status_code == 403
    h.as_(operator())
    r = await h.client.post(f"{M}/positions", json={"name": "課長", "rank": 3})
    assert r.status_code == 201
    pid = r.json()["id"]
    await h.client.post(f"{M}/positions", json={"name": "係長", "rank": 5})
    assert (await h.client.post(f"{M}/positions", json={"name": "課長"})).status_code == 409
    assert (await h.client.post(f"{M}/positions", json={"name": "課\x00長"})).status_code == 422
    r = await h.client.patch(f"{M}/positions/{pid}", json={"version": 1, "name": "部長", "rank": 1})
    assert r.status_code == 200
    assert (await h.client.patch(f"{M}/positions/{pid}", json={"version": 1})).status_code == 409
    h.as_(PLAIN)
    names = [p["name"] for p in (await h.client.get(f"{M}/positions")).json()]
    assert names == ["部長", "係長"]
    assert (await h.client.delete(f"{M}/positions/{pid}")).status_code == 403
    h.as_(operator())
    assert (await h.client.delete(f"{M}/positions/{pid}")).status_code == 204
    assert await h.actions() == [
        "positions.created",
        "positions.created",
        "positions.updated",
        "positions.deleted",
    ]


async def test_business_types_seeded_once(h: Harness) -> None:
    h.as_(PLAIN)
    items = (await h.client.get(f"{M}/business-types")).json()
    assert len(items) == 29
    assert items[0] == {
        "id": "01",
        "code": "01",
        "name": "土木一式工事",
        "abbreviation": None,
        "active": True,
        "version": 1,
    }
    assert items[28]["name"] == "解体工事"
    assert len((await h.client.get(f"{M}/business-types")).json()) == 29
    for who in (PLAIN, MANAGER):  # statutory, global: operators only (issue 7 item 5)
        h.as_(who)
        r = await h.client.patch(
            f"{M}/business-types/01", json={"version": 1, "abbreviation": "土"}
        )
        assert r.status_code == 403
    h.as_(operator())
    r = await h.client.patch(f"{M}/business-types/01", json={"version": 1, "abbreviation": "土"})
    assert r.status_code == 200
    assert r.json()["abbreviation"] == "土"
    r = await h.client.patch(f"{M}/business-types/01", json={"version": 1, "active": False})
    assert r.status_code == 409
    assert (await h.client.patch(f"{M}/business-types/99", json={"version": 1})).status_code == 404
    assert await h.actions() == ["business_types.seeded", "business_types.updated"]


async def test_mail_templates(h: Harness) -> None:
    key = f"{M}/mail-templates/account.created"
    h.as_(PLAIN)
    default = (await h.client.get(key)).json()
    assert default["customized"] is False
    assert "login_id" in default["placeholders"]
    body = {"subject": "ID発行: {login_id}", "body": "{user_name} 様\n{url}\n"}
    assert (await h.client.put(key, json=body)).status_code == 403
    h.as_(MANAGER)
    r = await h.client.put(key, json={**body, "body": "{password} を送ります"})
    assert r.status_code == 400
    assert "{password}" in r.json()["detail"]
    r = await h.client.put(key, json={**body, "body": "{user.__class__}"})
    assert r.status_code == 400
    r = await h.client.put(key, json={**body, "subject": "件名\n改行"})
    assert r.status_code == 422
    r = await h.client.put(key, json=body)
    assert r.status_code == 200
    assert r.json()["customized"]
    assert (r.json()["source"], r.json()["org_id"]) == ("organization", "ORG-A")
    assert r.json()["version"] == 1
    assert (await h.client.put(key, json=body)).status_code == 409  # version needed now
    assert (await h.client.put(key, json={**body, "version": 1})).status_code == 200
    h.as_(PLAIN)
    r = await h.client.post(f"{key}/preview", json={"values": {"login_id": "k001", "url": "U"}})
    assert r.json() == {"subject": "ID発行: k001", "body": " 様\nU\n"}
    assert (await h.client.get(f"{M}/mail-templates/nope")).status_code == 404
    assert (await h.client.get(key)).json()["source"] == "organization"
    h.as_(MANAGER)
    assert (await h.client.delete(key, params={"version": 2})).status_code == 204
    assert (await h.client.get(key)).json()["customized"] is False
    assert (await h.client.get(key)).json()["source"] == "builtin"
    assert await h.actions() == [
        "mail_templates.created",
        "mail_templates.updated",
        "mail_templates.reset",
    ]


async def test_calendar_endpoints_and_custom_days(h: Harness) -> None:
    h.as_(PLAIN)
    days = (await h.client.get(f"{M}/calendar", params={"year": 2026})).json()["days"]
    by_date = {d["date"]: d for d in days}
    assert by_date["2026-01-12"] == {"date": "2026-01-12", "kind": "holiday", "name": "成人の日"}
    assert by_date["2026-12-30"]["kind"] == "closure"
    assert by_date["2026-02-07"]["kind"] == "weekend"
    r = await h.client.get(f"{M}/calendar/business-days", params={"from": "2026-01-09", "add": 1})
    assert r.json() == {
        "from": "2026-01-09",
        "add": 1,
        "date": "2026-01-13",
        "to": None,
        "business_days": None,
        "is_business_day": True,
    }
    r = await h.client.get(
        f"{M}/calendar/business-days", params={"from": "2025-12-26", "to": "2026-01-13"}
    )
    assert r.json()["business_days"] == 6
    bad = await h.client.get(f"{M}/calendar/business-days", params={"from": "2026-13-01", "add": 1})
    assert bad.status_code == 400
    day = f"{M}/calendar/days/2026-01-12"
    assert (await h.client.put(day, json={"kind": "open", "name": "臨時"})).status_code == 403
    h.as_(MANAGER)
    r = await h.client.put(day, json={"kind": "open", "name": "臨時開庁"})
    assert r.status_code == 200
    assert r.json()["version"] == 1
    assert (await h.client.put(day, json={"kind": "closed"})).status_code == 409
    assert (await h.client.put(day, json={"kind": "shut", "version": 1})).status_code == 422
    assert (
        await h.client.put(f"{M}/calendar/days/2026-1-2", json={"kind": "open"})
    ).status_code == 400
    r = await h.client.get(f"{M}/calendar/business-days", params={"from": "2026-01-09", "add": 1})
    assert r.json()["date"] == "2026-01-12"
    listed = (await h.client.get(f"{M}/calendar/days", params={"year": 2026})).json()
    assert [(d["id"], d["org_id"]) for d in listed] == [("ORG-A:2026-01-12", "ORG-A")]
    assert (await h.client.delete(day, params={"version": 1})).status_code == 204
    assert (await h.client.delete(day)).status_code == 404
    assert await h.actions() == ["calendar_days.created", "calendar_days.deleted"]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "1955-01-01", "to": "9999-12-30"},
        {"from": "2026-01-01", "to": "9999-12-31"},
        {"from": "9999-12-30", "add": 10},
        {"from": "0001-01-01", "add": -1},
        {"from": "1954-12-31", "to": "2026-01-01"},
    ],
)
async def test_business_days_outside_the_supported_years_are_400(
    h: Harness, params: dict[str, Any]
) -> None:
    """Issue 7 item 3: ``to=9999-12-30`` kept the event loop busy for 18 s and
    ``to=9999-12-31`` overflowed into a 500. Dates are bounded to 1955-2100."""
    h.as_(MANAGER)
    r = await h.client.get(f"{M}/calendar/business-days", params=params)
    assert r.status_code == 400, r.text
    assert "1955-01-01" in r.json()["detail"]


async def test_the_widest_supported_range_is_answered(h: Harness) -> None:
    h.as_(MANAGER)
    r = await h.client.get(
        f"{M}/calendar/business-days", params={"from": "1955-01-01", "to": "2100-12-31"}
    )
    assert r.status_code == 200, r.text
    assert 35_000 < r.json()["business_days"] < 36_500
    day = await h.client.put(f"{M}/calendar/days/9999-12-31", json={"kind": "closed"})
    assert day.status_code == 400


async def test_business_days_are_counted_off_the_event_loop(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 7 item 3: the count ran on the event loop while /healthz waited behind it."""
    import threading

    from api.master.calendar import BusinessCalendar

    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = BusinessCalendar.business_days_between

    def spy(self: BusinessCalendar, a: Any, b: Any) -> int:
        seen.append(threading.get_ident())
        return original(self, a, b)

    monkeypatch.setattr(BusinessCalendar, "business_days_between", spy)
    h.as_(MANAGER)
    r = await h.client.get(
        f"{M}/calendar/business-days", params={"from": "2026-01-01", "to": "2027-01-01"}
    )
    assert r.status_code == 200
    assert seen
    assert loop_thread not in seen
