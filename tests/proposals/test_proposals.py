"""Proposals through the HTTP API (seed 001 別表1-1 3, 別表1-2 3): forms as data, defaults from
the work, drafts, required fields by the field, copies, attachments, the printed bundle with
a PDF and an Excel file in order with page numbers, bad form definitions, lists."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pypdf import PdfReader

from api.config import Settings
from api.proposals.printing import Printing
from storage.query import Query
from tests.proposals.harness import (
    BUILDER,
    BUILDER2,
    CHIEF,
    CORRECTOR,
    NOBODY,
    OPERATOR,
    STRANGER,
    SUP,
    VIEWER,
    Harness,
    harness,
)
from tests.proposals.test_workflow import route

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


def pdf_pages(*texts: str) -> bytes:
    """A real PDF with one page per text (ReportLab, a dev dependency)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for text in texts:
        c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return out.getvalue()


def xlsx_book() -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("数量表")
    sheet.write_row(0, 0, ["工種", "数量", "単位"], bold)
    sheet.write_row(1, 0, ["区画線工 実線15cm", 1250, "m"])
    sheet.write_row(2, 0, ["区画線工 破線15cm", 480, "m"])
    book.close()
    return out.getvalue()


def docx_file() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("施工計画書（抜粋）", level=1)
    document.add_paragraph("夜間施工の安全対策について記す。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "時間帯"
    table.cell(0, 1).text = "20:00〜翌5:00"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_standard_forms_are_shipped_as_data(h: Harness) -> None:
    """Issue 10 §1: the seven standard forms, as data with fields and a layout."""
    forms = await h.ok(BUILDER, "GET", "/proposal-forms")
    names = {f["name"] for f in forms["items"]}
    assert names >= {
        "工事打合せ簿",
        "業務打合せ簿",
        "材料確認書",
        "段階確認書",
        "確認・立会依頼書",
        "工事履行報告書",
        "休日・夜間作業届",
    }
    koji = await h.ok(BUILDER, "GET", "/proposal-forms/koji_uchiawase")
    matter = next(f for f in koji["definition"]["fields"] if f["key"] == "matter")
    assert matter["choices"] == ["指示", "協議", "通知", "承諾", "提出", "報告", "届出", "その他"]
    sides = {f.get("side") for f in koji["definition"]["fields"] if f.get("part") == "answer"}
    assert sides == {"orderer", "contractor"}  # 処理・回答 by both sides


async def test_a_new_proposal_takes_the_works_basic_information(h: Harness) -> None:
    """1(3), 3(3): the work's basic information fills the form."""
    work = await h.work()
    new = await h.ok(BUILDER, "GET", f"/works/{work['id']}/proposals/new?form_id=koji_uchiawase")
    assert new["values"]["work_title"] == "福山市春日町2丁目ほか道路標示工事"
    assert new["values"]["work_number"] == work["number"]
    assert new["values"]["proposer_side"] == "受注者"
    assert new["values"]["proposed_date"] == "2026-06-08"
    report = await h.ok(BUILDER, "GET", f"/works/{work['id']}/proposals/new?form_id=rikou_houkoku")
    assert report["values"]["period"] == "2026-06-01 〜 2026-08-31"


async def test_drafts_are_saved_edited_deleted_and_private(h: Harness) -> None:
    """3(5)(6): drafts saved, edited, deleted; a draft is its proposer's alone."""
    work = await h.work()
    draft = await h.draft(work["id"], title="")
    assert draft["state"] == "draft"
    for other in (BUILDER2, SUP):
        assert (await h.call(other, "GET", f"/api/v1/proposals/{draft['id']}")).status_code == 404
    listed = await h.ok(SUP, "GET", f"/works/{work['id']}/proposals")
    assert listed["items"] == []
    edited = await h.ok(
        BUILDER,
        "PATCH",
        f"/proposals/{draft['id']}",
        json={"version": draft["version"], "title": "下書きの件名"},
    )
    assert edited["title"] == "下書きの件名"
    r = await h.call(
        BUILDER, "DELETE", f"/api/v1/proposals/{draft['id']}?version={draft['version']}"
    )
    assert r.status_code == 409  # stale version: nothing deleted
    await h.ok(BUILDER, "DELETE", f"/proposals/{draft['id']}?version={edited['version']}", 204)
    assert await h.container.records.get("proposals", draft["id"]) is None
    assert await h.audit("proposals.deleted")


async def test_every_missing_required_field_is_named_at_submission(h: Harness) -> None:
    """3(2): an error for every missing required field, by the field; nothing submitted."""
    work = await h.work()
    draft = await h.ok(
        BUILDER,
        "POST",
        f"/works/{work['id']}/proposals",
        201,
        json={"form_id": "koji_uchiawase", "title": "", "values": {"matter": "その他"}},
    )
    r = await h.act(BUILDER, draft["id"], "submit", 400, route=route(("approve", [SUP])))
    fields = [e["field"] for e in r["errors"]]
    assert fields == [
        "title",
        "proposer_side",
        "proposed_date",
        "matter_other",
        "work_title",
        "subject",
        "content",
    ]
    assert r["errors"][1]["message"] == "発議者を入力してください。"
    stored = await h.container.records.get("proposals", draft["id"])
    assert stored is not None
    assert stored["state"] == "draft"
    # Shape errors are refused even in a draft, by the field.
    r = await h.call(
        BUILDER,
        "PATCH",
        f"/api/v1/proposals/{draft['id']}",
        json={"version": stored["version"], "values": {"matter": "雑談", "drawings": "三"}},
    )
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["matter", "drawings"]


async def test_new_from_an_earlier_proposal(h: Harness) -> None:
    """3(4): a new proposal from the content of an earlier one."""
    work = await h.work()
    first = await h.draft(work["id"], route=route(("approve", [SUP])))
    copy = await h.ok(
        BUILDER, "POST", f"/works/{work['id']}/proposals", 201, json={"copy_from": first["id"]}
    )
    assert copy["values"] == first["values"]
    assert copy["route"] == first["route"]
    assert copy["copied_from"] == first["id"]
    other = await h.work()
    r = await h.call(
        BUILDER, "POST", f"/api/v1/works/{other['id']}/proposals", json={"copy_from": first["id"]}
    )
    assert r.status_code == 400


async def test_a_copy_takes_the_bundle_as_new_attachments(h: Harness) -> None:
    """3(4): a new proposal from an earlier one takes its bundle too (same files, order and
    pages) as attachments of its own, sharing the content; the earlier proposal keeps its
    files when the copy lets one go; ``copy_attachments: false`` leaves them out."""
    work = await h.work()
    pdf = await h.upload(
        BUILDER, work["id"], "交通量調査.pdf", pdf_pages("P1", "P2", "P3"), "application/pdf"
    )
    sheet = await h.upload(
        BUILDER,
        work["id"],
        "数量表.xlsx",
        xlsx_book(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    first = await h.draft(work["id"], attachments=[{"id": sheet}, {"id": pdf, "pages": [3, 1]}])
    extra = await h.upload(BUILDER, work["id"], "追加.pdf", pdf_pages("EXTRA"), "application/pdf")
    copy = await h.ok(
        BUILDER,
        "POST",
        f"/works/{work['id']}/proposals",
        201,
        json={"copy_from": first["id"], "attachments": [{"id": extra}]},
    )
    ids = [a["id"] for a in copy["attachments"]]
    assert len(ids) == 3
    assert not {sheet, pdf} & set(ids)
    assert [a["pages"] for a in copy["attachments"]] == [None, [3, 1], None]
    seen = await h.get(BUILDER, copy["id"])
    assert [f["name"] for f in seen["bundle"]] == ["数量表.xlsx", "交通量調査.pdf", "追加.pdf"]
    originals = {a["id"]: a for a in await h.container.records.get_many("attachments", [pdf])}
    copied = await h.container.records.get("attachments", ids[1])
    assert copied is not None
    assert copied["sha256"] == originals[pdf]["sha256"]
    assert copied["parent"] == f"proposals/{copy['id']}"
    blob = await h.container.records.get("blobs", f"{copied['scope']}:{copied['sha256']}")
    assert blob is not None
    assert blob["refs"] == 2
    # The copy's printed bundle has the same pages in the same order.
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{copy['id']}/pdf")
    text = [p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages]
    first_p3 = next(i for i, t in enumerate(text) if "P3" in t)
    assert first_p3 < next(i for i, t in enumerate(text) if "P1" in t)
    # Dropping the copied file from the copy leaves the earlier proposal's file alone.
    await h.ok(
        BUILDER,
        "PATCH",
        f"/proposals/{copy['id']}",
        json={"version": copy["version"], "attachments": [{"id": ids[0]}]},
    )
    assert await h.container.records.get("attachments", pdf) is not None
    blob = await h.container.records.get("blobs", f"{copied['scope']}:{copied['sha256']}")
    assert blob is not None
    assert blob["refs"] == 1
    r = await h.call(BUILDER, "GET", f"/api/v1/attachments/{pdf}/content")
    assert r.status_code == 200
    # Without the files.
    bare = await h.ok(
        BUILDER,
        "POST",
        f"/works/{work['id']}/proposals",
        201,
        json={"copy_from": first["id"], "copy_attachments": False},
    )
    assert bare["attachments"] == []
    # A reader of the copy who cannot read the earlier draft never reaches its files: the
    # earlier draft is the proposer's alone, so another contractor cannot copy it.
    r = await h.call(
        BUILDER2, "POST", f"/api/v1/works/{work['id']}/proposals", json={"copy_from": first["id"]}
    )
    assert r.status_code == 404


async def test_a_proposal_keeps_its_form_version(h: Harness) -> None:
    """Issue 10 §1: an operator revises a form; a proposal keeps the version it was made with."""
    work = await h.work()
    draft = await h.draft(work["id"])
    form = await h.ok(OPERATOR, "GET", "/proposal-forms/koji_uchiawase")
    definition = form["definition"]
    definition["fields"].append({"key": "weather", "label": "天候", "type": "text"})
    await h.ok(
        BUILDER,
        "PUT",
        "/proposal-forms/koji_uchiawase",
        403,
        json={"version": form["form"]["version"], "definition": definition},
    )
    revised = await h.ok(
        OPERATOR,
        "PUT",
        "/proposal-forms/koji_uchiawase",
        json={"version": form["form"]["version"], "definition": definition},
    )
    assert revised["current_version"] == 2
    p = await h.get(BUILDER, draft["id"])
    assert p["form"]["version"] == 1
    assert p["form"]["current_version"] == 2
    assert "weather" not in [f["key"] for f in p["form"]["definition"]["fields"]]
    newer = await h.draft(work["id"])
    assert newer["form_version"] == 2


async def test_bad_form_definitions_are_refused_with_the_reason(h: Harness) -> None:
    """Issue 10 "Bad input": a loop among field references, an unknown field type."""
    loop = {
        "name": "試験様式",
        "fields": [
            {"key": "a", "label": "A", "type": "text", "default": {"field": "b"}},
            {"key": "b", "label": "B", "type": "text", "show_if": {"field": "a", "equals": "x"}},
        ],
    }
    r = await h.call(OPERATOR, "POST", "/api/v1/proposal-forms", json={"definition": loop})
    assert r.status_code == 400
    assert "循環" in r.json()["detail"]
    assert "a → b → a" in r.json()["detail"]
    unknown = {"name": "試験様式", "fields": [{"key": "a", "label": "A", "type": "signature"}]}
    r = await h.call(OPERATOR, "POST", "/api/v1/proposal-forms", json={"definition": unknown})
    assert r.status_code == 400
    assert "種類「signature」" in r.json()["detail"]
    r = await h.call(STRANGER, "POST", "/api/v1/proposal-forms", json={"definition": unknown})
    assert r.status_code == 403  # system-wide forms are the operators'
    assert await h.container.records.count("proposal_forms") == 7


async def test_the_bundle_prints_form_pdf_and_excel_in_order_with_page_numbers(h: Harness) -> None:
    """3(8)-(10): the form first, then a PDF's chosen pages and an Excel sheet, in the kept
    order, one PDF with page numbers."""
    work = await h.work()
    pdf = await h.upload(
        BUILDER,
        work["id"],
        "交通量調査.pdf",
        pdf_pages("PAGE-ONE", "PAGE-TWO", "PAGE-THREE"),
        "application/pdf",
    )
    xlsx = await h.upload(
        BUILDER,
        work["id"],
        "数量表.xlsx",
        xlsx_book(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    word = await h.upload(
        BUILDER,
        work["id"],
        "施工計画.docx",
        docx_file(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    draft = await h.draft(
        work["id"], attachments=[{"id": xlsx}, {"id": pdf, "pages": [3, 1]}, {"id": word}]
    )
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{draft['id']}/pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages]
    total = len(pages)
    first = next(i for i, text in enumerate(pages) if "区画線工 実線15cm" in text)
    assert first >= 1
    assert "工事打合せ簿" in pages[0]
    assert "区画線の施工時期について" in pages[0]
    assert "数量表" in pages[first]
    assert "1,250" in pages[first]
    assert "PAGE-THREE" in pages[first + 1]
    assert "PAGE-ONE" in pages[first + 2]
    assert "施工計画書（抜粋）" in pages[first + 3]
    assert "20:00〜翌5:00" in pages[first + 3]
    assert total == first + 4
    for number, text in enumerate(pages, start=1):
        assert f"{number} / {total}" in text
    # The detail lists the bundle in its order with names.
    p = await h.get(BUILDER, draft["id"])
    assert [b["name"] for b in p["bundle"]] == ["数量表.xlsx", "交通量調査.pdf", "施工計画.docx"]
    # The attachments are read by whoever reads the proposal (a submitted one).
    await h.act(BUILDER, draft["id"], "submit", route=route(("approve", [SUP])))
    assert (await h.call(VIEWER, "GET", f"/api/v1/attachments/{pdf}/content")).status_code == 200
    assert (await h.call(STRANGER, "GET", f"/api/v1/attachments/{pdf}/content")).status_code == 404


async def test_a_page_that_does_not_exist_is_named(h: Harness) -> None:
    work = await h.work()
    pdf = await h.upload(BUILDER, work["id"], "一枚.pdf", pdf_pages("ONLY"), "application/pdf")
    draft = await h.draft(work["id"], attachments=[{"id": pdf, "pages": [2]}])
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{draft['id']}/pdf")
    assert r.status_code == 400
    assert "一枚.pdf" in r.json()["detail"]
    assert "2 ページはありません" in r.json()["detail"]


async def test_a_bundle_naming_another_works_file_is_refused(h: Harness) -> None:
    """Issue 10 "Bad input": nothing is stored."""
    work, other = await h.work(), await h.work()
    foreign = await h.upload(BUILDER, other["id"], "他工事.pdf", pdf_pages("X"), "application/pdf")
    before = await h.container.records.count("proposals")
    r = await h.call(
        BUILDER,
        "POST",
        f"/api/v1/works/{work['id']}/proposals",
        json={"form_id": "koji_uchiawase", "title": "t", "attachments": [{"id": foreign}]},
    )
    assert r.status_code == 400
    assert r.json()["field"] == "attachments"
    assert await h.container.records.count("proposals") == before
    assert (await h.container.records.get("attachments", foreign) or {})["state"] == "staged"


async def test_who_may_create(h: Harness) -> None:
    work = await h.work()
    body = {"form_id": "koji_uchiawase", "title": "t"}
    for who, status in ((VIEWER, 403), (NOBODY, 404), (STRANGER, 404), (OPERATOR, 403), (SUP, 201)):
        r = await h.call(who, "POST", f"/api/v1/works/{work['id']}/proposals", json=body)
        assert r.status_code == status, (who.login_id, r.text)
    r = await h.call(None, "POST", f"/api/v1/works/{work['id']}/proposals", json=body)
    assert r.status_code == 401


async def test_decided_proposals_with_their_stamps_and_pdfs(h: Harness) -> None:
    """The service §4 builds on (MEET/ORG, inspection): decided proposals, stamps, PDFs."""
    work = await h.work()
    draft = await h.draft(work["id"])
    await h.act(
        BUILDER, draft["id"], "submit", route=route(("approve", [SUP]), ("approve", [CHIEF]))
    )
    await h.act(SUP, draft["id"], "approve")
    await h.act(CHIEF, draft["id"], "approve")
    await h.draft(work["id"])  # a draft: not listed
    found = [d async for d in Printing(h.container).decided_with_pdfs(work["id"])]
    assert len(found) == 1
    assert [(s.role, s.name, s.date) for s in found[0].stamps] == [
        ("承認", "監督 一郎", "2026/06/08"),
        ("承認", "総括 二郎", "2026/06/08"),
    ]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(found[0].pdf)).pages)
    assert "承認欄" in text
    assert "総括 二郎" in text
    assert found[0].file_name == "0001_工事打合せ簿.pdf"


async def test_lists_across_works_and_the_inbox_agree(h: Harness) -> None:
    """4(4)-(7): one work's list, the supervisor's list across works with the columns of 4(6),
    filtered and sorted; the inbox count equals the inbox list."""
    works = [await h.work(title=f"道路改良工事 第{i}工区") for i in (1, 2)]
    ids: list[str] = []
    for i, (work, requested) in enumerate(
        zip(works * 2, ["2026-06-19", "2026-06-12", "2026-06-16", "2026-06-10"], strict=True)
    ):
        draft = await h.draft(work["id"], title=f"協議 {i}")
        await h.act(
            BUILDER,
            draft["id"],
            "submit",
            route=route(("approve", [SUP])),
            requested_answer_date=requested,
        )
        ids.append(draft["id"])
    await h.act(SUP, ids[0], "approve")
    listed = await h.ok(SUP, "GET", "/proposals?sort=requested_answer_date&order=asc")
    assert [row["title"] for row in listed["items"]] == ["協議 3", "協議 1", "協議 2", "協議 0"]
    assert len(listed["items"]) == 4
    row = listed["items"][0]
    for column in (
        "work_title",
        "title",
        "status_text",
        "requested_answer_date",
        "received_on",
        "planned_answer_date",
        "answered_on",
    ):
        assert column in row
    assert row["work_title"] == "道路改良工事 第2工区"
    assert "承認 0/1" in row["status_text"]
    assert "監督 一郎" in row["status_text"]
    decided = await h.ok(SUP, "GET", "/proposals?state=decided")
    assert [row["title"] for row in decided["items"]] == ["協議 0"]
    one = await h.ok(SUP, "GET", f"/proposals?work={works[0]['id']}&sort=title&order=asc")
    assert [row["title"] for row in one["items"]] == ["協議 0", "協議 2"]
    text = await h.ok(SUP, "GET", "/proposals?q=第2工区&sort=title&order=asc")
    assert [row["title"] for row in text["items"]] == ["協議 1", "協議 3"]
    inbox = await h.ok(SUP, "GET", "/proposals/inbox")
    count = await h.ok(SUP, "GET", "/proposals/inbox/count")
    assert inbox["total"] == count["count"] == len(inbox["items"]) == 3
    assert {row["action"] for row in inbox["items"]} == {"approve"}
    # Another organization sees none of them; the work's viewer sees the submitted ones.
    assert (await h.ok(STRANGER, "GET", "/proposals"))["items"] == []
    assert len((await h.ok(VIEWER, "GET", "/proposals"))["items"]) == 4
    paged = await h.ok(SUP, "GET", "/proposals?limit=3&sort=title")
    rest = await h.ok(SUP, "GET", f"/proposals?limit=3&sort=title&cursor={paged['next_cursor']}")
    assert len(paged["items"]) == 3
    assert len(rest["items"]) == 1


async def test_lists_merge_what_the_reader_may_see_in_order(h: Harness) -> None:
    """4(5)-(7): a list is the union of the submitted proposals of the reader's works, those
    of the works their organization orders (organization-wide readers) and their own drafts
    never submitted, merged in the chosen order; the cursor resumes all of them, no row twice
    and none missing; another proposer's draft never appears (3(5))."""
    works = [await h.work(title=f"道路改良工事 第{i}工区") for i in (1, 2)]
    titles = {"a": 0, "b": 1, "d": 1, "e": 0}
    for title, w in titles.items():
        draft = await h.draft(works[w]["id"], title=title)
        await h.act(BUILDER, draft["id"], "submit", route=route(("approve", [SUP])))
    await h.draft(works[0]["id"], title="c")  # BUILDER's own draft
    await h.draft(works[1]["id"], subject=BUILDER2, title="f")  # someone else's

    async def walk(who: object, order: str) -> list[str]:
        seen: list[str] = []
        cursor = ""
        while True:
            page = await h.ok(
                who,  # type: ignore[arg-type]
                "GET",
                f"/proposals?sort=title&order={order}&limit=2"
                + (f"&cursor={cursor}" if cursor else ""),
            )
            seen += [row["title"] for row in page["items"]]
            if not page["next_cursor"]:
                return seen
            cursor = page["next_cursor"]

    assert await walk(BUILDER, "asc") == ["a", "b", "c", "d", "e"]
    assert await walk(BUILDER, "desc") == ["e", "d", "c", "b", "a"]
    assert await walk(CORRECTOR, "asc") == ["a", "b", "d", "e"]  # org-wide, no membership
    assert await walk(SUP, "asc") == ["a", "b", "d", "e"]
    assert await walk(BUILDER2, "asc") == ["a", "b", "d", "e", "f"]
    states = await h.ok(BUILDER, "GET", "/proposals?state=draft&sort=title")
    assert [row["title"] for row in states["items"]] == ["c"]
    one = await h.ok(BUILDER, "GET", f"/proposals?work={works[0]['id']}&sort=title&order=asc")
    assert [row["title"] for row in one["items"]] == ["a", "c", "e"]


async def test_a_page_over_a_few_chosen_works_keeps_the_order_however_rows_spread(
    h: Harness,
) -> None:
    """4(5)(7): the list over chosen works asks each work's sub-query for a share of the page
    first and the rest only when needed; whether one work holds (nearly) the whole page or the
    rows interleave, every page is in order, no row twice and none missing."""
    works = [await h.work(title=f"道路改良工事 第{i}工区") for i in range(4)]
    plan = (
        [(0, f"a{n:02d}") for n in range(22)]  # work 0 holds the first page (ascending)
        + [(1, "a01w1"), (1, "a11w1")]  # interleaved with work 0
        + [(w, f"b{n}w{w}") for w in (2, 3) for n in range(3)]  # first when descending
    )
    titles: list[str] = []
    for w, title in plan:
        draft = await h.draft(works[w]["id"], title=title)
        await h.act(BUILDER, draft["id"], "submit", route=route(("approve", [SUP])))
        titles.append(title)
    chosen = "".join(f"&work={w['id']}" for w in works)

    async def walk(order: str, limit: int) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor = ""
        while True:
            page = await h.ok(
                SUP,
                "GET",
                f"/proposals?sort=title&order={order}&limit={limit}{chosen}"
                + (f"&cursor={cursor}" if cursor else ""),
            )
            pages.append([row["title"] for row in page["items"]])
            if not page["next_cursor"]:
                return pages
            cursor = page["next_cursor"]

    expected = sorted(titles)  # code point order, as the store compares strings
    asked: list[int] = []
    find = h.container.records.find

    async def spy(collection: str, query: Query) -> Any:
        if collection == "proposals":
            asked.append(query.limit)
        return await find(collection, query)

    h.container.records.find = spy  # type: ignore[method-assign]
    try:
        for limit in (20, 7):
            for order, want in (("asc", expected), ("desc", expected[::-1])):
                pages = await walk(order, limit)
                assert [t for p in pages for t in p] == want, (order, limit)
                assert all(len(p) == limit for p in pages[:-1])
        asked.clear()
        first = await h.ok(SUP, "GET", f"/proposals?sort=title&order=asc&limit=20{chosen}")
    finally:
        h.container.records.find = find  # type: ignore[method-assign]
    assert [row["title"] for row in first["items"]] == expected[:20]
    # Four works and the reader's own drafts: a share of 10 each, then work 0 again in full.
    assert asked == [10] * 5 + [20]


async def test_the_bundle_printed_by_a_child_is_the_in_process_bundle(h: Harness) -> None:
    """Issue 10 "Measured": a bundle with files is printed by a child process (the app's
    process does not grow by it); its bytes are those ``api.pdf.bundle`` prints in-process,
    and a file that is not a PDF is refused as before, naming the file (400, not 5xx)."""
    from api.pdf import BundlePart, bundle
    from api.proposals.models import PROPOSALS

    work = await h.work()
    pdf = await h.upload(
        BUILDER, work["id"], "交通量調査.pdf", pdf_pages("P1", "P2", "P3"), "application/pdf"
    )
    draft = await h.draft(work["id"], attachments=[{"id": pdf, "pages": [3, 1]}])
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{draft['id']}/pdf")
    assert r.status_code == 200
    printing = Printing(h.container)
    p = await h.container.records.get(PROPOSALS, draft["id"])
    w = await h.container.records.get("works", work["id"])
    record = await h.container.records.get("attachments", pdf)
    assert p is not None
    assert w is not None
    assert record is not None
    parts = [
        BundlePart(await printing.form_pdf(p, w), name="発議書類"),
        BundlePart(await printing._converted(record), name="交通量調査.pdf", pages=[3, 1]),
    ]
    assert r.content == await bundle(h.container.pdf, parts, label="No.-")
    broken = await h.upload(
        BUILDER, work["id"], "壊れた資料.pdf", b"%PDF-1.4 not really", "application/pdf"
    )
    bad = await h.draft(work["id"], attachments=[{"id": broken}])
    r = await h.call(BUILDER, "GET", f"/api/v1/proposals/{bad['id']}/pdf")
    assert r.status_code == 400
    assert "「壊れた資料.pdf」: PDFとして読み取れません。" in r.json()["detail"]
