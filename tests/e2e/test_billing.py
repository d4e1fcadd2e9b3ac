"""Billing in the browser (issue 13 §5; seed 000 手続きフロー), each party on its own page:

- a municipality applies for the systems (利用決定), the operator concludes the 覚書 and the
  municipality sees both deadlines (利用終了通知の期限, 更新しない旨の意思表示の期限);
- the municipality requests a work (様式情運-1), the operator approves it (様式情運-2);
- the winning contractor applies with the approval number, the operator approves (IDs issued,
  fee requested), the contractor sees the one-time password once, the operator records the
  payment, and the work opens (in_progress, the contractor on it);
- the April invoice run bills the municipality once; run again, it creates nothing;
- axe-core finds nothing serious at 1280 and 1024×768; screenshots at both sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.pagecheck import MODULE_SIZES, looks_right, signed_in_pages
from tests.e2e.support import PASSWORD, Api, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
MUNI = "fukuyama-keiyaku"
CONTRACTOR = "kasuga-keiri"
TODAY = date.today()
FY = TODAY.year if TODAY.month >= 4 else TODAY.year - 1


@pytest.fixture(scope="module")
def parties(stack: Stack) -> dict[str, str]:
    """A municipality (福山市) with its contract clerk, the contractor's accounts clerk, and the
    operator's profile (registration number)."""
    api = stack.api
    muni_org = api.post("/organizations", {"kind": "orderer", "name": "福山市", "code": "34207001"})
    stack.orgs["fukuyama"] = muni_org["id"]
    for login_id, name, org, grants in (
        (MUNI, "福山 契約", muni_org["id"], ("billing.manage", "works.create")),
        (CONTRACTOR, "春日 経理", stack.orgs["contractor"], ("billing.manage",)),
    ):
        created = api.post("/users", {"login_id": login_id, "name": name, "org_id": org})
        stack.users[login_id] = created["user"]["id"]
        for grant in grants:
            api.post(f"/users/{created['user']['id']}/grants", {"grant": grant})
        first = Api(stack.url)
        first.login(login_id, created["initial_password"], new_password=PASSWORD)
        first.close()
        stack.passwords[login_id] = PASSWORD
    api.ok(
        api.client.put(
            "/billing/profile",
            json={"name": "一般財団法人 広島県土木協会", "registration_number": "T7000012050002"},
        )
    )
    return {"muni_org": muni_org["id"]}


@pytest.fixture
def as_user(browser: Browser, stack: Stack) -> Iterator[Any]:
    yield from signed_in_pages(browser, stack.url, lambda login_id: stack.passwords[login_id])


def check_layout(page: Page, name: str) -> None:
    """Screenshots at 1280 and 1024x768, no sideways scrolling, axe-core clean."""
    looks_right(page, name, sizes=MODULE_SIZES)


def tab(page: Page, name: str) -> None:
    """Open a billing tab, freshly drawn (the same hash again would not redraw)."""
    target = f"/#/billing?tab={name}"
    if page.url.endswith(target[1:]):
        page.reload()
    else:
        page.goto(target)
    page.locator("#billing-section-title").wait_for()
    page.wait_for_load_state("networkidle")


