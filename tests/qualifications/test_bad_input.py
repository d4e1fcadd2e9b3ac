"""Bad input (issue 14 "Bad input"): a clear message by the field, nothing half-stored, nothing
typed lost; the 経審 import refuses a file with any bad line whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from api.config import Settings
from tests.qualifications.harness import (
    REVIEW_HEADER,
    REVIEW_ROWS,
    qual_world,
    review_csv,
    valid_values,
)

pytestmark = pytest.mark.anyio


async def test_review_import_refuses_bad_files_whole_and_reads_excel(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path, reviews=False) as q:
        rows = [list(r) for r in REVIEW_ROWS]
        rows[1][5] = "宇宙工事"
        rows[2][17] = "ある"
        aid = await q.upload("operator", "bad.csv", review_csv(rows), "text/csv")
        r = await q.client("operator").post(
            "/api/v1/qualifications/review-sets",
            json={"attachment_id": aid, "source": "x", "as_of": "2018-10-31"},
        )
        assert r.status_code == 400
        assert r.json()["errors"] == [
            {"line": 3, "message": "業種「宇宙工事」は区分表にありません。"},
            {"line": 4, "message": "保険の列は「有」「無」「適用除外」のいずれかです。"},
        ]
        assert await q.container.records.count("qual_reviews") == 0
        assert await q.container.records.count("qual_review_sets") == 0
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(REVIEW_HEADER)
        for row in REVIEW_ROWS:
            sheet.append([int(c) if c.isdigit() and i >= 7 else c for i, c in enumerate(row)])
        out = io.BytesIO()
        book.save(out)
        stored = await q.import_reviews(out.getvalue(), "keishin.xlsx")
        assert stored["companies"] == 2
        assert stored["lines"] == 4
        assert stored["state"] == "current"
        again = await q.import_reviews()
        sets = await q.call("operator", "GET", "/qualifications/review-sets")
        assert [(s["id"], s["state"]) for s in sets] == [
            (again["id"], "current"),
            (stored["id"], "replaced"),
        ]


async def test_a_draft_keeps_what_was_typed_and_refuses_what_no_form_sends(
    settings: Settings, tmp_path: Path
) -> None:
    async with qual_world(settings, tmp_path) as q:
        draft = await q.draft()
        values = valid_values(targets=["34000", "34100"])  # 広島市: excluded (第1 1)
        values["company"]["name_kana"] = "ｶｽｶﾞｹﾝｾﾂ"
        values["offices"]["items"][1]["categories"] = ["13", "02"]
        draft = await q.save(draft, values)
        assert draft["values"]["company"]["name_kana"] == "ｶｽｶﾞｹﾝｾﾂ"  # stored as typed
        found = {e["field"]: e for e in draft["errors"]["entry"] + draft["errors"]["offices"]}
        assert (
            found["targets"]["message"]
            == "このシステムで申請できない自治体が含まれています（広島市）。"
        )
        assert found["company.name_kana"]["suggestion"] == "カスガケンセツ"
        assert "建築一式工事" in found["offices.items.1.categories"]["message"]
        # Sending with errors: every error listed, nothing stored.
        problem = await q.send(draft, 400)
        assert len(problem["errors"]) == 3
        assert await q.container.records.count("qual_applications") == 0
        # Control characters never come from the form: refused, the draft unchanged.
        r = await q.client("kasuga").patch(
            f"/api/v1/qualifications/drafts/{draft['id']}",
            json={"version": draft["version"], "values": {"company": {"name": "春日\u202e建設"}}},
        )
        assert r.status_code == 400
        assert r.json()["field"] == "company.name"
        # Another company's attachment cannot be put into this draft.
        foreign = await q.upload("seto", "nouzei.xml", b"<x/>", "application/xml")
        r = await q.client("kasuga").patch(
            f"/api/v1/qualifications/drafts/{draft['id']}",
            json={
                "version": draft["version"],
                "values": {"attachment": {"id": foreign, "title": "nouzei", "checked": True}},
            },
        )
        assert r.status_code == 400
        assert r.json()["field"] == "attachments"
        again = await q.call("kasuga", "GET", f"/qualifications/drafts/{draft['id']}")
        assert again["version"] == draft["version"]
        # Two tabs: the later save with the old version gets 409 and changes nothing.
        await q.save(draft, {"targets": ["34000"]})
        r = await q.client("kasuga").patch(
            f"/api/v1/qualifications/drafts/{draft['id']}",
            json={"version": draft["version"], "values": {"targets": ["34202"]}},
        )
        assert r.status_code == 409


async def test_each_bad_input_of_the_issue_is_refused_at_send_by_its_field(
    settings: Settings, tmp_path: Path
) -> None:
    """Issue 14 "Bad input" through the API: a wrong 法人番号 check digit (第2 3(2)), a category
    without its base (第1 4(1)オ), an office category not applied for (第2 4(8)), the
    certificate under another name, a non-ASCII title and another type (第2 5); a 経審 mismatch
    (第2 6(2)イ). Each by its field in the guide's wording; nothing filed; the draft keeps
    every value as typed."""
    async with qual_world(settings, tmp_path) as q:
        draft = await q.draft()
        values = valid_values()
        number = values["company"]["corporate_number"]
        wrong = str((int(number[0]) + 1) % 10) + number[1:]
        values["company"]["corporate_number"] = wrong
        del values["review"]["categories"]["01"]  # PC (01p) stays without 土木一式
        values["offices"]["items"][0]["categories"] = ["13"]
        values["offices"]["items"][1]["categories"] = ["13", "02"]  # 02: not applied for
        draft = await q.save(draft, values)
        jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 64
        aid = await q.upload("kasuga", "納税証明書.jpg", jpeg, "image/jpeg")
        draft = await q.save(
            draft,
            {"attachment": {"id": aid, "title": "納税証明", "checked": True}},
            step="attachment",
        )
        problem = await q.send(draft, 400)
        found = {e["field"]: e["message"] for e in problem["errors"]}
        assert found["company.corporate_number"] == (
            "法人番号が正しくありません（検査用数字が一致しません）。"
        )
        assert found["review.categories.01p"] == (
            "プレストレストコンクリート工事を希望する場合は、土木一式工事も希望してください。"
        )
        assert "建築一式工事" in found["offices.items.1.categories"]
        assert found["attachment.title"] == "タイトル名は半角英数字で入力してください。"
        assert found["attachment.file"].startswith(
            "電子納税証明書はファイル名を「nouzei」としてください"
        )
        assert await q.container.records.count("qual_applications") == 0
        kept = await q.call("kasuga", "GET", f"/qualifications/drafts/{draft['id']}")
        assert kept["values"]["company"]["corporate_number"] == wrong
        assert kept["values"]["attachment"]["title"] == "納税証明"
        # Fixed but for a 経審 figure: the mismatch page's error, by the field, nothing filed.
        fixed = valid_values()
        fixed["review"]["categories"]["13"]["p"] = "821"
        draft = await q.save(kept, fixed)
        draft = await q.nouzei(draft)
        problem = await q.send(draft, 400)
        assert problem["code"] == "review_mismatch"
        assert [e["field"] for e in problem["errors"]] == ["review.categories.13.p"]
        assert await q.container.records.count("qual_applications") == 0
