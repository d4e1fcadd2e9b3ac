"""The operators' data-protection pages in the browser (issue 12 §2-4; seed 001 §3-6, 別表3
8, 10, 12): データ消去 (#/admin/erasures) and 鍵とバックアップ (#/admin/keys).

On a stack of its own (erasure is irreversible, and the backups page needs a backup target):
- the operator sees the empty list say what to do, picks a work by name, plans the erasure of
  its 情報共有データ (a past date is refused beside the field), sees it listed by name, and
  withdraws it;
- erases another work's 電子成果品 by typing its displayed name: a wrong name is refused
  beside the field, a legal hold beside the button (409 in Japanese), then it erases and the
  certificate downloads as a PDF;
- opens an organization's data through the chooser;
- reads the keys and backups page: the monitored values with 正常/注意/異常, the KEK, the
  generations made by ``kura backup``;
- a non-operator gets the usual 権限がありません page and no menu entry;
- axe-core finds nothing serious at every width, screenshots at 1280 and 1024x768, no
  console errors, and no admin page the change touched is wider than 1024 px.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.browser import ERRORS
from tests.e2e.pagecheck import looks_right, signed_in_pages
from tests.e2e.support import KURA, ROOT, Stack, seed, server_env, start_server, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

PLANNED = "e2e消去計画工事（県道改良）"
ERASED = "e2e消去実行工事（河川護岸）"
# every page showing the admin menu (two entries added), by the page module that draws it
ADMIN_PAGES = {
    "admin": "admin",
    "admin/users": "admin-users",
    "admin/orgs": "admin-orgs",
    "admin/grants": "admin-grants",
    "admin/master": "admin-master",
    "admin/audit": "admin-audit",
    "admin/mail": "admin-mail",
    "admin/proposal-forms": "admin-forms",
    "admin/collab": "admin-collab",
    "admin/erasures": "admin-erasures",
    "admin/keys": "admin-keys",
}


@pytest.fixture(scope="module")
def pstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict[str, str]]]:
    """A stack of its own with a backup target, two works of its own and one file stored in
    the archive of the one to be erased; ``kura backup`` run twice (full, incremental)."""
    root = tmp_path_factory.mktemp("protect")
    data = root / "data"
    extra = {"KURA_BACKUP__TARGET": str(root / "backups")}
    server = start_server(data, **extra)
    try:
        stack = seed(server)
        works = {}
        for title in (PLANNED, ERASED):
            body = work_body(stack.orgs["orderer"], [stack.orgs["contractor"]]) | {
                "title": title,
                "number": f"R8-E2E-{len(works) + 10}",
            }
            works[title] = stack.api.post("/works", body)["id"]
        r = stack.api.client.post(
            f"/works/{works[ERASED]}/files",
            data={"folder": "/", "on_conflict": "replace"},
            files={"file": ("護岸図面.txt", "護岸の図面です。".encode(), "text/plain")},
        )
        assert r.status_code == 201, r.text
        env = server_env(data, **extra)
        for _ in range(2):
            done = subprocess.run(
                [*KURA, "backup"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
        yield stack, works
        stack.api.close()
    finally:
        server.stop()


@pytest.fixture
def as_user(browser: Browser, pstack: tuple[Stack, dict[str, str]]) -> Iterator[Any]:
    stack, _ = pstack
    yield from signed_in_pages(browser, stack.url, lambda login_id: stack.passwords[login_id])


def field_error(page: Page, form: str, name: str) -> str:
    error = page.get_by_test_id(form).locator(f'.field[data-field="{name}"] .field-error')
    error.wait_for()
    return error.inner_text().strip()


def test_operator_plans_withdraws_erases_and_downloads_the_certificate(
    as_user: Any, pstack: tuple[Stack, dict[str, str]], tmp_path: Path
) -> None:
    stack, works = pstack
    page: Page = as_user("admin")
    page.goto("/#/admin")
    page.get_by_test_id("admin-nav-erasures-tile").click()
    page.wait_for_url(re.compile(r"#/admin/erasures$"))
    # nothing yet: the empty state says what to do
    empty = page.get_by_test_id("erase-empty")
    empty.wait_for()
    assert "消去の対象を選ぶ" in empty.inner_text()
    looks_right(page, "protect-erasures-empty", top=True)

    # choose a work by name, then its collaboration data
    page.get_by_test_id("erase-choose").click()
    page.get_by_test_id("erase-work-q").fill("県道改良")
    page.get_by_test_id("erase-work-search").click()
    found = page.locator(f'[data-testid="erase-work"][data-title="{PLANNED}"]')
    found.wait_for()
    looks_right(page, "protect-erasures-choose", top=True)
    found.get_by_test_id("erase-open-collab").click()
    detail = page.get_by_test_id("erase-detail")
    detail.wait_for()
    assert PLANNED in detail.inner_text()
    assert "情報共有データ" in detail.inner_text()
    assert works[PLANNED] not in page.inner_text("main")  # names, never ids
    assert "掲示板" in page.get_by_test_id("erase-what").inner_text()  # what would go
    # the same work's other part is one link away
    page.get_by_test_id("erase-sibling").click()
    page.get_by_test_id("erase-part").filter(has_text="電子成果品").wait_for()
    page.go_back()
    page.get_by_test_id("erase-part").filter(has_text="情報共有データ").wait_for()

    # a date not in the future is refused beside its field, in Japanese
    page.get_by_test_id("erase-plan-due").fill(date.today().isoformat())
    page.get_by_test_id("erase-plan-submit").click()
    assert "明日以降" in field_error(page, "erase-plan-form", "due_on")
    due = date.today() + timedelta(days=45)
    page.get_by_test_id("erase-plan-due").fill(due.isoformat())
    page.get_by_test_id("erase-plan-reason").fill("工事完成後の契約に定める期日")
    page.get_by_test_id("erase-plan-submit").click()
    page.locator('[data-testid="erase-detail"][data-state="scheduled"]').wait_for()
    assert page.get_by_test_id("erase-due").inner_text().strip()
    looks_right(page, "protect-erasure-planned", top=True)

    # listed by name with its date; withdrawn from the list
    page.get_by_test_id("erase-back").click()
    row = page.locator('[data-testid="erase-row"][data-state="scheduled"]')
    row.wait_for()
    text = row.inner_text()
    for words in (PLANNED, "情報共有データ", "広島県"):
        assert words in text
    assert "工事完成後の契約に定める期日" in text
    looks_right(page, "protect-erasures-list", top=True)
    page.get_by_test_id("erase-state-filter").select_option("done")
    page.wait_for_url(re.compile(r"state=done$"))
    page.get_by_test_id("erase-empty").wait_for()
    page.get_by_test_id("erase-state-filter").select_option("")
    row.wait_for()
    row.get_by_test_id("erase-row-withdraw").click()
    page.get_by_test_id("confirm-ok").click()
    page.get_by_test_id("erase-empty").wait_for()
    assert stack.api.get("/erasures")["items"] == []

    # erase another work's archive: wrong name, legal hold, then the right name
    scope = f"wa-{works[ERASED]}"
    page.goto(f"/#/admin/erasures?scope={scope}")
    page.get_by_test_id("erase-detail").wait_for()
    assert page.get_by_test_id("erase-key").get_attribute("data-state") == "active"
    label = f"{ERASED}（電子成果品（保管））"
    page.get_by_test_id("erase-confirm").fill(ERASED)  # the work's name alone is not enough
    page.get_by_test_id("erase-now-submit").click()
    message = field_error(page, "erase-now-form", "confirm")
    assert f"「{label}」" in message
    assert not re.search(r"[A-Za-z]{4,}", message), message
    assert stack.api.get(f"/erasures/{scope}")["state"] == "none"

    stack.api.post(f"/works/{works[ERASED]}/legal-hold", {"reason": "損害賠償請求への対応"})
    page.get_by_test_id("erase-confirm").fill(label)
    page.get_by_test_id("erase-now-submit").click()
    refused = page.get_by_test_id("erase-now-error").locator("[data-form-error]")
    refused.wait_for()
    assert "法的保全" in refused.inner_text()
    assert "保全を解除" in refused.inner_text()
    assert works[ERASED] not in refused.inner_text()  # named, never by id
    looks_right(page, "protect-erasure-refused")
    stack.api.ok(stack.api.client.request("DELETE", f"/works/{works[ERASED]}/legal-hold"))

    # half-width parentheses are the same name
    page.get_by_test_id("erase-now-reason").fill("発注者からの依頼による消去")
    page.get_by_test_id("erase-confirm").fill(f"{ERASED}(電子成果品(保管))")
    page.get_by_test_id("erase-now-submit").click()
    page.locator('[data-testid="erase-detail"][data-state="done"]').wait_for()
    assert page.get_by_test_id("erase-key").get_attribute("data-state") == "destroyed"
    # the file and what ingest derived from it (text, maybe a thumbnail)
    assert re.search(r"ファイル [1-9] 件", page.get_by_test_id("erase-detail").inner_text())
    with page.expect_download() as info:
        page.get_by_test_id("erase-certificate").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    looks_right(page, "protect-erasure-done", top=True)
    page.get_by_test_id("erase-back").click()
    done = page.locator('[data-testid="erase-row"][data-state="done"]')
    done.wait_for()
    assert ERASED in done.inner_text()
    assert "電子成果品" in done.inner_text()
    with page.expect_download() as again:
        done.get_by_test_id("erase-row-certificate").click()
    assert Path(again.value.path()).read_bytes().startswith(b"%PDF-")

    # an organization through the chooser
    page.get_by_test_id("erase-choose").click()
    page.get_by_test_id("erase-pick-org").check()
    page.get_by_test_id("erase-org").select_option(stack.orgs["other"])
    page.get_by_test_id("erase-open-org").click()
    detail = page.get_by_test_id("erase-detail")
    detail.wait_for()
    assert "瀬戸内測量株式会社" in detail.inner_text()
    assert page.get_by_test_id("erase-part").inner_text() == "組織のデータ"


def test_keys_and_backups_page(as_user: Any) -> None:
    page: Page = as_user("admin")
    page.goto("/#/admin")
    page.get_by_test_id("admin-nav-keys-tile").click()
    watch = page.get_by_test_id("watch-table")
    watch.wait_for()
    levels = {
        r.get_attribute("data-key"): r.get_attribute("data-level")
        for r in page.get_by_test_id("watch-row").all()
    }
    assert {"backup_age", "jobs_failed", "mail_dead", "disk_free", "kek_age"} <= set(levels)
    assert levels["backup_age"] == "ok"
    assert levels["jobs_failed"] == "ok"
    backup = page.locator('[data-testid="watch-row"][data-key="backup_age"]').inner_text()
    assert "正常" in backup
    assert "に完了" in backup
    assert "鍵ファイル" in page.get_by_test_id("keys-kek").inner_text()
    kinds = [r.get_attribute("data-kind") for r in page.get_by_test_id("backup-row").all()]
    assert kinds == ["incremental", "full"]
    assert page.get_by_test_id("key-generation").count() == 2
    assert "kura backup" in page.get_by_test_id("keys-commands").inner_text()
    looks_right(page, "protect-keys", top=True)

    # the English switch is kept
    page.get_by_test_id("lang-switch").select_option("en")
    page.locator("h1", has_text="Keys and backups").wait_for()
    assert "Monitored values" in page.get_by_test_id("keys-watch").inner_text()
    assert "incremental" in page.get_by_test_id("backup-table").inner_text()
    page.goto("/#/admin/erasures")
    page.locator("h1", has_text="Data erasure").wait_for()
    page.get_by_test_id("lang-switch").select_option("ja")
    page.locator("h1", has_text="データ消去").wait_for()


def test_a_non_operator_is_refused(as_user: Any) -> None:
    page: Page = as_user("contractor1")
    for path in ("admin/erasures", "admin/keys"):
        page.goto(f"/#/{path}")
        page.locator(".error-box", has_text="このページを表示する権限がありません。").wait_for()
    page.goto("/#/admin")  # the menu offers neither (a contractor has no admin page at all)
    page.locator(".error-box").wait_for()
    assert page.get_by_test_id("admin-nav-erasures-tile").count() == 0
    # the API refuses too (403 problem+json), whatever the page shows
    status = page.evaluate("async () => (await fetch('/api/v1/erasures')).status")
    assert status == 403
    ERRORS.allow(r"status of 403")


def test_the_admin_pages_fit_1024(as_user: Any) -> None:
    page: Page = as_user("admin")
    page.set_viewport_size({"width": 1024, "height": 768})
    wide = {}
    for path, module in ADMIN_PAGES.items():
        page.goto(f"/#/{path}")
        page.wait_for_function(f"() => document.body.dataset.page === '{module}'")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 1025:
            wide[path] = width
    assert not wide, f"wider than 1024 px: {wide}"
