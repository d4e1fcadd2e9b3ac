"""Sign-in as a person meets it: the login page, the forced password change with the policy
explained while typing, the lockout message, logout, and menus shown only to who may use them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import login, shot
from tests.e2e.support import PASSWORD, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e


def test_wrong_password_message_next_to_the_form(page: Page, stack: Stack) -> None:
    login(page, "contractor1", "wrong-password-1", expect_ok=False)
    error = page.get_by_role("alert").first
    error.wait_for()
    assert "ログイン" in error.inner_text() or "パスワード" in error.inner_text()
    assert page.get_by_test_id("login-id").input_value() == "contractor1"  # nothing lost


def test_lockout_message(page: Page, stack: Stack) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    locked = page.get_by_text("しばらく").first  # 「しばらく（最大15分）待ってから…」
    for _ in range(8):  # threshold 3 in the e2e stack; a click may land while one is in flight
        login(page, "locked1", "not-the-password", expect_ok=False)
        try:
            locked.wait_for(timeout=3000)
            break
        except PlaywrightTimeout:
            continue
    else:
        pytest.fail("no lockout message after 8 wrong passwords")
    shot(page, "login-locked")


def test_forced_password_change_explains_the_policy(page: Page, stack: Stack) -> None:
    login(page, "newbie1", stack.passwords["newbie1"])
    page.wait_for_function("() => location.hash.includes('password')")
    new = page.get_by_test_id("password-new")
    new.fill("abc")
    rules = page.get_by_test_id("password-rules")
    rules.wait_for()
    assert "12" in rules.inner_text()  # the minimum length is explained
    shot(page, "password-change-weak")
    page.get_by_test_id("password-current").fill(stack.passwords["newbie1"])
    new.fill(PASSWORD)
    confirm = page.get_by_test_id("password-confirm")
    if confirm.count():
        confirm.fill(PASSWORD)
    shot(page, "password-change-ok")
    page.get_by_test_id("password-submit").click()
    page.wait_for_function("() => !location.hash.includes('password')")
    stack.passwords["newbie1"] = PASSWORD
    stack.as_user("newbie1").close()  # the new password works through the API too


def test_admin_menu_only_for_operators_and_logout(page: Page, stack: Stack) -> None:
    login(page, "contractor1", stack.passwords["contractor1"])
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("nav-admin").count() == 0
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-id").wait_for()
    login(page, "admin", stack.passwords["admin"])
    page.get_by_test_id("nav-admin").first.wait_for()
