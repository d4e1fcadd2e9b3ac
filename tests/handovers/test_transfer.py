"""The hand-over to the archive (seed 000 手続きフロー: 検査 → 完了 → 保管管理システムへ移管;
「情報共有システムから検査終了後のデータを保管管理システムに連携登録が可能」) and the erasure of
the collaboration copy (seed 001 §3-6; 別表3 12: 契約書に記載された期日に達した際 … データを
削除, 削除したデータは再現できない)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from api.handovers.service import HandoverService
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from indexer.query import SearchQuery
from tests.folders.support import jpeg
from tests.handovers.support import (
    XLSX,
    complete,
    download,
    generate,
    ready_work,
    set_orderer_code,
    xlsx,
)
from tests.proposals.harness import API, BUILDER, MANAGER, ORDERER, SUP, Harness

pytestmark = pytest.mark.anyio

OTHER_WORK: dict[str, str] = {}  # the work a shared schedule entry also concerns, per work
KEEPER = Subject(new_id(), "keeper", ORDERER, OrgKind.ORDERER, frozenset({"master.manage"}))


async def transferred(
    h: Harness, board: bool = False
) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    work = await ready_work(h)
    if board:
        await board_content(h, str(work["id"]))
    package = await generate(h, str(work["id"]))
    assert package["blocking"] == 0, (package["findings"], package["notes"])
    done = await complete(h, str(work["id"]))
    record = await h.ok(
        SUP,
        "POST",
        f"/works/{work['id']}/handover/transfer",
        202,
        json={"package_id": package["id"], "version": done["version"]},
    )
    return work, package, record


async def test_transfer_round_trip_same_tree_and_zero_errors(h: Harness) -> None:
    """Round trip: the generated package, imported into the archive like an uploaded one, has
    the same tree and zero E findings; the work is archived in one audited step; the erasure
    date is set from the organization's period and told to the supervisor and contractor."""
    work, package, _ = await transferred(h)
    wid = str(work["id"])
    handover = await h.ok(SUP, "GET", f"/works/{wid}/handover")
    record = handover["handover"]
    assert record["state"] == "transferred", record
    assert record["root_path"] == "/電子成果品"
    stored = await h.ok(SUP, "GET", f"/works/{wid}")
    assert stored["status"] == "archived"
    # same tree: every ZIP entry is a node under /電子成果品, and nothing else is there
    zf = await download(h, str(package["id"]))
    entries = {n.rstrip("/") for n in zf.namelist()}
    nodes = [n async for n in h.container.records.scan("nodes", ())]
    below = {
        str(n["path"])[len("/電子成果品/") :]
        for n in nodes
        if n["work_id"] == wid and str(n["path"]).startswith("/電子成果品/")
    }
    implied = {"/".join(e.split("/")[:i]) for e in entries for i in range(1, e.count("/") + 1)}
    assert below == entries | implied
    for name in ("INDEX_C.XML", "MEET/ORG/MEET0011.PDF", "PHOTO/PIC/P0000001.JPG"):
        node = next(n for n in nodes if n["work_id"] == wid and n["path"] == f"/電子成果品/{name}")
        assert node["scope"] == f"wa-{wid}"  # the archive's own copy (issue 12 §1)
        blob = await h.container.records.get("blobs", f"{node['scope']}:{node['sha256']}")
        assert blob is not None
        data = b"".join([c async for c in h.container.blobs.get(blob["key"])])
        assert data == zf.read(name)
    # zero E in the archive's own check of the imported package
    check = await h.container.records.get("deliverables", record["deliverable_id"])
    assert check is not None
    assert check["report"]["counts"]["E"] == 0
    # one audited step, and the contractor and supervisor told of the erasure date
    assert [e["action"] for e in await h.audit("handovers.transferred")] == [
        "handovers.transferred"
    ]
    assert len(await h.audit("works.transitioned")) >= 3
    assert record["erasure_on"] == (date(2026, 6, 9) + timedelta(days=30)).isoformat()
    notes = [n async for n in h.container.records.scan("notifications", ())]
    told = {n["user_id"] for n in notes if n.get("kind") == "handover.erasure_scheduled"}
    assert {SUP.user_id, BUILDER.user_id} <= told


async def notices(h: Harness, work_id: str) -> list[dict[str, Any]]:
    return [
        n
        async for n in h.container.records.scan("notifications", ())
        if n.get("work_id") == work_id
    ]


