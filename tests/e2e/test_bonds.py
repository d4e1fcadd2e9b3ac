"""Bonds in the browser (issue 11 §6; seed 002 F01 入札業務 <1>-<3>):

- an issuer registers a bid bond through the form with its 開札日時, downloads the file to sign,
  signs it with ``kura bond sign`` (its PKCS#12 file) and registers the signed key (F01<1>
  ボンド情報登録, 認証キー発行: 認証キーには電子署名を付与する);
- the contractor downloads the key file from its list (F01<1> 認証キー取得);
- the orderer drops the key file: before 開札日時 it sees only that the bond exists, after it
  everything, with the obligor's debt (F01<1>, <2>);
- a re-bid update by the issuer makes the old key fail at once (F01<3>);
- axe-core finds nothing serious at 1280 and 1024x768 on every page; screenshots at both.

Time: this module runs its own ``kura serve`` whose clock reads a file
(``KURA_TEST_CLOCK_FILE``, test configuration only); the test moves it across the opening
time. The test PKI (trust anchor, CRLs, the issuer's PKCS#12) is generated here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.bonds.pki import Pki, build
from tests.e2e.pagecheck import MODULE_SIZES, looks_right, signed_in_pages
from tests.e2e.support import PASSWORD, ROOT, Api, Server, operator_password, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
T0 = "2026-06-01T01:00:00Z"  # 10:00 JST
AFTER = "2026-06-01T03:00:00Z"  # past the 11:00 JST opening
WORK_NUMBER = "R8-E2E-BOND"
KURA = [sys.executable, "-c", "from api.cli import main; main()"]


@dataclass
class BondStack:
    server: Server
    clock: Path
    pki: Pki
    p12: Path
    folder: Path

    @property
    def url(self) -> str:
        return self.server.url

    def at(self, iso: str) -> None:
        self.clock.write_text(iso)


@pytest.fixture(scope="module")
def bonds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BondStack]:
    from tests.e2e.conftest import _require_environment

    _require_environment()
    root = tmp_path_factory.mktemp("e2e-bonds")
    pki = build(root / "pki")
    clock = root / "clock"
    clock.write_text(T0)
    server = start_server(
        root / "data",
        KURA_TEST_CLOCK_FILE=str(clock),
        KURA_BONDS__TRUST_ANCHORS=json.dumps([str(pki.anchor_file)]),
        KURA_BONDS__CRL_FILES=json.dumps([str(p) for p in pki.crl_files]),
    )
    try:
        p12 = root / "issuer.p12"
        p12.write_bytes(pki.ec.pkcs12())
        seed(server, pki)
        yield BondStack(server, clock, pki, p12, root)
    finally:
        server.stop()


def seed(server: Server, pki: Pki) -> None:
    api = Api(server.url)
    api.login("admin", operator_password(server), new_password=PASSWORD)
    orgs = {
        key: api.post("/organizations", body)["id"]
        for key, body in {
            "issuer": {"kind": "issuer", "name": "東日本建設業保証株式会社"},
            "contractor": {"kind": "contractor", "name": "春日建設株式会社"},
            "orderer": {"kind": "orderer", "name": "広島県", "code": "34000001"},
        }.items()
    }
    for login_id, name, org, grants in (
        ("issuer1", "保証 一郎", "issuer", ("bonds.issue", "bonds.certificates")),
        ("builder1", "春日 太郎", "contractor", ("bonds.read",)),
        ("clerk1", "契約 花子", "orderer", ("bonds.read", "works.read_org", "works.create")),
        ("keeper1", "出納 次郎", "orderer", ("bonds.securities", "works.read_org", "works.manage")),
    ):
        made = api.post("/users", {"login_id": login_id, "name": name, "org_id": orgs[org]})
        for grant in grants:
            api.post(f"/users/{made['user']['id']}/grants", {"grant": grant})
        first = Api(server.url)
        first.login(login_id, made["initial_password"], new_password=PASSWORD)
        first.close()
    work = api.post(
        "/works",
        {
            "kind": "construction",
            "title": "福山市春日町2丁目ほか道路標示工事",
            "number": WORK_NUMBER,
            "orderer_org_id": orgs["orderer"],
            "contractor_org_ids": [orgs["contractor"]],
            "location": {
                "address": "広島県福山市春日町2丁目2番56号先",
                "municipality_code": "342076",
            },
            "period_start": "2026-06-15",
            "period_end": "2026-08-31",
        },
    )
    # 請負代金額 and 契約締結日 for the contract security check (seed 003 21)
    api.ok(
        api.client.patch(
            f"/works/{work['id']}",
            json={
                "version": work["version"],
                "bid_amount": 11_363_637,
                "contract_price": 12_500_000,
                "contract_date": "2026-06-12",
                "low_bid": False,
            },
        )
    )
    issuer = Api(server.url)
    issuer.login("issuer1", PASSWORD)
    issuer.post("/bonds/certificates", {"chain_pem": pki.ec.chain_pem})
    issuer.close()
    api.close()


@pytest.fixture
def as_user(browser: Browser, bonds: BondStack) -> Iterator[object]:
    yield from signed_in_pages(browser, bonds.url, lambda _: PASSWORD)


def check_layout(page: Page, name: str) -> None:
    """Screenshots at 1280 and 1024x768, no sideways scrolling, axe-core clean."""
    looks_right(page, name, sizes=MODULE_SIZES)


def sign(bonds: BondStack, tbs: Path) -> Path:
    """What the issuer runs on its own computer: ``kura bond sign`` (no server needed)."""
    out = tbs.with_suffix(".kurakey")
    password = bonds.folder / "password"
    password.write_text("p12-pass")
    subprocess.run(
        [
            *KURA,
            "bond",
            "sign",
            str(tbs),
            "-o",
            str(out),
            "--p12",
            str(bonds.p12),
            "--password-file",
            str(password),
        ],
        check=True,
        cwd=str(ROOT),
        capture_output=True,
    )
    return out


def sign_current(bonds: BondStack, page: Page, name: str) -> None:
    """On the bond's page: download the file to sign, sign it, register the signed key."""
    from playwright.sync_api import expect

    with page.expect_download() as got:
        page.get_by_test_id("bond-tbs-download").click()
    tbs = bonds.folder / f"{name}.tbs.json"
    got.value.save_as(tbs)
    page.get_by_test_id("bond-signed-file").set_input_files(str(sign(bonds, tbs)))
    expect(page.get_by_test_id("bond-key-section")).to_contain_text("発行済み")


