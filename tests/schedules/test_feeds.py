"""iCalendar export as subscribable feeds (issue 9 §3: "a feed URL with its own revocable
token, so groupware can subscribe"): the token is the key (no session), revoking ends it,
the rule is exported as a rule, busy-only entries carry no title. The exported text is read
back with recurring-ical-events (the outside oracle) to check the occurrences."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.schedules.oracle import occurrences
from tests.support.perms import World

pytestmark = pytest.mark.anyio
API = "/api/v1/schedules"
TOKYO = ZoneInfo("Asia/Tokyo")


async def test_personal_feed_exports_rules_and_is_revocable(world: World) -> None:
    client = world.client("supervisor")
    r = await client.post(
        f"{API}/entries",
        json={
            "title": "定例",
            "start": "2026-06-01T09:00",
            "end": "2026-06-01T10:00",
            "rrule": "FREQ=WEEKLY;COUNT=4",
            "location": "会議室",
        },
    )
    entry = r.json()
    r = await client.put(
        f"{API}/entries/{entry['id']}/occurrences/20260608T090000",
        json={"version": entry["version"], "start": "2026-06-09T15:00"},
    )
    entry = r.json()
    await client.delete(
        f"{API}/entries/{entry['id']}/occurrences/20260615T090000",
        params={"version": entry["version"]},
    )
    r = await client.post(f"{API}/feeds", json={"scope": "user", "name": "Outlook"})
    assert r.status_code == 201, r.text
    feed = r.json()
    path = feed["url"].split("http://kura.test", 1)[1]
    got = await world.anonymous.get(path)  # no session: the token is the key
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/calendar")
    text = got.text
    assert "RRULE:FREQ=WEEKLY;COUNT=4" in text
    assert "RECURRENCE-ID" in text
    assert "BEGIN:VTIMEZONE" in text
    assert "TZID:Asia/Tokyo" in text
    seen = occurrences(text, datetime(2026, 6, 1, tzinfo=TOKYO), datetime(2026, 7, 1, tzinfo=TOKYO))
    assert sorted(s for s, _ in seen) == [
        "2026-06-01T09:00:00",
        "2026-06-09T15:00:00",
        "2026-06-22T09:00:00",
    ]
    assert "url" in feed
    assert all(f.get("url") is None for f in (await client.get(f"{API}/feeds")).json())
    r = await client.delete(f"{API}/feeds/{feed['id']}")
    assert r.status_code == 200
    assert r.json()["revoked_at"]
    assert (await world.anonymous.get(path)).status_code == 404
    wrong = path[:-8] + "AAAA.ics"
    assert (await world.anonymous.get(wrong)).status_code == 404


async def test_work_feed_shows_busy_only_entries_without_titles(world: World) -> None:
    """A contractor's feed of the work: the supervisor's private entry about the work shows as
    予定あり with CLASS:PRIVATE (seed 001 別表1-1 7(4)(5))."""
    work = await world.work()
    sup = world.client("supervisor")
    await sup.post(
        f"{API}/entries",
        json={
            "title": "段階確認",
            "start": "2026-06-02T10:00",
            "end": "2026-06-02T11:00",
            "work_ids": [work["id"]],
        },
    )
    await sup.post(
        f"{API}/entries",
        json={
            "title": "人事の件",
            "start": "2026-06-03T10:00",
            "end": "2026-06-03T11:00",
            "work_ids": [work["id"]],
            "visibility": "private",
        },
    )
    r = await world.client("builder").post(
        f"{API}/feeds", json={"scope": "work", "work_id": work["id"]}
    )
    assert r.status_code == 201, r.text
    text = (await world.anonymous.get(r.json()["url"].split("http://kura.test", 1)[1])).text
    assert "SUMMARY:段階確認" in text
    assert "人事の件" not in text
    assert "SUMMARY:予定あり" in text
    assert "CLASS:PRIVATE" in text
    # Another orderer's user cannot make a feed of the work; a plain colleague neither.
    r = await world.client("outsider").post(
        f"{API}/feeds", json={"scope": "work", "work_id": work["id"]}
    )
    assert r.status_code == 404
    r = await world.client("reader").post(
        f"{API}/feeds", json={"scope": "work", "work_id": work["id"]}
    )
    assert r.status_code == 403
