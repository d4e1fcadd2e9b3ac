"""Proposals and the approval workflow in the browser (issue 10 §5; seed 001 別表1-1 3, 4):

A contractor drafts an 工事打合せ簿 from the work's data (3(3)), is told every missing required
field by the field (3(2)), binds a PDF and an Excel file and puts them in order by drag and
drop with chosen pages (3(7)-(10)), looks at the PDF preview, saves a draft (3(5)) and routes
it to the orderer's two approvers, 監督員 then 主任監督員, with the 総括監督員 (the superior)
last (4(8)); the 監督員 sends it back with a reason (4(11)); the contractor revises and submits
again (4(16)); the 監督員, now absent, has named a deputy who approves in his place (代理承認,
4(21)); the 主任監督員 is absent too and the superior approves ahead with 後閲, filling the
処理・回答 (4(13)(22)), and the 主任監督員 reviews afterwards. The history shows every step, the
revision's field diff and the changed pages (4(16)); the supervisors' list across works and the
mail they received (a real SMTP server) agree (4(5)(6)(10)(15)(19)); the printed PDF has the
form first, then the Excel sheet, then the PDF's chosen pages in order, numbered (read with
pypdf). Every page is checked with axe-core (no serious or critical violation) and for
sideways scrolling at 1280 and 1024×768, with screenshots at both sizes.

Also: the pre-meeting stage (別表1-2 4(8)-(13)) and an operator adding a form (issue 10 §1).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.pagecheck import MODULE_SIZES, looks_right, signed_in_pages
from tests.e2e.support import PASSWORD, Api, Server, operator_password, start_server
from tests.support.smtp import SmtpSink

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
WORK_TITLE = "国道2号福山市春日町区画線設置工事"
TITLE = "区画線の施工時期について（協議）"
OTHER_TITLE = "休日作業の届出について"
REASON = "施工時間帯の記載がありません。夜間の時間帯を明記してください。"
PEOPLE = {
    # login id: (name, organization key, role on the work)
    "genba": ("現場 太郎", "contractor", "contractor_member"),
    "kantoku": ("監督 一郎", "orderer", "supervisor"),
    "shunin": ("主任 花子", "orderer", "supervisor"),
    "soukatsu": ("総括 二郎", "orderer", "supervisor"),
    "dairi": ("代理 三郎", "orderer", "supervisor"),
}


@dataclass
class World:
    server: Server
    smtp: SmtpSink
    api: Api  # the operator
    work_id: str
    users: dict[str, str] = field(default_factory=dict)  # login id -> user id
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def as_user(self, login_id: str) -> Api:
        api = Api(self.url)
        api.login(login_id, self.passwords[login_id])
        return api

    def mails_to(self, login_id: str) -> list[tuple[str, str]]:
        address = f"{login_id}@example.jp"
        return [(m.subject, m.body()) for m in list(self.smtp.messages) if address in m.rcpt_tos]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """``kura serve`` delivering mail over SMTP to a test server, an orderer and a contractor,
    the people above on one work (through the API, as an operator would)."""
    from tests.e2e.conftest import _require_environment

    _require_environment()
    smtp = SmtpSink().start()
    root = tmp_path_factory.mktemp("e2e-proposals")
    server = start_server(
        root / "data",
        KURA_MAIL__TRANSPORT="smtp",
        KURA_MAIL__SMTP_HOST=smtp.host,
        KURA_MAIL__SMTP_PORT=str(smtp.port),
        KURA_MAIL__SMTP_SECURITY="none",
        KURA_MAIL__BASE_URL="http://kura.example.jp",
    )
    api = Api(server.url)
    try:
        api.login("admin", operator_password(server), new_password=PASSWORD)
        orgs = {
            "orderer": api.post(
                "/organizations",
                {"kind": "orderer", "name": "国土交通省 福山河川国道事務所", "code": "00012345"},
            )["id"],
            "contractor": api.post(
                "/organizations", {"kind": "contractor", "name": "春日建設株式会社"}
            )["id"],
        }
        users: dict[str, str] = {}
        passwords: dict[str, str] = {"admin": PASSWORD}
        for login_id, (name, org, _) in PEOPLE.items():
            made = api.post(
                "/users",
                {
                    "login_id": login_id,
                    "name": name,
                    "org_id": orgs[org],
                    "email": f"{login_id}@example.jp",
                },
            )
            users[login_id] = made["user"]["id"]
            first = Api(server.url)
            first.login(login_id, made["initial_password"], new_password=PASSWORD)
            first.close()
            passwords[login_id] = PASSWORD
        work = api.post(
            "/works",
            {
                "kind": "construction",
                "title": WORK_TITLE,
                "number": "R8-E2E-PROP",
                "orderer_org_id": orgs["orderer"],
                "contractor_org_ids": [orgs["contractor"]],
                "location": {"address": "広島県福山市春日町3丁目", "municipality_code": "342076"},
                "period_start": "2026-06-01",
                "period_end": "2027-03-31",
                "category": "道路",
                "contract_price": 48_400_000,
            },
        )
        for login_id, (_, _, role) in PEOPLE.items():
            api.post(f"/works/{work['id']}/members", {"user_id": users[login_id], "role": role})
        yield World(server, smtp, api, work["id"], users, passwords)
    finally:
        api.close()
        server.stop()
        smtp.stop()


@pytest.fixture
def open_as(browser: Browser, world: World) -> Iterator[Any]:
    yield from signed_in_pages(browser, world.url, lambda login_id: world.passwords[login_id])


def check_layout(page: Page, name: str) -> None:
    """Screenshots at 1280 and 1024x768, no sideways scrolling, axe-core clean."""
    looks_right(page, name, sizes=MODULE_SIZES)


def pdf_file(*texts: str) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for text in texts:
        c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return out.getvalue()


def xlsx_file() -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("数量表")
    sheet.write_row(0, 0, ["工種", "数量", "単位"], book.add_format({"bold": True}))
    sheet.write_row(1, 0, ["区画線工 実線15cm", 1250, "m"])
    sheet.write_row(2, 0, ["区画線工 破線15cm", 480, "m"])
    book.close()
    return out.getvalue()


def toast(page: Page, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("toast").filter(has_text=text).first).to_be_visible()


def add_person(page: Page, step: int, name: str) -> None:
    """Choose ``name`` in the add-person list of route step ``step`` (0-based)."""
    select = page.get_by_test_id("route-step").nth(step).get_by_test_id("route-add-person")
    label = select.locator("option", has_text=name).first.inner_text()
    select.select_option(label=label)


def test_a_proposal_from_draft_to_decision(world: World, open_as: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect
    from pypdf import PdfReader

    # -- the contractor drafts an 工事打合せ簿 from the work's data (3(1)(3)) ------------------
    genba: Page = open_as("genba")
    genba.goto(f"/#/works/{world.work_id}")
    genba.get_by_test_id("work-proposals").click()
    expect(genba.locator("main h1").first).to_have_text(WORK_TITLE)
    genba.get_by_test_id("proposal-new").click()
    genba.get_by_test_id("form-choice").filter(has_text="工事打合せ簿").click()
    form = genba.get_by_test_id("proposal-form")
    form.wait_for()
    expect(genba.get_by_test_id("pf-work_title-input")).to_have_value(WORK_TITLE)
    expect(genba.get_by_test_id("pf-work_number-input")).to_have_value("R8-E2E-PROP")
    expect(genba.get_by_test_id("pf-proposer_side").get_by_label("受注者")).to_be_checked()
    check_layout(genba, "proposal-new")

    # 3(2): submitting with required fields missing names each of them under its input.
    genba.get_by_test_id("proposal-submit").click()
    expect(form.locator('[data-field="title"] .field-error')).to_have_text(
        "タイトルを入力してください。"
    )
    expect(form.locator('[data-field="values.matter"] .field-error')).to_contain_text("発議事項")
    expect(form.locator('[data-field="values.subject"] .field-error')).to_contain_text("件名")
    expect(form.locator('[data-field="values.content"] .field-error')).to_contain_text("内容")
    check_layout(genba, "proposal-errors")

    genba.get_by_test_id("proposal-title").fill(TITLE)
    expect(form.locator('[data-field="title"] .field-error')).to_be_hidden()
    expect(form.locator('[data-field="values.subject"] .field-error')).to_be_visible()
    genba.get_by_test_id("pf-matter").get_by_label("協議").check()
    genba.get_by_test_id("pf-subject-input").fill("区画線の施工時期")
    genba.get_by_test_id("pf-content-input").fill("交通量の少ない時間帯に施工したい。")
    genba.get_by_test_id("proposal-importance-important").check()

    # 3(7)-(10): a PDF and an Excel file, put in order by drag and drop, pages chosen.
    pdf = tmp_path / "交通量調査結果.pdf"
    pdf.write_bytes(pdf_file("SURVEY-PAGE-1", "SURVEY-PAGE-2", "SURVEY-PAGE-3"))
    sheet = tmp_path / "数量総括表.xlsx"
    sheet.write_bytes(xlsx_file())
    genba.get_by_test_id("bundle-file-input").set_input_files([str(pdf), str(sheet)])
    items = genba.get_by_test_id("bundle-item")
    expect(items).to_have_count(2, timeout=60_000)
    names = lambda: [i.get_attribute("data-name") for i in items.all()]  # noqa: E731
    first, second = names()
    excel = items.filter(has_text="数量総括表.xlsx")
    survey = items.filter(has_text="交通量調査結果.pdf")
    if first == "交通量調査結果.pdf":
        excel.drag_to(survey, target_position={"x": 20, "y": 2})
    expect(items.first).to_have_attribute("data-name", "数量総括表.xlsx")
    assert names() == ["数量総括表.xlsx", "交通量調査結果.pdf"], (first, second)
    survey.get_by_test_id("bundle-pages").fill("2-3")

    # 4(8): the route: 監督員, then 主任監督員, then the 総括監督員; saved as a template too.
    add_person(genba, 0, "監督 一郎")
    genba.get_by_test_id("route-add-step").click()
    add_person(genba, 1, "主任 花子")
    genba.get_by_test_id("route-add-step").click()
    add_person(genba, 2, "総括 二郎")
    genba.get_by_test_id("route-template-save").click()
    genba.get_by_test_id("route-template-name").fill("監督員→主任→総括")
    genba.get_by_test_id("route-template-confirm").click()
    toast(genba, "経路「監督員→主任→総括」を保存しました。")

    # 3(5): a draft, then the printed bundle previewed.
    genba.get_by_test_id("proposal-save").click()
    toast(genba, "一時保存しました。")
    expect(genba).to_have_url(re.compile(r"#/proposals/[0-9A-Z]{26}/edit$"))
    proposal_id = genba.url.split("#/proposals/")[1].split("/")[0]
    genba.get_by_test_id("proposal-preview").click()
    preview = genba.get_by_test_id("pdf-preview")
    expect(preview.get_by_test_id("pdf-preview-count")).to_have_text(
        re.compile(r"^1 / [4-9] ページ$"), timeout=60_000
    )
    check_layout(genba, "proposal-preview")
    preview.get_by_test_id("pdf-preview-close").click()
    check_layout(genba, "proposal-edit")
    genba.get_by_test_id("proposal-submit").click()
    toast(genba, "発議しました。")
    expect(genba.get_by_test_id("proposal-page")).to_have_attribute("data-state", "in_review")

    # Another proposal of the contractor waits for the 監督員 (the lists show both).
    contractor = world.as_user("genba")
    other = contractor.post(
        f"/works/{world.work_id}/proposals",
        {"form_id": "koji_uchiawase", "title": OTHER_TITLE},
    )
    values = {
        **other["values"],
        "matter": "届出",
        "subject": "休日作業",
        "content": "土曜に作業します。",
    }
    other = contractor.ok(
        contractor.client.patch(
            f"/proposals/{other['id']}", json={"version": other["version"], "values": values}
        )
    )
    route = [{"kind": "approve", "assignees": [world.users["kantoku"]]}]
    contractor.post(
        f"/proposals/{other['id']}/submit", {"version": other["version"], "route": route}
    )
    contractor.close()

    # -- the 監督員 sends it back with the reason (4(11)), and names a deputy (4(21)) ----------
    kantoku: Page = open_as("kantoku")
    expect(kantoku.get_by_test_id("nav-inbox-count")).to_have_text(re.compile(r"^2"))
    kantoku.get_by_test_id("nav-inbox").click()
    inbox = kantoku.get_by_test_id("inbox-table")
    expect(inbox.get_by_test_id("inbox-row")).to_have_count(2)
    check_layout(kantoku, "inbox")
    inbox.get_by_role("link", name=TITLE).click()
    card = kantoku.get_by_test_id("decide")
    card.get_by_test_id("decide-send-back").click()
    card.get_by_test_id("decide-send-back-confirm").click()
    expect(card.locator('[data-field="reason"] .field-error')).to_be_visible()
    card.get_by_test_id("decide-reason").fill(REASON)
    # The message goes once the field is corrected (it read as a new error under the text).
    expect(card.locator('[data-field="reason"] .field-error')).to_be_hidden()
    expect(card.get_by_test_id("decide-reason")).not_to_have_attribute("aria-invalid", "true")
    check_layout(kantoku, "proposal-decide")
    card.get_by_test_id("decide-send-back-confirm").click()
    toast(kantoku, "差し戻しました。")
    expect(kantoku.get_by_test_id("proposal-page")).to_have_attribute("data-state", "sent_back")

    kantoku.goto("/#/delegations")
    deleg = kantoku.get_by_test_id("deleg-form")
    deleg.get_by_test_id("deleg-deputy").select_option(label="代理 三郎")
    deleg.get_by_test_id("deleg-work").select_option(label=WORK_TITLE)
    deleg.get_by_test_id("deleg-submit").click()
    toast(kantoku, "代理者を指定しました。")
    expect(kantoku.get_by_test_id("deleg-row")).to_have_count(1)
    expect(kantoku.get_by_test_id("deleg-row")).to_have_attribute("data-state", "active")
    check_layout(kantoku, "delegations")

    # -- the contractor revises and submits again (4(16)) -------------------------------------
    genba.goto("/#/inbox")
    row = genba.get_by_test_id("inbox-row").filter(has_text=TITLE)
    expect(row).to_have_attribute("data-action", "revise")
    row.get_by_role("link", name=TITLE).click()
    expect(genba.get_by_test_id("proposal-sent-back")).to_contain_text(REASON)
    genba.get_by_test_id("proposal-edit").click()
    genba.get_by_test_id("pf-content-input").fill("夜間（21時〜翌5時）に施工したい。")
    genba.get_by_test_id("bundle-item").filter(has_text="交通量調査結果.pdf").get_by_test_id(
        "bundle-pages"
    ).fill("3,1")
    genba.get_by_test_id("proposal-submit").click()
    toast(genba, "発議しました。")
    expect(genba.get_by_test_id("proposal-page")).to_have_attribute("data-state", "in_review")

    # -- the deputy approves for the absent 監督員 (代理承認, 4(21)) ---------------------------
    dairi: Page = open_as("dairi")
    dairi.goto("/#/inbox")
    row = dairi.get_by_test_id("inbox-row").filter(has_text=TITLE)
    expect(row).to_contain_text("監督 一郎 さんの代理")
    row.get_by_role("link", name=TITLE).click()
    card = dairi.get_by_test_id("decide")
    expect(card.get_by_test_id("decide-as")).to_have_value(world.users["kantoku"])
    card.get_by_test_id("decide-comment").fill("監督員不在のため代理で承認します。")
    card.get_by_test_id("decide-approve").click()
    toast(dairi, "承認しました。")

    # -- the 総括監督員 approves ahead of the absent 主任監督員 with 後閲 (4(22)) ---------------
    soukatsu: Page = open_as("soukatsu")
    soukatsu.goto("/#/proposals")
    listed = soukatsu.get_by_test_id("proposals-row").filter(has_text=TITLE)
    expect(listed).to_contain_text("承認 1/3")
    expect(listed).to_contain_text("承認待ち: 主任 花子")
    listed.get_by_role("link", name=TITLE).click()
    card = soukatsu.get_by_test_id("decide")
    card.get_by_test_id("pf-answer_orderer").get_by_label("承諾").check()
    card.get_by_test_id("pf-answer_orderer_text-input").fill("夜間施工を承諾する。")
    card.get_by_test_id("decide-approve-ahead").click()
    soukatsu.get_by_test_id("confirm-ok").click()
    toast(soukatsu, "後閲として先に承認しました。")
    expect(soukatsu.get_by_test_id("proposal-page")).to_have_attribute("data-state", "decided")

    def mark(page: Page, login_id: str) -> Any:
        return page.locator(f'[data-testid="route-mark"][data-user="{world.users[login_id]}"]')

    expect(mark(soukatsu, "kantoku")).to_have_attribute("data-via", "deputy")
    expect(mark(soukatsu, "kantoku")).to_contain_text("代理承認（代理 三郎）")
    expect(mark(soukatsu, "shunin")).to_have_attribute("data-status", "post_review")
    expect(mark(soukatsu, "soukatsu")).to_have_attribute("data-via", "superior")
    expect(soukatsu.get_by_test_id("proposal-answers")).to_contain_text("夜間施工を承諾する。")

    # The 主任監督員 reviews afterwards.
    shunin: Page = open_as("shunin")
    shunin.goto("/#/inbox")
    row = shunin.get_by_test_id("inbox-row").filter(has_text=TITLE)
    expect(row).to_have_attribute("data-action", "post_review")
    row.get_by_role("link", name=TITLE).click()
    shunin.get_by_test_id("decide-post-review-comment").fill("内容を確認しました。")
    shunin.get_by_test_id("decide-post-review").click()
    toast(shunin, "後閲を記録しました。")
    expect(mark(shunin, "shunin")).to_have_attribute("data-status", "reviewed")

    # -- the history shows every step as it was (4(16)) ---------------------------------------
    genba.goto(f"/#/proposals/{proposal_id}?tab=history")
    table = genba.get_by_test_id("history-table")
    expect(table.locator('[data-kind="post_reviewed"]')).to_have_count(1)
    kinds = [r.get_attribute("data-kind") for r in table.get_by_test_id("history-row").all()]
    steps = [k for k in kinds if k not in ("edited",)]
    assert steps == [
        "created",
        "submitted",
        "sent_back",
        "submitted",
        "approved",
        "approved",
        "post_reviewed",
    ], kinds
    rows = table.get_by_test_id("history-row")
    expect(rows.filter(has_text="差戻し")).to_contain_text(REASON)
    expect(rows.filter(has_text="代理承認")).to_contain_text("監督 一郎 さんの代理")
    expect(rows.filter(has_text="代理承認")).to_contain_text("代理 三郎")
    expect(rows.filter(has_text="後閲扱いで先に承認")).to_contain_text("総括 二郎")
    expect(rows.filter(has_text="後閲").last).to_contain_text("主任 花子")
    revision = genba.get_by_test_id("revision").filter(has_text="第2回の発議")
    expect(revision.get_by_test_id("revision-change")).to_contain_text(
        "交通量の少ない時間帯に施工したい。"
    )
    expect(revision.get_by_test_id("revision-change")).to_contain_text(
        "夜間（21時〜翌5時）に施工したい。"
    )
    expect(revision.get_by_test_id("revision-file")).to_have_attribute("data-change", "pages")
    expect(revision.get_by_test_id("revision-file")).to_contain_text("交通量調査結果.pdf")
    check_layout(genba, "proposal-history")

    # -- the printed PDF: the form, the Excel sheet, the PDF's pages 3 and 1, numbered ---------
    response = genba.request.get(f"/api/v1/proposals/{proposal_id}/pdf")
    assert response.status == 200
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages]

    def where(text: str) -> int:
        return next(i for i, page in enumerate(pages) if text in page.replace("\n", ""))

    assert where("工事打合せ簿") == 0
    assert where(TITLE) == 0
    assert "総括 二郎" in "".join(pages[: where("区画線工 実線15cm")])  # the stamps
    assert where("区画線工 実線15cm") < where("SURVEY-PAGE-3") < where("SURVEY-PAGE-1")
    assert where("SURVEY-PAGE-1") == len(pages) - 1
    assert not any("SURVEY-PAGE-2" in page for page in pages)
    for n, text in enumerate(pages, start=1):
        assert f"{n} / {len(pages)}" in text, (n, text)

    # -- the supervisors' list across works and their mail agree (4(5)(6)(10)(15)(19)) --------
    kantoku.goto("/#/proposals?sort=title&order=asc")
    table = kantoku.get_by_test_id("proposals-table")
    expect(table.get_by_test_id("proposals-row")).to_have_count(2)
    check_layout(kantoku, "proposals-cross-work")
    listed = {
        r.get_by_role("link").nth(1).inner_text(): r.get_attribute("data-state")
        for r in table.get_by_test_id("proposals-row").all()
    }
    assert listed == {TITLE: "decided", OTHER_TITLE: "in_review"}, listed
    world.smtp.wait_for(9, timeout=60)
    to_kantoku = world.mails_to("kantoku")
    asked = [s for s, _ in to_kantoku if "発議のお知らせ" in s]
    # Told of each submission that waited for him: the first, the revision, the other.
    assert sorted(asked) == sorted(
        [f"[Kura] 発議のお知らせ: {TITLE}"] * 2 + [f"[Kura] 発議のお知らせ: {OTHER_TITLE}"]
    ), to_kantoku
    assert {s.split(": ", 1)[1] for s in asked} == set(listed)
    to_genba = world.mails_to("genba")
    subjects = [s for s, _ in to_genba]
    assert f"[Kura] 差戻しされました: {TITLE}" in subjects
    assert REASON in next(b for s, b in to_genba if "差戻し" in s)
    assert f"[Kura] 決裁されました: {TITLE}" in subjects  # the list's 決裁済み
    assert f"[Kura] 承認されました: {TITLE}" in subjects  # the deputy's approval
    assert any("後閲のお願い" in s and TITLE in s for s, _ in world.mails_to("shunin"))
    # 4(20): the proposer chose 重要; every mail of the proposal carries it.
    assert all(m.message["Importance"] == "high" for m in world.smtp.messages if TITLE in m.subject)


def test_pre_meeting_material_comments_and_answer(
    world: World, open_as: Any, tmp_path: Path
) -> None:
    """別表1-2 4(8)-(13): the contractor registers material with a file (the matter's shared
    folder), the supervisor is told, comments with a file of his own and answers; the matters
    are listed apart from the proposals."""
    from playwright.sync_api import expect

    genba: Page = open_as("genba")
    genba.goto(f"/#/works/{world.work_id}/premeetings")
    genba.get_by_test_id("pm-title").fill("仮設計画の事前協議")
    genba.get_by_test_id("pm-body").fill("仮設ヤードの配置案を共有します。")
    plan = tmp_path / "仮設計画図.pdf"
    plan.write_bytes(pdf_file("YARD-PLAN"))
    genba.get_by_test_id("bundle-file-input").set_input_files(str(plan))
    expect(genba.get_by_test_id("bundle-item")).to_have_count(1, timeout=60_000)
    check_layout(genba, "premeetings")
    genba.get_by_test_id("pm-submit").click()
    toast(genba, "登録し、関係者に通知しました。")
    expect(genba.get_by_test_id("pm-file")).to_have_attribute("data-name", "仮設計画図.pdf")
    matter_url = genba.url

    kantoku: Page = open_as("kantoku")
    kantoku.goto("/#" + matter_url.split("#", 1)[1])
    kantoku.get_by_test_id("pm-comment-text").fill("ヤードの出入口を北側に変更してください。")
    note = tmp_path / "修正案.pdf"
    note.write_bytes(pdf_file("YARD-FIX"))
    kantoku.get_by_test_id("pm-comment-form").get_by_test_id("bundle-file-input").set_input_files(
        str(note)
    )
    expect(kantoku.get_by_test_id("pm-comment-form").get_by_test_id("bundle-item")).to_have_count(
        1, timeout=60_000
    )
    kantoku.get_by_test_id("pm-comment-submit").click()
    toast(kantoku, "コメントを送信しました。")
    expect(kantoku.get_by_test_id("pm-file")).to_have_count(2)
    kantoku.get_by_test_id("pm-answer-text").fill("北側出入口で了承します。")
    kantoku.get_by_test_id("pm-answer-submit").click()
    toast(kantoku, "回答し、登録者に通知しました。")
    expect(kantoku.get_by_test_id("pm-status")).to_have_text("回答済み")
    check_layout(kantoku, "premeeting")
    genba.goto(f"/#/works/{world.work_id}/premeetings")
    expect(genba.get_by_test_id("pm-row")).to_have_attribute("data-status", "answered")
    genba.get_by_test_id("work-tab-proposals").click()
    expect(genba.get_by_test_id("proposals-row").filter(has_text="仮設計画")).to_have_count(0)
    assert any("事前打合せ資料" in s for s, _ in world.mails_to("kantoku"))


def test_an_operator_adds_a_form_and_it_can_be_used(world: World, open_as: Any) -> None:
    """Issue 10 §1: an operator adds a form in the UI (a bad definition is refused by the
    field first); the contractor then finds it among the forms of the work."""
    from playwright.sync_api import expect

    admin: Page = open_as("admin")
    admin.goto("/#/admin/proposal-forms")
    expect(admin.get_by_test_id("forms-row")).to_have_count(7)
    check_layout(admin, "admin-forms")
    admin.get_by_test_id("form-new").click()
    editor = admin.get_by_test_id("form-editor")
    editor.get_by_test_id("fe-name").fill("舗装出来形確認書")
    row = editor.get_by_test_id("fe-field").first
    row.get_by_test_id("fe-label").fill("件名")
    editor.get_by_test_id("fe-add-field").click()
    added = editor.get_by_test_id("fe-field").nth(1)
    added.get_by_test_id("fe-key").fill("thickness")
    added.get_by_test_id("fe-label").fill("舗装厚")
    added.get_by_test_id("fe-type").select_option("number")
    # A loop between fields is refused with its path.
    added.get_by_test_id("fe-show-field").fill("thickness")
    added.get_by_test_id("fe-show-equals").fill("1")
    editor.get_by_test_id("fe-save").click()
    expect(editor.get_by_test_id("fe-error")).to_contain_text("循環")
    added.get_by_test_id("fe-show-field").fill("")
    editor.get_by_test_id("fe-section-fields").first.fill("subject, thickness")
    check_layout(admin, "admin-form-editor")
    editor.get_by_test_id("fe-save").click()
    toast(admin, "様式を登録しました。")
    expect(admin.get_by_test_id("fe-versions")).to_contain_text("第1版")

    genba: Page = open_as("genba")
    genba.goto(f"/#/works/{world.work_id}/proposals/new")
    genba.get_by_test_id("form-choice").filter(has_text="舗装出来形確認書").click()
    expect(genba.get_by_test_id("pf-thickness-input")).to_be_visible()


def test_a_bound_file_with_personal_data_is_warned_before_the_proposal_is_saved(
    world: World, open_as: Any, tmp_path: Path
) -> None:
    """Seed 001 §3-2 (issue 10 §3): a file bound to a proposal is checked for personal
    identifiers (here a 個人番号 with its check digit) as soon as it is uploaded; the warning
    shows it masked, the contractor removes the file and it leaves the bundle."""
    from playwright.sync_api import expect

    genba: Page = open_as("genba")
    genba.goto(f"/#/works/{world.work_id}/proposals/new")
    genba.get_by_test_id("form-choice").filter(has_text="工事打合せ簿").click()
    genba.get_by_test_id("proposal-form").wait_for()
    roster = tmp_path / "作業員名簿.txt"
    roster.write_text("作業員名簿\n個人番号 1234 5678 9018\n", encoding="utf-8")
    genba.get_by_test_id("bundle-file-input").set_input_files(str(roster))
    dialog = genba.get_by_test_id("privacy-dialog")
    expect(dialog).to_contain_text("********9018", timeout=40_000)
    check_layout(genba, "proposal-privacy")
    dialog.get_by_test_id("privacy-remove").click()
    expect(dialog).to_be_hidden()
    expect(genba.get_by_test_id("bundle-item")).to_have_count(0)
    checks = world.api.get(f"/works/{world.work_id}/privacy-checks")
    answered = [c for c in checks if c["name"] == "作業員名簿.txt"]
    assert answered, checks
    assert answered[0]["decision"]["action"] == "removed", checks


def test_the_global_search_finds_a_proposal_for_its_readers_only(
    world: World, open_as: Any
) -> None:
    """Issue 10 §2 with the global search: a submitted proposal is found by its text from
    the header's search by the people on its work and opens on its page; an operator, who
    reads no proposal through the search (a private type), never gets it as a hit."""
    from playwright.sync_api import expect

    title = "夜間照明設備の設置位置について（協議）"
    contractor = world.as_user("genba")
    made = contractor.post(
        f"/works/{world.work_id}/proposals", {"form_id": "koji_uchiawase", "title": title}
    )
    values = {
        **made["values"],
        "matter": "協議",
        "subject": "夜間照明",
        "content": "投光器を交差点の北西角に置きたい。",
    }
    made = contractor.ok(
        contractor.client.patch(
            f"/proposals/{made['id']}", json={"version": made["version"], "values": values}
        )
    )
    route = [{"kind": "approve", "assignees": [world.users["kantoku"]]}]
    contractor.post(f"/proposals/{made['id']}/submit", {"version": made["version"], "route": route})
    contractor.close()

    kantoku: Page = open_as("kantoku")
    kantoku.get_by_test_id("nav-search").click()
    kantoku.get_by_test_id("search-box").fill("夜間照明")
    kantoku.get_by_test_id("search-box").press("Enter")
    hit = kantoku.get_by_test_id("search-hit").filter(has_text="夜間照明設備")
    expect(hit).to_have_count(1, timeout=30_000)
    expect(hit).to_have_attribute("data-id", made["id"])
    expect(hit).to_contain_text("発議書類")
    # The 分類 facet names the form in Japanese (it showed the form's code).
    expect(kantoku.get_by_test_id("facet-category")).to_contain_text("工事打合せ簿")
    expect(kantoku.get_by_test_id("facet-category")).not_to_contain_text("koji_uchiawase")
    check_layout(kantoku, "search-proposal")
    hit.get_by_role("link", name=re.compile("夜間照明設備")).click()
    expect(kantoku.get_by_test_id("proposal-page")).to_be_visible()
    expect(kantoku.get_by_test_id("proposal-page")).to_contain_text(title)

    found = world.api.get("/search", q="夜間照明")
    assert made["id"] not in [h["id"] for h in found["hits"]]
