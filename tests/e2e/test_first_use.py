"""First use (issue 8 §3 item 9): on a new installation the operator's first page says what to
do first (an organization, a user, a work), each step marked done as it is; a contractor
lands on the home page listing their works; an empty list says why it is empty; a page that
does not exist offers a way back. Runs on a stack of its own (a fresh installation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import PASSWORD, Api, Server, operator_password, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Api]]:
    server = start_server(tmp_path_factory.mktemp("first") / "data")
    api = Api(server.url)
    try:
        api.login("admin", operator_password(server), new_password=PASSWORD)
        yield server, api
    finally:
        api.close()
        server.stop()


def test_operator_is_told_what_to_do_first(browser: Browser, fresh: tuple[Server, Api]) -> None:
    from playwright.sync_api import expect

    from tests.e2e.browser import new_context

    server, api = fresh
    ctx = new_context(browser, server.url)
    page: Page = ctx.new_page()
    try:
        login(page, "admin", PASSWORD)
        assert page.url.endswith("#/admin")  # the operator lands where the first steps are
        steps = page.get_by_test_id("first-steps")
        expect(steps).to_contain_text("はじめに行うこと")
        for key in ("orgs", "users", "works"):
            expect(steps.get_by_test_id(f"first-step-{key}")).to_have_attribute(
                "data-done", "false"
            )
        looks_right(page, "first-steps")
        org = api.post("/organizations", {"kind": "contractor", "name": "初回建設株式会社"})
        page.reload()
        expect(page.get_by_test_id("first-step-orgs")).to_have_attribute("data-done", "true")
        expect(page.get_by_test_id("first-step-users")).to_have_attribute("data-done", "false")

        # a contractor lands on the home page listing their works (beside the unread posts
        # seed 001 wants at sign-in), which says why the list is empty, as the works page does
        made = api.post("/users", {"login_id": "first1", "name": "初回 一郎", "org_id": org["id"]})
        user = Api(server.url)
        user.login("first1", made["initial_password"], new_password=PASSWORD)
        user.close()
        other = new_context(browser, server.url)
        try:
            them = other.new_page()
            login(them, "first1", PASSWORD)
            assert them.url.endswith("#/home")
            expect(them.get_by_test_id("home-works-empty")).to_contain_text(
                "メンバーへの追加を依頼"
            )
            them.goto("/#/works")
            expect(them.get_by_test_id("works-empty")).to_contain_text("メンバーへの追加を依頼")
            looks_right(them, "works-empty-contractor")
            them.goto("/#/no-such-page")
            links = them.get_by_test_id("not-found-links").get_by_role("link")
            expect(links.nth(0)).to_have_attribute("href", "#/home")
            expect(links.nth(1)).to_have_attribute("href", "#/works")
        finally:
            other.close()
    finally:
        ctx.close()
