"""A company applies once to several municipalities (seed 004 第2 3-6), re-applies (第3 1),
corrects (第3 2) and adds a municipality (第2 2(1)); every write follows the window (第1 2)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from api.config import Settings
from tests.qualifications.harness import CODES, OPEN, qual_world, valid_values

pytestmark = pytest.mark.anyio


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def fields(errors: dict[str, list[dict[str, Any]]], step: str) -> dict[str, str]:
    return {e["field"]: e["message"] for e in errors[step]}


async def test_apply_to_three_with_a_review_mismatch_then_accepted(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        draft = await q.draft()
        assert draft["values"]["targets"] == []  # a first filing starts empty
        # 第2 3 ※②: the errors of the screen, each by its field, in the guide's wording.
        assert (
            fields(draft["errors"], "entry")["targets"] == "提出先自治体を1つ以上選択してください。"
        )
        values = valid_values()
        values["review"]["categories"]["13"]["p"] = "821"  # a typo against the 経審 (812)
        draft = await q.save(draft, values)
        assert draft["errors"] == {"entry": [], "offices": [], "attachment": []}
        draft = await q.nouzei(draft)
        assert draft["errors"]["attachment"] == []
        # 第2 6(2)イ: the 経審 error screen lists each mismatch; nothing is stored.
        problem = await q.send(draft, 400)
        assert problem["code"] == "review_mismatch"
        assert [e["field"] for e in problem["errors"]] == ["review.categories.13.p"]
        assert await q.container.records.count("qual_applications") == 0
        values["review"]["categories"]["13"]["p"] = "812"
        draft = await q.save(draft, {"review": values["review"]})
        filed = await q.send(draft)
        # 第2 6(2)ア: accepted with a receipt number; the municipalities and papers.
        assert filed["receipt_no"] == "H31-000001"
        assert filed["targets"] == [CODES["pref"], CODES["kure"], CODES["fuku"]]
        assert filed["values"]["company"]["rep_name"] == "山﨑\u3000𠮷男"  # 外字 stored as typed
        numbers = [p["no"] for p in filed["papers"]]
        # 第1 8: 1 always; 2 not for a 県内 知事許可 company; 3 the targets' taxes; 4 not needed
        # (e-tax attached); 5 建災防; 6 EA21; 8 CPDS; 12 障害者雇用 and 15 協力雇用主 (県内).
        assert numbers == [1, 3, 5, 6, 8, 12, 15]
        r = await q.client("kasuga").get(
            f"/api/v1/qualifications/applications/{filed['id']}/receipt.pdf"
        )
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        text = pdf_text(r.content)
        for expected in (
            "送信完了 兼 受付票",
            "H31-000001",
            "広島県",
            "呉市",
            "福山市",
            "納税義務がありません",
            "使用印鑑届",  # 第1 9: 呉市's own documents
            "委任状",
            "山﨑",
        ):
            assert expected in text, expected
        assert "世羅町" not in text


async def test_outside_the_hours_writes_are_refused_with_the_next_open_time(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        draft = await q.draft()
        # Thursday 2018-11-08 17:01 JST: closed until Friday 9:00 (第1 2(1)).
        q.at(datetime(2018, 11, 8, 8, 1, tzinfo=UTC))
        r = await q.client("kasuga").patch(
            f"/api/v1/qualifications/drafts/{draft['id']}",
            json={"version": draft["version"], "values": valid_values()},
        )
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "outside_window"
        assert body["next_open_at"] == "2018-11-09T00:00:00Z"
        assert "次の受付開始は2018年11月9日（金）9:00です。" in body["detail"]
        # Reading the draft stays possible.
        again = await q.call("kasuga", "GET", f"/qualifications/drafts/{draft['id']}")
        assert again["version"] == draft["version"]
        # Friday 17:01 → Monday 11/12 9:00 (土・日 skipped).
        q.at(datetime(2018, 11, 9, 8, 1, tzinfo=UTC))
        r = await q.client("kasuga").post(
            f"/api/v1/qualifications/drafts/{draft['id']}/send", json={"version": draft["version"]}
        )
        assert r.json()["next_open_at"] == "2018-11-12T00:00:00Z"
        q.at(OPEN)


async def test_reapplication_replaces_the_filing_and_says_what_is_dropped(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        first = await q.filed()
        await q.call("kure", "PATCH", f"/qualifications/applications/{first['id']}/desk",
                     json={"own_received": True})  # fmt: skip
        # 第3 1: a re-application starts from the filing (zero re-typing) ...
        draft = await q.draft()
        assert draft["values"] == first["values"]
        assert draft["application"]["receipt_no"] == "H31-000001"
        # ... choosing only 福山市 and 世羅町 would delete 広島県 and 呉市: said before sending.
        draft = await q.save(draft, {"targets": [CODES["fuku"], CODES["sera"]]})
        assert [d["name"] for d in draft["dropped"]] == ["広島県", "呉市"]
        problem = await q.send(draft, 409)
        assert problem["code"] == "targets_dropped"
        assert "広島県、呉市" in problem["detail"]
        assert (await q.call("kasuga", "GET", f"/qualifications/applications/{first['id']}"))[
            "receipt_no"
        ] == "H31-000001"  # nothing changed yet
        # Adding a fourth instead, keeping every earlier one: no warning, a new receipt.
        draft = await q.save(
            draft, {"targets": [CODES["pref"], CODES["kure"], CODES["fuku"], CODES["sera"]]}
        )
        assert draft["dropped"] == []
        second = await q.send(draft)
        assert second["id"] == first["id"]
        assert second["receipt_no"] == "H31-000002"
        assert second["kind"] == "reapplication"
        assert second["filing"] == 2
        # The same confirmed version sent twice files once (a double click).
        again = await q.send(draft)
        assert again["receipt_no"] == "H31-000002"
        # Now drop 呉市 with the confirmation: its desk record goes with its filing.
        draft = await q.call("kasuga", "GET", f"/qualifications/drafts/{draft['id']}")
        draft = await q.save(draft, {"targets": [CODES["pref"], CODES["fuku"], CODES["sera"]]})
        third = await q.send(draft, confirm_dropped=True)
        assert third["receipt_no"] == "H31-000003"
        r = await q.client("kure").get(f"/api/v1/qualifications/applications/{first['id']}")
        assert r.status_code == 404  # 呉市 no longer sees it
        assert await q.container.records.count("qual_desks") == 0
        assert await q.container.records.count("qual_applications") == 1
        events = [
            e["action"]
            async for e in q.container.records.scan("audit_events")
            if str(e["action"]).startswith("qualifications.application")
        ]
        assert events == [
            "qualifications.application_sent",
            "qualifications.application_replaced",
            "qualifications.application_replaced",
        ]


async def test_each_municipality_sees_only_itself_and_the_host_sees_all(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        filed = await q.filed()
        path = f"/qualifications/applications/{filed['id']}"
        kure = await q.call("kure", "GET", path)
        assert kure["targets"] == [CODES["kure"]]
        assert kure["values"]["targets"] == [CODES["kure"]]
        assert [o["name"] for o in kure["own_papers"]] == ["呉市"]
        assert "target_org_ids" not in kure
        assert "readers" not in kure
        pref = await q.call("pref", "GET", path)
        assert pref["targets"] == [CODES["pref"], CODES["kure"], CODES["fuku"]]
        # 世羅町 (in the round, not applied to) and 尾道市 (outside it): 404.
        for who in ("sera", "ono", "seto"):
            r = await q.client(who).get("/api/v1" + path)
            assert r.status_code == 404, who
        # 呉市's copy of the receipt names 呉市 alone (写し).
        r = await q.client("kure").get(f"/api/v1{path}/receipt.pdf")
        text = pdf_text(r.content)
        assert "呉市" in text
        assert "福山市" not in text.replace("福山市三吉町", "")
        # Lists: 呉市 sees the filing, 世羅町 none; the export carries the same rows.
        listed = await q.call("kure", "GET", f"/qualifications/rounds/{q.round_id}/received")
        assert listed["total"] == 1
        assert listed["items"][0]["targets"] == ["呉市"]
        sera = await q.call("sera", "GET", f"/qualifications/rounds/{q.round_id}/received")
        assert sera["total"] == 0
        r = await q.client("kure").get(
            f"/api/v1/qualifications/rounds/{q.round_id}/received/export.csv"
        )
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["受付番号", "申請区分", "送信日時", "商号又は名称"]
        assert rows[1][0] == "H31-000001"
        assert rows[1][3] == "（株）春日建設"
        assert rows[1][11] == "呉市"  # 申請先: itself only
        assert rows[1][7] == "広島県福山市三吉町南２－１１－２２"
        r = await q.client("pref").get(
            f"/api/v1/qualifications/rounds/{q.round_id}/received/export.xlsx"
        )
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        assert sheet["A2"].value == "H31-000001"
        assert sheet["L2"].value == "広島県、呉市、福山市"


async def test_desk_papers_notes_and_the_paper_deadline(settings: Settings, tmp_path: Path) -> None:
    async with qual_world(settings, tmp_path) as q:
        filed = await q.filed()
        path = f"/qualifications/applications/{filed['id']}"
        # Only the host records the common papers (第1 8); others their own documents (第1 9).
        r = await q.client("kure").patch(f"/api/v1{path}/desk", json={"papers_received": [1]})
        assert r.status_code == 403
        r = await q.client("pref").patch(f"/api/v1{path}/desk", json={"papers_received": [2]})
        assert r.status_code == 400
        assert "番号 2" in r.json()["detail"]
        await q.call("pref", "PATCH", f"{path}/desk", json={"papers_received": [1, 3, 5]})
        note = await q.call("kure", "POST", f"{path}/notes", 201, json={"text": "使用印鑑届 受領"})
        assert note["notes"][0]["text"] == "使用印鑑届 受領"
        kure = await q.call("kure", "GET", path)
        assert kure["status"] == "received"
        assert kure["desk"]["notes"][0]["by_name"] == "kure 太郎"
        # 第1 2(2): after the paper deadline a filing without all its papers is void.
        q.at(datetime(2018, 12, 1, 1, 0, tzinfo=UTC))
        assert (await q.call("kure", "GET", path))["status"] == "void"
        q.at(OPEN)
        await q.call(
            "pref", "PATCH", f"{path}/desk", json={"papers_received": [1, 3, 5, 6, 8, 12, 15]}
        )
        q.at(datetime(2018, 12, 1, 1, 0, tzinfo=UTC))
        assert (await q.call("fuku", "GET", path))["status"] == "papers_complete"


async def test_correction_after_the_period_of_company_basics_only(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        filed = await q.filed()
        path = f"/qualifications/applications/{filed['id']}"
        body = {"version": filed["version"], "values": {"company": {**filed["values"]["company"],
                "phone": "084-921-9999"}}}  # fmt: skip
        r = await q.client("kasuga").post(f"/api/v1{path}/correction", json=body)
        assert r.status_code == 409
        assert r.json()["code"] == "outside_window"
        q.at(datetime(2018, 11, 26, 1, 0, tzinfo=UTC))  # Monday after the period
        # 第3 2: neither the targets nor the 経審 data can be corrected.
        bad = {"version": filed["version"], "values": {"targets": [CODES["pref"]]}}
        r = await q.client("kasuga").post(f"/api/v1{path}/correction", json=bad)
        assert r.status_code == 400
        assert r.json()["errors"][0]["field"] == "targets"
        review = {**filed["values"]["review"], "base_date": "2018-06-30"}
        r = await q.client("kasuga").post(
            f"/api/v1{path}/correction",
            json={"version": filed["version"], "values": {"review": review}},
        )
        assert r.status_code == 400
        assert r.json()["errors"][0]["field"] == "review.base_date"
        # A half-width name is refused by the same rule as the form, with the offer.
        co = {**filed["values"]["company"], "name": "(株)春日建設"}
        r = await q.client("kasuga").post(
            f"/api/v1{path}/correction",
            json={"version": filed["version"], "values": {"company": co}},
        )
        assert r.status_code == 400
        assert r.json()["errors"][0]["suggestion"] == "（株）春日建設"
        corrected = await q.call("kasuga", "POST", f"{path}/correction", json=body)
        assert corrected["values"]["company"]["phone"] == "084-921-9999"
        assert corrected["receipt_no"] == "H31-000001"
        assert corrected["kind"] == "correction"
        assert corrected["corrections"][0]["fields"] == ["company.phone"]
        # After the correction deadline: refused, nothing reopens.
        q.at(datetime(2018, 12, 3, 1, 0, tzinfo=UTC))
        r = await q.client("kasuga").post(
            f"/api/v1{path}/correction", json={**body, "version": corrected["version"]}
        )
        assert r.status_code == 409
        assert "終了しました" in r.json()["detail"]


async def test_additional_application_adds_a_missed_municipality(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        filed = await q.filed()
        path = f"/qualifications/applications/{filed['id']}/additions"
        q.at(datetime(2018, 12, 10, 1, 0, tzinfo=UTC))
        r = await q.client("kasuga").post(
            f"/api/v1{path}", json={"version": filed["version"], "targets": ["34100"]}
        )
        assert r.status_code == 400
        assert "広島市" in r.json()["detail"]
        added = await q.call(
            "kasuga",
            "POST",
            path,
            json={
                "version": filed["version"],
                "targets": [CODES["sera"]],
                "no_tax": [CODES["sera"]],
            },
        )
        assert added["targets"][-1] == CODES["sera"]
        assert added["kind"] == "addition"
        sera = await q.call("sera", "GET", f"/qualifications/applications/{filed['id']}")
        assert sera["targets"] == [CODES["sera"]]
        assert sera["no_tax"] == [CODES["sera"]]


async def test_the_ic_card_subject_is_kept_when_the_proxy_passes_one(
    settings: Settings, tmp_path: Path
) -> None:
    """第1 3: filings are signed with the e-bidding IC card. Kura signs in by ID and password
    today; when the TLS proxy passes a verified client certificate's subject in the configured
    header, the filing and its audit event keep it. Without the setting the header is
    ignored (a client could forge it)."""
    dn = "CN=春日 太郎,OU=入札,O=春日建設株式会社,C=JP"
    header = {"X-SSL-Client-S-DN": dn.encode()}  # UTF-8 bytes, as the proxy writes them
    auth = settings.auth.model_copy(update={"client_cert_header": "X-SSL-Client-S-DN"})
    for configured in (False, True):
        root = tmp_path / ("configured" if configured else "plain")
        root.mkdir()
        # One store per world (on MongoDB a database of its own, dropped with the base one).
        records = settings.records.model_copy(
            update={"mongo_db": f"{settings.records.mongo_db}_{root.name}"}
        )
        here = settings.model_copy(
            update={
                "data_dir": root / "data",
                "records": records,
                **({"auth": auth} if configured else {}),
            }
        )
        async with qual_world(here, root) as q:
            draft = await q.save(await q.draft(), valid_values())
            draft = await q.nouzei(draft)
            filed = await q.call(
                "kasuga",
                "POST",
                f"/qualifications/drafts/{draft['id']}/send",
                json={"version": draft["version"]},
                headers=header,
            )
            assert filed["certificate_subject"] == (dn if configured else None)
            events = [
                e
                async for e in q.container.records.scan("audit_events")
                if e.get("action") == "qualifications.application_sent"
            ]
            assert events[-1]["detail"]["certificate_subject"] == (dn if configured else None)
            # 訂正申請 (第3 2) after the period: the entry and its event keep it too.
            q.at(datetime(2018, 11, 26, 1, 0, tzinfo=UTC))
            company = {**filed["values"]["company"], "phone": "084-921-9999"}
            corrected = await q.call(
                "kasuga",
                "POST",
                f"/qualifications/applications/{filed['id']}/correction",
                json={"version": filed["version"], "values": {"company": company}},
                headers=header,
            )
            entry = corrected["corrections"][-1]
            assert entry["certificate_subject"] == (dn if configured else None)


async def test_the_export_is_in_receipt_order_after_a_reapplication(
    settings: Settings, tmp_path: Path
) -> None:
    """A re-application keeps its filing's record and takes a new number (第3 1), so record
    order and receipt order differ: the list and both exports follow the receipt numbers."""
    async with qual_world(settings, tmp_path) as q:
        await q.filed("kasuga")  # H31-000001
        await q.filed("seto")  # H31-000002
        draft = await q.draft("kasuga")
        again = await q.send(draft, who="kasuga")  # H31-000003, the first record
        assert again["receipt_no"] == "H31-000003"
        base = f"/qualifications/rounds/{q.round_id}/received"
        listed = await q.call("pref", "GET", base)
        assert [i["receipt_no"] for i in listed["items"]] == ["H31-000002", "H31-000003"]
        r = await q.client("pref").get(f"/api/v1{base}/export.csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [row[0] for row in rows[1:]] == ["H31-000002", "H31-000003"]
        r = await q.client("pref").get(f"/api/v1{base}/export.xlsx")
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        assert [sheet["A2"].value, sheet["A3"].value] == ["H31-000002", "H31-000003"]
