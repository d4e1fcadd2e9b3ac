"""Schedule entries through the HTTP API with real sign-ins (``tests.support.perms`` world:
``supervisor`` registers works and supervises them, ``builder`` is a contractor member,
``viewer`` a viewer member, ``plain`` a colleague in no work, ``outsider`` another orderer).

Seed 001 別表1-1 7 (and 別表1-2 7, the same for services):
(1) 個人の予定を登録、修正、削除、参照できる。
(2) 工事監督員が、担当する複数又は全ての工事の利用者の予定を１画面に統合して参照できる。
(3) 工事監督員が、担当する複数の工事で予定を一括して登録、修正、削除できる。
(4) 受注者は、工事監督員の予定のうち、当該工事に関係する予定と当該工事以外の予定の有無を参照できる。
(5) 工事監督員が登録するスケジュールの予定は、公開を前提としているが選択によって非公開にできる。
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.perms import World

pytestmark = pytest.mark.anyio
API = "/api/v1/schedules"
JUNE = {"from": "2026-06-01", "to": "2026-07-01"}


async def create(world: World, who: str = "supervisor", **body: Any) -> dict[str, Any]:
    payload = {"title": "打合せ", "start": "2026-06-02T10:00", "end": "2026-06-02T11:00", **body}
    r = await world.client(who).post(f"{API}/entries", json=payload)
    assert r.status_code == 201, r.text
    entry: dict[str, Any] = r.json()
    return entry


async def view(world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    r = await world.client(who).get(f"{API}/entries", params={**JUNE, **params})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_own_entries_are_created_read_changed_and_deleted(world: World) -> None:
    """7(1): register, change, delete, look up one's own entries; all-day and timed; place."""
    timed = await create(world, title="現場立会", location="春日町2丁目", description="舗装前")
    allday = await create(world, title="休暇", start="2026-06-05", end="2026-06-06", all_day=True)
    rows = await view(world, "supervisor")
    assert [(o["title"], o["start"], o["end"], o["all_day"]) for o in rows] == [
        ("現場立会", "2026-06-02T10:00:00+09:00", "2026-06-02T11:00:00+09:00", False),
        ("休暇", "2026-06-05", "2026-06-06", True),
    ]
    assert rows[0]["location"] == "春日町2丁目"
    assert rows[0]["editable"] is True
    r = await world.client("supervisor").patch(
        f"{API}/entries/{timed['id']}",
        json={
            "version": timed["version"],
            "title": "現場立会（変更）",
            "start": "2026-06-03T13:00",
        },
    )
    assert r.status_code == 200, r.text
    assert (r.json()["start"], r.json()["end"]) == ("2026-06-03T13:00:00", "2026-06-03T14:00:00")
    stale = await world.client("supervisor").patch(
        f"{API}/entries/{timed['id']}", json={"version": timed["version"], "title": "古い版"}
    )
    assert stale.status_code == 409
    r = await world.client("supervisor").delete(
        f"{API}/entries/{allday['id']}", params={"version": allday["version"]}
    )
    assert r.status_code == 204
    assert [o["title"] for o in await view(world, "supervisor")] == ["現場立会（変更）"]
    actions = [e["action"] async for e in world.container.records.scan("audit_events")]
    assert actions.count("schedules.created") == 2
    assert "schedules.updated" in actions
    assert "schedules.deleted" in actions


async def test_offsets_are_converted_into_the_entry_zone(world: World) -> None:
    entry = await create(world, start="2026-06-02T01:00:00Z", end="2026-06-02T02:00:00Z")
    assert (entry["start"], entry["tz"]) == ("2026-06-02T10:00:00", "Asia/Tokyo")