def download_key(bonds: BondStack, page: Page, name: str) -> Path:
    page.goto("/#/bonds")
    with page.expect_download() as got:
        page.get_by_test_id("bond-key-download").first.click()
    path = bonds.folder / f"{name}.kurakey"
    got.value.save_as(path)
    return path


def test_issuer_signs_contractor_downloads_orderer_opens_after_the_opening_time(
    bonds: BondStack, as_user: object
) -> None:
    from playwright.sync_api import expect

    open_as = as_user  # type: ignore[assignment]
    bonds.at(T0)

    # F01<1>: the issuer registers the bid bond with its 開札日時 and signs the key
    issuer: Page = open_as("issuer1")  # type: ignore[operator]
    issuer.goto("/#/bonds/new")
    form = issuer.get_by_test_id("bond-form")
    form.wait_for()
    issuer.get_by_test_id("bond-kind").select_option("bid_bond")
    issuer.get_by_test_id("bond-certificate-no").fill("EJ-2026-0001")
    issuer.get_by_test_id("bond-obligor").select_option(label="春日建設株式会社")
    issuer.get_by_test_id("bond-obligee").select_option(label="広島県")
    issuer.get_by_test_id("bond-work-number").fill(WORK_NUMBER)
    issuer.get_by_test_id("bond-work-title").fill("福山市春日町2丁目ほか道路標示工事")
    issuer.get_by_test_id("bond-amount-input").fill("1309100")
    issuer.get_by_test_id("bond-period-start").fill("2026-06-01")
    issuer.get_by_test_id("bond-period-end").fill("2026-07-31")
    issuer.get_by_test_id("bond-premium").fill("12000")
    issuer.get_by_test_id("bond-issued-on").fill("2026-05-28")
    issuer.get_by_test_id("bond-opening").fill("2026-06-01T11:00")  # JST
    check_layout(issuer, "bond-new")
    issuer.get_by_test_id("bond-save").click()
    expect(issuer.get_by_test_id("bond-key-section")).to_contain_text("発行機関の署名待ち")
    sign_current(bonds, issuer, "first")
    expect(issuer.get_by_test_id("bond-amount")).to_have_text("1,309,100 円")
    check_layout(issuer, "bond-issuer")

    # F01<1> 認証キー取得: the contractor downloads the key from its list
    builder: Page = open_as("builder1")  # type: ignore[operator]
    builder.goto("/#/bonds")
    builder.get_by_test_id("bonds-table").wait_for()
    check_layout(builder, "bond-contractor-list")
    old_key = download_key(bonds, builder, "first")
    assert json.loads(old_key.read_text())["type"] == "kura-bond-auth-key"

    # before 開札日時: the orderer sees only that the bond exists
    clerk: Page = open_as("clerk1")  # type: ignore[operator]
    clerk.goto("/#/bonds/open")
    clerk.get_by_test_id("bonds-open-file").set_input_files(str(old_key))
    expect(clerk.get_by_test_id("bond-key-verdict")).to_contain_text("有効な認証キーです")
    expect(clerk.get_by_test_id("bond-sealed-notice")).to_contain_text("開札日時")
    fields = clerk.get_by_test_id("bond-fields")
    expect(fields).to_contain_text("春日建設株式会社")
    assert "1,309,100" not in clerk.content()
    assert "EJ-2026-0001" not in clerk.content()
    check_layout(clerk, "bond-orderer-sealed")

    # after 開札日時: everything, with the obligor's debt (F01<2>)
    bonds.at(AFTER)
    clerk.goto("/#/bonds/open")
    clerk.get_by_test_id("bonds-open-file").set_input_files(str(old_key))
    expect(clerk.get_by_test_id("bond-amount")).to_have_text("1,309,100 円")
    expect(clerk.get_by_test_id("bond-debt")).to_contain_text("1,309,100 円")
    check_layout(clerk, "bond-orderer-opened")

    # F01<3>: a re-bid update re-issues the key; the old one fails at once
    issuer.reload()
    issuer.get_by_test_id("bond-update-form").wait_for()
    issuer.get_by_test_id("bond-update-event").select_option("rebid")
    issuer.get_by_test_id("bond-update-amount").fill("1250000")
    issuer.get_by_test_id("bond-update-premium").fill("11000")
    issuer.get_by_test_id("bond-update-save").click()
    expect(issuer.get_by_test_id("bond-key-section")).to_contain_text("発行機関の署名待ち")
    clerk.goto("/#/bonds/open")
    clerk.get_by_test_id("bonds-open-file").set_input_files(str(old_key))
    expect(clerk.get_by_test_id("bond-key-error")).to_contain_text("更新により無効")
    check_layout(clerk, "bond-orderer-old-key")
    sign_current(bonds, issuer, "second")
    new_key = download_key(bonds, builder, "second")
    clerk.goto("/#/bonds/open")
    clerk.get_by_test_id("bonds-open-file").set_input_files(str(new_key))
    expect(clerk.get_by_test_id("bond-amount")).to_have_text("1,250,000 円")

    # the balances with their chart, and the orderer's list
    issuer.goto("/#/bonds/balances?from=2026-05-01&to=2026-09-30&step=month")
    issuer.get_by_test_id("balances-chart").locator("canvas").wait_for()
    expect(issuer.get_by_test_id("balances-total")).to_contain_text("1,250,000")
    check_layout(issuer, "bond-balances")
    clerk.goto("/#/bonds")
    clerk.get_by_test_id("bonds-table").wait_for()
    check_layout(clerk, "bond-orderer-list")
    # filters and order on existence fields (kind, opening time) only
    clerk.get_by_test_id("bonds-sort").select_option("opening_at")
    expect(clerk).to_have_url(f"{bonds.url}/#/bonds?sort=opening_at")
    expect(clerk.get_by_test_id("bond-row")).to_have_count(1)
    clerk.get_by_test_id("bonds-kind").select_option("performance_bond")
    expect(clerk.get_by_test_id("bond-row")).to_have_count(0)
    expect(clerk.get_by_test_id("bonds-more")).to_have_count(0)