async def board_content(h: Harness, work_id: str) -> None:
    """The work's bulletin board: a post with a file, edited once (a revision), a reply with a
    file, unread rows for the other members."""
    sheet = await h.upload(BUILDER, work_id, "工程表.xlsx", xlsx(["工程", "6月"]), XLSX)
    post = await h.ok(
        BUILDER,
        "POST",
        f"/works/{work_id}/posts",
        201,
        json={"title": "工程表の共有", "body": "6月の工程です。", "attachment_ids": [sheet]},
    )
    await h.ok(
        BUILDER, "PATCH", f"/posts/{post['id']}", json={"version": post["version"], "body": "改訂"}
    )
    # schedules: one entry of this work only, one also of another work, one of no work
    other = str((await h.work(title="別の工事"))["id"])
    OTHER_WORK[work_id] = other
    for works, title in (([work_id], "段階確認"), ([work_id, other], "合同会議"), ([], "休暇")):
        await h.ok(
            SUP,
            "POST",
            "/schedules/entries",
            201,
            json={
                "title": title,
                "start": "2026-06-20T10:00:00",
                "end": "2026-06-20T11:00:00",
                "work_ids": works,
            },
        )
    photo = await h.upload(SUP, work_id, "現場.jpg", jpeg(), "image/jpeg")
    await h.ok(
        SUP,
        "POST",
        f"/posts/{post['id']}/replies",
        201,
        json={"body": "確認しました。", "attachment_ids": [photo]},
    )


async def test_erasure_on_the_day_keeps_only_the_archive(h: Harness) -> None:
    """§3-6 / 別表3 12(1): reminded beforehand, erased on the day: the folders, proposals,
    attachments and packages of the collaboration go; the archived package stays."""
    work, package, _ = await transferred(h, board=True)
    wid = str(work["id"])
    for collection in ("posts", "post_replies", "post_revisions", "post_unread"):
        assert await h.container.records.count(collection, ()) >= 1, collection
    assert [n for n in await notices(h, wid) if not n["kind"].startswith("handover.")]
    service = HandoverService(h.container)
    record = await service.record(wid)
    assert record is not None
    erasure_on = date.fromisoformat(str(record["erasure_on"]))
    assert (await service.run_due())["erased"] == 0
    h.clock.advance(days=(erasure_on - date(2026, 6, 9)).days - 10)
    assert (await service.run_due())["reminded"] == 1
    assert (await service.run_due())["reminded"] == 0  # once
    assert await h.container.records.count("proposals", ()) == 1
    h.clock.advance(days=10)
    counts = await service.run_due()
    assert counts["erased"] == 1
    nodes = [n async for n in h.container.records.scan("nodes", ()) if n["work_id"] == wid]
    assert nodes
    assert all(str(n["path"]).startswith("/電子成果品") for n in nodes)
    assert await h.container.records.count("proposals", ()) == 0
    assert await h.container.records.count("workflow_events", ()) == 0
    assert await h.container.records.count("attachments", ()) == 0
    assert await h.container.records.get("handover_packages", str(package["id"])) is None
    # the board goes too (§3-6: 全てのデータ), its files and its search documents with it
    for collection in ("posts", "post_replies", "post_revisions", "post_unread"):
        assert await h.container.records.count(collection, ()) == 0, collection
    found = await h.container.index.search(
        SearchQuery(types=("post", "reply"), filters={"work_id": (wid,)}, acl=None)
    )
    assert found.total == 0
    # notifications about the work go, but for the hand-over's own (the erasure date)
    assert {n["kind"] for n in await notices(h, wid)} == {
        "handover.erasure_scheduled",
        "handover.erasure_reminder",
    }
    # schedules: the work's own entry goes, a shared one forgets the work, a personal one stays
    entries = {e["title"]: e async for e in h.container.records.scan("schedule_entries", ())}
    assert set(entries) == {"合同会議", "休暇"}
    assert entries["合同会議"]["work_ids"] == [OTHER_WORK[wid]]
    assert entries["休暇"]["work_ids"] == []
    erased = await h.audit("handovers.erased")
    assert len(erased) == 1
    assert erased[0]["detail"]["counts"]["proposals"] == 1
    assert erased[0]["detail"]["counts"]["posts"] == 1
    assert erased[0]["detail"]["counts"]["post_replies"] == 1
    # the collaboration scope's data key is destroyed (issue 12 §2), the archive's is not
    assert await h.container.keys.destroyed(f"wc-{wid}") is not None
    assert await h.container.keys.destroyed(f"wa-{wid}") is None
    [keys_event] = await h.audit("keys.destroyed")
    assert keys_event["target"] == f"key_scopes/wc-{wid}"
    # the archive still serves the delivered package
    tree = await h.ok(SUP, "GET", f"/works/{wid}/tree")
    assert [n["name"] for n in tree["items"]] == ["電子成果品"]
    assert (await service.record(wid) or {}).get("erased_at")