async def test_a_weekly_rule_in_tokyo_stays_on_its_weekday(world: World) -> None:
    """Module-anchors §1 "RRULE wrong day across TZ": Monday 08:00 JST is Sunday in UTC; the
    rule is applied in the entry's zone, so every occurrence is a Monday in Tokyo."""
    await create(
        world,
        title="朝礼",
        start="2026-06-01T08:00",
        end="2026-06-01T08:30",
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )
    starts = [o["start"] for o in await view(world, "supervisor")]
    assert starts == [f"2026-06-{d:02d}T08:00:00+09:00" for d in (1, 8, 15, 22, 29)]


async def test_one_occurrence_or_the_whole_series_is_edited(world: World) -> None:
    """7(1), RFC 5545 RECURRENCE-ID: edit one occurrence; edit the series; cancel one."""
    entry = await create(
        world,
        title="定例",
        start="2026-06-01T09:00",
        end="2026-06-01T10:00",
        rrule="FREQ=WEEKLY;COUNT=4",
    )
    client = world.client("supervisor")
    r = await client.put(
        f"{API}/entries/{entry['id']}/occurrences/20260608T090000",
        json={"version": entry["version"], "start": "2026-06-09T14:00", "title": "定例（火曜）"},
    )
    assert r.status_code == 200, r.text
    entry = r.json()
    r = await client.delete(
        f"{API}/entries/{entry['id']}/occurrences/20260615T090000",
        params={"version": entry["version"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] is False
    entry = r.json()["entry"]
    assert [(o["title"], o["start"]) for o in await view(world, "supervisor")] == [
        ("定例", "2026-06-01T09:00:00+09:00"),
        ("定例（火曜）", "2026-06-09T14:00:00+09:00"),
        ("定例", "2026-06-22T09:00:00+09:00"),
    ]
    # The series moves one hour later: its exceptions stay on the same occurrences.
    r = await client.patch(
        f"{API}/entries/{entry['id']}",
        json={"version": entry["version"], "start": "2026-06-01T10:00", "title": "定例会議"},
    )
    assert r.status_code == 200, r.text
    assert [(o["title"], o["start"]) for o in await view(world, "supervisor")] == [
        ("定例会議", "2026-06-01T10:00:00+09:00"),
        ("定例（火曜）", "2026-06-09T14:00:00+09:00"),
        ("定例会議", "2026-06-22T10:00:00+09:00"),
    ]
    missing = await client.delete(
        f"{API}/entries/{entry['id']}/occurrences/20260616T100000",
        params={"version": r.json()["version"]},
    )
    assert missing.status_code == 404


async def test_cancelling_the_only_occurrence_in_tokyo_deletes_the_entry(world: World) -> None:
    """Module-anchors §1: "HTTP 500 when EXDATE removes the only instance with Asia/Tokyo"
    (Baikal#1053, nextcloud/calendar#2064). Here the entry goes and every view stays 200."""
    entry = await create(
        world,
        start="2026-06-03T09:00",
        end="2026-06-03T10:00",
        rrule="FREQ=DAILY;COUNT=1",
        tz="Asia/Tokyo",
    )
    r = await world.client("supervisor").delete(
        f"{API}/entries/{entry['id']}/occurrences/20260603T090000",
        params={"version": entry["version"]},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"deleted": True, "entry": None}
    assert await view(world, "supervisor") == []
    refused = await world.client("supervisor").post(
        f"{API}/entries",
        json={
            "title": "除外だけ",
            "start": "2026-06-03T09:00",
            "end": "2026-06-03T10:00",
            "rrule": "FREQ=DAILY;COUNT=1",
            "exdates": ["2026-06-03T09:00"],
        },
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == "exdates"


async def test_bad_rules_and_values_are_refused_clearly(world: World) -> None:
    client = world.client("supervisor")
    cases = [
        ({"rrule": "FREQ=MINUTELY"}, "rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=99999999"}, "rrule"),
        ({"rrule": "NOT A RULE"}, "rrule"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"start": "2026-06-02T12:00", "end": "2026-06-02T11:00"}, "end"),
        ({"start": "2026-13-45T10:00"}, "start"),
        ({"work_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]}, "work_ids"),
    ]
    for change, field in cases:
        body = {"title": "x", "start": "2026-06-02T10:00", "end": "2026-06-02T11:00", **change}
        r = await client.post(f"{API}/entries", json=body)
        assert r.status_code == 400, (change, r.text)
        assert r.json()["field"] == field, (change, r.json())
    assert await world.container.records.count("schedule_entries") == 0


async def test_contractor_sees_supervisor_entries_of_the_work_and_only_busy_for_others(
    world: World,
) -> None:
    """7(4): the contractor sees the supervisor's entries concerning their own work, and of
    the others only that the time is taken (予定あり) — never the title, place or works; 7(5):
    a private entry shows as busy even when it concerns the work. Enforced in the API."""
    work = await world.work()
    other = await world.work(title="別工事")  # builder is a member too; then removed below
    r = await world.client("supervisor").delete(
        f"/api/v1/works/{other['id']}/members/{world.user_id('builder')}"
    )
    assert r.status_code == 204, r.text
    await create(world, title="春日町 段階確認", work_ids=[work["id"]], location="現場")
    await create(
        world,
        title="議会答弁の準備",
        start="2026-06-04T09:00",
        end="2026-06-04T12:00",
        location="本庁舎",
    )
    await create(
        world,
        title="別工事の検査",
        start="2026-06-05T09:00",
        end="2026-06-05T10:00",
        work_ids=[other["id"]],
    )
    await create(
        world,
        title="人事面談（非公開）",
        start="2026-06-06T09:00",
        end="2026-06-06T10:00",
        work_ids=[work["id"]],
        visibility="private",
    )
    r = await world.client("builder").get(f"{API}/entries", params={**JUNE, "work_id": work["id"]})
    assert r.status_code == 200, r.text
    rows = r.json()
    shown = [(o["title"], o["start"], o["busy_only"]) for o in rows]
    assert shown == [
        ("春日町 段階確認", "2026-06-02T10:00:00+09:00", False),
        (None, "2026-06-04T09:00:00+09:00", True),
        (None, "2026-06-05T09:00:00+09:00", True),
        (None, "2026-06-06T09:00:00+09:00", True),
    ]
    for secret in ("議会答弁", "本庁舎", "別工事", "人事面談", other["id"]):
        assert secret not in r.text, secret
    busy = rows[1]
    assert busy["location"] is None
    assert busy["work_id"] is None
    assert busy["series_id"] is None
    assert busy["owner_name"] == "supervisor 太郎"
    # The busy entry cannot be read by id either.
    own = await view(world, "supervisor")
    hidden = next(o for o in own if o["title"] == "議会答弁の準備")
    assert (
        await world.client("builder").get(f"{API}/entries/{hidden['series_id']}")
    ).status_code == 404
    visible = next(o for o in own if o["title"] == "春日町 段階確認")
    assert (
        await world.client("builder").get(f"{API}/entries/{visible['series_id']}")
    ).status_code == 200
    # ... nor changed: 403 when seen, 404 when not.
    r = await world.client("builder").patch(
        f"{API}/entries/{visible['series_id']}", json={"version": 1, "title": "改ざん"}
    )
    assert r.status_code == 403
    r = await world.client("builder").patch(
        f"{API}/entries/{hidden['series_id']}", json={"version": 1, "title": "改ざん"}
    )
    assert r.status_code == 404


async def test_supervisor_sees_every_member_of_chosen_or_all_works_on_one_screen(
    world: World,
) -> None:
    """7(2): the supervisor looks at the entries of all members of all or chosen works on one
    screen, and may narrow it to chosen people; a private entry of a member is busy (7(5))."""
    first = await world.work()
    second = await world.work(title="第二工事")
    await create(world, "builder", title="受注者の段取り", work_ids=[first["id"]])
    await create(
        world, "builder", title="受注者の社内会議", start="2026-06-08T09:00", end="2026-06-08T10:00"
    )
    await create(
        world,
        "builder",
        title="通院",
        start="2026-06-09T09:00",
        end="2026-06-09T10:00",
        visibility="private",
    )
    await create(
        world,
        "viewer",
        title="閲覧者の予定",
        start="2026-06-10T09:00",
        end="2026-06-10T10:00",
        work_ids=[second["id"]],
    )
    rows = await view(world, "supervisor", all_works="true")
    assert [(o["owner_name"], o["title"], o["busy_only"]) for o in rows] == [
        ("builder 太郎", "受注者の段取り", False),
        ("builder 太郎", "受注者の社内会議", False),
        ("builder 太郎", None, True),
        ("viewer 太郎", "閲覧者の予定", False),
    ]
    chosen = await view(world, "supervisor", work_id=first["id"], user_id=world.user_id("builder"))
    assert [o["owner_name"] for o in chosen] == ["builder 太郎"] * 3
    # A person outside the chosen works cannot be asked for.
    r = await world.client("supervisor").get(
        f"{API}/entries", params={**JUNE, "work_id": first["id"], "user_id": world.user_id("plain")}
    )
    assert r.status_code == 404
    # Another orderer's user cannot look at the work's schedules at all.
    r = await world.client("outsider").get(
        f"{API}/entries", params={**JUNE, "work_id": first["id"]}
    )
    assert r.status_code == 404


async def test_one_entry_in_several_works_is_changed_and_deleted_at_once(world: World) -> None:
    """7(3): the supervisor registers, changes and deletes one entry in several works at once;
    it shows in each work's view, and one change reaches all of them."""
    works = [await world.work(title=f"工事{i}") for i in range(3)]
    entry = await create(world, title="合同安全パトロール", work_ids=[w["id"] for w in works])
    assert {w["title"] for w in entry["works"]} == {"工事0", "工事1", "工事2"}
    for w in works:
        rows = await view(world, "builder", work_id=w["id"])
        assert [o["title"] for o in rows] == ["合同安全パトロール"]
    r = await world.client("supervisor").patch(
        f"{API}/entries/{entry['id']}",
        json={
            "version": entry["version"],
            "title": "合同安全パトロール（雨天延期）",
            "start": "2026-06-04T10:00",
            "work_ids": [works[0]["id"], works[1]["id"]],
        },
    )
    assert r.status_code == 200, r.text
    assert [o["title"] for o in await view(world, "builder", work_id=works[0]["id"])] == [
        "合同安全パトロール（雨天延期）"
    ]
    # Unlinked from the third work: still the supervisor's entry, no longer that work's.
    (row,) = await view(world, "builder", work_id=works[2]["id"])
    assert sorted(row["work_ids"]) == sorted([works[0]["id"], works[1]["id"]])
    r = await world.client("supervisor").delete(
        f"{API}/entries/{entry['id']}", params={"version": r.json()["version"]}
    )
    assert r.status_code == 204
    for w in works:
        assert await view(world, "builder", work_id=w["id"]) == []
    events = [
        e
        async for e in world.container.records.scan("audit_events")
        if e["action"].startswith("schedules.")
    ]
    assert [e["action"] for e in events] == [
        "schedules.created",
        "schedules.updated",
        "schedules.deleted",
    ]
    assert sorted(events[0]["detail"]["works"]) == sorted(w["id"] for w in works)


async def test_linking_needs_membership_of_a_running_work(world: World) -> None:
    """7(1)(3): an entry concerns works its owner is a member of; another orderer's work is
    unknown (400, its existence not told); a work one reads but is no member of is 403."""
    work = await world.work()
    r = await world.client("outsider").post(
        f"{API}/entries",
        json={
            "title": "x",
            "start": "2026-06-02T10:00",
            "end": "2026-06-02T11:00",
            "work_ids": [work["id"]],
        },
    )
    assert r.status_code == 400
    assert r.json()["field"] == "work_ids"
    r = await world.client("reader").post(
        f"{API}/entries",
        json={
            "title": "x",
            "start": "2026-06-02T10:00",
            "end": "2026-06-02T11:00",
            "work_ids": [work["id"]],
        },
    )
    assert r.status_code == 403


async def test_holidays_come_from_the_master_calendar(world: World) -> None:
    """Dates use the business calendar of master data (seed 001 別表1-1 8(4)): holidays and
    the 12/29-1/3 closure are marked; weekends are not listed."""
    r = await world.client("builder").get(
        f"{API}/holidays", params={"from": "2026-12-28", "to": "2027-01-13"}
    )
    assert r.status_code == 200, r.text
    assert [(d["date"], d["kind"]) for d in r.json()] == [
        ("2026-12-29", "closure"),
        ("2026-12-30", "closure"),
        ("2026-12-31", "closure"),
        ("2027-01-01", "holiday"),
        ("2027-01-02", "closure"),
        ("2027-01-03", "closure"),
        ("2027-01-11", "holiday"),  # 成人の日: second Monday of January 2027
    ]
    assert r.json()[3]["name"] == "元日"


async def test_views_are_bounded(world: World) -> None:
    client = world.client("supervisor")
    r = await client.get(f"{API}/entries", params={"from": "2026-01-01", "to": "2028-01-01"})
    assert r.status_code == 400
    assert r.json()["field"] == "to"
    r = await client.get(f"{API}/entries", params={"from": "2026-06-10", "to": "2026-06-01"})
    assert r.status_code == 400
    r = await client.get(f"{API}/entries", params={"from": "junk-value", "to": "2026-06-01"})
    assert r.status_code == 400
    # An unbounded hourly rule over a year: answered, at most 2,000 occurrences of it.
    await create(
        world, title="毎時", start="2026-01-01T00:00", end="2026-01-01T00:10", rrule="FREQ=HOURLY"
    )
    r = await client.get(f"{API}/entries", params={"from": "2026-01-01", "to": "2027-01-01"})
    assert r.status_code == 200
    assert len(r.json()) == 2000


async def test_a_rule_change_keeps_the_edited_occurrences_the_new_rule_has(world: World) -> None:
    """Changing the rule drops only the edited occurrences the new rule no longer has, each
    series judged by its own new rule (the check once reused the first series it compiled
    for every later one, whatever their rules)."""
    client = world.client("supervisor")

    async def with_edit(start: str, rrule: str, rid: str, moved: str) -> dict[str, Any]:
        entry = await create(world, start=start, end=start[:11] + "23:00", rrule=rrule)
        r = await client.put(
            f"{API}/entries/{entry['id']}/occurrences/{rid}",
            json={"version": entry["version"], "start": moved, "title": "変更回"},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def new_rule(entry: dict[str, Any], rrule: str) -> dict[str, Any]:
        r = await client.patch(
            f"{API}/entries/{entry['id']}", json={"version": entry["version"], "rrule": rrule}
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    # Mondays; the 6/8 edit goes when the rule becomes Tuesdays.
    mondays = await with_edit(
        "2026-06-01T22:00", "FREQ=WEEKLY", "20260608T220000", "2026-06-08T21:00"
    )
    assert (await new_rule(mondays, "FREQ=WEEKLY;BYDAY=TU"))["overrides"] == {}
    # Daily; the 6/3 edit stays when the rule becomes every other day (6/1, 6/3, ...).
    daily = await with_edit("2026-06-01T22:30", "FREQ=DAILY", "20260603T223000", "2026-06-03T21:30")
    kept = await new_rule(daily, "FREQ=DAILY;INTERVAL=2")
    assert list(kept["overrides"]) == ["2026-06-03T22:30:00"]
