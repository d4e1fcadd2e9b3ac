"""iCalendar import (seed 001 別表1-1 7(6), 別表1-2 7(6): "国際標準フォーマットで作成されグループ
ウェアから出力したスケジュールデータを情報共有システムに取り込み、個人のスケジュールに登録する")
and the bad files of issue 9 "Bad input", through the HTTP API on the app as ``create_app``
builds it (eager jobs run the task ``schedules.import_ics`` in the same test).

Expected occurrences are worked out by hand from the file (``data/groupware.ics``)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest

from api.schedules.models import ENTRIES
from tests.support.perms import World

pytestmark = pytest.mark.anyio
API = "/api/v1/schedules"
DATA = Path(__file__).parent / "data"
GROUPWARE = (DATA / "groupware.ics").read_bytes()


async def upload(world: World, data: bytes, who: str = "supervisor", **params: str) -> Any:
    return await world.client(who).post(
        f"{API}/imports",
        content=data,
        params={"filename": "予定表.ics", **params},
        headers={"Content-Type": "text/calendar"},
    )


async def finished(world: World, import_id: str, who: str = "supervisor") -> dict[str, Any]:
    r = await world.client(who).get(f"{API}/imports/{import_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def june(world: World, who: str = "supervisor") -> list[dict[str, Any]]:
    r = await world.client(who).get(
        f"{API}/entries", params={"from": "2026-06-01", "to": "2026-07-01"}
    )
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_groupware_export_is_imported_with_rules_exceptions_and_zones(
    world: World,
) -> None:
    """7(6): VEVENTs with RRULE/EXDATE/RDATE/RECURRENCE-ID, a custom VTIMEZONE (Outlook's
    "(UTC+09:00) 大阪、札幌、東京", module-anchors §1 "custom VTIMEZONE ignored"), UTC times whose
    weekly rule keeps its UTC weekday (anchors "RRULE wrong day across TZ"), all-day events,
    VALARM dropped, VTODO reported."""
    r = await upload(world, GROUPWARE)
    assert r.status_code == 202, r.text
    job = await finished(world, r.json()["id"])
    assert job["state"] == "done", job
    report = job["report"]
    assert (report["imported"], report["updated"], report["skipped"]) == (3, 0, 0)
    assert any("VTODO" in w for w in report["warnings"])
    assert job["progress"] == {"processed": 4, "total": 4}

    got = {(o["title"], o["start"], o["end"]) for o in await june(world)}
    assert got == {
        # Mondays 09:00 JST, COUNT=5 from 6/1; 6/15 excluded; 6/22 moved to Tue 6/23 14:00.
        ("定例打合せ（春日町）", "2026-06-01T09:00:00+09:00", "2026-06-01T10:00:00+09:00"),
        ("定例打合せ（春日町）", "2026-06-08T09:00:00+09:00", "2026-06-08T10:00:00+09:00"),
        (
            "定例打合せ（春日町・時間変更）",
            "2026-06-23T14:00:00+09:00",
            "2026-06-23T15:00:00+09:00",
        ),
        ("定例打合せ（春日町）", "2026-06-29T09:00:00+09:00", "2026-06-29T10:00:00+09:00"),
        # All-day, DTEND exclusive, plus an RDATE.
        ("段階確認（舗装）", "2026-06-10", "2026-06-11"),
        ("段階確認（舗装）", "2026-06-24", "2026-06-25"),
        # Thursdays 23:30 UTC until 6/25 23:59:59Z: Fridays 08:30 in Tokyo.
        ("週次報告（UTC）", "2026-06-04T23:30:00+00:00", "2026-06-05T00:00:00+00:00"),
        ("週次報告（UTC）", "2026-06-11T23:30:00+00:00", "2026-06-12T00:00:00+00:00"),
        ("週次報告（UTC）", "2026-06-18T23:30:00+00:00", "2026-06-19T00:00:00+00:00"),
        ("週次報告（UTC）", "2026-06-25T23:30:00+00:00", "2026-06-26T00:00:00+00:00"),
    }
    teirei = next(o for o in await june(world) if o["title"] == "定例打合せ（春日町）")
    entry = (await world.client("supervisor").get(f"{API}/entries/{teirei['series_id']}")).json()
    assert entry["tz"] == "Asia/Tokyo"  # the custom VTIMEZONE matched to its IANA zone
    assert entry["location"] == "東部建設事務所 2階会議室"
    assert "一行として読まれます" in entry["description"]  # folded line unfolded
    assert entry["source"]["kind"] == "ics"


async def test_reimport_updates_by_uid_instead_of_duplicating(world: World) -> None:
    """7(6), issue 9: re-importing the same file updates by UID; a changed event is updated,
    the others are reported unchanged."""
    r = await upload(world, GROUPWARE)
    await finished(world, r.json()["id"])
    again = await finished(world, (await upload(world, GROUPWARE)).json()["id"])
    assert (again["report"]["imported"], again["report"]["updated"]) == (0, 0)
    assert again["report"]["skipped"] == 3
    assert {i["reason"] for i in again["report"]["items"]} == {"変更なし"}

    changed = GROUPWARE.replace("段階確認（舗装）".encode(), "段階確認（路盤）".encode()).replace(
        b"UID:kura-e2e-kensa@example.jp\r\n", b"UID:kura-e2e-kensa@example.jp\r\nSEQUENCE:2\r\n"
    )
    third = await finished(world, (await upload(world, changed)).json()["id"])
    assert (third["report"]["imported"], third["report"]["updated"]) == (0, 1)
    assert await world.container.records.count(ENTRIES) == 3
    titles = {o["title"] for o in await june(world)}
    assert "段階確認（路盤）" in titles
    assert "段階確認（舗装）" not in titles


async def test_cancelled_event_removes_the_imported_entry(world: World) -> None:
    await finished(world, (await upload(world, GROUPWARE)).json()["id"])
    cancelled = GROUPWARE.replace(
        b"UID:kura-e2e-utc@example.jp\r\n", b"UID:kura-e2e-utc@example.jp\r\nSTATUS:CANCELLED\r\n"
    )
    job = await finished(world, (await upload(world, cancelled)).json()["id"])
    assert job["report"]["deleted"] == 1
    assert "週次報告（UTC）" not in {o["title"] for o in await june(world)}


def calendar(*events: str, head: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{head}{body}END:VCALENDAR\r\n"
    ).encode()


async def test_events_that_cannot_be_taken_are_skipped_with_their_reason(world: World) -> None:
    """Bad input: an unknown time zone, a rule without end at minute steps (millions of
    instances), EXDATE removing the only instance (module-anchors §1: a 500 elsewhere), no
    DTSTART. The good event is imported; each bad one is in the report with its reason."""
    data = calendar(
        "UID:ok\r\nSUMMARY:良い予定\r\nDTSTART;TZID=Asia/Tokyo:20260602T100000\r\nDURATION:PT1H",
        "UID:mars\r\nSUMMARY:火星\r\nDTSTART;TZID=Mars/Olympus:20260602T100000",
        "UID:minutely\r\nSUMMARY:毎分\r\nDTSTART:20260602T010000Z\r\nRRULE:FREQ=MINUTELY",
        "UID:only\r\nSUMMARY:唯一の回\r\nDTSTART;TZID=Asia/Tokyo:20260603T090000\r\n"
        "RRULE:FREQ=DAILY;COUNT=1\r\nEXDATE;TZID=Asia/Tokyo:20260603T090000",
        "UID:nostart\r\nSUMMARY:開始なし",
    )
    job = await finished(world, (await upload(world, data)).json()["id"])
    assert job["state"] == "done"
    report = job["report"]
    assert (report["imported"], report["skipped"]) == (1, 4)
    reasons = {i["title"]: i["reason"] for i in report["items"] if i["outcome"] == "skipped"}
    assert "Mars/Olympus" in reasons["火星"]
    assert "分・秒単位" in reasons["毎分"]
    assert "すべての回が除かれています" in reasons["唯一の回"]
    assert "DTSTART" in reasons["開始なし"]
    assert [o["title"] for o in await june(world)] == ["良い予定"]


async def test_x_wr_timezone_moves_utc_and_floating_times_into_the_zone(world: World) -> None:
    """Google exports: X-WR-TIMEZONE with UTC times; the weekly rule is applied in Tokyo, so a
    Monday 08:00 JST meeting (Sunday 23:00 UTC) stays on Mondays."""
    data = calendar(
        "UID:g1\r\nSUMMARY:朝礼\r\nDTSTART:20260531T230000Z\r\nDTEND:20260531T233000Z\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3",
        "UID:g2\r\nSUMMARY:浮動時刻\r\nDTSTART:20260603T150000\r\nDTEND:20260603T160000",
        head="X-WR-TIMEZONE:Asia/Tokyo\r\n",
    )
    job = await finished(world, (await upload(world, data)).json()["id"])
    assert job["report"]["imported"] == 2, job
    starts = sorted(o["start"] for o in await june(world))
    assert starts == [
        "2026-06-01T08:00:00+09:00",
        "2026-06-03T15:00:00+09:00",
        "2026-06-08T08:00:00+09:00",
        "2026-06-15T08:00:00+09:00",
    ]


async def test_shift_jis_export_is_read_with_a_warning(world: World) -> None:
    """Reference §4.1: old Japanese groupware exports in CP932 are accepted with a warning."""
    data = calendar("UID:sj\r\nSUMMARY:現場立会\r\nDTSTART;VALUE=DATE:20260612").decode()
    job = await finished(world, (await upload(world, data.encode("cp932"))).json()["id"])
    assert job["report"]["imported"] == 1
    assert any("Shift_JIS" in w for w in job["report"]["warnings"])
    assert [o["title"] for o in await june(world)] == ["現場立会"]
    bom = codecs.BOM_UTF8 + calendar("UID:b\r\nSUMMARY:BOM付き\r\nDTSTART;VALUE=DATE:20260613")
    job = await finished(world, (await upload(world, bom)).json()["id"])
    assert job["report"]["imported"] == 1


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"%PDF-1.4 not a calendar", 400, "iCalendar 形式"),
        (GROUPWARE[: len(GROUPWARE) // 2], 400, "途中で切れています"),
        (b"BEGIN:VCALENDAR\r\nSUMMARY:\xff\xfe\x81\r\nEND:VCALENDAR\r\n", 400, "文字コード"),
        (b"", 400, "iCalendar 形式"),
    ],
    ids=["not-icalendar", "truncated", "bad-encoding", "empty"],
)
async def test_files_refused_whole_get_a_problem_and_store_nothing(
    world: World, data: bytes, status: int, words: str
) -> None:
    """Issue 9 "Bad input": each gets a clear problem+json (Japanese) and nothing is stored."""
    before = await world.audit_length()
    r = await upload(world, data)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.json()["detail"]
    assert await world.container.records.count("schedule_imports") == 0
    assert await world.container.records.count(ENTRIES) == 0
    assert await world.audit_length() == before


async def test_too_large_and_too_many_events_are_refused(world: World, settings: Any) -> None:
    """Bad input: 100 MB of events is refused by size before it is read (413); a file with
    more VEVENTs than allowed is refused by count."""
    limit = world.container.settings.schedules.max_import_bytes
    big = calendar(
        *[
            f"UID:x{i}\r\nSUMMARY:{'あ' * 200}\r\nDTSTART;VALUE=DATE:20260601"
            for i in range(limit // 600 + 10)
        ]
    )
    assert len(big) > limit
    r = await upload(world, big)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "too_large"

    async def chunked() -> Any:  # no Content-Length: the stream itself is bounded
        for start in range(0, len(big), 1 << 16):
            yield big[start : start + (1 << 16)]

    r = await world.client("supervisor").post(
        f"{API}/imports", content=chunked(), headers={"Content-Type": "text/calendar"}
    )
    assert r.status_code == 413, r.text
    many = world.container.settings.schedules.max_import_events + 1
    r = await upload(
        world, calendar(*[f"UID:m{i}\r\nDTSTART;VALUE=DATE:20260601" for i in range(many)])
    )
    assert r.status_code == 400, r.text
    assert "上限" in r.json()["detail"]
    assert await world.container.records.count(ENTRIES) == 0


async def test_structure_broken_inside_is_refused_by_the_job_and_stores_nothing(
    world: World,
) -> None:
    """A file whose ends look right but whose inside is broken passes the quick check; the job
    reads the whole structure before writing and fails with the reason, storing no entry."""
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260601"
        b"\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    r = await upload(world, data)
    assert r.status_code == 202, r.text
    job = await finished(world, r.json()["id"])
    assert job["state"] == "failed"
    assert "構造が壊れています" in job["error"]
    assert await world.container.records.count(ENTRIES) == 0


async def test_import_through_a_tus_attachment(world: World) -> None:
    """Large files come through the shared attachments uploads (tus); the import takes the
    staged attachment and links it to the import record."""
    import base64

    meta = "filename " + base64.b64encode("予定表.ics".encode()).decode()
    client = world.client("supervisor")
    r = await client.post(
        "/api/v1/attachments/uploads",
        content=GROUPWARE,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(GROUPWARE)),
            "Upload-Metadata": meta,
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 201, r.text
    attachment_id = r.headers["kura-attachment-id"]
    other = await world.client("builder").post(
        f"{API}/imports/from-attachment", json={"attachment_id": attachment_id}
    )
    assert other.status_code == 404  # another user's staged file is not theirs to import
    r = await client.post(f"{API}/imports/from-attachment", json={"attachment_id": attachment_id})
    assert r.status_code == 202, r.text
    job = await finished(world, r.json()["id"])
    assert job["report"]["imported"] == 3
    attachment = (await client.get(f"/api/v1/attachments/{attachment_id}")).json()
    assert attachment["parent"] == f"schedule_imports/{job['id']}"
    # Someone else cannot read the import nor its file.
    assert (await world.client("builder").get(f"{API}/imports/{job['id']}")).status_code == 404
    assert (
        await world.client("builder").get(f"/api/v1/attachments/{attachment_id}")
    ).status_code == 404