async def test_without_the_archive_the_orderer_sets_the_erasure_date(h: Harness) -> None:
    """seed 000 「情報共有システムのみの利用を選択することも可能」: no transfer; the orderer sets
    the contract's date, told to the supervisor and contractor; on that day all of the work's
    collaboration data goes."""
    await h.container.records.insert(
        "users",
        {"id": KEEPER.user_id, "login_id": "keeper", "org_id": ORDERER, "name": "管理 花子"},
    )
    saved = await h.ok(
        KEEPER,
        "PUT",
        "/handover-settings",
        json={"uses_archive": False, "erasure_days": 60, "reminder_days": 7},
    )
    assert saved["uses_archive"] is False
    work = await ready_work(h)
    wid = str(work["id"])
    package = await generate(h, wid)
    done = await complete(h, wid)
    r = await h.call(
        SUP,
        "POST",
        f"{API}/works/{wid}/handover/transfer",
        json={"package_id": package["id"], "version": done["version"]},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "archive_not_used"
    r = await h.call(
        SUP, "POST", f"{API}/works/{wid}/handover/erasure", json={"erasure_on": "2026-06-09"}
    )
    assert r.status_code == 400  # not in the future: it must be told in advance
    scheduled = await h.ok(SUP, "POST", f"/works/{wid}/handover/erasure", json={})
    assert scheduled["erasure_on"] == "2026-08-08"
    h.clock.advance(days=61)
    assert (await HandoverService(h.container).run_due())["erased"] == 1
    assert [n async for n in h.container.records.scan("nodes", ()) if n["work_id"] == wid] == []
    r = await h.call(SUP, "POST", f"{API}/works/{wid}/handover/erasure", json={})
    assert r.status_code == 409
    assert r.json()["code"] == "already_erased"


async def test_a_legal_hold_stops_the_erasure(h: Harness) -> None:
    work, _, _ = await transferred(h)
    wid = str(work["id"])
    await h.ok(MANAGER, "POST", f"/works/{wid}/legal-hold", json={"reason": "訴訟のため"})
    h.clock.advance(days=40)
    counts = await HandoverService(h.container).run_due()
    assert counts == {"reminded": 0, "erased": 0, "held": 1}
    assert await h.container.records.count("proposals", ()) == 1


async def test_bad_transfers_are_refused_and_change_nothing(h: Harness) -> None:
    """Bad input: before completion; a package with errors; a contractor; a stale version;
    another work's package; twice."""
    work = await ready_work(h)
    wid = str(work["id"])
    good = await generate(h, wid)
    current = await h.ok(SUP, "GET", f"/works/{wid}")

    async def refused(who: Subject, body: dict[str, object], status: int, code: str) -> None:
        r = await h.call(who, "POST", f"{API}/works/{wid}/handover/transfer", json=body)
        assert (r.status_code, r.json().get("code")) == (status, code), r.text

    await refused(
        SUP, {"package_id": good["id"], "version": current["version"]}, 409, "not_completed"
    )
    done = await complete(h, wid)
    await set_orderer_code(h, None)
    bad = await generate(h, wid, who=SUP)
    await set_orderer_code(h)
    await refused(
        SUP, {"package_id": bad["id"], "version": done["version"]}, 409, "package_not_ready"
    )
    await refused(BUILDER, {"package_id": good["id"], "version": done["version"]}, 403, "forbidden")
    await refused(SUP, {"package_id": good["id"], "version": done["version"] - 1}, 409, "conflict")
    other = await ready_work(h)
    foreign = await generate(h, str(other["id"]))
    await refused(SUP, {"package_id": foreign["id"], "version": done["version"]}, 404, "not_found")
    stored = await h.ok(SUP, "GET", f"/works/{wid}")
    assert stored["status"] == "completed"
    assert await h.audit("handovers.transfer_requested") == []
    await h.ok(
        SUP,
        "POST",
        f"/works/{wid}/handover/transfer",
        202,
        json={"package_id": good["id"], "version": done["version"]},
    )
    archived = await h.ok(SUP, "GET", f"/works/{wid}")
    assert archived["status"] == "archived"
    await refused(
        SUP, {"package_id": good["id"], "version": archived["version"]}, 409, "not_completed"
    )
    r = await h.call(SUP, "POST", f"{API}/works/{wid}/handover/packages")
    assert r.status_code == 409  # archived: read-only
    r = await h.call(BUILDER, "POST", f"{API}/works/{wid}/handover/packages")
    assert r.status_code == 404  # the contractor no longer reads the archived work
