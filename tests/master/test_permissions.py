"""Permission matrix of the master-data router on the app as ``create_app`` builds it, with
real sign-ins (``tests.support.perms``).

Positions and business types are global: everyone signed in reads them, operators alone change
them (a ``master.manage`` holder gets 403). Calendar days and mail templates have a global
layer and one per organization (issue 7 item 5): without ``org_id`` a ``master.manage`` holder
changes their own organization's layer, so another organization's holder acting on the same
path changes theirs, not ours: these rows have no other-organization column (reading or
changing another organization's layer by ``org_id`` is tested in test_master_scopes.py).
Anonymous gets 401, a user without the grant 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from api.master.router import router as master_router
from tests.support.perms import API, Ids, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio

TEMPLATE = "bulletin.posted"
FRESH_TEMPLATE = "account.created"
DAY = "2026-12-29"


def read(path: str) -> Row:
    return Row("GET", path, allowed="plain", denied=None, other=None)


def manage(method: str, path: str, ok: int = 200, **kw: Any) -> Row:
    return Row(method, path, allowed="keeper", other=None, ok=ok, **kw)


def global_only(method: str, path: str, ok: int = 200, **kw: Any) -> Row:
    return Row(method, path, allowed="operator", denied="keeper", other=None, ok=ok, **kw)


def version(ids: Ids, name: str) -> int:
    return int(ids[name])


ROWS = [
    read("/master/positions"),
    global_only("POST", "/master/positions", 201, json={"name": "主任監督員", "rank": 3}),
    global_only("PATCH", "/master/positions/{position}", fresh=True,
           json=lambda ids: {"version": version(ids, "position_version"), "rank": 5}),
    global_only("DELETE", "/master/positions/{position}?version={position_version}", 204,
           fresh=True),
    read("/master/business-types"),
    global_only("PATCH", "/master/business-types/{code}",
           json=lambda ids: {"version": version(ids, "type_version"), "abbreviation": "区画"}),
    read("/master/mail-templates"),
    read("/master/mail-templates/{template}"),
    manage("PUT", "/master/mail-templates/{template}",
           json={"subject": "[{system_name}] 掲示: {post_title}", "body": "{user_name} 様\n"}),
    manage("DELETE", "/master/mail-templates/{template}?version={template_version}", 204,
           fresh=True),
    Row("POST", "/master/mail-templates/{template}/preview", allowed="plain", denied=None,
        other=None, json={"values": {"user_name": "春日"}}),
    read("/master/calendar?year=2026"),
    read("/master/calendar/business-days?from=2026-12-28&add=3"),
    read("/master/calendar/days?year=2026"),
    manage("PUT", "/master/calendar/days/{day}", json={"kind": "closed", "name": "年末休暇"}),
    manage("DELETE", "/master/calendar/days/{day}?version={day_version}", 204, fresh=True),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_master_matrix(world: World) -> None:
    keeper = world.client("keeper")
    days = iter(f"2027-01-{d:02d}" for d in range(4, 31))

    async def fresh() -> Ids:
        position = await world.operator.post(
            f"{API}/master/positions", json={"name": f"係長{next(days)}"}
        )
        assert position.status_code == 201, position.text
        url = f"{API}/master/mail-templates/{FRESH_TEMPLATE}"
        current = (await keeper.get(url)).json().get("version")
        template = await keeper.put(
            url,
            json={
                "subject": "[{system_name}] 登録",
                "body": "{user_name} 様\n",
                "version": current,
            },
        )
        assert template.status_code == 200, template.text
        day = next(days)
        stored = await keeper.put(f"{API}/master/calendar/days/{day}", json={"kind": "closed"})
        assert stored.status_code == 200, stored.text
        return {
            "position": position.json()["id"],
            "position_version": str(position.json()["version"]),
            "template": FRESH_TEMPLATE,
            "template_version": str(template.json()["version"]),
            "day": day,
            "day_version": str(stored.json()["version"]),
        }

    types = await world.operator.get(f"{API}/master/business-types")
    [road_marking] = [t for t in types.json() if t["code"] == "17"]
    ids = {
        "code": "17",
        "type_version": str(road_marking["version"]),
        "template": TEMPLATE,
        "day": DAY,
    }
    await check_matrix(world, ROWS, ids, fresh)


def test_every_master_endpoint_has_a_row() -> None:
    assert uncovered([master_router], ROWS) == []