def test_municipality_to_invoice_run(stack: Stack, parties: dict[str, str], as_user: Any) -> None:
    from playwright.sync_api import expect

    muni: Page = as_user(MUNI)
    operator: Page = as_user("admin")
    builder: Page = as_user(CONTRACTOR)

    # 利用決定 → 覚書の締結
    tab(muni, "agreement")
    muni.get_by_test_id("billing-apply-archive").check()
    muni.get_by_test_id("billing-apply-start").fill(f"{FY}-04-01")
    muni.get_by_test_id("billing-apply-contact").fill("福山 契約")
    check_layout(muni, "billing-municipality-apply")
    muni.get_by_test_id("billing-apply-submit").click()
    expect(muni.get_by_test_id("billing-agreement")).to_contain_text("申込中")
    tab(operator, "agreements")
    operator.get_by_test_id("billing-conclude").click()
    expect(operator.get_by_test_id("billing-agreements")).to_contain_text("有効")
    tab(muni, "agreement")
    expect(muni.get_by_test_id("billing-termination-by")).to_contain_text(f"{FY + 1}/02/15")
    expect(muni.get_by_test_id("billing-renewal-by")).to_contain_text(f"{FY + 1}/02/28")
    check_layout(muni, "billing-municipality-agreement")

    # 様式情運-1 → 様式情運-2
    tab(muni, "requests")
    muni.get_by_test_id("billing-request-number").fill("R8-BILL-001")
    muni.get_by_test_id("billing-request-title").fill("福山市春日町舗装補修工事")
    muni.get_by_test_id("billing-request-address").fill("広島県福山市春日町2丁目")
    muni.get_by_test_id("billing-request-code").fill("342076")
    muni.get_by_test_id("billing-request-start").fill(f"{FY}-06-01")
    muni.get_by_test_id("billing-request-end").fill(f"{FY}-08-31")
    muni.get_by_test_id("billing-request-submit").click()
    expect(muni.get_by_test_id("billing-requests")).to_contain_text("提出済")
    tab(operator, "requests")
    operator.get_by_test_id("billing-request-approve").click()
    approval = operator.get_by_test_id("billing-approval-number").first
    expect(approval).to_contain_text("承諾第")
    approval_number = approval.inner_text().strip()

    # 利用申込書 → 審査 (IDs, fee) → the password once → 支払状況確認 → 利用開始
    tab(builder, "applications")
    builder.get_by_test_id("billing-app-approval").fill(approval_number)
    builder.get_by_test_id("billing-app-work-number").fill("R8-BILL-001")
    builder.get_by_test_id("billing-app-company").fill("春日建設株式会社")
    builder.get_by_test_id("billing-app-login").fill("kasuga-genba2")
    builder.get_by_test_id("billing-app-name").fill("春日 現場")
    builder.get_by_test_id("billing-app-submit").click()
    expect(builder.get_by_test_id("billing-applications")).to_contain_text("提出済")
    tab(operator, "applications")
    operator.get_by_test_id("billing-application-approve").click()
    expect(operator.get_by_test_id("billing-applications")).to_contain_text("承諾済")
    tab(builder, "applications")
    builder.get_by_test_id("billing-reveal").click()
    revealed = builder.get_by_test_id("billing-revealed")
    expect(revealed).to_contain_text("kasuga-genba2")
    check_layout(builder, "billing-contractor-passwords")
    contractor_api = stack.as_user(CONTRACTOR)
    [fee] = contractor_api.get("/billing/invoices")["items"]
    assert fee["total"] == 33000  # 3 months (ceil(92/31)) × 10,000円 + 10%
    contractor_api.close()

    tab(operator, "payments")
    operator.get_by_test_id("billing-pay-number").fill(fee["number"])
    operator.get_by_test_id("billing-pay-amount").fill("33000")
    operator.get_by_test_id("billing-pay-date").fill(TODAY.isoformat())
    operator.get_by_test_id("billing-pay-submit").click()
    expect(operator.get_by_test_id("toast").last).to_contain_text("入金を登録しました")
    tab(builder, "applications")
    expect(builder.get_by_test_id("billing-applications")).to_contain_text("有効")
    tab(builder, "invoices")
    expect(builder.get_by_test_id("billing-invoices")).to_contain_text("入金済")
    check_layout(builder, "billing-contractor-invoices")
    [request] = stack.api.get("/billing/requests")
    work = stack.api.get(f"/works/{request['work_id']}")
    assert work["status"] == "in_progress"
    assert work["contractor_org_ids"] == [stack.orgs["contractor"]]

    # The April run bills the municipality once.
    tab(operator, "dashboard")
    operator.get_by_test_id("billing-run-fy").fill(str(FY))
    operator.get_by_test_id("billing-run-submit").click()
    expect(operator.get_by_test_id("billing-run-result")).to_contain_text("1件を作成")
    operator.get_by_test_id("billing-run-submit").click()
    expect(operator.get_by_test_id("billing-run-result")).to_contain_text("0件を作成")
    annual = stack.api.get("/billing/invoices", kind="annual")["items"]
    assert [(i["org_id"], i["total"]) for i in annual] == [(parties["muni_org"], 198000)]
    tab(operator, "dashboard")
    operator.get_by_test_id("billing-chart").locator("canvas").wait_for()
    check_layout(operator, "billing-operator-dashboard")
    tab(muni, "invoices")
    expect(muni.get_by_test_id("billing-invoices")).to_contain_text("198,000")
    check_layout(muni, "billing-municipality-invoices")