def test_orderer_records_cash_with_its_receipt_and_the_check_passes(
    bonds: BondStack, as_user: object
) -> None:
    """issue 11 §4 and §6 (seed 003 共通事項 21): the orderer picks the work, sees the check fail
    (no security yet, with the reason), records the cash security (契約保証金) with the receipt
    PDF dropped on the form, and sees it pass; the receipt opens from the record. The issuer's
    certificates page is checked for layout too."""
    from playwright.sync_api import expect

    open_as = as_user  # type: ignore[assignment]
    bonds.at(AFTER)
    keeper: Page = open_as("keeper1")  # type: ignore[operator]
    keeper.goto("/#/bonds/security")
    # the works picker narrowed by a title search (an orderer may have many works)
    keeper.get_by_test_id("security-q").fill("道路標示")
    keeper.get_by_test_id("security-search-submit").click()
    expect(keeper.get_by_test_id("security-q")).to_have_value("道路標示")
    keeper.get_by_test_id("security-work").select_option(
        label=f"{WORK_NUMBER} 福山市春日町2丁目ほか道路標示工事"
    )
    verdict = keeper.get_by_test_id("security-verdict")
    expect(verdict).to_have_attribute("data-passed", "false")
    expect(verdict).to_contain_text("1,250,000 円")  # 1/10 of 12,500,000
    keeper.get_by_test_id("security-form").wait_for()
    check_layout(keeper, "bond-security-failed")

    receipt = bonds.folder / "領収証書.pdf"
    receipt.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    keeper.get_by_test_id("security-kind").select_option("cash")
    keeper.get_by_test_id("security-obligor").select_option(label="春日建設株式会社")
    keeper.get_by_test_id("security-amount").fill("1250000")
    keeper.get_by_test_id("security-paid-on").fill("2026-06-10")
    keeper.get_by_test_id("security-receipt-file").set_input_files(str(receipt))
    expect(keeper.get_by_test_id("security-receipt")).to_have_attribute("data-name", "領収証書.pdf")
    keeper.get_by_test_id("security-save").click()
    expect(verdict).to_have_attribute("data-passed", "true")
    link = keeper.get_by_test_id("bond-receipt").first
    expect(link).to_have_text("領収証書.pdf")
    href = link.get_attribute("href") or ""
    got = keeper.request.get(bonds.url + href)
    assert got.status == 200
    assert got.body().startswith(b"%PDF")
    check_layout(keeper, "bond-security-passed")

    issuer: Page = open_as("issuer1")  # type: ignore[operator]
    issuer.goto("/#/bonds/certificates")
    expect(issuer.get_by_test_id("bond-cert-row").first).to_contain_text("東日本")
    check_layout(issuer, "bond-certificates")


