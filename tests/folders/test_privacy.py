"""The personal-data warning (seed 001 §3-2: 個人情報等が含まれる機密性の高い資料等は、情報共有
システム内で取り扱ってはならない): identifiers found in a file's text, the warning before the
file is sent (a staged attachment) or right after it was registered (a document), recorded
with the user's answer."""

from __future__ import annotations

import io

import openpyxl
import pytest

from api.privacy.detect import luhn_valid, my_number_check_digit, scan_text, valid_my_number
from tests.folders.support import folders, upload
from tests.proposals.harness import API, BUILDER, SUP, VIEWER, Harness

pytestmark = pytest.mark.anyio


def test_my_number_check_digit_of_the_cabinet_order() -> None:
    """施行令第8条, worked by hand for 12345678901□: from the right the digits 1,0,9,8,7,6,5,4,3,
    2,1 weigh 2,3,4,5,6,7,2,3,4,5,6 → 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3;
    11 - 3 = 8. For 00000000001□: 1·2 = 2, 11 - 2 = 9. For 10000000000□: 1·6 = 6 → 5.
    A remainder of 0 or 1 gives 0: 00000000000□ → 0."""
    assert my_number_check_digit("12345678901") == 8
    assert my_number_check_digit("00000000001") == 9
    assert my_number_check_digit("10000000000") == 5
    assert my_number_check_digit("00000000000") == 0
    assert valid_my_number("123456789018")
    assert not valid_my_number("123456789012")


def test_luhn_of_the_published_test_card_numbers() -> None:
    """ISO/IEC 7812-1 Annex B; 4111 1111 1111 1111 is the networks' published Visa test number."""
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_what_is_found_and_how_it_is_masked() -> None:
    text = (
        "申請者の個人番号：１２３４－５６７８－９０１８\n"
        "カード 4111 1111 1111 1111\n"
        "基礎年金番号 1234-567890、口座番号 1234567\n"
        "生年月日 昭和55年4月1日\n"
        "発注番号 123456789012（検査数字が合わない）\n"
        "法人番号 1234567890123\n"
    )
    found = scan_text(text, 2)
    kinds = [f.kind for f in found]
    assert sorted(kinds) == sorted(["my_number", "card", "pension", "bank_account", "birth_date"])
    mine = next(f for f in found if f.kind == "my_number")
    assert mine.masked == "********9018"
    assert mine.page == 2
    assert all("1234567890" not in f.masked for f in found)
    # A valid-looking 12-digit number without the words is reported as possible only.
    assert [f.kind for f in scan_text("番号 123456789018")] == ["my_number_possible"]
    assert scan_text("工事番号 R8-001 延長 120m 単価 12,345,678,901") == []


async def test_an_attachment_is_warned_before_it_is_sent_and_the_answer_recorded(
    h: Harness,
) -> None:
    """A staged attachment (not sent yet) holding a 個人番号 gets a warning; the warning and the
    uploader's answer are recorded and audited."""
    work = await h.work()
    aid = await h.upload(
        BUILDER,
        work["id"],
        "名簿.txt",
        "作業員名簿\n個人番号 1234 5678 9018\n".encode(),
        "text/plain",
    )
    check = await h.ok(BUILDER, "POST", "/privacy/checks", json={"kind": "attachment", "id": aid})
    assert check["state"] == "warning"
    assert check["kinds"] == ["my_number"]
    assert check["findings"][0]["masked"] == "********9018"
    warned = await h.audit("privacy.warned")
    assert len(warned) == 1
    assert warned[0]["target"] == f"attachments/{aid}"
    # Asking again answers from the record: one warning, not two.
    await h.ok(BUILDER, "POST", "/privacy/checks", json={"kind": "attachment", "id": aid})
    assert len(await h.audit("privacy.warned")) == 1
    # Someone else cannot see another user's staged file.
    r = await h.call(SUP, "POST", f"{API}/privacy/checks", json={"kind": "attachment", "id": aid})
    assert r.status_code == 404
    r = await h.call(
        BUILDER, "POST", f"{API}/privacy/checks/{check['id']}/decision", json={"action": "kept"}
    )
    assert r.status_code == 400
    assert r.json()["field"] == "reason"
    answer = await h.ok(
        BUILDER,
        "POST",
        f"/privacy/checks/{check['id']}/decision",
        json={"action": "removed"},
    )
    assert answer["decision"]["action"] == "removed"
    # removed: the staged file is gone, in the same step
    assert await h.container.records.get("attachments", aid) is None
    assert len(await h.audit("privacy.acknowledged")) == 1
    clean = await h.upload(
        BUILDER, work["id"], "工程表.txt", "工程表 6月 掘削".encode(), "text/plain"
    )
    assert (
        await h.ok(BUILDER, "POST", "/privacy/checks", json={"kind": "attachment", "id": clean})
    )["state"] == "clear"


async def test_a_document_with_personal_data_is_marked_in_the_list(h: Harness) -> None:
    """A document registered in a folder is checked (Excel text too); the list shows the
    warning, and the work's warnings are listed for the supervisor."""
    work = await h.work()
    wid = work["id"]
    await folders(h, wid)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["氏名", "基礎年金番号"])
    sheet.append(["春日 太郎", "基礎年金番号 1234-567890"])
    data = io.BytesIO()
    book.save(data)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    doc = await upload(h, wid, "/09_安全管理", "名簿.xlsx", data.getvalue(), xlsx)
    check = await h.ok(BUILDER, "POST", "/privacy/checks", json={"kind": "file", "id": doc["id"]})
    assert check["state"] == "warning"
    assert check["kinds"] == ["pension"]
    listed = await h.ok(VIEWER, "GET", f"/works/{wid}/documents")
    mine = next(d for d in listed["items"] if d["id"] == doc["id"])
    assert mine["personal_data"]["count"] == 1
    kept = await h.ok(
        BUILDER,
        "POST",
        f"/privacy/checks/{check['id']}/decision",
        json={"action": "kept", "reason": "番号は黒塗り済みの様式見本です。"},
    )
    assert kept["decision"]["reason"] == "番号は黒塗り済みの様式見本です。"
    r = await h.call(
        VIEWER,
        "POST",
        f"{API}/privacy/checks/{check['id']}/decision",
        json={"action": "kept", "reason": "x"},
    )
    assert r.status_code == 403
    warnings = await h.ok(SUP, "GET", f"/works/{wid}/privacy-checks")
    assert [w["target"] for w in warnings] == [f"nodes/{doc['id']}"]
    # Answering "removed" deletes the document with the answer recorded (files.delete).
    other = await upload(
        h, wid, "/09_安全管理", "名簿2.txt", "個人番号 1234-5678-9018".encode(), "text/plain"
    )
    second = await h.ok(
        BUILDER, "POST", "/privacy/checks", json={"kind": "file", "id": other["id"]}
    )
    r = await h.call(
        VIEWER, "POST", f"{API}/privacy/checks/{second['id']}/decision", json={"action": "removed"}
    )
    assert r.status_code == 403
    assert await h.container.records.get("nodes", other["id"]) is not None
    await h.ok(
        BUILDER, "POST", f"/privacy/checks/{second['id']}/decision", json={"action": "removed"}
    )
    assert await h.container.records.get("nodes", other["id"]) is None
    assert len(await h.audit("privacy.acknowledged")) == 2
