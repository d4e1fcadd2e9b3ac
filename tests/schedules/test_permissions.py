"""Permission matrix of the schedules routers on the app as ``create_app`` builds it, with
real sign-ins (``tests.support.perms``).

Entries are personal (seed 001 別表1-1 7(1)): anyone signed in keeps their own, so creating
and listing one's own answer every signed-in user (the lists are filtered: ``hidden``).
Another person's entry is 404 unless the reader may see it in full (7(2)(4)); seen but not
theirs, a change is 403. A work's schedules are for its members (another organization: 404;
a colleague outside the work: 404 as for the work itself). Imports and feeds are their
owner's. The feed URL itself (``/schedules/feed/{token}``) is public by design, the token
being the key: it is tested in ``test_feeds.py``, not here.
"""

from __future__ import annotations

import base64

import pytest

from api.schedules.router import router as entries_router
from api.schedules.router_feeds import router as feeds_router
from api.schedules.router_imports import router as imports_router
from tests.support.perms import Ids, Row, World, check_matrix, uncovered

pytestmark = pytest.mark.anyio
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:perm\r\nSUMMARY:x\r\n"
    b"DTSTART;VALUE=DATE:20260601\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
R = "from=2026-06-01&to=2026-07-01"
ENTRY = {"title": "権限確認", "start": "2026-06-01T09:00", "end": "2026-06-01T10:00"}

ROWS = [
    Row("GET", f"/schedules/entries?{R}", allowed="supervisor", denied="plain", refused=200,
        other_status=200, hidden="entry"),
    Row("GET", f"/schedules/entries?{R}&work_id={{work}}", allowed="builder", refused=404,
        hidden="entry"),
    Row("POST", "/schedules/entries", allowed="supervisor", ok=201, denied=None, other=None,
        json=ENTRY),
    Row("GET", "/schedules/entries/{entry}", allowed="builder", refused=404),
    Row("PATCH", "/schedules/entries/{entry}", allowed="supervisor", denied="builder", fresh=True,
        json=lambda ids: {"version": int(ids["version"]), "title": "変更"}),
    Row("DELETE", "/schedules/entries/{entry}?version={version}", allowed="supervisor",
        denied="builder", ok=204, fresh=True),
    Row("PUT", "/schedules/entries/{entry}/occurrences/{rid}", allowed="supervisor",
        denied="builder", fresh=True,
        json=lambda ids: {"version": int(ids["version"]), "title": "この回だけ"}),
    Row("DELETE", "/schedules/entries/{entry}/occurrences/{rid}?version={version}",
        allowed="supervisor", denied="builder", fresh=True),
    Row("GET", f"/schedules/holidays?{R}", allowed="builder", denied=None, other_status=200),
    Row("POST", "/schedules/imports?filename=a.ics", allowed="supervisor", ok=202, denied=None,
        other=None, content=ICS),
    Row("POST", "/schedules/imports/from-attachment", allowed="supervisor", ok=202,
        denied="builder", refused=404, fresh=True,
        json=lambda ids: {"attachment_id": ids["attachment"]}),
    Row("GET", "/schedules/imports", allowed="supervisor", denied="plain", refused=200,
        other_status=200, hidden="import"),
    Row("GET", "/schedules/imports/{import}", allowed="supervisor", refused=404),
    Row("POST", "/schedules/feeds", allowed="supervisor", ok=201, denied=None, other=None,
        json={"scope": "user"}),
    Row("POST", "/schedules/feeds", allowed="builder", ok=201, refused=404,
        json=lambda ids: {"scope": "work", "work_id": ids["work"]}),
    Row("GET", "/schedules/feeds", allowed="supervisor", denied="plain", refused=200,
        other_status=200, hidden="feed"),
    Row("DELETE", "/schedules/feeds/{feed}", allowed="supervisor", refused=404, fresh=True),
]  # fmt: skip


async def test_schedules_matrix(world: World) -> None:
    work = await world.work()
    sup = world.client("supervisor")

    async def entry() -> dict[str, str]:
        r = await sup.post(
            "/api/v1/schedules/entries",
            json={**ENTRY, "rrule": "FREQ=WEEKLY;COUNT=3", "work_ids": [work["id"]]},
        )
        assert r.status_code == 201, r.text
        return {"entry": r.json()["id"], "version": str(r.json()["version"])}

    async def attachment() -> str:
        r = await sup.post(
            "/api/v1/attachments/uploads",
            content=ICS,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(ICS)),
                "Upload-Metadata": "filename " + base64.b64encode(b"a.ics").decode(),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert r.status_code == 201, r.text
        return str(r.headers["kura-attachment-id"])

    async def feed() -> str:
        r = await sup.post("/api/v1/schedules/feeds", json={"scope": "user"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def fresh() -> Ids:
        return {
            **(await entry()),
            "attachment": await attachment(),
            "feed": await feed(),
            "rid": "20260608T090000",
        }

    r = await sup.post("/api/v1/schedules/imports", content=ICS)
    assert r.status_code == 202, r.text
    ids = {
        **world.base_ids(),
        "work": work["id"],
        **(await entry()),
        "import": r.json()["id"],
        "feed": await feed(),
        "attachment": await attachment(),
        "rid": "20260608T090000",
    }
    await check_matrix(world, ROWS, ids, fresh)


def test_every_schedules_endpoint_has_a_row() -> None:
    missing = uncovered([entries_router, imports_router, feeds_router], ROWS)
    assert missing == ["GET /schedules/feed/{token}"]  # public by design (test_feeds.py)