def test_issuer_enters_a_paper_bond_and_deletes_a_losing_bid_orderer_sees_balances(
    bonds: BondStack, as_user: object
) -> None:
    """issue 11 §1 and §6: the issuer enters a paper performance bond (紙のボンド: its amount
    counts in the balances, it has no key: seed 002 保証債務残高管理), registers a bid bond
    and deletes it as 不落札 (F01<4>: the bonds of losing bidders are deleted); the orderer's
    balances show the figures in its scope (neither the paper bond, which has no key to open
    it, nor the deleted bid bond); the issuer's include the paper bond."""
    from playwright.sync_api import expect

    open_as = as_user  # type: ignore[assignment]
    bonds.at(AFTER)
    issuer: Page = open_as("issuer1")  # type: ignore[operator]

    def register(kind: str, number: str, amount: str, paper: bool = False) -> None:
        issuer.goto("/#/bonds/new")
        issuer.get_by_test_id("bond-form").wait_for()
        issuer.get_by_test_id("bond-kind").select_option(kind)
        if paper:
            issuer.get_by_test_id("bond-paper").check()
        issuer.get_by_test_id("bond-certificate-no").fill(number)
        issuer.get_by_test_id("bond-obligor").select_option(label="春日建設株式会社")
        issuer.get_by_test_id("bond-obligee").select_option(label="広島県")
        issuer.get_by_test_id("bond-work-number").fill(WORK_NUMBER)
        issuer.get_by_test_id("bond-work-title").fill("福山市春日町2丁目ほか道路標示工事")
        issuer.get_by_test_id("bond-amount-input").fill(amount)
        if kind == "performance_bond":
            issuer.get_by_test_id("bond-contract-amount").fill("12500000")
        issuer.get_by_test_id("bond-period-start").fill("2026-06-15")
        issuer.get_by_test_id("bond-period-end").fill("2026-08-31")
        issuer.get_by_test_id("bond-premium").fill("9000")
        issuer.get_by_test_id("bond-issued-on").fill("2026-06-01")
        if kind == "bid_bond":
            issuer.get_by_test_id("bond-opening").fill("2026-06-20T11:00")
        issuer.get_by_test_id("bond-save").click()
        expect(issuer.get_by_test_id("bond-fields")).to_have_attribute("data-view", "full")

    register("performance_bond", "PB-2026-0101", "1250000", paper=True)
    expect(issuer.get_by_test_id("bond-origin")).to_have_attribute("data-origin", "paper")
    expect(issuer.get_by_test_id("bond-key-section")).to_have_count(0)
    check_layout(issuer, "bond-paper")

    register("bid_bond", "EJ-2026-0777", "700000")
    issuer.get_by_test_id("bond-delete-reason").select_option("lost")
    issuer.get_by_test_id("bond-delete").click()
    issuer.get_by_test_id("confirm-ok").click()
    expect(issuer).to_have_url(f"{bonds.url}/#/bonds")
    issuer.get_by_test_id("bonds-table").wait_for()
    expect(issuer.get_by_test_id("bonds-table")).not_to_contain_text("EJ-2026-0777")
    issuer.get_by_test_id("bonds-state").select_option("deleted")
    expect(issuer.get_by_test_id("bonds-table")).to_contain_text("EJ-2026-0777")

    # the orderer's balances on a day inside the paper bond's period
    clerk: Page = open_as("clerk1")  # type: ignore[operator]
    clerk.goto("/#/bonds/balances?on=2026-07-01&from=2026-05-01&to=2026-09-30&step=month")
    clerk.get_by_test_id("balances-chart").locator("canvas").wait_for()
    expect(clerk.get_by_test_id("balances-total")).to_be_visible()
    # the orderer's scope: securities of its works it opened with a key, and its own records;
    # a paper bond has no key, so its figure is the issuer's (and the totals' across issuers)
    bonds_table = clerk.get_by_test_id("balances-bonds")
    expect(bonds_table).not_to_contain_text("PB-2026-0101")
    expect(bonds_table).not_to_contain_text("EJ-2026-0777")
    # the issuer's balances on that day include its paper bond
    issuer.goto("/#/bonds/balances?on=2026-07-01&from=2026-05-01&to=2026-09-30&step=month")
    expect(issuer.get_by_test_id("balances-bonds")).to_contain_text("PB-2026-0101")
    expect(issuer.get_by_test_id("balances-bonds")).not_to_contain_text("EJ-2026-0777")
    check_layout(clerk, "bond-orderer-balances")
