"""The qualification application in the browser (issue 14 §6; seed 004 第2 1-6, 第3 1, 第1 2):

- 春日建設 applies to 広島県, 呉市 and 福山市 with two offices through the guide's screens
  (当初・申請内容入力 → 営業所情報入力 → 書類添付 → 送信内容確認), sees the errors listed at
  the top and by the field and takes an offered width conversion, gets the 経審 error screen for
  a mistyped P, fixes it, sends, and prints the receipt (送信完了 兼 受付票, a PDF);
- re-applies adding 世羅町 with nothing re-typed, and reads the warning that the earlier filing
  is replaced;
- at 17:01 (the server's test clock, ``KURA_TEST_CLOCK_FILE``) a change is refused with the
  next open time, and what was typed stays on the page;
- 呉市's receiver finds the filing in its list;
- axe-core finds nothing serious and screenshots are taken at 1280 and 1024×768.

The server runs on its own stack with the test-only clock file (never set in production).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.pagecheck import MODULE_SIZES, looks_right, signed_in_pages
from tests.e2e.support import PASSWORD, Api, Server, operator_password, start_server
from tests.qualifications.harness import CORPORATE_NUMBER, review_csv, round_body

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
OPEN = datetime(2018, 11, 8, 1, 0, tzinfo=UTC)  # Thursday 10:00 JST (sessions last 8 h)


class QualStack:
    def __init__(self, server: Server, clock: Path, api: Api, round_id: str) -> None:
        self.server, self.clock, self.api, self.round_id = server, clock, api, round_id

    @property
    def url(self) -> str:
        return self.server.url

    def at(self, when: datetime) -> None:
        self.clock.write_text(when.isoformat())


@pytest.fixture(scope="module")
def qstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QualStack]:
    from tests.e2e.conftest import _require_environment

    _require_environment()
    root = tmp_path_factory.mktemp("e2e-qual")
    clock = root / "clock.txt"
    clock.write_text(OPEN.isoformat())
    server = start_server(root / "data", KURA_TEST_CLOCK_FILE=str(clock))
    try:
        api = Api(server.url)
        api.login("admin", operator_password(server), new_password=PASSWORD)
        ids: dict[str, str] = {}
        for key, name, code in (
            ("pref", "広島県", "34000001"),
            ("kure", "呉市", "34202001"),
            ("fuku", "福山市", "34207001"),
            ("sera", "世羅町", "34462001"),
            ("kasuga", "春日建設株式会社", None),
        ):
            body: dict[str, Any] = {"kind": "orderer" if code else "contractor", "name": name}
            if code:
                body["code"] = code
            ids[key] = api.post("/organizations", body)["id"]
        for login_id, org, grant in (
            ("kasuga1", "kasuga", "qualifications.apply"),
            ("kure1", "kure", "qualifications.receive"),
        ):
            made = api.post(
                "/users", {"login_id": login_id, "name": f"{login_id} 太郎", "org_id": ids[org]}
            )
            api.post(f"/users/{made['user']['id']}/grants", {"grant": grant})
            first = Api(server.url)
            first.login(login_id, made["initial_password"], new_password=PASSWORD)
            first.close()
        round_id = api.post("/qualifications/rounds", round_body(ids))["id"]
        data = review_csv()
        meta = f"filename {base64.b64encode(b'keishin.csv').decode()}"
        r = api.client.post(
            "/attachments/uploads",
            content=data,
            headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                     "Upload-Metadata": meta, "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        api.post(
            "/qualifications/review-sets",
            {
                "attachment_id": r.headers["Kura-Attachment-Id"],
                "source": "経審結果",
                "as_of": "2018-10-31",
            },
        )
        yield QualStack(server, clock, api, round_id)
        api.close()
    finally:
        server.stop()


@pytest.fixture
def open_as(browser: Browser, qstack: QualStack) -> Iterator[Any]:
    yield from signed_in_pages(browser, qstack.url, lambda _: PASSWORD)


def check_layout(page: Page, name: str) -> None:
    """Screenshots at 1280 and 1024x768, no sideways scrolling, axe-core clean."""
    looks_right(page, name, sizes=MODULE_SIZES)


def fill(page: Page, path: str, value: str) -> None:
    page.get_by_test_id(f"f-{path}").fill(value)
    page.get_by_test_id(f"f-{path}").dispatch_event("change")


def pick(page: Page, path: str, value: str) -> None:
    page.get_by_test_id(f"f-{path}-{value}").check()


def next_steps(page: Page, n: int) -> None:
    """Press 次へ ``n`` times, each time waiting for the next step's title: a press while
    the previous step still saves or renders is lost (waiting for network idle alone let
    the test press on too early under load and miss the step with 送信)."""
    from playwright.sync_api import expect

    for _ in range(n):
        title = page.locator("#qstep-title").inner_text()
        page.get_by_test_id("step-next").click()
        expect(page.locator("#qstep-title")).not_to_have_text(title)


def saved(page: Page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("save-status")).to_contain_text("保存しました", timeout=15_000)


def entry_step(page: Page) -> None:
    """当初・申請内容入力: every item of the guide (第2 3)."""
    for code in ("34000", "34202", "34207"):
        page.get_by_test_id(f"f-targets-{code}").check()
    pick(page, "company.kind", "corporation")
    fill(page, "company.corporate_number", CORPORATE_NUMBER)
    fill(page, "company.name_kana", "ｶｽｶﾞｹﾝｾﾂ")  # half-width: the form will offer a conversion
    fill(page, "company.name", "（株）春日建設")
    fill(page, "company.rep_title", "代表取締役")
    fill(page, "company.rep_name", "山﨑　𠮷男")
    fill(page, "company.postal_code", "720-0032")
    page.get_by_test_id("f-company.city_code").select_option("34207")
    fill(page, "company.address", "三吉町南２－１１－２２")
    fill(page, "company.building", "春日ビル３階")
    page.get_by_test_id("f-company.permit.authority").select_option("34")
    fill(page, "company.permit.number", "12345")
    fill(page, "company.permit.date", "2016-04-01")
    fill(page, "company.phone", "084-921-0000")
    fill(page, "company.email", "nyusatsu@kasuga.example.jp")
    pick(page, "company.email_kind", "company")
    pick(page, "company.local_offices", "yes")
    pick(page, "company.kensaibou", "no")
    fill(page, "company.contact.department", "総務部")
    fill(page, "company.contact.name", "春日　花子")
    fill(page, "company.contact.phone", "084-921-0002")
    fill(page, "company.contact.email", "hanako@kasuga.example.jp")
    for key in ("disability", "disaster", "adopt", "family_support", "work_style", "fire_brigade"):
        pick(page, f"points.{key}", "no")
    pick(page, "points.eco", "none")
    pick(page, "points.cooperating", "none")
    fill(page, "review.base_date", "2018-03-31")
    for key in ("employment", "health", "pension"):
        pick(page, f"review.insurance.{key}", "有")
    pick(page, "review.iso14001", "無")
    for code, kind, p, s1, s2, so, avg in (
        ("01", "special", "890", "5", "8", "3", "450000"),
        ("13", "general", "821", "2", "4", "1", "120000"),  # 821: a typo (経審 812)
    ):
        page.get_by_test_id(f"cat-{code}").check()
        pick(page, f"review.categories.{code}.permit_kind", kind)
        for key, value in (
            ("p", p),
            ("staff1", s1),
            ("staff2", s2),
            ("staff_other", so),
            ("average", avg),
        ):
            fill(page, f"review.categories.{code}.{key}", value)


def office(
    page: Page, i: int, kana: str, name: str, city: str, address: str, cats: list[str]
) -> None:
    p = f"offices.items.{i}"
    fill(page, f"{p}.name_kana", kana)
    fill(page, f"{p}.name", name)
    fill(page, f"{p}.rep_title", "支店長")
    fill(page, f"{p}.rep_name", "髙橋　一郎")
    fill(page, f"{p}.postal_code", "737-0051")
    page.get_by_test_id(f"f-{p}.city_code").select_option(city)
    fill(page, f"{p}.address", address)
    fill(page, f"{p}.phone", "0823-21-0001")
    for cat in cats:
        page.get_by_test_id(f"f-{p}.categories-{cat}").check()
    pick(page, f"{p}.eco", "no")


def test_apply_fix_send_print_reapply_and_the_window(
    qstack: QualStack, open_as: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page: Page = open_as("kasuga1")
    page.goto("/#/qualifications")
    expect(page.get_by_test_id("round-window")).to_contain_text("受付中")
    page.get_by_test_id("apply").click()
    page.get_by_test_id("start-last").click()
    expect(page.get_by_test_id("step-next")).to_have_text("営業所情報入力画面へ")
    entry_step(page)
    page.get_by_test_id("step-next").click()
    # 第2 3 ※②: the errors at the top and by the field, with the offered conversion.
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_contain_text(
        "03 商号又は名称（フリガナ）：全角カタカナ50文字以内で入力してください。"
    )
    kana = page.get_by_test_id("f-company.name_kana")
    expect(kana).to_have_attribute("aria-invalid", "true")
    described = kana.get_attribute("aria-describedby") or ""
    assert any(
        page.locator(f"#{i}").inner_text().startswith("エラー")
        for i in described.split()
        if i.endswith("-error")
    )
    check_layout(page, "qual-entry-errors")
    # Keyboard: the summary's entry, reached by Tab and Enter, puts the cursor in the field.
    entry = summary.get_by_role("button", name="03 商号又は名称（フリガナ）", exact=False)
    entry.focus()
    page.keyboard.press("Enter")
    expect(kana).to_be_focused()
    page.get_by_test_id("convert-company.name_kana").click()
    expect(kana).to_have_value("カスガケンセツ")
    saved(page)
    page.get_by_test_id("step-next").click()
    # 営業所情報入力 (第2 4): two offices in the prefecture.
    expect(page.locator("#qstep-title")).to_have_text("営業所情報入力")
    pick(page, "offices.mode", "list")
    page.get_by_test_id("office-count").fill("2")
    page.get_by_test_id("office-count-set").click()
    office(page, 0, "クレシテン", "呉支店", "34202", "中央３－１－１", ["01", "13"])
    office(page, 1, "ミハラエイギョウショ", "三原営業所", "34204", "城町１－２－３", ["13"])
    saved(page)
    check_layout(page, "qual-offices")
    page.get_by_test_id("step-next").click()
    # 書類添付 (第2 5): the e-tax certificate named nouzei.
    expect(page.locator("#qstep-title")).to_have_text("書類添付")
    nouzei = tmp_path / "nouzei.xml"
    nouzei.write_bytes(b"<?xml version='1.0'?><NOUZEI>e-Tax</NOUZEI>")
    page.get_by_test_id("attach-file").set_input_files(str(nouzei))
    expect(page.get_by_test_id("attach-name")).to_have_text("nouzei.xml", timeout=20_000)
    page.get_by_test_id("attach-checked").check()
    saved(page)
    page.get_by_test_id("step-next").click()
    # 送信内容確認 → 経審エラー (第2 6(2)イ).
    expect(page.get_by_test_id("confirm-list")).to_contain_text("広島県、呉市、福山市")
    expect(page.get_by_test_id("papers")).to_contain_text("送信完了 兼 受付票")
    check_layout(page, "qual-confirm")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("mismatches")).to_contain_text(
        "舗装工事の総合評点（P）が経営事項審査の結果と一致しません"
    )
    check_layout(page, "qual-review-error")
    page.get_by_test_id("fix").click()
    p13 = page.get_by_test_id("f-review.categories.13.p")
    expect(p13).to_have_attribute("aria-invalid", "true")
    fill(page, "review.categories.13.p", "812")
    saved(page)
    next_steps(page, 3)
    page.get_by_test_id("send").click()
    # 送信完了 兼 受付票 (第2 6(2)ア): the number, and the receipt prints as a PDF.
    expect(page.get_by_test_id("receipt-no")).to_have_text("H31-000001")
    check_layout(page, "qual-done")
    href = page.get_by_test_id("print-receipt").get_attribute("href") or ""
    receipt = page.request.get(href)
    assert receipt.status == 200
    assert receipt.headers["content-type"] == "application/pdf"
    assert receipt.body()[:5] == b"%PDF-"
    # 第3 1: re-apply adding 世羅町; nothing re-typed; the warning says the filing is replaced.
    page.get_by_test_id("finish").click()
    expect(page.get_by_test_id("round-mine")).to_contain_text("H31-000001")
    page.get_by_test_id("reapply").click()
    expect(page.get_by_test_id("f-company.name_kana")).to_have_value("カスガケンセツ")
    expect(page.get_by_test_id("f-company.rep_name")).to_have_value("山﨑　𠮷男")
    page.get_by_test_id("f-targets-34462").check()
    saved(page)
    next_steps(page, 3)
    warning = page.get_by_test_id("replace-warning")
    expect(warning).to_contain_text("前に送信した申請（受付番号 H31-000001）は削除され")
    check_layout(page, "qual-reapply-warning")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("receipt-no")).to_have_text("H31-000002")
    # 17:01 on Thursday: a change is refused with the next open time; the value stays.
    qstack.at(datetime(2018, 11, 8, 8, 1, tzinfo=UTC))
    page.goto(f"/#/qualifications/{qstack.round_id}/apply?step=entry")
    expect(page.get_by_test_id("window-banner")).to_contain_text(
        "次の受付開始は2018年11月9日（金）9:00です。"
    )
    fill(page, "company.fax", "084-921-0001")
    alert = page.get_by_test_id("window-alert")
    expect(alert).to_contain_text("次の受付開始は2018年11月9日（金）9:00です。", timeout=15_000)
    expect(page.get_by_test_id("f-company.fax")).to_have_value("084-921-0001")
    check_layout(page, "qual-closed")
    qstack.at(OPEN)


def test_the_municipality_finds_the_filing(qstack: QualStack, open_as: Any) -> None:
    from playwright.sync_api import expect

    page: Page = open_as("kure1")
    page.goto("/#/qualifications")
    page.get_by_test_id("received").click()
    row = page.get_by_test_id("received-row").first
    expect(row).to_contain_text("（株）春日建設")
    expect(row).to_contain_text("呉市")
    row.get_by_test_id("received-open").click()
    detail = page.get_by_test_id("received-detail")
    expect(detail).to_contain_text("H31-000002")
    expect(detail).not_to_contain_text("福山市、")
    page.get_by_test_id("desk-note").fill("使用印鑑届を受領")
    page.get_by_test_id("desk-add-note").click()
    expect(page.get_by_test_id("desk-notes")).to_contain_text("使用印鑑届を受領")
    check_layout(page, "qual-received")


def test_the_operator_imports_and_defines_a_round(qstack: QualStack, open_as: Any) -> None:
    """The operator's page (第1 1-2, 第2 3(29) ○注意事項1): the imported 経審 data set is listed
    as current; a round with its period after its end is refused by the field, then created;
    the page reads in English after the switch."""
    from playwright.sync_api import expect

    page: Page = open_as("admin")
    page.goto("/#/qualifications/admin")
    sets = page.get_by_test_id("review-sets")
    expect(sets).to_contain_text("keishin.csv")
    expect(sets).to_contain_text("使用中")
    form = page.get_by_test_id("round-form")
    for name, value in (
        ("code", "R3"),
        ("name", "令和3・4年度 建設工事等入札参加資格審査（当初申請）"),
        ("filing_start", "2018-12-03"),
        ("filing_end", "2018-11-30"),  # before the start: refused by the field
        ("paper_deadline", "2018-12-20"),
        ("correction_deadline", "2018-12-20"),
        ("review_base_from", "2017-04-01"),
        ("paper_address", "広島県土木建築局建設産業課"),
    ):
        form.locator(f'[name="{name}"]').fill(value)
    form.locator(".qtarget input[type=checkbox]").first.check()
    form.locator("button[type=submit]").click()
    end = form.locator('[name="filing_end"]')
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(form.locator('.field[data-field="filing_end"] .field-error')).to_contain_text(
        "申請期間の終了日は開始日以降にしてください。"
    )
    check_layout(page, "qual-admin-error")
    end.fill("2018-12-14")
    form.locator("button[type=submit]").click()
    expect(page.get_by_text("R3 令和3・4年度")).to_be_visible()
    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.get_by_test_id("round-form")).to_contain_text("New round")
    check_layout(page, "qual-admin")
    page.get_by_test_id("lang-switch").select_option("ja")
